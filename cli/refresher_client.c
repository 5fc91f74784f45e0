#include "config.h"

#include "cli/refresher_client.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/message_socket.h"
#include "common/text_checks.h"
#include "store/user_state.h"

/* How often a client looks again for a refresher that does not listen yet. */
#define CONNECT_RETRY_MS 50

static int build_request(enum protocol_request request, long min_valid,
                         struct protocol_message *message)
{
    char seconds[24];
    int rv = protocol_request_init(message, request);

    snprintf(seconds, sizeof(seconds), "%ld", min_valid);
    if (rv == 0 && request == REQUEST_SOCKET_REFRESH)
        rv = protocol_set(message, FIELD_MIN_VALID, seconds);
    return rv;
}

/* The answer's outcome (or, refused, its reason) and message. */
static void take_answer(const struct protocol_message *reply, struct refresher_answer *answer)
{
    bool ok = strcmp(reply->command, "ok") == 0;

    text_copy_printable(answer->outcome, sizeof(answer->outcome),
                        protocol_get(reply, ok ? FIELD_OUTCOME : FIELD_REASON));
    text_copy_printable(answer->message, sizeof(answer->message),
                        protocol_get(reply, FIELD_MESSAGE));
}

int refresher_connect(const char *service)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    int fd;

    if (user_state_existing_path(service, ".sock", address.sun_path, sizeof(address.sun_path)) != 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Connects, and while the refresher holds its lock but does not listen yet (it opens the
 * keyring first, up to 30 s when the keyring starts late: a login right after the session
 * opened meets that), tries again every CONNECT_RETRY_MS until deadline_ms. */
static int connect_by(const char *service, long long deadline_ms)
{
    const struct timespec pause = {.tv_sec = 0, .tv_nsec = CONNECT_RETRY_MS * 1000000L};
    int fd = refresher_connect(service);

    while (fd < 0 && deadline_remaining_ms(deadline_ms) > CONNECT_RETRY_MS &&
           refresher_is_running(service)) {
        nanosleep(&pause, NULL);
        fd = refresher_connect(service);
    }
    return fd;
}

int refresher_receive(int fd, enum protocol_request request, long long deadline_ms,
                      struct protocol_message *reply)
{
    char why[256];

    return message_socket_receive(fd, deadline_ms, reply) == 0 &&
                   protocol_reply_check(protocol_request_spec(request), reply, why, sizeof(why)) ==
                       0
               ? 0
               : -1;
}

int refresher_call(const char *service, const struct protocol_message *message, long timeout_ms,
                   struct protocol_message *reply)
{
    const struct protocol_request_spec *spec =
        protocol_request_find(CHANNEL_SOCKET, message->command);
    long long deadline_ms = monotonic_now_ms() + timeout_ms;
    int fd = connect_by(service, deadline_ms), rv = -1;

    if (fd >= 0 && spec != NULL && message_socket_send(fd, message, deadline_ms) == 0)
        rv = refresher_receive(fd, spec->request, deadline_ms, reply);
    if (fd >= 0)
        close(fd);
    return rv;
}

int refresher_ask(const char *service, enum protocol_request request, long min_valid,
                  struct refresher_answer *answer, long timeout_ms)
{
    struct protocol_message message, reply;
    int rv = -1;

    memset(&message, 0, sizeof(message));
    memset(&reply, 0, sizeof(reply));
    memset(answer, 0, sizeof(*answer));
    if (build_request(request, min_valid, &message) == 0 &&
        refresher_call(service, &message, timeout_ms, &reply) == 0) {
        take_answer(&reply, answer);
        rv = 0;
    }
    protocol_message_clear(&message);
    protocol_message_clear(&reply);
    return rv;
}
