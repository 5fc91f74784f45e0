#include "config.h"

#include "refresher/helper_child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/secret_memory.h"

struct child_call {
    pid_t pid;
    int channel;
    long long deadline_ms;
    struct capped_buffer encoded;
    struct capped_buffer received;
};

void helper_exec_self(int input_fd, int output_fd, char *const arguments[])
{
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (null_fd < 0 || dup2(input_fd, STDIN_FILENO) < 0 ||
        dup2(output_fd >= 0 ? output_fd : null_fd, STDOUT_FILENO) < 0 ||
        dup2(null_fd, STDERR_FILENO) < 0 || chdir("/") != 0)
        _exit(HELPER_EXIT_CHILD_SETUP);
    close_range(3, ~0U, 0);
    execv("/proc/self/exe", arguments);
    _exit(HELPER_EXIT_EXEC);
}

/* The arguments are only for `ps`: "pam_oauth_keyring_helper refresh SERVICE". */
static int start_child(struct child_call *call, const char *command, const char *service)
{
    char program_name[] = "pam_oauth_keyring_helper";
    char command_argument[PROTOCOL_MAX_NAME + 1], service_argument[256];
    char *const arguments[] = {program_name, command_argument, service_argument, NULL};
    int pair[2] = {-1, -1};

    snprintf(command_argument, sizeof(command_argument), "%s", command);
    snprintf(service_argument, sizeof(service_argument), "%s", service);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return -1;
    call->pid = fork();
    if (call->pid == 0)
        helper_exec_self(pair[1], pair[1], arguments);
    close(pair[1]);
    call->channel = pair[0];
    return call->pid > 0 ? 0 : -1;
}

/* Waits until fd is ready for events, or the deadline passes (then false). */
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

static int send_request(struct child_call *call)
{
    size_t sent = 0;

    while (sent < call->encoded.length && wait_ready(call->channel, POLLOUT, call->deadline_ms)) {
        ssize_t count = send(call->channel, call->encoded.data + sent, call->encoded.length - sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
        if (count < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (count <= 0)
            return -1;
        sent += (size_t)count;
    }
    /* The helper reads its request up to end of file. */
    return sent == call->encoded.length && shutdown(call->channel, SHUT_WR) == 0 ? 0 : -1;
}

/* Reads the reply up to end of file (the child's exit), at most PROTOCOL_MAX_MESSAGE bytes. */
static int receive_reply(struct child_call *call)
{
    char chunk[4096];
    ssize_t got = -1;

    while (wait_ready(call->channel, POLLIN, call->deadline_ms)) {
        got = recv(call->channel, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0 || capped_buffer_append(&call->received, chunk, (size_t)got) != 0)
            break;
    }
    secret_wipe(chunk, sizeof(chunk));
    return got == 0 ? 0 : -1;
}

/* Exactly our child: by the deadline, or killed. waitpid is retried on EINTR only. */
static void reap_child(struct child_call *call)
{
    int status;
    pid_t reaped;

    while (call->pid > 0 && deadline_remaining_ms(call->deadline_ms) > 0) {
        reaped = waitpid(call->pid, &status, WNOHANG);
        if (reaped != 0 && !(reaped < 0 && errno == EINTR))
            call->pid = 0;
        else
            usleep(2000);
    }
    if (call->pid > 0) {
        kill(call->pid, SIGKILL);
        while (waitpid(call->pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
}

int helper_child_call(const struct protocol_message *request, const char *service, long timeout_ms,
                      struct protocol_message *reply)
{
    struct child_call call = {.pid = -1, .channel = -1};
    int rv = -1;

    call.deadline_ms = monotonic_now_ms() + timeout_ms;
    if (capped_buffer_init(&call.encoded, PROTOCOL_MAX_MESSAGE) != 0 ||
        capped_buffer_init(&call.received, PROTOCOL_MAX_MESSAGE) != 0 ||
        protocol_encode(request, &call.encoded) != 0 ||
        start_child(&call, request->command, service) != 0)
        goto out;
    if (send_request(&call) == 0 && receive_reply(&call) == 0)
        rv = protocol_decode(call.received.data, call.received.length, reply);
out:
    if (call.channel >= 0)
        close(call.channel);
    reap_child(&call);
    capped_buffer_wipe(&call.encoded);
    capped_buffer_wipe(&call.received);
    return rv;
}
