#include "config.h"

#include "common/socket_line.h"

#include <poll.h>
#include <unistd.h>

#include "common/deadline.h"

/* One line, whole by deadline_ms (CLOCK_MONOTONIC): a peer that trickles bytes cannot hold
 * the refresher longer than that. */
int socket_read_line(int fd, char *line, size_t size, long long deadline_ms)
{
    size_t used = 0;

    while (used + 1 < size) {
        struct pollfd readable = {fd, POLLIN, 0};
        long long wait_ms = deadline_remaining_ms(deadline_ms);
        ssize_t got;
        if (wait_ms == 0 || poll(&readable, 1, (int)wait_ms) <= 0)
            return -1;
        got = read(fd, line + used, 1);
        if (got <= 0)
            return -1;
        if (line[used] == '\n')
            break;
        used++;
    }
    line[used] = '\0';
    return used + 1 < size ? 0 : -1;
}
