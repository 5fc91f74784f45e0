#include "config.h"

#include "common/message_socket.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/secret_memory.h"

/* Whether fd is ready for events before the deadline (EINTR retried). */
static int wait_ready(int fd, short events, long long deadline_ms)
{
    struct pollfd entry = {fd, events, 0};
    int ready;

    do {
        long long wait_ms = deadline_remaining_ms(deadline_ms);
        if (wait_ms == 0)
            return 0;
        ready = poll(&entry, 1, (int)wait_ms);
    } while (ready < 0 && errno == EINTR);
    return ready > 0;
}

int message_socket_send(int fd, const struct protocol_message *message, long long deadline_ms)
{
    struct capped_buffer encoded = {0};
    size_t sent = 0;
    int rv = -1;

    if (capped_buffer_init(&encoded, MESSAGE_SOCKET_MAX) != 0 ||
        protocol_encode(message, &encoded) != 0)
        goto out;
    while (sent < encoded.length && wait_ready(fd, POLLOUT, deadline_ms)) {
        ssize_t count =
            send(fd, encoded.data + sent, encoded.length - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (count < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (count <= 0)
            break;
        sent += (size_t)count;
    }
    if (sent == encoded.length && shutdown(fd, SHUT_WR) == 0)
        rv = 0;
out:
    capped_buffer_wipe(&encoded);
    return rv;
}

int message_socket_receive(int fd, long long deadline_ms, struct protocol_message *message)
{
    struct capped_buffer received = {0};
    char chunk[512];
    ssize_t got = -1;
    int rv = -1;

    memset(message, 0, sizeof(*message));
    if (capped_buffer_init(&received, MESSAGE_SOCKET_MAX) != 0)
        return -1;
    while (wait_ready(fd, POLLIN, deadline_ms)) {
        got = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0 || capped_buffer_append(&received, chunk, (size_t)got) != 0)
            break;
    }
    if (got == 0)
        rv = protocol_decode(received.data, received.length, message) == 0 ? 0 : 1;
    secret_wipe(chunk, sizeof(chunk));
    capped_buffer_wipe(&received);
    return rv;
}
