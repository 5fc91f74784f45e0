#include "config.h"

#include "helper/start_refresher.h"

#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child_runner.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"

/* The refresher program beside this one, as the https module is found (/proc/self/exe, as
 * $ORIGIN would): the installed helper's root-owned directory, or a test's staging directory.
 * A test build starts the test build of the refresher. */
#ifdef POK_TEST_BUILD
#define REFRESHER_PROGRAM "pam_oauth_keyring_refresher_test"
#else
#define REFRESHER_PROGRAM "pam_oauth_keyring_refresher"
#endif

static int refresher_path(char *path, size_t size)
{
    ssize_t length = readlink("/proc/self/exe", path, size - 1);
    char *slash;

    if (length <= 0 || (size_t)length >= size - 1)
        return -1;
    path[length] = '\0';
    slash = strrchr(path, '/');
    if (slash == NULL || (size_t)(slash + 1 - path) + sizeof(REFRESHER_PROGRAM) > size)
        return -1;
    memcpy(slash + 1, REFRESHER_PROGRAM, sizeof(REFRESHER_PROGRAM));
    return 0;
}

/* arguments: "pam_oauth_keyring_refresher SERVICE", so `ps` tells which service a refresher
 * serves (the refresher reads no arguments). */
static void exec_refresher_in_grandchild(int request_channel, const struct child_program *program)
{
    if (setsid() < 0 || fork() != 0)
        _exit(0);
    child_exec(program, request_channel, -1);
}

/* The request goes over a socketpair, not a pipe: /proc/PID/fd/0 of a socket cannot be opened,
 * so nothing but the refresher itself can read it. */
void refresher_spawn(const struct protocol_message *request)
{
    struct capped_buffer encoded = {0};
    int channel[2] = {-1, -1};
    char *service = g_strdup(protocol_get(request, FIELD_KEYRING_SERVICE));
    char program_name[] = "pam_oauth_keyring_refresher", path[PATH_MAX];
    char *const arguments[] = {program_name, service, NULL};
    const struct child_program program = {
        .path = path, .arguments = arguments, .name = "refresher"};
    size_t written = 0;
    pid_t child, reaped;
    int status;

    if (service == NULL || refresher_path(path, sizeof(path)) != 0 ||
        capped_buffer_init(&encoded, PROTOCOL_MAX_MESSAGE) != 0 ||
        protocol_encode(request, &encoded) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0)
        goto out;
    child = fork();
    if (child == 0)
        exec_refresher_in_grandchild(channel[0], &program);
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
