/* A device sign-in (RFC 8628) the refresher polls for: a login's, whose prompt showed the code
 * and whose session hook found it not approved yet, or one `oauth-keyring login --device`
 * started. The refresher holds the device code (a secret: never in a file, an argv, the
 * environment or a log) and polls the token endpoint in a short-lived child ("device-poll",
 * helper_child.h: the https module stays out of the refresher) at the provider's interval:
 * authorization_pending goes on, slow_down adds 5 s for good, no answer doubles the interval,
 * a Retry-After is waited; access_denied, expired_token, any other error, or expires_in
 * running out end it. The approved pair is stored by the child under the refresh lock, as an
 * exchange's is. SERVICE.status records one line when it starts ("device-waiting": where, the
 * code, until when) and one when it ends: nothing else is left of a sign-in nobody approved.
 *
 * oauth-keyring waits for it as for a browser sign-in ("sign-in-wait" with its name) and asks
 * what waits ("device-status"). */
#ifndef POK_DEVICE_SIGN_IN_H
#define POK_DEVICE_SIGN_IN_H

#include <stdbool.h>

#include "common/protocol.h"
#include "store/refresh.h"

struct device_sign_in;

/* Called once when it ends; stored: the pair is in the keyring now. */
typedef void (*device_sign_in_ended_fn)(void *data, bool stored);

/* Starts polling for the device authorization in offer (device_code, interval, expires_at,
 * user_code, verification_uri[_complete]: copied, the caller wipes its own), the first poll
 * one interval from now. settings and request are the refresher's, borrowed for its life.
 * NULL when offer lacks what a poll needs or has expired. */
struct device_sign_in *device_sign_in_start(const struct protocol_message *settings,
                                            const struct refresh_request *request,
                                            const struct protocol_message *offer,
                                            device_sign_in_ended_fn ended, void *data);

/* Whether it still polls; whether name (a request's sign_in) is its name. NULL: false. */
bool device_sign_in_running(const struct device_sign_in *device);
bool device_sign_in_is(const struct device_sign_in *device, const char *name);

/* The reply to "sign-in" (grant=device) or "device-status": its name, code, address, until
 * when; reply must be an initialised "ok". */
void device_sign_in_describe(const struct device_sign_in *device, struct protocol_message *reply);

/* "sign-in-wait": true when client is kept (answered and closed when it ends); false with
 * reply set. "sign-in-cancel": ends it (cancelled); reply holds how it ended. */
bool device_sign_in_wait(struct device_sign_in *device, int client, struct protocol_message *reply);
void device_sign_in_cancel(struct device_sign_in *device, struct protocol_message *reply);

/* Ends it if it runs (recording outcome and message), wipes the device code, frees it.
 * NULL is allowed. */
void device_sign_in_free(struct device_sign_in *device, const char *outcome, const char *message);

#endif
