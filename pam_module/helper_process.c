#include "config.h"

#include "helper_process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLY_CHUNK 4096

/* Everything one helper run owns, released by helper_process_cleanup. */
struct helper_process {
    pid_t pid;
    int channel; /* our end of the socketpair that is the helper's stdin and stdout */
    struct sigaction saved_sigchld;
    bool sigchld_replaced;
    struct capped_buffer request;
    struct capped_buffer reply;
    struct timespec deadline;
    bool timed_out;
    int status;
};

static void explain(char *why, size_t why_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void explain(char *why, size_t why_size, const char *format, ...)
{
    va_list arguments;

    va_start(arguments, format);
    vsnprintf(why, why_size, format, arguments);
    va_end(arguments);
}

static int milliseconds_left(const struct timespec *deadline)
{
    struct timespec now;
    long long left;

    clock_gettime(CLOCK_MONOTONIC, &now);
    left = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
           (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return left <= 0 ? 0 : (left > 3600000 ? 3600000 : (int)left);
}

/* --- in the child, between fork and execve: async-signal-safe calls only ------------------ */

static void close_descriptors_from(int first)
{
    if (close_range((unsigned)first, ~0U, 0) == 0)
        return;
    for (int fd = first; fd < 65536; fd++)
        close(fd);
}

static void reset_signals(void)
{
    struct sigaction default_action;
    sigset_t none;

    memset(&default_action, 0, sizeof(default_action));
    default_action.sa_handler = SIG_DFL;
    for (int signal_number = 1; signal_number < NSIG; signal_number++)
        sigaction(signal_number, &default_action, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Groups, then gid, then uid; then proof that root cannot be had back. */
static bool become_user(const struct user_account *account)
{
    if (setgroups((size_t)account->group_count, account->groups) != 0 ||
        setgid(account->gid) != 0 || setuid(account->uid) != 0)
        return false;
    if (setuid(0) == 0 || seteuid(0) == 0)
        return false;
    return getuid() == account->uid && geteuid() == account->uid && getgid() == account->gid &&
           getegid() == account->gid;
}

static void exec_helper_in_child(int channel, int dev_null, const struct user_account *account,
                                 const struct helper_environment *environment)
{
    static char program_name[] = "pam_oauth_keyring_helper";
    char *const arguments[] = {program_name, NULL};
    /* Move both above 2 first, so the dup2 calls below never meet themselves. */
    int high_channel = fcntl(channel, F_DUPFD, 3);
    int high_dev_null = fcntl(dev_null, F_DUPFD, 3);

    if (high_channel < 0 || high_dev_null < 0 || dup2(high_channel, 0) < 0 ||
        dup2(high_channel, 1) < 0 || dup2(high_dev_null, 2) < 0)
        _exit(HELPER_EXIT_CHILD_SETUP);
    close_descriptors_from(3);
    reset_signals();
    if (geteuid() == 0 && !become_user(account))
        _exit(HELPER_EXIT_PRIVILEGES);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || chdir("/") != 0)
        _exit(HELPER_EXIT_CHILD_SETUP);
    execve(helper_program_path(), arguments, environment->entries);
    _exit(HELPER_EXIT_EXEC);
}

/* --- in the module ------------------------------------------------------------------------ */

static void send_pending(struct helper_process *process, size_t *sent, bool *writing)
{
    ssize_t count = send(process->channel, process->request.data + *sent,
                         process->request.length - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (count > 0)
        *sent += (size_t)count;
    /* A helper that stopped reading has answered or died: its reply or status says which. */
    if ((count < 0 && errno != EAGAIN && errno != EINTR) || *sent == process->request.length) {
        shutdown(process->channel, SHUT_WR);
        *writing = false;
    }
}

enum receive_state {
    RECEIVE_MORE = 0,
    RECEIVE_DONE = 1,
    RECEIVE_FAILED = -1,
    RECEIVE_TOO_BIG = -2
};

static enum receive_state receive_available(struct helper_process *process)
{
    char chunk[REPLY_CHUNK];
    ssize_t count = recv(process->channel, chunk, sizeof(chunk), MSG_DONTWAIT);
    enum receive_state state = RECEIVE_MORE;

    /* A helper that exits without reading all of its request resets the connection: that is
     * its end too, and its exit status will say what happened. */
    if (count == 0 || (count < 0 && errno == ECONNRESET))
        state = RECEIVE_DONE;
    else if (count < 0)
        state = (errno == EAGAIN || errno == EINTR) ? RECEIVE_MORE : RECEIVE_FAILED;
    else if (capped_buffer_append(&process->reply, chunk, (size_t)count) != 0)
        state = RECEIVE_TOO_BIG;
    secret_wipe(chunk, sizeof(chunk));
    return state;
}

static int exchange_messages(struct helper_process *process, char *why, size_t why_size)
{
    size_t sent = 0;
    bool writing = true;
    enum receive_state received = RECEIVE_MORE;

    while (received == RECEIVE_MORE) {
        struct pollfd poll_entry = {process->channel, POLLIN | (writing ? POLLOUT : 0), 0};
        int wait_ms = milliseconds_left(&process->deadline);
        int ready;

        if (wait_ms == 0) {
            process->timed_out = true;
            explain(why, why_size, "the helper did not answer in time");
            return -1;
        }
        ready = poll(&poll_entry, 1, wait_ms);
        if (ready < 0 && errno != EINTR) {
            explain(why, why_size, "poll on the helper failed: %s", strerror(errno));
            return -1;
        }
        if (ready > 0 && writing && (poll_entry.revents & (POLLOUT | POLLERR | POLLHUP)) != 0)
            send_pending(process, &sent, &writing);
        if (ready > 0 && (poll_entry.revents & (POLLIN | POLLERR | POLLHUP)) != 0)
            received = receive_available(process);
    }
    if (received == RECEIVE_TOO_BIG)
        explain(why, why_size, "the helper's reply is larger than %d bytes", PROTOCOL_MAX_MESSAGE);
    else if (received == RECEIVE_FAILED)
        explain(why, why_size, "cannot read the helper's reply: %s", strerror(errno));
    return received == RECEIVE_DONE ? 0 : -1;
}

/* A pidfd of the child (close-on-exec), or -1 where the kernel or the headers have none. */
static int open_exit_fd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Sleeps until the child exits or about delay_us pass. With a pidfd (Linux 5.3) the wake-up
 * comes exactly at the exit; without one, after the delay. */
static void wait_for_exit(int exit_fd, unsigned delay_us)
{
    struct pollfd exited = {exit_fd, POLLIN, 0};
    struct timespec pause = {0, (long)delay_us * 1000};

    if (exit_fd < 0 || poll(&exited, 1, (int)(delay_us / 1000) + 1) < 0)
        nanosleep(&pause, NULL);
}

/* Reaps exactly our child: by the deadline, or killed once it is past (or at once when
 * kill_now). Leaves pid 0 when reaped, -1 when the child was lost to someone else. */
static void reap_child(struct helper_process *process, bool kill_now)
{
    unsigned delay_us = 200;
    /* Readable when the child has exited: no polling interval added to every login. */
    int exit_fd = process->pid > 0 ? open_exit_fd(process->pid) : -1;

    while (process->pid > 0) {
        pid_t reaped;
        if (!kill_now && milliseconds_left(&process->deadline) == 0) {
            process->timed_out = true;
            kill_now = true;
        }
        if (kill_now)
            kill(process->pid, SIGKILL);
        reaped = waitpid(process->pid, &process->status, kill_now ? 0 : WNOHANG);
        if (reaped == process->pid) {
            process->pid = 0;
        } else if (reaped < 0 && errno != EINTR) {
            process->pid = -1;
        } else if (!kill_now) {
            wait_for_exit(exit_fd, delay_us);
            delay_us = delay_us < 10000 ? delay_us * 2 : delay_us;
        }
    }
    if (exit_fd >= 0)
        close(exit_fd);
}

static int start_child(struct helper_process *process, const struct user_account *account,
                       const struct helper_environment *environment, char *why, size_t why_size)
{
    struct sigaction default_action;
    int pair[2] = {-1, -1};
    int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (dev_null < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        explain(why, why_size, "cannot set up the helper's channel: %s", strerror(errno));
        if (dev_null >= 0)
            close(dev_null);
        return -1;
    }
    /* Our caller's SIGCHLD handler could reap the child before we do; the default
     * disposition keeps it ours until reap_child, and is put back afterwards. */
    memset(&default_action, 0, sizeof(default_action));
    default_action.sa_handler = SIG_DFL;
    process->sigchld_replaced = sigaction(SIGCHLD, &default_action, &process->saved_sigchld) == 0;
    process->pid = fork();
    if (process->pid == 0)
        exec_helper_in_child(pair[1], dev_null, account, environment);
    close(pair[1]);
    close(dev_null);
    process->channel = pair[0];
    if (process->pid < 0)
        explain(why, why_size, "cannot fork the helper: %s", strerror(errno));
    return process->pid > 0 ? 0 : -1;
}

static const char *describe_exit(int status, char *text, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(text, size, "was killed by signal %d", WTERMSIG(status));
    else if (WEXITSTATUS(status) == HELPER_EXIT_EXEC)
        snprintf(text, size, "could not be executed (%s)", helper_program_path());
    else if (WEXITSTATUS(status) == HELPER_EXIT_PRIVILEGES)
        snprintf(text, size, "could not drop privileges to the user");
    else
        snprintf(text, size, "exited with status %d", WEXITSTATUS(status));
    return text;
}

/* The reply counts only when it parses and agrees with the exit status. */
static int accept_reply(struct helper_process *process, struct protocol_message *reply, char *why,
                        size_t why_size)
{
    char exit_text[128];
    bool exited = WIFEXITED(process->status);
    int code = exited ? WEXITSTATUS(process->status) : -1;
    bool ok_agrees, error_agrees;

    if (protocol_decode(process->reply.data, process->reply.length, reply) != 0) {
        explain(why, why_size, "the helper %s without a valid reply",
                describe_exit(process->status, exit_text, sizeof(exit_text)));
        return -1;
    }
    ok_agrees = strcmp(reply->command, "ok") == 0 && code == HELPER_EXIT_OK;
    error_agrees = strcmp(reply->command, "error") == 0 && code == HELPER_EXIT_FAILED &&
                   protocol_message_get(reply, "message") != NULL;
    if (!ok_agrees && !error_agrees) {
        explain(why, why_size, "the helper's reply does not agree with its exit (it %s)",
                describe_exit(process->status, exit_text, sizeof(exit_text)));
        return -1;
    }
    return 0;
}

static void helper_process_cleanup(struct helper_process *process)
{
    if (process->pid > 0)
        reap_child(process, true);
    if (process->channel >= 0)
        close(process->channel);
    if (process->sigchld_replaced)
        sigaction(SIGCHLD, &process->saved_sigchld, NULL);
    capped_buffer_wipe(&process->request);
    capped_buffer_wipe(&process->reply);
}

static int check_identity(const struct user_account *account, char *why, size_t why_size)
{
    uid_t effective = geteuid();

    if (account->uid == 0)
        explain(why, why_size, "refusing to run the helper as root");
    else if (effective != 0 && effective != account->uid)
        explain(why, why_size, "the module runs as uid %u, neither root nor the user",
                (unsigned)effective);
    else
        return 0;
    return -1;
}

int helper_run(const struct user_account *account, const struct helper_environment *environment,
               const struct protocol_message *request, int timeout_ms,
               struct protocol_message *reply, char *why, size_t why_size)
{
    struct helper_process process = {.pid = 0, .channel = -1};
    int rv = -1;

    memset(reply, 0, sizeof(*reply));
    clock_gettime(CLOCK_MONOTONIC, &process.deadline);
    process.deadline.tv_sec += timeout_ms / 1000;
    process.deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (process.deadline.tv_nsec >= 1000000000) {
        process.deadline.tv_sec++;
        process.deadline.tv_nsec -= 1000000000;
    }
    if (check_identity(account, why, why_size) != 0)
        goto out;
    if (capped_buffer_init(&process.request, PROTOCOL_MAX_MESSAGE) != 0 ||
        capped_buffer_init(&process.reply, PROTOCOL_MAX_MESSAGE) != 0 ||
        protocol_encode(request, &process.request) != 0) {
        explain(why, why_size, "the request for the helper could not be built");
        goto out;
    }
    if (start_child(&process, account, environment, why, why_size) != 0)
        goto out;
    if (exchange_messages(&process, why, why_size) != 0) {
        reap_child(&process, true);
        goto out;
    }
    reap_child(&process, false);
    if (process.timed_out)
        explain(why, why_size, "the helper did not exit in time and was killed");
    else if (process.pid != 0)
        explain(why, why_size, "the helper could not be reaped");
    else
        rv = accept_reply(&process, reply, why, why_size);
out:
    helper_process_cleanup(&process);
    return rv;
}
