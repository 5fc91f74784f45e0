/* Running the helper as the user: fork, become the user, exec with a minimal environment, one
 * request on its stdin, one reply on its stdout, a bounded wait, exactly one child reaped (the
 * run itself is common/child_runner.h's; becoming the user and judging the reply are here). */
#ifndef POK_HELPER_PROCESS_H
#define POK_HELPER_PROCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/protocol.h"
#include "pam_module/user_account.h"

/* Where the helper is: compiled in (a test build of the module may take it from the
 * application's environment; the installed module never does). */
const char *helper_program_path(void);

/* Whether the helper may be a file the user can read: never, but in the test build of the
 * module when the application's environment asks for it (stand-in helpers are scripts). */
bool helper_may_be_readable(void);

/* Runs the helper for account and waits at most timeout_ms for its reply and exit. On 0, reply
 * holds a well-formed "ok" or "error" that agrees with the exit status; on -1 why says what
 * went wrong in words fit for the log. reply must be cleared by the caller either way. */
int helper_run(const struct user_account *account, const struct helper_environment *environment,
               const struct protocol_message *request, int timeout_ms,
               struct protocol_message *reply, char *why, size_t why_size);

#endif
