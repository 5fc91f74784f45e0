/* One child run, for the module and the refresher alike: fork, prepare, exec a program with
 * one message on its stdin, read its answer from its stdout under a deadline, and reap
 * exactly that child - never another one, never by touching SIGCHLD.
 *
 * Plain libc (the PAM module uses it inside the application's process):
 * - the child's stdin and stdout are one end of a socketpair (a socket cannot be reopened
 *   through /proc/PID/fd by the user's other processes, a pipe can), stderr is /dev/null, no
 *   other fd stays open, the working directory is "/";
 * - the child is watched through a pidfd (pidfd_open, waitid(P_PIDFD),
 *   pidfd_send_signal), so a signal or a wait never reaches a reused pid; without pidfds
 *   (Linux before 5.3, valgrind 3.19) waitpid(pid, WNOHANG) with a short backoff, and the pid
 *   is given up once waitpid says the application reaped it;
 * - a child still running at the deadline gets SIGTERM, then SIGKILL after CHILD_TERM_GRACE_MS;
 *   one that SIGKILL does not end within CHILD_KILL_GRACE_MS (asleep in the kernel, on a
 *   user's FUSE mount that never answers) is left behind and said so, never waited for
 *   without a bound;
 * - the application's SIGCHLD disposition, its signal mask and its other children are left
 *   alone: an application that reaps every child (or ignores SIGCHLD) only costs us the exit
 *   status (status_known false). */
#ifndef POK_CHILD_RUNNER_H
#define POK_CHILD_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/secret_memory.h"

/* How long a child gets to end after SIGTERM before SIGKILL, and after SIGKILL before it is
 * left behind. */
#define CHILD_TERM_GRACE_MS 250
#define CHILD_KILL_GRACE_MS 500

/* Exit statuses of a child that never reached the program: the helper's
 * HELPER_EXIT_CHILD_SETUP and HELPER_EXIT_EXEC (common/protocol.h), so one table explains
 * them. */
#define CHILD_EXIT_SETUP 120
#define CHILD_EXIT_EXEC 127

/* What to run. */
struct child_program {
    const char *path;         /* given to execve as is */
    char *const *arguments;   /* argv, NULL-terminated */
    char *const *environment; /* envp, NULL-terminated; NULL: this process's environ */
    const char *name;         /* for messages: "the NAME did not answer in time" */
    /* In the child, after its fds are set up and before chdir("/") and execve: the module
     * drops to the user here (setsid, setgroups, setuid, a session keyring of its own).
     * Async-signal-safe calls only. Returns 0 to go on, or the status the child exits with.
     * NULL: nothing to do. */
    int (*prepare)(const void *context);
    const void *prepare_context;
};

/* How a run ended; filled in whatever child_run returns. */
struct child_outcome {
    pid_t pid;         /* for the log only: waits and signals go through the pidfd */
    bool answered;     /* the answer was read up to its end of file */
    bool timed_out;    /* the deadline passed before the answer or the exit: killed */
    bool stuck;        /* killed, and still alive after the graces: left behind */
    bool status_known; /* false when the application reaped the child before us */
    int exit_code;     /* when it exited; -1 when a signal ended it */
    int exit_signal;   /* when a signal ended it */
};

/* Runs program with message (length bytes) on its stdin, then end of file; reads its stdout
 * into answer (initialised by the caller with capped_buffer_init: its capacity caps the
 * answer) until end of file; waits for its exit; all by deadline_ms (CLOCK_MONOTONIC,
 * common/deadline.h). A child that does not answer or exit by then, or whose answer exceeds
 * the cap, is killed (CHILD_TERM_GRACE_MS, CHILD_KILL_GRACE_MS). The child is reaped before
 * this returns, or left behind when stuck.
 *
 * 0 when the answer was read to its end and the child exited by the deadline (the answer may
 * be empty; outcome says how it exited). -1 otherwise, with why saying what happened in
 * words fit for a log ("the NAME did not answer in time and was killed", ...). */
int child_run(const struct child_program *program, const char *message, size_t length,
              long long deadline_ms, struct capped_buffer *answer, struct child_outcome *outcome,
              char *why, size_t why_size);

/* The child's side alone, for a caller that forks by itself (the refresher's detached
 * grandchild): input_fd becomes stdin, output_fd stdout (-1: /dev/null), /dev/null stderr,
 * every other fd is closed, program->prepare runs, then chdir("/") and execve. Only in a
 * child just forked; async-signal-safe; never returns (exits CHILD_EXIT_SETUP,
 * CHILD_EXIT_EXEC or prepare's status when something fails). */
void child_exec(const struct child_program *program, int input_fd, int output_fd)
    __attribute__((noreturn));

#endif
