#include "config.h"

#include "store/request_work.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/process_guard.h"
#include "common/secret_memory.h"
#include "common/text_checks.h"
#include "oauth/device_grant.h"
#include "oauth/discovery.h"
#include "oauth/token_exchange.h"
#include "oauth/token_forms.h"
#include "store/logout.h"
#include "store/test_hooks.h"
#include "store/user_state.h"

int work_reply_error(struct request_work *work, const char *reason, const char *message)
{
    protocol_message_clear(&work->reply);
    protocol_reply_init(&work->reply, false);
    protocol_set(&work->reply, FIELD_REASON, reason);
    protocol_set(&work->reply, FIELD_MESSAGE, message);
    return HELPER_EXIT_FAILED;
}

const char *work_field(const struct request_work *work, enum protocol_field_id field)
{
    return protocol_get(&work->request, field);
}

int work_reply_outcome(struct request_work *work, const char *outcome, const char *message)
{
    /* Whatever reply was there (an exchange's error, say) is wiped first. */
    protocol_message_clear(&work->reply);
    protocol_reply_init(&work->reply, true);
    return protocol_set(&work->reply, FIELD_OUTCOME, outcome) |
                   protocol_set(&work->reply, FIELD_MESSAGE, message)
               ? work_reply_error(work, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

const char *work_keyring_reason(enum keyring_status status)
{
    switch (status) {
    case KEYRING_LOCKED:
        return "keyring-locked";
    case KEYRING_NO_DEFAULT:
        return "keyring-missing";
    case KEYRING_NOT_STARTED:
        return "keyring-not-started";
    default:
        return "keyring-unreachable";
    }
}

/* The form of RFC 6749 section 4.1.3 with the PKCE verifier, in the reference's order. */
static int build_code_form(const struct request_work *work, struct capped_buffer *form)
{
    const struct oauth_client client = {work_field(work, FIELD_CLIENT_ID),
                                        work_field(work, FIELD_CLIENT_SECRET)};

    return token_form_authorization_code(form, &client, work_field(work, FIELD_CODE),
                                         work_field(work, FIELD_REDIRECT_URI),
                                         work_field(work, FIELD_VERIFIER));
}

/* The module's deadline (CLOCK_MONOTONIC ms, see deadline.h), 0 when it sent none. */
static long long request_deadline(const struct request_work *work)
{
    const char *text = work_field(work, FIELD_DEADLINE);

    return text != NULL ? strtoll(text, NULL, 10) : 0;
}

/* What the exchange may take: the configured timeout, ending in time for the store. */
static long exchange_budget_ms(const struct request_work *work)
{
    const char *text = work_field(work, FIELD_TIMEOUT);
    long seconds = text != NULL ? strtol(text, NULL, 10) : 0;

    if (seconds < 1 || seconds > 120)
        return -1;
    return request_time_budget_ms(seconds * 1000, request_deadline(work));
}

long work_time_budget_ms(const struct request_work *work)
{
    return exchange_budget_ms(work);
}

/* An endpoint from the issuer's metadata where the request has none: explicit keys stand. */
static int add_missing(struct request_work *work, enum protocol_field_id field, const char *value)
{
    return work_field(work, field) == NULL ? protocol_set(&work->request, field, value) : 0;
}

int work_discover_endpoints(struct request_work *work, long budget_ms, char *why, size_t why_size)
{
    const char *issuer = work_field(work, FIELD_ISSUER);
    struct provider_metadata metadata;
    int rv;

    if (work_field(work, FIELD_DISCOVER) == NULL)
        return 0;
    if (issuer == NULL)
        return text_set_why(why, why_size, "discovery asked for without an issuer");
    if (budget_ms < 500)
        return text_set_why(why, why_size, "no time left to fetch the issuer's metadata");
    if (discovery_fetch(issuer, work_field(work, FIELD_CA_FILE), budget_ms, &metadata, why,
                        why_size) != 0)
        return -1;
    rv = add_missing(work, FIELD_AUTHORIZE_URL, metadata.authorization_endpoint) |
         add_missing(work, FIELD_TOKEN_URL, metadata.token_endpoint) |
         add_missing(work, FIELD_REVOKE_URL, metadata.revocation_endpoint) |
         add_missing(work, FIELD_DEVICE_AUTHORIZATION_URL, metadata.device_authorization_endpoint);
    provider_metadata_clear(&metadata);
    if (rv != 0)
        return text_set_why(why, why_size, "the discovered endpoints do not fit");
    /* Resolved: what the request hands on (a refresher started after this exchange) carries
     * the endpoints, and an endpoint still missing is one the issuer does not have. */
    protocol_message_remove(&work->request, protocol_field_name(FIELD_DISCOVER));
    return 0;
}

/* The refresh settings the module sent (the same for "session" and "refresher"). */
void work_refresh_settings(const struct request_work *work, struct refresh_request *request)
{
    const char *margin = work_field(work, FIELD_REFRESH_MARGIN);
    const char *timeout = work_field(work, FIELD_TIMEOUT);

    memset(request, 0, sizeof(*request));
    request->names.service = work_field(work, FIELD_KEYRING_SERVICE);
    request->names.username = work_field(work, FIELD_USERNAME);
    request->names.display_name = work_field(work, FIELD_DISPLAY_NAME);
    request->names.preset = work_field(work, FIELD_PRESET);
    request->token_url = work_field(work, FIELD_TOKEN_URL);
    request->token_url_from_preset = work_field(work, FIELD_TOKEN_URL_FROM_PRESET) != NULL;
    /* Only a configuration that names the issuer alone discovers (store/refresh.c). */
    request->issuer =
        work_field(work, FIELD_DISCOVER) != NULL ? work_field(work, FIELD_ISSUER) : NULL;
    request->client_id = work_field(work, FIELD_CLIENT_ID);
    request->client_secret = work_field(work, FIELD_CLIENT_SECRET);
    request->ca_file = work_field(work, FIELD_CA_FILE);
    request->deadline_ms = request_deadline(work);
    request->timeout_ms = (timeout != NULL ? strtol(timeout, NULL, 10) : 10) * 1000;
    request->margin_seconds = margin != NULL ? strtol(margin, NULL, 10) : REFRESH_DEFAULT_MARGIN;
    if (request->timeout_ms < 1000 || request->timeout_ms > 120000)
        request->timeout_ms = 10000;
    if (request->margin_seconds < 0)
        request->margin_seconds = REFRESH_DEFAULT_MARGIN;
}

/* With holds_refresh_token, refresh_expires_at (Unix seconds, 0: the provider gave none) for
 * the module's login state (pam_module/login_state.h): the module, not this process, writes
 * that file. Without a refresh token, no such field: the next login has to ask. */
int work_add_refresh_expiry(struct request_work *work, bool holds_refresh_token,
                            long long refresh_expires_at)
{
    char text[24];

    if (!holds_refresh_token)
        return 0;
    snprintf(text, sizeof(text), "%lld", refresh_expires_at > 0 ? refresh_expires_at : 0);
    return protocol_set(&work->reply, FIELD_REFRESH_EXPIRES_AT, text);
}

/* Stores the pair and records the sign-in (SERVICE.status, for `oauth-keyring status`): the
 * module's exchange and the one a refresher finishes for a login (refresher.c) both end here. */
static int store_exchanged(struct request_work *work, struct keyring *keyring,
                           struct exchange_result *result, const char *token_url)
{
    struct refresh_request request;
    char why[512], event[600];
    time_t now = time(NULL);
    long long refresh_expires_at = result->tokens.refresh_expires_in > 0
                                       ? (long long)now + result->tokens.refresh_expires_in
                                       : 0;

    work_refresh_settings(work, &request);
    if (keyring_store_pair(keyring, &request.names, &result->tokens, token_url, now, why,
                           sizeof(why)) != 0) {
        snprintf(event, sizeof(event), "the sign-in was not stored: %s", why);
        refresh_status_record_event(request.names.service, "exchange-failed", event);
        return work_reply_error(work, "keyring-write", why);
    }
    refresh_status_record_event(request.names.service, "signed-in",
                                result->tokens.refresh_token != NULL
                                    ? "access and refresh token stored in the keyring"
                                    : "access token stored in the keyring; the provider gave "
                                      "no refresh token: sign in again when it expires");
    protocol_reply_init(&work->reply, true);
    return protocol_set(&work->reply, FIELD_MESSAGE, "tokens stored in the keyring") |
                   work_add_refresh_expiry(work, result->tokens.refresh_token != NULL,
                                           refresh_expires_at)
               ? work_reply_error(work, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* The refresh lock, for storing a new pair: a refresh of the previous grant may hold it, with
 * its answer on the way, and a refresh stores only over the token it spent (refresh.c), so it
 * must see this pair only after its own is stored. The wait ends in time for the store at the
 * login's deadline (never hanging a login); without one (the refresher's exchange), it is as
 * long as a refresh may take. -1 when the lock did not come by then. */
static int lock_for_store(const struct request_work *work)
{
    struct refresh_request request;
    long wait_ms;

    work_refresh_settings(work, &request);
    wait_ms =
        request_time_budget_ms(request.timeout_ms + REFRESH_LOCK_SLACK_MS, request.deadline_ms);
    return refresh_lock_acquire(request.names.service, wait_ms > 0 ? wait_ms : 0);
}

/* The token endpoint for an exchange: the request's, or the issuer's metadata's, fetched
 * within *budget_ms, which loses what the fetch took. NULL with why when there is none. */
static const char *exchange_token_url(struct request_work *work, long *budget_ms, char *why,
                                      size_t why_size)
{
    long long started_ms = monotonic_now_ms();

    if (work_field(work, FIELD_TOKEN_URL) != NULL)
        return work_field(work, FIELD_TOKEN_URL);
    if (work_discover_endpoints(work, *budget_ms, why, why_size) != 0)
        return NULL;
    *budget_ms -= (long)(monotonic_now_ms() - started_ms);
    if (work_field(work, FIELD_TOKEN_URL) == NULL)
        text_set_why(why, why_size, "no token endpoint: neither configured nor discovered");
    return work_field(work, FIELD_TOKEN_URL);
}

/* A grant's form (the code's, a device code's) spent at the token endpoint once the keyring
 * proved usable, and the pair stored: work_exchange_code and work_poll_device. result holds
 * the provider's answer (the caller clears it). */
static int exchange_form(struct request_work *work, const struct capped_buffer *form,
                         bool may_defer, enum work_exchange_result *result_kind,
                         struct exchange_result *answer)
{
    const char *token_url = NULL;
    struct exchange_result result;
    struct keyring *keyring = NULL;
    enum keyring_status keyring_status;
    char why[512];
    long budget_ms;
    int lock = -1, status;

    memset(&result, 0, sizeof(result));
    keyring_status = keyring_open(&keyring, KEYRING_FOR_LOGIN, why, sizeof(why));
    /* Not started yet (a display manager's stack, see the helper's defer_to_refresher): a
     * login leaves the exchange to its refresher; nothing is spent here. */
    *result_kind = WORK_EXCHANGE_NOT_SENT;
    if (keyring_status == KEYRING_NOT_STARTED && may_defer) {
        *result_kind = WORK_EXCHANGE_DEFERRED;
        status = HELPER_EXIT_OK;
        goto out;
    }
    if (keyring_status != KEYRING_READY) {
        status = work_reply_error(work, work_keyring_reason(keyring_status), why);
        goto out;
    }
    budget_ms = exchange_budget_ms(work);
    token_url = budget_ms >= 500 ? exchange_token_url(work, &budget_ms, why, sizeof(why)) : NULL;
    if (budget_ms >= 500 && token_url == NULL) {
        status = work_reply_error(work, "discovery", why);
        goto out;
    }
    if (budget_ms < 500) {
        status = work_reply_error(work, "timeout", "no time left for the exchange; code not spent");
        goto out;
    }
    /* The code is sent without the lock: it spends nothing a refresh holds, and a refresh
     * of the previous grant that is running now goes on meanwhile. */
    test_pause_point("exchange-before-request");
    token_exchange(token_url, work_field(work, FIELD_CA_FILE), budget_ms, form, &result);
    if (result.outcome != EXCHANGE_OK) {
        *result_kind = WORK_EXCHANGE_PROVIDER_FAILED;
        status = work_reply_error(work, result.reason, result.message);
        goto out;
    }
    /* Without the lock by the deadline (a refresh stuck in a hung keyring), the pair is
     * stored all the same: the code is spent, this pair exists only here, and a refresh that
     * answers later finds its token gone from the keyring and drops its answer. */
    lock = lock_for_store(work);
    status = store_exchanged(work, keyring, &result, token_url);
    *result_kind = status == HELPER_EXIT_OK ? WORK_EXCHANGE_STORED : WORK_EXCHANGE_NOT_STORED;
out:
    refresh_lock_release(lock);
    keyring_close(keyring);
    *answer = result; /* the caller clears it */
    return status;
}

int work_exchange_code(struct request_work *work, bool may_defer,
                       enum work_exchange_result *result_kind)
{
    struct capped_buffer form = {0};
    struct exchange_result result;
    int status;

    memset(&result, 0, sizeof(result));
    *result_kind = WORK_EXCHANGE_NOT_SENT;
    if (build_code_form(work, &form) != 0)
        status = work_reply_error(work, "internal", "the token request does not fit");
    else
        status = exchange_form(work, &form, may_defer, result_kind, &result);
    exchange_result_clear(&result);
    capped_buffer_wipe(&form);
    return status;
}

int work_poll_device(struct request_work *work, bool may_defer,
                     enum work_exchange_result *result_kind, struct work_device_poll *poll)
{
    const struct oauth_client client = {work_field(work, FIELD_CLIENT_ID),
                                        work_field(work, FIELD_CLIENT_SECRET)};
    struct capped_buffer form = {0};
    struct exchange_result result;
    int status;

    memset(&result, 0, sizeof(result));
    memset(poll, 0, sizeof(*poll));
    *result_kind = WORK_EXCHANGE_NOT_SENT;
    poll->verdict = DEVICE_POLL_UNREACHABLE;
    if (token_form_device_code(&form, &client, work_field(work, FIELD_DEVICE_CODE)) != 0)
        status = work_reply_error(work, "internal", "the token request does not fit");
    else
        status = exchange_form(work, &form, may_defer, result_kind, &result);
    if (*result_kind == WORK_EXCHANGE_STORED)
        poll->verdict = DEVICE_POLL_TOKENS;
    else if (*result_kind == WORK_EXCHANGE_PROVIDER_FAILED)
        poll->verdict = device_poll_judge(&result);
    poll->retry_after_seconds = result.retry_after_seconds;
    snprintf(poll->message, sizeof(poll->message), "%s", result.message);
    exchange_result_clear(&result);
    capped_buffer_wipe(&form);
    return status;
}

/* The request's device authorization endpoint, or the issuer's metadata's. */
static const char *device_authorization_url(struct request_work *work, long *budget_ms, char *why,
                                            size_t why_size)
{
    long long started_ms = monotonic_now_ms();

    if (work_field(work, FIELD_DEVICE_AUTHORIZATION_URL) == NULL &&
        work_discover_endpoints(work, *budget_ms, why, why_size) != 0)
        return NULL;
    *budget_ms -= (long)(monotonic_now_ms() - started_ms);
    if (work_field(work, FIELD_DEVICE_AUTHORIZATION_URL) == NULL)
        text_set_why(why, why_size,
                     "no device authorization endpoint: neither configured nor in the issuer's "
                     "metadata (the provider may not offer the device grant)");
    return work_field(work, FIELD_DEVICE_AUTHORIZATION_URL);
}

/* The "ok" reply with what the user is shown and what polls need; expires_at from now. */
static int device_authorization_reply(struct request_work *work,
                                      const struct device_authorization *authorization)
{
    char interval[24], expires_at[24];

    snprintf(interval, sizeof(interval), "%ld", authorization->interval);
    snprintf(expires_at, sizeof(expires_at), "%lld",
             (long long)time(NULL) + authorization->expires_in);
    protocol_reply_init(&work->reply, true);
    return protocol_set(&work->reply, FIELD_DEVICE_CODE, authorization->device_code) |
                   protocol_set(&work->reply, FIELD_USER_CODE, authorization->user_code) |
                   protocol_set(&work->reply, FIELD_VERIFICATION_URI,
                                authorization->verification_uri) |
                   protocol_set(&work->reply, FIELD_VERIFICATION_URI_COMPLETE,
                                authorization->verification_uri_complete) |
                   protocol_set(&work->reply, FIELD_INTERVAL, interval) |
                   protocol_set(&work->reply, FIELD_EXPIRES_AT, expires_at)
               ? work_reply_error(work, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

int work_device_authorize(struct request_work *work)
{
    const struct oauth_client client = {work_field(work, FIELD_CLIENT_ID),
                                        work_field(work, FIELD_CLIENT_SECRET)};
    struct device_authorization authorization;
    struct exchange_result result;
    struct capped_buffer form = {0};
    long budget_ms = exchange_budget_ms(work);
    const char *url;
    char why[512];
    int status;

    memset(&authorization, 0, sizeof(authorization));
    memset(&result, 0, sizeof(result));
    url = budget_ms >= 500 ? device_authorization_url(work, &budget_ms, why, sizeof(why)) : NULL;
    if (budget_ms < 500)
        status = work_reply_error(work, "timeout", "no time left for the device authorization");
    else if (url == NULL)
        status = work_reply_error(work, "discovery", why);
    else if (token_form_device_authorization(&form, &client, work_field(work, FIELD_SCOPE)) != 0)
        status = work_reply_error(work, "internal", "the device authorization does not fit");
    else if (device_authorization_request(url, work_field(work, FIELD_CA_FILE), budget_ms, &form,
                                          &authorization, &result) != 0)
        status = work_reply_error(work, result.reason, result.message);
    else
        status = device_authorization_reply(work, &authorization);
    device_authorization_clear(&authorization);
    exchange_result_clear(&result);
    capped_buffer_wipe(&form);
    return status;
}

/* A 429/503's Retry-After travels back to the refresher, whose schedule honours it. */
static int add_retry_after(struct request_work *work, long seconds)
{
    char text[24];

    if (seconds <= 0)
        return HELPER_EXIT_OK;
    snprintf(text, sizeof(text), "%ld", seconds);
    return protocol_set(&work->reply, FIELD_RETRY_AFTER, text) != 0
               ? work_reply_error(work, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* "refresh": one refresh on the refresher's behalf, in a process of its own (helper_child.h).
 * Every outcome, failures included, is an "ok" reply that names it. */
int work_refresh_for_refresher(struct request_work *work)
{
    const char *min_valid = work_field(work, FIELD_MIN_VALID);
    struct refresh_request request;
    struct refresh_report report;
    struct keyring *keyring = NULL;
    char why[512];
    int status;

    if (keyring_open(&keyring, KEYRING_FOR_LOGIN, why, sizeof(why)) != KEYRING_READY)
        return work_reply_outcome(work, refresh_outcome_name(REFRESH_KEYRING_FAILED), why);
    work_refresh_settings(work, &request);
    request.min_valid_seconds = min_valid != NULL ? strtol(min_valid, NULL, 10) : 0;
    if (request.min_valid_seconds < 0 || request.min_valid_seconds > 86400)
        request.min_valid_seconds = 0;
    refresh_if_due(keyring, &request, &report);
    keyring_close(keyring);
    status = work_reply_outcome(work, refresh_outcome_name(report.outcome), report.message);
    return status == HELPER_EXIT_OK ? add_retry_after(work, report.retry_after_seconds) : status;
}

/* "logout": revoke and remove the pair on the refresher's behalf (helper_child.h). */
int work_logout_for_refresher(struct request_work *work)
{
    struct refresh_request request;
    struct keyring *keyring = NULL;
    char message[512], why[512], note[600] = "", outcome_message[1200];
    int removed;

    if (keyring_open(&keyring, KEYRING_FOR_LOGIN, message, sizeof(message)) != KEYRING_READY)
        return work_reply_outcome(work, "keyring-failed", message);
    /* Without the issuer's metadata the pair is removed all the same, unrevoked. */
    if (work_field(work, FIELD_REVOKE_URL) == NULL &&
        work_discover_endpoints(work, exchange_budget_ms(work), why, sizeof(why)) != 0)
        snprintf(note, sizeof(note), "; not revoked: %s", why);
    work_refresh_settings(work, &request);
    removed = logout_pair(keyring, &request, work_field(work, FIELD_REVOKE_URL), message,
                          sizeof(message));
    keyring_close(keyring);
    snprintf(outcome_message, sizeof(outcome_message), "%s%s", message, note);
    return work_reply_outcome(work, removed == 0 ? "logged-out" : "keyring-failed",
                              outcome_message);
}

int work_read_request(struct request_work *work)
{
    struct capped_buffer input = {0};
    char chunk[4096];
    ssize_t got;
    int rv = -1;

    if (capped_buffer_init(&input, PROTOCOL_MAX_MESSAGE) != 0)
        return -1;
    do {
        got = read(STDIN_FILENO, chunk, sizeof(chunk));
        if (got > 0 && capped_buffer_append(&input, chunk, (size_t)got) != 0)
            got = -2;
    } while (got > 0 || (got == -1 && errno == EINTR));
    if (got == 0)
        rv = protocol_decode(input.data, input.length, &work->request);
    secret_wipe(chunk, sizeof(chunk));
    capped_buffer_wipe(&input);
    return rv;
}

int work_write_reply(const struct request_work *work)
{
    struct capped_buffer output = {0};
    size_t written = 0;
    int rv = -1;

    if (capped_buffer_init(&output, PROTOCOL_MAX_MESSAGE) == 0 &&
        protocol_encode(&work->reply, &output) == 0) {
        while (written < output.length) {
            ssize_t count = write(STDOUT_FILENO, output.data + written, output.length - written);
            if (count < 0 && errno == EINTR)
                continue;
            if (count <= 0)
                break;
            written += (size_t)count;
        }
        rv = written == output.length ? 0 : -1;
    }
    capped_buffer_wipe(&output);
    return rv;
}

static int dispatch(struct request_work *work, unsigned reads,
                    work_handler *const handlers[PROTOCOL_REQUEST_COUNT])
{
    const struct protocol_request_spec *spec = NULL;
    char why[256];

    if (protocol_request_accept(reads, &work->request, &spec, why, sizeof(why)) != 0 ||
        handlers[spec->request] == NULL)
        return work_reply_error(work, "bad-request", spec == NULL ? why : "not handled here");
    return handlers[spec->request](work);
}

int work_serve_one_request(unsigned reads, work_handler *const handlers[PROTOCOL_REQUEST_COUNT],
                           unsigned max_seconds)
{
    struct request_work work;
    int status = HELPER_EXIT_BAD_REQUEST;

    memset(&work, 0, sizeof(work));
    if (!process_started_protected(test_allows_dumpable_start()))
        return HELPER_EXIT_EXPOSED;
    if (!process_protect())
        return HELPER_EXIT_REFUSED;
    alarm(max_seconds);
    signal(SIGPIPE, SIG_IGN);
    if (work_read_request(&work) != 0)
        goto out;
    status = dispatch(&work, reads, handlers);
    if (work_write_reply(&work) != 0)
        status = HELPER_EXIT_FAILED;
out:
    protocol_message_clear(&work.request);
    protocol_message_clear(&work.reply);
    return status;
}
