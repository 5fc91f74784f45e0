#include "config.h"

#include "cli/refresher_client.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/socket_line.h"
#include "store/user_state.h"

int refresher_ask(const char *service, const char *line, char *reply, size_t reply_size,
                  long timeout_ms)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    int fd = -1, rv = -1;

    if (user_state_existing_path(service, ".sock", address.sun_path, sizeof(address.sun_path)) != 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0 &&
        write(fd, line, strlen(line)) == (ssize_t)strlen(line) && write(fd, "\n", 1) == 1 &&
        socket_read_line(fd, reply, reply_size, monotonic_now_ms() + timeout_ms) == 0)
        rv = 0;
    if (fd >= 0)
        close(fd);
    return rv;
}
