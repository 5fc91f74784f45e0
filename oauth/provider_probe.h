/* `oauth-keyring check`'s look at the provider, for real and storing nothing: the
 * authorization endpoint must answer over verified TLS, and the token endpoint, sent a
 * deliberately invalid authorization code with the configured client credentials, must
 * answer an OAuth error that says whether the client authenticated (RFC 6749 5.2:
 * invalid_grant means the client id and secret were right, invalid_client that they were
 * not). Runs in the helper, as an unprivileged uid, under the helper's TLS rules and time
 * bounds (oauth/token_exchange.h). */
#ifndef POK_PROVIDER_PROBE_H
#define POK_PROVIDER_PROBE_H

#include <stdbool.h>

struct probe_request {
    const char *authorize_url;
    const char *token_url;
    const char *client_id;
    const char *client_secret; /* NULL: a public client */
    const char *redirect_uri;
    const char *scope;
    const char *ca_file;
    long timeout_ms; /* for each of the requests */
    /* The device grant (RFC 8628): its endpoint probed when set; device_only: no browser
     * sign-in (no authorization endpoint, an invalid device code to the token endpoint). */
    const char *device_authorization_url;
    bool device_only;
};

/* The code sent: no provider issues this, so a provider that authenticated the client can
 * only answer invalid_grant. */
#define PROBE_INVALID_CODE "oauth-keyring-check-deliberately-invalid-code"
/* The token endpoint accepted the invalid code: what token_result then says. */
#define PROBE_TOKEN_ACCEPTED "accepted-invalid-code"
/* The device authorization endpoint issued a user code (dropped: it expires unused). */
#define PROBE_DEVICE_ANSWERED "answered"
/* authorize_result for the device grant alone: no authorization endpoint is used. */
#define PROBE_NOT_USED "not-used"

struct probe_outcome {
    /* "http-NNN" when an answer came over verified TLS (its HTTP status), or the transport's
     * reason: "network", "tls", "timeout", "setup" */
    char authorize_result[48];
    char authorize_message[320];
    /* The OAuth error code the token endpoint answered ("invalid_grant", ...), or the
     * transport's or judge's reason ("network", "server-error", ...), or
     * PROBE_TOKEN_ACCEPTED. */
    char token_result[48];
    char token_message[320];
    /* With a device_authorization_url: PROBE_DEVICE_ANSWERED, the OAuth error code
     * (unauthorized_client: the client may not use the grant) or the transport's reason;
     * empty without one. */
    char device_result[48];
    char device_message[320];
};

/* The requests, in that order (authorization, device authorization, token); outcome says what came
 * of each. Nothing is stored, and a token answered for the invalid code is wiped at once. */
void provider_probe(const struct probe_request *request, struct probe_outcome *outcome);

#endif
