/* oauth-keyring exec's running of COMMAND with the token in its environment only, shared by
 * the front end (cli/front.c, a token from the refresher) and the full CLI (one from the
 * keyring). Plain libc: the front end loads nothing else. */
#ifndef POK_EXEC_COMMAND_H
#define POK_EXEC_COMMAND_H

#include <signal.h>
#include <spawn.h>
#include <stdbool.h>

/* What exec runs COMMAND with and cleans up after: the child's environment (ours, with the
 * token's variable replaced) and the signals the CLI handles differently while COMMAND runs. */
struct exec_run {
    char **environment; /* borrowed from environ, but for assignment */
    char *assignment;   /* "NAME=token": a secret */
    posix_spawnattr_t attributes;
    bool attributes_ready;
    struct sigaction old_interrupt, old_quit, old_terminate, old_hangup;
    bool signals_changed;
    sigset_t old_mask;
    bool mask_changed;
};

/* Our environment with NAME=token (a copy) in place of any NAME=: COMMAND's, and only its.
 * 0, or 1 (the CLI's internal-error status) after saying so on stderr. run starts zeroed. */
int exec_command_prepare(struct exec_run *run, const char *name, const char *token);

/* Runs argv[0] (found on PATH) with the prepared environment, like system() for signals, and
 * waits: COMMAND's exit status, 128 + the signal that ended it, 127 (not found), 126 (could
 * not be run) or 1. The token's copy is wiped as soon as COMMAND has its own. */
int exec_command_run(struct exec_run *run, char **argv);

/* Restores our signals and wipes and frees what prepare made. */
void exec_run_cleanup(struct exec_run *run);

#endif
