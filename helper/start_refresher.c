#include "config.h"

#include "helper/start_refresher.h"

#include <errno.h>
#include <glib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/secret_memory.h"
#include "refresher/helper_child.h"

/* arguments: "pam_oauth_keyring_helper refresher SERVICE", so `ps` tells which service a
 * refresher serves (the helper itself reads no arguments). */
static void exec_refresher_in_grandchild(int request_channel, char *const arguments[])
{
    if (setsid() < 0 || fork() != 0)
        _exit(0);
    helper_exec_self(request_channel, -1, arguments);
}

/* The request goes over a socketpair, not a pipe: /proc/PID/fd/0 of a socket cannot be opened,
 * so nothing but the refresher itself can read it. */
void refresher_spawn(const struct protocol_message *request)
{
    struct capped_buffer encoded = {0};
    int channel[2] = {-1, -1};
    char *service = g_strdup(protocol_message_get(request, "keyring_service"));
    char program_name[] = "pam_oauth_keyring_helper", role[] = "refresher";
    char *const arguments[] = {program_name, role, service, NULL};
    size_t written = 0;
    pid_t child, reaped;
    int status;

    if (service == NULL || capped_buffer_init(&encoded, PROTOCOL_MAX_MESSAGE) != 0 ||
        protocol_encode(request, &encoded) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0)
        goto out;
    child = fork();
    if (child == 0)
        exec_refresher_in_grandchild(channel[0], arguments);
    close(channel[0]);
    channel[0] = -1;
    while (child > 0 && written < encoded.length) {
        ssize_t count =
            send(channel[1], encoded.data + written, encoded.length - written, MSG_NOSIGNAL);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0)
            break;
        written += (size_t)count;
    }
    do
        reaped = child > 0 ? waitpid(child, &status, 0) : child;
    while (reaped < 0 && errno == EINTR);
out:
    for (int i = 0; i < 2; i++) {
        if (channel[i] >= 0)
            close(channel[i]);
    }
    capped_buffer_wipe(&encoded);
    g_free(service);
}
