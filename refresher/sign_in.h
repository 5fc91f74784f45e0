/* A sign-in run by the refresher, for `oauth-keyring login` (issue 13).
 *
 * The refresher holds the provider settings and the client secret for the whole session; a
 * sign-in asks it for a fresh PKCE verifier and state (oauth/authorize_url.h
 * authorization_begin, as the login helper's "authorize") and the URL that carries them.
 * When redirect_uri is a loopback http URI with a port, the browser's redirect is caught by a
 * loopback listener (loopback_listener.h) for the sign-in's duration; the client may also
 * hand in a pasted code or redirect address at any time. Either is checked as the login
 * helper checks a pasted answer (oauth/answer.h: state, iss, error=, Snyk's instance=); the
 * first that passes is exchanged in a child helper ("exchange", helper_child.h) under the
 * same refresh lock as every refresh, which stores the pair and records "signed-in".
 *
 * oauth-keyring talks to it over SERVICE.sock in requests of the protocol's table
 * (common/protocol_table.h), one a connection: "sign-in" (answered with the authorize URL,
 * the sign-in's name and, with a listener, where it listens and the one-use start address the
 * browser is to open (loopback_listener.h: the authorize URL never goes into an argv); or why
 * it cannot listen: paste only), "sign-in-wait" (the
 * refresher holds that connection and answers it with the outcome when the sign-in ends; the
 * client closing it cancels the sign-in), "sign-in-answer" (a pasted code or address: "ok"
 * with the outcome once exchanged, or "error" bad-answer and the sign-in waits on),
 * "sign-in-cancel". Outcomes: signed-in; denied, cancelled, timed-out, superseded (another
 * sign-in started); keyring-failed, provider-unreachable, provider-error (the exchange
 * failed); unavailable (this refresher cannot run a sign-in). The sign-in ends, and its
 * listener closes, on a cancel, after SIGN_IN_SECONDS, or once an answer was exchanged (the
 * outcome page then stays for the browser a few seconds). */
#ifndef POK_SIGN_IN_H
#define POK_SIGN_IN_H

#include <stdbool.h>

#include "common/protocol.h"
#include "oauth/answer.h"
#include "store/refresh.h"

#define SIGN_IN_SECONDS 300

struct sign_in;

/* Called once when a sign-in ends; stored: the pair is in the keyring now. */
typedef void (*sign_in_ended_fn)(void *data, bool stored);

/* Starts a sign-in; settings and request are the refresher's, borrowed for its life. reply
 * gets the answer to "sign-in". Never NULL: one that cannot start has ended (unavailable). */
struct sign_in *sign_in_start(const struct protocol_message *settings,
                              const struct refresh_request *request, sign_in_ended_fn ended,
                              void *data, struct protocol_message *reply);

/* Whether name (a request's sign_in) is this sign-in's. NULL sign_in: false. */
bool sign_in_is(const struct sign_in *sign_in, const char *name);

/* "sign-in-wait": true when client is kept (answered and closed when the sign-in ends);
 * false with reply set (it has ended already, or another client waits). */
bool sign_in_wait(struct sign_in *sign_in, int client, struct protocol_message *reply);

/* "sign-in-answer": a pasted code or address, checked and, when it passes, exchanged. */
void sign_in_answer(struct sign_in *sign_in, const char *answer, struct protocol_message *reply);

/* "sign-in-cancel": ends it (cancelled) if it runs; reply holds how it ended. */
void sign_in_cancel(struct sign_in *sign_in, struct protocol_message *reply);

/* Ends a running sign-in with outcome and message (nothing if it has ended already); its
 * listener closes at once. */
void sign_in_end_now(struct sign_in *sign_in, const char *outcome, const char *message);

/* Ends it if it runs, closes everything, wipes its secrets. NULL is allowed. */
void sign_in_free(struct sign_in *sign_in);

#endif
