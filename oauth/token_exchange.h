/* One POST to the token endpoint over https (libcurl), and what came of it. */
#ifndef POK_TOKEN_EXCHANGE_H
#define POK_TOKEN_EXCHANGE_H

#include "common/secret_memory.h"
#include "oauth/token_response.h"

#define TOKEN_RESPONSE_MAX_BYTES (64 * 1024)

enum exchange_outcome {
    EXCHANGE_OK,           /* tokens holds a checked pair */
    EXCHANGE_NOT_SENT,     /* no request reached the provider: nothing was spent */
    EXCHANGE_UNKNOWN,      /* the request went out but no usable answer came back */
    EXCHANGE_SERVER_ERROR, /* HTTP 5xx or 429: the provider failed or is busy; not spent,
                            * retried later (never a lost answer) */
    EXCHANGE_REFUSED,      /* the provider answered with an OAuth error */
    EXCHANGE_BAD_RESPONSE, /* the provider answered with something we cannot trust */
};

struct exchange_result {
    enum exchange_outcome outcome;
    char reason[48];   /* short word for logs: "invalid_grant", "network", "tls", ... */
    char message[320]; /* for the user and the log; never a secret */
    struct token_set tokens;
    long retry_after_seconds; /* a 429/503's Retry-After, from the answer's arrival; 0: none */
    long http_status;         /* the answer's HTTP status; 0 when none came */
};

struct https_answer; /* oauth/https_transport.h */

/* What a token endpoint's answer means (now: Unix seconds, for a Retry-After date). Pure:
 * token_exchange uses it, and the unit tests. */
void token_answer_judge(const struct https_answer *answer, long long now,
                        struct exchange_result *result);

/* POSTs form (oauth/token_forms.h) to token_url and checks the answer. timeout_ms bounds the
 * whole exchange. */
void token_exchange(const char *token_url, const char *ca_file, long timeout_ms,
                    const struct capped_buffer *form, struct exchange_result *result);

/* POSTs form (oauth/token_forms.h: token_form_revoke) to revoke_url (RFC 7009). */
void token_revoke(const char *revoke_url, const char *ca_file, long timeout_ms,
                  const struct capped_buffer *form, struct exchange_result *result);

/* A GET of url, for `oauth-keyring check`'s look at the authorization endpoint: EXCHANGE_OK
 * with http_status set when any HTTP answer came over verified TLS (what the status means is
 * the caller's to judge), else why none came. endpoint names it in messages. The body is
 * not read. */
void https_get_answer(const char *url, const char *ca_file, long timeout_ms, const char *endpoint,
                      struct exchange_result *result);

/* A GET of url whose answer the caller judges itself (the issuer's metadata,
 * oauth/discovery.h), under the same rules as every request: https only, verified TLS, no
 * redirect followed, the body capped at TOKEN_RESPONSE_MAX_BYTES, timeout_ms for all of it.
 * endpoint names the server in messages. The caller wipes answer->body (capped_buffer_wipe)
 * whatever happened. */
void https_get_document(const char *url, const char *ca_file, long timeout_ms, const char *endpoint,
                        struct https_answer *answer);

/* A POST of form to url whose answer the caller judges itself (the device authorization
 * endpoint, oauth/device_grant.h), under the same rules as every request. The caller wipes
 * answer->body whatever happened. */
void https_post_document(const char *url, const char *ca_file, long timeout_ms,
                         const struct capped_buffer *form, const char *endpoint,
                         struct https_answer *answer);

void exchange_result_clear(struct exchange_result *result);

#endif
