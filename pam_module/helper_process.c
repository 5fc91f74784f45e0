#include "config.h"

#include "pam_module/helper_process.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/child_runner.h"
#include "common/deadline.h"
#include "common/text_checks.h"

/* keyctl(2) operation that gives the calling process a new, empty session keyring. */
#define POK_KEYCTL_JOIN_SESSION_KEYRING 1

_Static_assert(CHILD_EXIT_SETUP == HELPER_EXIT_CHILD_SETUP && CHILD_EXIT_EXEC == HELPER_EXIT_EXEC,
               "the runner's exit statuses are the helper's");

/* --- in the child, between fork and execve: async-signal-safe calls only ------------------ */

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

/* The runner's preparation step (common/child_runner.h): fds are set up already. */
static int become_user_in_child(const void *context)
{
    const struct user_account *account = context;

    reset_signals();
    /* A new session without a controlling terminal: otherwise the user's helper keeps the
     * application's terminal (root's, under su), where TIOCSTI can type into root's shell. */
    if (setsid() < 0)
        return HELPER_EXIT_CHILD_SETUP;
    if (geteuid() == 0 && !become_user(account))
        return HELPER_EXIT_PRIVILEGES;
    if (!leave_session_keyring() || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return HELPER_EXIT_CHILD_SETUP;
    return 0;
}

/* --- in the module ------------------------------------------------------------------------ */

/* Everything one helper run owns, released by helper_process_cleanup. */
struct helper_process {
    struct capped_buffer request;
    struct capped_buffer reply;
    struct child_outcome outcome;
};

static const char *describe_exit(const struct child_outcome *process, char *text, size_t size)
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

    const struct child_outcome *outcome = &process->outcome;

    if (protocol_decode(process->reply.data, process->reply.length, reply) != 0) {
        text_set_why(why, why_size, "the helper %s without a valid reply",
                     describe_exit(outcome, exit_text, sizeof(exit_text)));
        return -1;
    }
    ok_agrees = strcmp(reply->command, "ok") == 0 &&
                (!outcome->status_known || outcome->exit_code == HELPER_EXIT_OK);
    error_agrees = strcmp(reply->command, "error") == 0 &&
                   (!outcome->status_known || outcome->exit_code == HELPER_EXIT_FAILED) &&
                   protocol_message_get(reply, "message") != NULL;
    if (!ok_agrees && !error_agrees) {
        text_set_why(why, why_size, "the helper's reply does not agree with its exit (it %s)",
                     describe_exit(outcome, exit_text, sizeof(exit_text)));
        return -1;
    }
    return 0;
}

static void helper_process_cleanup(struct helper_process *process)
{
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
    static char program_name[] = "pam_oauth_keyring_helper";
    char *const arguments[] = {program_name, NULL};
    const struct child_program helper = {.path = helper_program_path(),
                                         .arguments = arguments,
                                         .environment = environment->entries,
                                         .name = "helper",
                                         .prepare = become_user_in_child,
                                         .prepare_context = account};
    struct helper_process process;
    long long deadline_ms = monotonic_now_ms() + timeout_ms;
    int rv = -1;

    memset(&process, 0, sizeof(process));
    memset(reply, 0, sizeof(*reply));
    if (check_identity(account, why, why_size) != 0 ||
        check_helper_file(account, why, why_size) != 0)
        goto out;
    if (capped_buffer_init(&process.request, PROTOCOL_MAX_MESSAGE) != 0 ||
        capped_buffer_init(&process.reply, PROTOCOL_MAX_MESSAGE) != 0 ||
        protocol_encode(request, &process.request) != 0) {
        text_set_why(why, why_size, "the request for the helper could not be built");
        goto out;
    }
    if (child_run(&helper, process.request.data, process.request.length, deadline_ms,
                  &process.reply, &process.outcome, why, why_size) == 0)
        rv = accept_reply(&process, reply, why, why_size);
out:
    helper_process_cleanup(&process);
    return rv;
}
