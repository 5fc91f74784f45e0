/* The refresher: one per user and service, living in the user's session.
 *
 * Started by the helper at session open (so it runs as the user, with the client secret it
 * received over the module's socketpair and nothing else), it detaches, keeps at most one
 * copy of itself per service (flock), refreshes once shortly before each expiry (margin plus
 * up to 10% jitter), looks at the wall clock at least every 60 s (so a suspend is noticed),
 * backs off after failures (60 s doubling to 15 min), and exits when the user's session bus
 * goes away or the user must authorize again.
 *
 * `oauth-keyring` asks it for a fresh token or a logout over SERVICE.sock, one line each way:
 *     refresh <min-valid-seconds>\n   |   logout\n
 *     <outcome>\t<message>\n
 * A refresh's outcome is refresh.h's name; a logout's "logged-out" when the items are gone
 * (then the refresher ends), else "keyring-failed" or "outcome-unknown" (it runs on).
 * Only the same uid is served (SO_PEERCRED). */
#ifndef POK_REFRESHER_H
#define POK_REFRESHER_H

#include "protocol.h"
#include "refresh.h"

#define REFRESHER_LINE_MAX 512

/* Starts the detached refresher: forks twice (a session of its own, not a child of the
 * login) and executes this same program afresh - no D-Bus or GLib state crosses a fork -
 * with request (command "refresher") on a pipe as its stdin. Returns at once. */
void refresher_spawn(const struct protocol_message *request);

/* The refresher's life, in the process refresher_spawn started: settings is the request it
 * was started with (handed on to the short-lived helpers that do its refreshes and logouts,
 * see helper_child.h), request the same parsed. Started by a login whose keyring was not up
 * yet, it first waits for the keyring (30 s at most) and, when settings hold a code, has a
 * child exchange it; the code and verifier are wiped after that. Returns when it should exit:
 * another refresher runs, the bus went away, or the user must authorize again. */
void refresher_run(struct protocol_message *settings, const struct refresh_request *request);

/* Sends one request line to the running refresher and reads its answer line (without the
 * newline) into reply. 0 on an answer; -1 when no refresher answered within timeout_ms. */
int refresher_ask(const char *service, const char *line, char *reply, size_t reply_size,
                  long timeout_ms);

/* Revokes the refresh token (if a revoke_url is given) and deletes both items; only when they
 * are gone is the logout recorded (SERVICE.status). message says what happened, or why
 * nothing did (a locked keyring). 0 when the items are gone. */
int logout_pair(struct keyring *keyring, const struct refresh_request *request,
                const char *revoke_url, char *message, size_t message_size);

#endif
