/* The device authorization grant (RFC 8628): the request that yields a user code, a
 * verification address and a device code (3.1, 3.2), and what each poll of the token endpoint
 * with that device code means for the next one (3.4, 3.5).
 *
 * Run by the user's own processes only (the login helper, the refresher's children), never by
 * the module. The device code is a secret (whoever holds it and the client's credentials gets
 * the tokens the user approves): it is wiped with every copy and never shown. The user code
 * and the verification address are shown to the user; they are not secrets (RFC 8628 5.1). */
#ifndef POK_DEVICE_GRANT_H
#define POK_DEVICE_GRANT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/secret_memory.h"
#include "oauth/token_exchange.h"

/* RFC 8628 3.2: "If no value is provided, clients MUST use 5 as the default." */
#define DEVICE_DEFAULT_INTERVAL 5
/* 3.5: slow_down "the interval MUST be increased by 5 seconds for this and all subsequent
 * requests". */
#define DEVICE_SLOW_DOWN_STEP 5
/* The most we wait between two polls, however often the interval doubled or grew. */
#define DEVICE_MAX_INTERVAL 600
/* The longest sign-in we keep polling for, whatever expires_in says (a day). */
#define DEVICE_MAX_LIFETIME 86400
/* The longest user code or device code taken; real ones are tens of bytes. */
#define DEVICE_CODE_MAX 2048
#define USER_CODE_MAX 64

struct device_authorization {
    char *device_code;               /* secret */
    char *user_code;                 /* shown */
    char *verification_uri;          /* shown: https, with a host, visible ASCII */
    char *verification_uri_complete; /* shown; NULL when the provider has none */
    long long expires_in;            /* seconds, 1..DEVICE_MAX_LIFETIME */
    long interval;                   /* seconds, 1..DEVICE_MAX_INTERVAL; 5 when absent */
};

/* Checks a device authorization answer (one strict JSON object, RFC 8628 3.2) and keeps its
 * values: device_code, user_code, verification_uri (Google's "verification_url" when that is
 * all there is), expires_in required; interval and verification_uri_complete optional. Both
 * addresses must be https URLs with a host, in visible ASCII (the user types the first on
 * another device: an http one could be rewritten on the way, a non-ASCII one could show another
 * host than it opens). 0, or -1 with why and nothing kept. Pure: for the unit tests and the
 * fuzzer. */
int device_authorization_parse(const char *body, size_t length,
                               struct device_authorization *authorization, char *why,
                               size_t why_size);

/* POSTs form (token_forms.h: token_form_device_authorization) to url and checks the answer:
 * 0 with authorization filled, or -1 with result's reason and message saying why (an OAuth
 * error's code - invalid_client, unauthorized_client - or the transport's reason, as
 * token_exchange gives them; retry_after_seconds for a 429/503 that sent one). */
int device_authorization_request(const char *url, const char *ca_file, long timeout_ms,
                                 const struct capped_buffer *form,
                                 struct device_authorization *authorization,
                                 struct exchange_result *result);

void device_authorization_clear(struct device_authorization *authorization);

/* What one poll's answer (token_exchange of token_form_device_code) means, RFC 8628 3.5. */
enum device_poll_verdict {
    DEVICE_POLL_TOKENS,      /* the user approved: result.tokens holds the pair */
    DEVICE_POLL_PENDING,     /* authorization_pending: ask again after the interval */
    DEVICE_POLL_SLOW_DOWN,   /* slow_down: the interval grows by 5 s, for good */
    DEVICE_POLL_DENIED,      /* access_denied: the sign-in ends */
    DEVICE_POLL_EXPIRED,     /* expired_token: the sign-in ends */
    DEVICE_POLL_UNREACHABLE, /* no answer, 5xx, 429/503: ask again, less often */
    DEVICE_POLL_FAILED,      /* any other error (invalid_grant, invalid_client): it ends */
};

enum device_poll_verdict device_poll_judge(const struct exchange_result *result);

/* Whether the sign-in goes on after verdict. */
bool device_poll_continues(enum device_poll_verdict verdict);

/* The seconds to wait before the next poll after verdict, updating *interval for the polls
 * after it: slow_down adds 5 s for good; no answer at all doubles it (RFC 8628 3.5's
 * "reduce their polling frequency", exponential backoff), capped at DEVICE_MAX_INTERVAL; a
 * Retry-After longer than the interval is waited once. */
long device_poll_next_wait(long *interval, enum device_poll_verdict verdict, long retry_after);

/* The verdict's name in replies and status lines ("authorization-pending", "slow-down",
 * "denied", "expired", "provider-unreachable", "provider-error", "signed-in"), and back;
 * false for a name that is none of them. */
const char *device_poll_verdict_name(enum device_poll_verdict verdict);
bool device_poll_verdict_from_name(const char *name, enum device_poll_verdict *verdict);

#endif
