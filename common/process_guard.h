/* How the login helper and the refresher program protect themselves at start: they hold
 * secrets (a client secret, codes) and parse what the network sends. Plain libc. */
#ifndef POK_PROCESS_GUARD_H
#define POK_PROCESS_GUARD_H

#include <stdbool.h>

/* Installed where the user cannot read it (root:root 0711), the program is non-dumpable from
 * execve on: the kernel decides that before the dynamic linker runs, so none of the user's
 * other processes could ptrace it, take its fds (pidfd_getfd) or open /proc/PID/fd/0 while
 * the request waited on stdin. False when it started dumpable (they could have), unless
 * dumpable_allowed (a test build under valgrind). */
bool process_started_protected(bool dumpable_allowed);

/* Not dumpable (no core, no ptrace attach by the user's other processes), not traced now,
 * and never root: false when any of that does not hold. */
bool process_protect(void);

#endif
