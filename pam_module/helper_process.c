#include "config.h"

#include "pam_module/helper_process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/text_checks.h"

#define REPLY_CHUNK 4096
/* How long a killed helper may take to die. One that does not is stuck in the kernel (a
 * user's FUSE mount that never answers can do that to any process touching it): it is left
 * behind rather than hang the login. */
#define KILL_GRACE_MS 500
/* keyctl(2) operation that gives the calling process a new, empty session keyring. */
#define POK_KEYCTL_JOIN_SESSION_KEYRING 1

/* Everything one helper run owns, released by helper_process_cleanup. */
struct helper_process {
    pid_t pid;         /* with a pidfd, only for the log: signals and waits go through it */
    int exit_fd;       /* pidfd of the child, readable once it has exited; -1 without pidfds */
    bool pid_released; /* without a pidfd: reaped, by us or by the application */
    bool running;      /* started and not yet seen to exit */
    bool stuck;        /* killed, and still not dead after KILL_GRACE_MS: left behind */
    int channel;       /* our end of the socketpair that is the helper's stdin and stdout */
    struct capped_buffer request;
    struct capped_buffer reply;
    long long deadline_ms; /* CLOCK_MONOTONIC, common/deadline.h */
    bool timed_out;
    bool status_known; /* false when someone else reaped the child (SIGCHLD ignored, ...) */
    int exit_code;     /* when it exited; -1 when a signal ended it */
    int exit_signal;   /* when a signal ended it */
};

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

/* A session keyring of its own: the one it inherited is the application's (root's, under su
 * or sshd), and possessing it would let the user's helper read root's keys. */
static bool leave_session_keyring(void)
{
    return syscall(SYS_keyctl, POK_KEYCTL_JOIN_SESSION_KEYRING, NULL) >= 0 || errno == ENOSYS;
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
    /* A new session without a controlling terminal: otherwise the user's helper keeps the
     * application's terminal (root's, under su), where TIOCSTI can type into root's shell. */
    if (setsid() < 0)
        _exit(HELPER_EXIT_CHILD_SETUP);
    if (geteuid() == 0 && !become_user(account))
        _exit(HELPER_EXIT_PRIVILEGES);
    if (!leave_session_keyring() || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || chdir("/") != 0)
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
        int wait_ms = (int)deadline_remaining_ms(process->deadline_ms);
        int ready;

        if (wait_ms == 0) {
            process->timed_out = true;
            text_set_why(why, why_size, "the helper did not answer in time");
            return -1;
        }
        ready = poll(&poll_entry, 1, wait_ms);
        if (ready < 0 && errno != EINTR) {
            text_set_why(why, why_size, "poll on the helper failed: %s", strerror(errno));
            return -1;
        }
        if (ready > 0 && writing && (poll_entry.revents & (POLLOUT | POLLERR | POLLHUP)) != 0)
            send_pending(process, &sent, &writing);
        if (ready > 0 && (poll_entry.revents & (POLLIN | POLLERR | POLLHUP)) != 0)
            received = receive_available(process);
    }
    if (received == RECEIVE_TOO_BIG)
        text_set_why(why, why_size, "the helper's reply is larger than %d bytes",
                     PROTOCOL_MAX_MESSAGE);
    else if (received == RECEIVE_FAILED)
        text_set_why(why, why_size, "cannot read the helper's reply: %s", strerror(errno));
    return received == RECEIVE_DONE ? 0 : -1;
}

static void record_status(struct helper_process *process, bool exited, int code_or_signal)
{
    process->status_known = true;
    process->exit_code = exited ? code_or_signal : -1;
    process->exit_signal = exited ? 0 : code_or_signal;
}

/* Without a pidfd (Linux before 5.3, or under valgrind): waitpid(WNOHANG) on the pid with a
 * short backoff. The pid cannot be reused while the child is unreaped; once waitpid says it is
 * no longer ours (the application reaped it), it is never used again. */
static bool wait_for_exit_by_pid(struct helper_process *process, long long until_ms)
{
    struct timespec pause = {0, 200 * 1000};
    int status;

    for (;;) {
        pid_t reaped = waitpid(process->pid, &status, WNOHANG);
        if (reaped == process->pid || (reaped < 0 && errno != EINTR)) {
            if (reaped == process->pid)
                record_status(process, WIFEXITED(status),
                              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            process->pid_released = true;
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
static bool wait_for_exit(struct helper_process *process, long long wait_ms)
{
    struct pollfd exited = {process->exit_fd, POLLIN, 0};
    long long until_ms = monotonic_now_ms() + wait_ms;
    int ready;

    if (process->exit_fd < 0)
        return wait_for_exit_by_pid(process, until_ms);
    do
        ready = poll(&exited, 1, (int)deadline_remaining_ms(until_ms));
    while (ready < 0 && errno == EINTR);
    return ready > 0;
}

/* The exit status, when it is still ours to collect: an application that ignores SIGCHLD, or
 * whose handler reaps every child, may have taken it (then only the reply counts). */
static void collect_exit(struct helper_process *process)
{
    siginfo_t info;

    memset(&info, 0, sizeof(info));
    process->running = false;
    if (process->exit_fd < 0 ||
        waitid((idtype_t)P_PIDFD, (id_t)process->exit_fd, &info, WEXITED | WNOHANG) != 0 ||
        info.si_pid == 0)
        return;
    record_status(process, info.si_code == CLD_EXITED, info.si_status);
}

static void kill_child(struct helper_process *process)
{
    if (process->exit_fd >= 0)
        syscall(SYS_pidfd_send_signal, process->exit_fd, SIGKILL, NULL, 0);
    else if (!process->pid_released)
        kill(process->pid, SIGKILL);
}

/* Reaps exactly our child, through its pidfd (never a pid that may have been reused): by the
 * deadline, or killed once it is past (at once when kill_now). A child that SIGKILL does not
 * end within KILL_GRACE_MS is left behind, never waited for without a bound. */
static void reap_child(struct helper_process *process, bool kill_now)
{
    if (!process->running)
        return;
    if (!kill_now && !wait_for_exit(process, deadline_remaining_ms(process->deadline_ms))) {
        process->timed_out = true;
        kill_now = true;
    }
    if (kill_now) {
        kill_child(process);
        process->stuck = !wait_for_exit(process, KILL_GRACE_MS);
    }
    if (process->stuck)
        process->running = false; /* abandoned: never waited for again */
    else
        collect_exit(process);
}

/* The child, and a pidfd for it taken at once: it is unreaped (ours) until it has exited, so
 * the pidfd is this child's. Without pidfds, the pid (wait_for_exit_by_pid). */
static int fork_child(struct helper_process *process, int child_channel, int dev_null,
                      const struct user_account *account,
                      const struct helper_environment *environment)
{
    process->pid = fork();
    if (process->pid == 0)
        exec_helper_in_child(child_channel, dev_null, account, environment);
    if (process->pid < 0)
        return -1;
    process->exit_fd = (int)syscall(SYS_pidfd_open, process->pid, 0);
    process->running = true;
    return 0;
}

static int start_child(struct helper_process *process, const struct user_account *account,
                       const struct helper_environment *environment, char *why, size_t why_size)
{
    int pair[2] = {-1, -1};
    int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int rv = -1;

    if (dev_null < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        text_set_why(why, why_size, "cannot set up the helper's channel: %s", strerror(errno));
    else if (fork_child(process, pair[1], dev_null, account, environment) != 0)
        text_set_why(why, why_size, "cannot start the helper: %s", strerror(errno));
    else
        rv = 0;
    process->channel = pair[0];
    if (pair[1] >= 0)
        close(pair[1]);
    if (dev_null >= 0)
        close(dev_null);
    return rv;
}

static const char *describe_exit(const struct helper_process *process, char *text, size_t size)
{
    if (!process->status_known)
        snprintf(text, size, "exited (its status was collected by the application)");
    else if (process->exit_code < 0)
        snprintf(text, size, "was killed by signal %d", process->exit_signal);
    else if (process->exit_code == HELPER_EXIT_EXEC)
        snprintf(text, size, "could not be executed (%s)", helper_program_path());
    else if (process->exit_code == HELPER_EXIT_PRIVILEGES)
        snprintf(text, size, "could not drop privileges to the user");
    else if (process->exit_code == HELPER_EXIT_EXPOSED)
        snprintf(text, size,
                 "refused to run: the user can read %s, so the user's processes could read "
                 "its request; install it root:root, mode 0711",
                 helper_program_path());
    else
        snprintf(text, size, "exited with status %d", process->exit_code);
    return text;
}

/* The reply counts only when it parses and agrees with the exit status. */
static int accept_reply(struct helper_process *process, struct protocol_message *reply, char *why,
                        size_t why_size)
{
    char exit_text[256];
    bool ok_agrees, error_agrees;

    if (protocol_decode(process->reply.data, process->reply.length, reply) != 0) {
        text_set_why(why, why_size, "the helper %s without a valid reply",
                     describe_exit(process, exit_text, sizeof(exit_text)));
        return -1;
    }
    ok_agrees = strcmp(reply->command, "ok") == 0 &&
                (!process->status_known || process->exit_code == HELPER_EXIT_OK);
    error_agrees = strcmp(reply->command, "error") == 0 &&
                   (!process->status_known || process->exit_code == HELPER_EXIT_FAILED) &&
                   protocol_message_get(reply, "message") != NULL;
    if (!ok_agrees && !error_agrees) {
        text_set_why(why, why_size, "the helper's reply does not agree with its exit (it %s)",
                     describe_exit(process, exit_text, sizeof(exit_text)));
        return -1;
    }
    return 0;
}

static void helper_process_cleanup(struct helper_process *process)
{
    reap_child(process, true);
    if (process->exit_fd >= 0)
        close(process->exit_fd);
    if (process->channel >= 0)
        close(process->channel);
    capped_buffer_wipe(&process->request);
    capped_buffer_wipe(&process->reply);
}

static int check_identity(const struct user_account *account, char *why, size_t why_size)
{
    uid_t effective = geteuid();

    if (account->uid == 0)
        text_set_why(why, why_size, "refusing to run the helper as root");
    else if (effective != 0 && effective != account->uid)
        text_set_why(why, why_size, "the module runs as uid %u, neither root nor the user",
                     (unsigned)effective);
    else
        return 0;
    return -1;
}

/* The helper must be a file the user cannot read: the kernel then makes it non-dumpable from
 * execve on, so the user's other processes can neither ptrace it, take its fds nor read its
 * request in the moments before it protects itself (helper_main.c). Nobody but its owner may
 * write it. Checked before anything secret is sent. */
static int check_helper_file(const struct user_account *account, char *why, size_t why_size)
{
    const char *path = helper_program_path();
    struct stat file;
    mode_t readable = (mode_t)-1;

    if (stat(path, &file) != 0) {
        text_set_why(why, why_size, "the helper could not be executed (%s: %s)", path,
                     strerror(errno));
        return -1;
    }
    if (file.st_uid == 0)
        readable = S_IRGRP | S_IROTH;
    else if (file.st_uid == account->uid)
        readable = S_IRUSR | S_IRGRP | S_IROTH;
    if (helper_may_be_readable() && S_ISREG(file.st_mode))
        return 0;
    if (!S_ISREG(file.st_mode) || readable == (mode_t)-1 || (file.st_mode & readable) != 0 ||
        (file.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        text_set_why(why, why_size,
                     "refusing to run the helper %s: it must be a file the user cannot read and "
                     "only its owner can write (install it root:root, mode 0711)",
                     path);
        return -1;
    }
    return 0;
}

int helper_run(const struct user_account *account, const struct helper_environment *environment,
               const struct protocol_message *request, int timeout_ms,
               struct protocol_message *reply, char *why, size_t why_size)
{
    struct helper_process process = {.pid = 0, .exit_fd = -1, .channel = -1};
    bool exchanged;
    int rv = -1;

    memset(reply, 0, sizeof(*reply));
    process.deadline_ms = monotonic_now_ms() + timeout_ms;
    if (check_identity(account, why, why_size) != 0 ||
        check_helper_file(account, why, why_size) != 0)
        goto out;
    if (capped_buffer_init(&process.request, PROTOCOL_MAX_MESSAGE) != 0 ||
        capped_buffer_init(&process.reply, PROTOCOL_MAX_MESSAGE) != 0 ||
        protocol_encode(request, &process.request) != 0) {
        text_set_why(why, why_size, "the request for the helper could not be built");
        goto out;
    }
    if (start_child(&process, account, environment, why, why_size) != 0)
        goto out;
    exchanged = exchange_messages(&process, why, why_size) == 0;
    reap_child(&process, !exchanged);
    if (process.stuck)
        text_set_why(why, why_size,
                     "the helper (pid %d) did not finish in time and SIGKILL did not end it (stuck "
                     "in the kernel); left behind",
                     (int)process.pid);
    else if (process.timed_out)
        text_set_why(why, why_size, "the helper did not answer in time and was killed");
    else if (exchanged)
        rv = accept_reply(&process, reply, why, why_size);
out:
    helper_process_cleanup(&process);
    return rv;
}
