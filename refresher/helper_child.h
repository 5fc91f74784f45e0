/* One request to a fresh copy of the refresher program, for the long-lived refresher.
 *
 * The refresher does its network work (a refresh, a revocation) in a short-lived child: the
 * child loads the https module (libcurl, two TLS stacks) and exits, so the refresher itself
 * never maps it - its footprint stays that of GLib and libsecret for the whole session - and a
 * fault in the TLS or HTTP code ends one child, not the session's refresher. The run itself
 * (deadline, kill, reaping exactly this child) is common/child_runner.h's. */
#ifndef POK_HELPER_CHILD_H
#define POK_HELPER_CHILD_H

#include "common/protocol.h"

/* Runs "pam_oauth_keyring_refresher COMMAND SERVICE" (this program, /proc/self/exe, in its
 * child role: common/protocol_table.h's CHANNEL_CHILD requests) with request
 * on its stdin and reads its reply from its stdout, all within timeout_ms; the child is then
 * reaped (killed first if it is still running). 0 when a reply was decoded into reply. */
int helper_child_call(const struct protocol_message *request, const char *service, long timeout_ms,
                      struct protocol_message *reply);

#endif
