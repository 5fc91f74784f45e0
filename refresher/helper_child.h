/* One request to a fresh copy of this program, for the long-lived refresher.
 *
 * The refresher does its network work (a refresh, a revocation) in a short-lived child: the
 * child loads the https module (libcurl, two TLS stacks) and exits, so the refresher itself
 * never maps it - its footprint stays that of GLib and libsecret for the whole session - and a
 * fault in the TLS or HTTP code ends one child, not the session's refresher. The run itself
 * (deadline, kill, reaping exactly this child) is common/child_runner.h's. */
#ifndef POK_HELPER_CHILD_H
#define POK_HELPER_CHILD_H

#include "common/protocol.h"

/* In a child just forked: this program started afresh ("/proc/self/exe", its environment
 * the helper's minimal one) with input_fd as stdin, output_fd as stdout (-1: /dev/null),
 * /dev/null as stderr, no other fd, in "/". Async-signal-safe calls only; never returns. */
void helper_exec_self(int input_fd, int output_fd, char *const arguments[])
    __attribute__((noreturn));

/* Runs "pam_oauth_keyring_helper COMMAND SERVICE" (this program, /proc/self/exe) with request
 * on its stdin and reads its reply from its stdout, all within timeout_ms; the child is then
 * reaped (killed first if it is still running). 0 when a reply was decoded into reply. */
int helper_child_call(const struct protocol_message *request, const char *service, long timeout_ms,
                      struct protocol_message *reply);

#endif
