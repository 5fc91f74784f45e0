#include "config.h"

#include "cli/exec_command.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/secret_memory.h"

/* oauth-keyring's status for an internal error (its EXIT_USAGE). */
#define EXEC_INTERNAL_ERROR 1

extern char **environ;

/* The running COMMAND, for the handler that passes SIGTERM and SIGHUP on to it. */
static volatile sig_atomic_t exec_child_pid;

static void exec_forward_signal(int signal_number)
{
    if (exec_child_pid > 0)
        kill((pid_t)exec_child_pid, signal_number);
}

/* Like system(): while COMMAND runs, Ctrl-C and Ctrl-\ are COMMAND's to act on (the terminal
 * sends them to both) and we report how it ended; a SIGTERM or SIGHUP sent to us alone (kill,
 * timeout(1), a closed terminal) is passed on, so COMMAND is not left running without us.
 * Both are blocked until the child's pid is known (exec_unblock_signals). */
static void exec_take_signals(struct exec_run *run)
{
    struct sigaction ignore, forward;
    sigset_t block;

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    run->mask_changed = sigprocmask(SIG_BLOCK, &block, &run->old_mask) == 0;
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    memset(&forward, 0, sizeof(forward));
    forward.sa_handler = exec_forward_signal;
    sigemptyset(&forward.sa_mask);
    forward.sa_flags = SA_RESTART;
    sigaction(SIGINT, &ignore, &run->old_interrupt);
    sigaction(SIGQUIT, &ignore, &run->old_quit);
    sigaction(SIGTERM, &forward, &run->old_terminate);
    sigaction(SIGHUP, &forward, &run->old_hangup);
    run->signals_changed = true;
}

static void exec_unblock_signals(struct exec_run *run)
{
    if (run->mask_changed)
        sigprocmask(SIG_SETMASK, &run->old_mask, NULL);
    run->mask_changed = false;
}

void exec_run_cleanup(struct exec_run *run)
{
    exec_unblock_signals(run);
    if (run->signals_changed) {
        sigaction(SIGINT, &run->old_interrupt, NULL);
        sigaction(SIGQUIT, &run->old_quit, NULL);
        sigaction(SIGTERM, &run->old_terminate, NULL);
        sigaction(SIGHUP, &run->old_hangup, NULL);
    }
    exec_child_pid = 0;
    if (run->attributes_ready)
        posix_spawnattr_destroy(&run->attributes);
    secret_free_string(&run->assignment);
    free(run->environment);
    run->environment = NULL;
}

/* environ with NAME=token in place of any NAME= already there: only the child gets it. */
static int exec_build_environment(struct exec_run *run, const char *name, const char *token)
{
    size_t count = 0, name_length = strlen(name), token_length = strlen(token);

    while (environ[count] != NULL)
        count++;
    run->environment = calloc(count + 2, sizeof(char *));
    run->assignment = malloc(name_length + token_length + 2); /* secret_free_string frees it */
    if (run->environment == NULL || run->assignment == NULL)
        return -1;
    memcpy(run->assignment, name, name_length);
    run->assignment[name_length] = '=';
    memcpy(run->assignment + name_length + 1, token, token_length + 1);
    count = 0;
    for (char **entry = environ; *entry != NULL; entry++) {
        if (strncmp(*entry, name, name_length) != 0 || (*entry)[name_length] != '=')
            run->environment[count++] = *entry;
    }
    run->environment[count] = run->assignment;
    return 0;
}

/* COMMAND gets back the dispositions we were started with (ignored ones stay ignored, as a
 * shell would leave them; caught ones become default at execve anyway), and our old mask. */
static int exec_prepare_attributes(struct exec_run *run)
{
    sigset_t defaults, mask;

    if (posix_spawnattr_init(&run->attributes) != 0)
        return -1;
    run->attributes_ready = true;
    sigemptyset(&defaults);
    if (run->old_interrupt.sa_handler != SIG_IGN)
        sigaddset(&defaults, SIGINT);
    if (run->old_quit.sa_handler != SIG_IGN)
        sigaddset(&defaults, SIGQUIT);
    mask = run->old_mask;
    if (!run->mask_changed || posix_spawnattr_setsigdefault(&run->attributes, &defaults) != 0 ||
        posix_spawnattr_setsigmask(&run->attributes, &mask) != 0 ||
        posix_spawnattr_setflags(&run->attributes,
                                 POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) != 0)
        return -1;
    return 0;
}

/* COMMAND's exit status, or 128 + the signal that ended it (as a shell reports it). There is
 * no deadline: COMMAND is the user's and runs as long as they want it to. */
static int exec_wait(pid_t child)
{
    int status = 0;
    pid_t waited;

    do {
        waited = waitpid(child, &status, 0);
    } while (waited < 0 && errno == EINTR);
    if (waited < 0) {
        fprintf(stderr, "oauth-keyring: cannot wait for the command: %s\n", strerror(errno));
        return EXEC_INTERNAL_ERROR;
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int exec_command_prepare(struct exec_run *run, const char *name, const char *token)
{
    if (exec_build_environment(run, name, token) != 0) {
        fprintf(stderr, "oauth-keyring: out of memory\n");
        return EXEC_INTERNAL_ERROR;
    }
    return 0;
}

int exec_command_run(struct exec_run *run, char **argv)
{
    pid_t child = -1;
    int error;

    exec_take_signals(run);
    if (exec_prepare_attributes(run) != 0) {
        fprintf(stderr, "oauth-keyring: cannot prepare to run the command\n");
        return EXEC_INTERNAL_ERROR;
    }
    error = posix_spawnp(&child, argv[0], NULL, &run->attributes, argv, run->environment);
    secret_free_string(&run->assignment);
    if (error != 0) {
        fprintf(stderr, "oauth-keyring: cannot run %s: %s\n", argv[0], strerror(error));
        return error == ENOENT ? 127 : 126;
    }
    exec_child_pid = child;
    exec_unblock_signals(run);
    return exec_wait(child);
}
