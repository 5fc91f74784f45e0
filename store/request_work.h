/* The work the login helper and the refresher program share for a request of the protocol's
 * table (common/protocol_table.h): the request and its reply, the settings a request carries,
 * the code exchange and its store, a refresh and a logout done on the refresher's behalf, and
 * reading the request from stdin and writing the reply to stdout. Each program decides which
 * of these it runs (helper/helper_main.c, refresher/refresher_main.c). */
#ifndef POK_REQUEST_WORK_H
#define POK_REQUEST_WORK_H

#include <stdbool.h>

#include "common/protocol.h"
#include "common/protocol_table.h"
#include "oauth/device_grant.h"
#include "store/keyring.h"
#include "store/refresh.h"

struct request_work {
    struct protocol_message request;
    struct protocol_message reply;
};

/* A field of the request, or NULL. */
const char *work_field(const struct request_work *work, enum protocol_field_id field);

/* The reply becomes an "error" with reason and message: HELPER_EXIT_FAILED. */
int work_reply_error(struct request_work *work, const char *reason, const char *message);

/* The reply becomes an "ok" with outcome and message: HELPER_EXIT_OK (or, when it does not
 * fit, an error). */
int work_reply_outcome(struct request_work *work, const char *outcome, const char *message);

/* The reason a keyring status gives the module ("keyring-locked", ...). */
const char *work_keyring_reason(enum keyring_status status);

/* The refresh settings the request carries (pointers into it). */
void work_refresh_settings(const struct request_work *work, struct refresh_request *request);

/* What the request's work may take: its timeout, ending in time for the store before the
 * module's deadline (when it sent one). */
long work_time_budget_ms(const struct request_work *work);

/* With discover=1 (a configuration that names only the issuer; without it, nothing is done),
 * the endpoints the request lacks - authorize_url, token_url, revoke_url - from the issuer's
 * metadata (oauth/discovery.h), fetched now within budget_ms, added to the request as if the
 * module had sent them: explicit ones stand. discover=1 then leaves the request, so that what
 * it hands on (a refresher's start) needs no second fetch. 0 (also when there is nothing to
 * discover), or -1 with why (for the reply and the log: it names the issuer, and both issuers
 * when they differ). */
int work_discover_endpoints(struct request_work *work, long budget_ms, char *why, size_t why_size);

/* With holds_refresh_token, refresh_expires_at (Unix seconds, 0: the provider gave none) in
 * the reply, for the module's login state (pam_module/login_state.h). -1 if it does not fit. */
int work_add_refresh_expiry(struct request_work *work, bool holds_refresh_token,
                            long long refresh_expires_at);

/* How an exchange ended, for what the caller does next (the login helper starts the
 * refresher after STORED and PROVIDER_FAILED, hands the code on after DEFERRED). */
enum work_exchange_result {
    WORK_EXCHANGE_DEFERRED,        /* keyring not started, may_defer: nothing done, no reply */
    WORK_EXCHANGE_NOT_SENT,        /* keyring unusable, no time left: the code not spent */
    WORK_EXCHANGE_PROVIDER_FAILED, /* the provider refused it or did not answer */
    WORK_EXCHANGE_STORED,          /* the pair is in the keyring */
    WORK_EXCHANGE_NOT_STORED,      /* the keyring refused the pair */
};

/* An "exchange": only with a usable keyring is the code spent; then the pair is stored and
 * the sign-in recorded (SERVICE.status). With may_defer and a keyring not started yet,
 * nothing is done and no reply made: the caller hands the code on. Returns the exit status
 * that goes with the reply; *result says how it ended. */
int work_exchange_code(struct request_work *work, bool may_defer,
                       enum work_exchange_result *result);

/* What one poll of a device sign-in came to (oauth/device_grant.h). */
struct work_device_poll {
    enum device_poll_verdict verdict;
    long retry_after_seconds; /* a 429/503's Retry-After; 0: none */
    char message[320];        /* the provider's or the transport's words; never a secret */
};

/* One poll with the request's device_code (RFC 8628 3.4), like an exchange: only with a usable
 * keyring is it sent; approved, the pair is stored and the sign-in recorded (the reply "ok");
 * otherwise the reply is an error whose reason is the provider's (authorization_pending,
 * slow_down, access_denied, expired_token, ...) and poll says what it means. */
int work_poll_device(struct request_work *work, bool may_defer,
                     enum work_exchange_result *result_kind, struct work_device_poll *poll);

/* The device authorization request (RFC 8628 3.1) to the request's device_authorization_url
 * or, with discover=1, the issuer's metadata's, within the request's time budget; the reply
 * "ok" carries device_code, user_code, verification_uri[_complete], interval and expires_at
 * (Unix seconds), or is an error naming why. Returns the exit status. */
int work_device_authorize(struct request_work *work);

/* A "refresh" on the refresher's behalf: every outcome, failures included, is an "ok" reply
 * that names it (with retry_after when the provider asked to wait). */
int work_refresh_for_refresher(struct request_work *work);

/* A "logout" on the refresher's behalf: revoke and remove the pair; "logged-out" or
 * "keyring-failed". */
int work_logout_for_refresher(struct request_work *work);

/* The request from stdin, read to end of file (at most PROTOCOL_MAX_MESSAGE bytes), decoded:
 * 0, or -1. The reply to stdout, whole: 0, or -1. */
int work_read_request(struct request_work *work);
int work_write_reply(const struct request_work *work);

/* What a program does for one request it takes. */
typedef int work_handler(struct request_work *work);

/* The life of a program that serves one request (the login helper, the refresher program):
 * refuse a dumpable start (HELPER_EXIT_EXPOSED) and become non-dumpable, bound the whole run by
 * max_seconds (alarm), read the request, refuse ("bad-request", why) one the protocol's table
 * does not send to what this program reads or that lacks a handler here - before any work -
 * else run its handler, and write the reply. Returns the exit status. */
int work_serve_one_request(unsigned reads, work_handler *const handlers[PROTOCOL_REQUEST_COUNT],
                           unsigned max_seconds);

#endif
