#include "config.h"

#include "common/child_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/text_checks.h"

#define ANSWER_CHUNK 4096

extern char **environ;

/* Everything one run owns, released by child_run_cleanup. */
struct child_run {
    const struct child_program *program;
    struct child_outcome *outcome;
    int channel;       /* our end of the socketpair that is the child's stdin and stdout */
    int exit_fd;       /* pidfd of the child, readable once it has exited; -1 without pidfds */
    bool running;      /* started and neither reaped nor abandoned */
    bool pid_released; /* without a pidfd: reaped, by us or by the application */
    const char *message;
    size_t length;
    size_t sent;
    bool writing;
    struct capped_buffer *answer;
    long long deadline_ms;
};

/* --- in the child, between fork and execve: async-signal-safe calls only ------------------ */

static void close_descriptors_from(int first)
{
    if (close_range((unsigned)first, ~0U, 0) == 0)
        return;
    for (int fd = first; fd < 65536; fd++)
        close(fd);
}

void child_exec(const struct child_program *program, int input_fd, int output_fd)
{
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    /* Move all three above 2 first, so the dup2 calls below never meet themselves. */
    int high_input = fcntl(input_fd, F_DUPFD, 3);
    int high_output = fcntl(output_fd >= 0 ? output_fd : null_fd, F_DUPFD, 3);
    int high_null = fcntl(null_fd, F_DUPFD, 3);
    int status;

    if (null_fd < 0 || high_input < 0 || high_output < 0 || high_null < 0 ||
        dup2(high_input, STDIN_FILENO) < 0 || dup2(high_output, STDOUT_FILENO) < 0 ||
        dup2(high_null, STDERR_FILENO) < 0)
        _exit(CHILD_EXIT_SETUP);
    close_descriptors_from(3);
    status = program->prepare != NULL ? program->prepare(program->prepare_context) : 0;
    if (status != 0)
        _exit(status);
    if (chdir("/") != 0)
        _exit(CHILD_EXIT_SETUP);
    execve(program->path, program->arguments,
           program->environment != NULL ? program->environment : environ);
    _exit(CHILD_EXIT_EXEC);
}

/* --- in the parent ------------------------------------------------------------------------ */

/* The child, and a pidfd for it taken at once: it is unreaped (ours) until it has exited, so
 * the pidfd is this child's. Without pidfds, the pid (wait_for_exit_by_pid). */
static int start_child(struct child_run *run, char *why, size_t why_size)
{
    int pair[2] = {-1, -1};
    int rv = -1;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        text_set_why(why, why_size, "cannot set up the %s's channel: %s", run->program->name,
                     strerror(errno));
        return -1;
    }
    run->outcome->pid = fork();
    if (run->outcome->pid == 0)
        child_exec(run->program, pair[1], pair[1]);
    if (run->outcome->pid < 0) {
        text_set_why(why, why_size, "cannot start the %s: %s", run->program->name, strerror(errno));
    } else {
        run->exit_fd = (int)syscall(SYS_pidfd_open, run->outcome->pid, 0);
        run->running = true;
        rv = 0;
    }
    run->channel = pair[0];
    close(pair[1]);
    return rv;
}

static void send_pending(struct child_run *run)
{
    ssize_t count = send(run->channel, run->message + run->sent, run->length - run->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

    if (count > 0)
        run->sent += (size_t)count;
    /* A child that stopped reading has answered or died: its answer or status says which. */
    if ((count < 0 && errno != EAGAIN && errno != EINTR) || run->sent == run->length) {
        shutdown(run->channel, SHUT_WR);
        run->writing = false;
    }
}

enum receive_state {
    RECEIVE_MORE = 0,
    RECEIVE_DONE = 1,
    RECEIVE_FAILED = -1,
    RECEIVE_TOO_BIG = -2
};

static enum receive_state receive_available(struct child_run *run)
{
    char chunk[ANSWER_CHUNK];
    ssize_t count = recv(run->channel, chunk, sizeof(chunk), MSG_DONTWAIT);
    enum receive_state state = RECEIVE_MORE;

    /* A child that exits without reading all of its message resets the connection: that is
     * its end too, and its exit status will say what happened. */
    if (count == 0 || (count < 0 && errno == ECONNRESET))
        state = RECEIVE_DONE;
    else if (count < 0)
        state = (errno == EAGAIN || errno == EINTR) ? RECEIVE_MORE : RECEIVE_FAILED;
    else if (capped_buffer_append(run->answer, chunk, (size_t)count) != 0)
        state = RECEIVE_TOO_BIG;
    secret_wipe(chunk, sizeof(chunk));
    return state;
}

static int describe_receive_failure(struct child_run *run, enum receive_state received, char *why,
                                    size_t why_size)
{
    if (received == RECEIVE_TOO_BIG)
        return text_set_why(why, why_size, "the %s's reply is larger than %zu bytes",
                            run->program->name, run->answer->capacity);
    return text_set_why(why, why_size, "cannot read the %s's reply: %s", run->program->name,
                        strerror(errno));
}

/* Sends the message and reads the answer at once (a child may answer before it has read
 * everything), until the answer's end of file or the deadline. */
static int exchange_messages(struct child_run *run, char *why, size_t why_size)
{
    enum receive_state received = RECEIVE_MORE;

    run->writing = true;
    while (received == RECEIVE_MORE) {
        struct pollfd poll_entry = {run->channel, POLLIN | (run->writing ? POLLOUT : 0), 0};
        int wait_ms = (int)deadline_remaining_ms(run->deadline_ms);
        int ready;

        if (wait_ms == 0) {
            run->outcome->timed_out = true;
            return text_set_why(why, why_size, "the %s did not answer in time", run->program->name);
        }
        ready = poll(&poll_entry, 1, wait_ms);
        if (ready < 0 && errno != EINTR)
            return text_set_why(why, why_size, "poll on the %s failed: %s", run->program->name,
                                strerror(errno));
        if (ready > 0 && run->writing && (poll_entry.revents & (POLLOUT | POLLERR | POLLHUP)) != 0)
            send_pending(run);
        if (ready > 0 && (poll_entry.revents & (POLLIN | POLLERR | POLLHUP)) != 0)
            received = receive_available(run);
    }
    if (received != RECEIVE_DONE)
        return describe_receive_failure(run, received, why, why_size);
    run->outcome->answered = true;
    return 0;
}

static void record_status(struct child_run *run, bool exited, int code_or_signal)
{
    run->outcome->status_known = true;
    run->outcome->exit_code = exited ? code_or_signal : -1;
    run->outcome->exit_signal = exited ? 0 : code_or_signal;
}

/* Without a pidfd: waitpid(WNOHANG) on the pid with a short backoff. The pid cannot be reused
 * while the child is unreaped; once waitpid says it is no longer ours (the application reaped
 * it), it is never used again. */
static bool wait_for_exit_by_pid(struct child_run *run, long long until_ms)
{
    struct timespec pause = {0, 200 * 1000};
    int status;

    for (;;) {
        pid_t reaped = waitpid(run->outcome->pid, &status, WNOHANG);
        if (reaped == run->outcome->pid || (reaped < 0 && errno != EINTR)) {
            if (reaped == run->outcome->pid)
                record_status(run, WIFEXITED(status),
                              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            run->pid_released = true;
            return true;
        }
        if (deadline_remaining_ms(until_ms) == 0)
            return false;
        nanosleep(&pause, NULL);
        if (pause.tv_nsec < 10 * 1000 * 1000)
            pause.tv_nsec *= 2;
    }
}

/* Waits up to wait_ms for the child's exit; true once it has exited. */
static bool wait_for_exit(struct child_run *run, long long wait_ms)
{
    struct pollfd exited = {run->exit_fd, POLLIN, 0};
    long long until_ms = monotonic_now_ms() + wait_ms;
    int ready;

    if (run->exit_fd < 0)
        return wait_for_exit_by_pid(run, until_ms);
    do
        ready = poll(&exited, 1, (int)deadline_remaining_ms(until_ms));
    while (ready < 0 && errno == EINTR);
    return ready > 0;
}

/* The exit status, when it is still ours to collect: an application that ignores SIGCHLD, or
 * whose handler reaps every child, may have taken it (then only the answer counts). */
static void collect_exit(struct child_run *run)
{
    siginfo_t info;

    memset(&info, 0, sizeof(info));
    run->running = false;
    if (run->exit_fd < 0 ||
        waitid((idtype_t)P_PIDFD, (id_t)run->exit_fd, &info, WEXITED | WNOHANG) != 0 ||
        info.si_pid == 0)
        return;
    record_status(run, info.si_code == CLD_EXITED, info.si_status);
}

static void signal_child(struct child_run *run, int signal_number)
{
    if (run->exit_fd >= 0)
        syscall(SYS_pidfd_send_signal, run->exit_fd, signal_number, NULL, 0);
    else if (!run->pid_released)
        kill(run->outcome->pid, signal_number);
}

/* SIGTERM, then SIGKILL: true once the child has exited, false when it outlived both. */
static bool kill_child(struct child_run *run)
{
    signal_child(run, SIGTERM);
    if (wait_for_exit(run, CHILD_TERM_GRACE_MS))
        return true;
    signal_child(run, SIGKILL);
    return wait_for_exit(run, CHILD_KILL_GRACE_MS);
}

/* Reaps exactly our child, through its pidfd: by the deadline, or killed once it is past (at
 * once when kill_now). A child that SIGKILL does not end is left behind. */
static void reap_child(struct child_run *run, bool kill_now)
{
    if (!run->running)
        return;
    if (!kill_now && !wait_for_exit(run, deadline_remaining_ms(run->deadline_ms))) {
        run->outcome->timed_out = true;
        kill_now = true;
    }
    if (kill_now)
        run->outcome->stuck = !kill_child(run);
    if (run->outcome->stuck)
        run->running = false; /* abandoned: never waited for again */
    else
        collect_exit(run);
}

static void child_run_cleanup(struct child_run *run)
{
    reap_child(run, true);
    if (run->exit_fd >= 0)
        close(run->exit_fd);
    if (run->channel >= 0)
        close(run->channel);
}

int child_run(const struct child_program *program, const char *message, size_t length,
              long long deadline_ms, struct capped_buffer *answer, struct child_outcome *outcome,
              char *why, size_t why_size)
{
    struct child_run run = {.program = program,
                            .outcome = outcome,
                            .channel = -1,
                            .exit_fd = -1,
                            .message = message,
                            .length = length,
                            .answer = answer,
                            .deadline_ms = deadline_ms};
    bool exchanged;
    int rv = -1;

    memset(outcome, 0, sizeof(*outcome));
    if (start_child(&run, why, why_size) != 0)
        goto out;
    exchanged = exchange_messages(&run, why, why_size) == 0;
    reap_child(&run, !exchanged);
    if (outcome->stuck)
        text_set_why(why, why_size,
                     "the %s (pid %d) did not finish in time and SIGKILL did not end it (stuck "
                     "in the kernel); left behind",
                     program->name, (int)outcome->pid);
    else if (outcome->timed_out)
        text_set_why(why, why_size, "the %s did not answer in time and was killed", program->name);
    else if (exchanged)
        rv = 0;
out:
    child_run_cleanup(&run);
    return rv;
}
