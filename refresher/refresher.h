/* The refresher: one per user and service, living in the user's session.
 *
 * Started by the helper at session open (so it runs as the user, with the client secret it
 * received over the module's socketpair and nothing else), it detaches, keeps at most one
 * copy of itself per service (flock), refreshes once shortly before each expiry (margin plus
 * a jitter drawn for every token, up to 10% of its lifetime), looks at the wall clock at least
 * every 60 s (so a suspend is noticed), backs off after failures (full jitter: a draw below
 * 60 s doubling to 15 min), waits out a 429/503's Retry-After, and exits when the user's
 * session bus goes away. The timing is store/schedule.h. With nothing to refresh (no
 * tokens yet, a logout, a dead grant) it stays and waits for a sign-in (sign_in.h), which
 * `oauth-keyring login` asks it for; "wake" (from a refresher a newer login started, finding
 * this one running) makes it plan from the keyring at once.
 *
 * `oauth-keyring` asks it for a fresh token or a logout over SERVICE.sock: one POK/1 request
 * of the protocol's table (common/protocol_table.h: "refresh" with min_valid, or "logout"),
 * then end of file; one answer, "ok" with an outcome and a message, or "error" with reason
 * "bad-request" for a request the table refuses. A refresh's outcome is refresh.h's name; a
 * logout's "logged-out" when the items are gone (then the refresher waits for a sign-in),
 * else "keyring-failed" or "outcome-unknown". The sign-in's requests: sign_in.h.
 * Only the same uid is served (SO_PEERCRED). */
#ifndef POK_REFRESHER_H
#define POK_REFRESHER_H

#include "common/protocol.h"
#include "store/refresh.h"

/* The refresher's life, in the process refresher_spawn started: settings is the request it
 * was started with (handed on to the short-lived helpers that do its refreshes and logouts,
 * see helper_child.h), request the same parsed. Started by a login whose keyring was not up
 * yet, it first waits for the keyring (30 s at most) and, when settings hold a code, has a
 * child exchange it; the code and verifier are wiped after that. Returns when it should exit:
 * another refresher runs, the bus went away, or the user must authorize again. */
void refresher_run(struct protocol_message *settings, const struct refresh_request *request);

#endif
