#include "config.h"

#include "store/refresh.h"

#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/secret_memory.h"
#include "store/test_hooks.h"
#include "common/text_checks.h"
#include "oauth/discovery.h"
#include "oauth/token_exchange.h"
#include "oauth/token_forms.h"
#include "store/user_state.h"

/* After a refresh whose answer was lost, one more try with the same token, no sooner than
 * a minute; if that is lost too, the user authorizes again (see docs/ARCHITECTURE.md). The
 * numbers live with the rest of the timing in store/schedule.h. */
#define UNKNOWN_RETRY_AFTER_SECONDS SCHEDULE_LOST_ANSWER_WAIT_SECONDS
#define UNKNOWN_MAX_ATTEMPTS SCHEDULE_LOST_ANSWER_MAX_ATTEMPTS
#define STORE_ATTEMPTS 3
/* Kept back from a deadline for writing the new pair. */
#define STORE_RESERVE_MS 300
/* How far ahead of the clock a status file's time may be and still be believed. */
#define STATUS_CLOCK_SLACK_SECONDS 60

static void report_set(struct refresh_report *report, enum refresh_outcome outcome,
                       const char *format, ...) __attribute__((format(printf, 3, 4)));

static void report_set(struct refresh_report *report, enum refresh_outcome outcome,
                       const char *format, ...)
{
    va_list arguments;

    report->outcome = outcome;
    va_start(arguments, format);
    text_vset_why(report->message, sizeof(report->message), format, arguments);
    va_end(arguments);
}

static const char *const outcome_names[] = {
    [REFRESH_NOT_DUE] = "not-due",
    [REFRESH_DONE] = "refreshed",
    [REFRESH_AUTHORIZATION_NEEDED] = "authorization-needed",
    [REFRESH_PROVIDER_UNREACHABLE] = "provider-unreachable",
    [REFRESH_PROVIDER_ERROR] = "provider-error",
    [REFRESH_OUTCOME_UNKNOWN] = "outcome-unknown",
    [REFRESH_KEYRING_FAILED] = "keyring-failed",
    [REFRESH_LOCK_TIMEOUT] = "lock-timeout",
};

const char *refresh_outcome_name(enum refresh_outcome outcome)
{
    return outcome_names[outcome];
}

enum refresh_outcome refresh_outcome_from_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(outcome_names) / sizeof(outcome_names[0]); i++) {
        if (strcmp(outcome_names[i], name) == 0)
            return (enum refresh_outcome)i;
    }
    return REFRESH_OUTCOME_UNKNOWN;
}

bool refresh_status_signed_in_since(const char *service, long long since)
{
    struct refresh_status status;
    enum refresh_outcome outcome;

    refresh_status_read(service, &status);
    /* A time ahead of the clock (set back since, or forged) would skip every prompt until
     * the clock caught up: not believed. */
    if (status.time < since || status.time > (long long)time(NULL) + STATUS_CLOCK_SLACK_SECONDS ||
        status.outcome[0] == '\0')
        return false;
    if (strcmp(status.outcome, "signed-in") == 0)
        return true;
    outcome = refresh_outcome_from_name(status.outcome);
    return strcmp(status.outcome, refresh_outcome_name(outcome)) == 0 &&
           (outcome == REFRESH_DONE || outcome == REFRESH_NOT_DUE ||
            outcome == REFRESH_PROVIDER_UNREACHABLE);
}

static bool is_due(const struct refresh_request *request, const struct stored_pair *pair,
                   long long now)
{
    long long due_at =
        refresh_due_at(pair->obtained_at, pair->access_expires_at, request->margin_seconds);

    if (pair->access_token == NULL)
        return true;
    /* A tool may ask for more than the provider ever gives; capping its wish at half the
     * lifetime, as the margin is, keeps a fresh token from being refreshed again and again. */
    if (request->min_valid_seconds > 0 && pair->access_expires_at > 0)
        due_at =
            refresh_due_at(pair->obtained_at, pair->access_expires_at, request->min_valid_seconds);
    return due_at > 0 && now >= due_at;
}

static int build_refresh_form(const struct refresh_request *request, const char *refresh_token,
                              struct capped_buffer *form)
{
    const struct oauth_client client = {request->client_id, request->client_secret};

    return token_form_refresh(form, &client, refresh_token);
}

/* A rotation-less provider may answer without a refresh token: the old one stays valid. */
static int keep_old_refresh_token(struct token_set *tokens, const struct stored_pair *pair,
                                  long long now)
{
    if (tokens->refresh_token != NULL)
        return 0;
    tokens->refresh_token = secret_strndup(pair->refresh_token, TOKEN_MAX_BYTES);
    tokens->refresh_expires_in =
        pair->refresh_expires_at > now ? pair->refresh_expires_at - now : 0;
    return tokens->refresh_token != NULL ? 0 : -1;
}

static void store_new_pair(struct keyring *keyring, const struct refresh_request *request,
                           struct exchange_result *result, const char *token_url,
                           struct refresh_report *report)
{
    char why[512] = "";
    time_t now = time(NULL);

    for (int attempt = 0; attempt < STORE_ATTEMPTS; attempt++) {
        if (keyring_store_pair(keyring, &request->names, &result->tokens, token_url, now, why,
                               sizeof(why)) == 0) {
            report_set(report, REFRESH_DONE, "refreshed");
            report->obtained_at = now;
            report->access_expires_at =
                result->tokens.expires_in > 0 ? now + result->tokens.expires_in : 0;
            report->refresh_expires_at =
                result->tokens.refresh_expires_in > 0 ? now + result->tokens.refresh_expires_in : 0;
            report->holds_refresh_token = result->tokens.refresh_token != NULL;
            return;
        }
        usleep(200 * 1000);
    }
    /* The provider has rotated: the old refresh token is dead and the new one exists only
     * here. Tell the user plainly; this process exits with it. */
    report_set(report, REFRESH_KEYRING_FAILED,
               "refreshed, but the keyring did not take the new pair (%s); authorize again at "
               "the next login",
               why);
}

/* One more request with this refresh token whose answer is unknown. The count is per token:
 * one left behind by an earlier token does not count against this one. */
static void count_unknown_attempt(const struct stored_pair *pair, struct refresh_status *status)
{
    char fingerprint[sizeof(status->unknown_fingerprint)];

    token_fingerprint(pair->refresh_token, fingerprint, sizeof(fingerprint));
    if (strcmp(fingerprint, status->unknown_fingerprint) != 0) {
        memcpy(status->unknown_fingerprint, fingerprint, sizeof(fingerprint));
        status->unknown_attempts = 0;
    }
    status->unknown_attempts++;
}

/* The provider rotated and the keyring did not take the new pair: the old refresh token, still
 * in the keyring, is spent. Sent again, the provider would take it for a stolen copy and
 * revoke the grant (RFC 9700 4.14.2). Recorded as a token the lost-answer rule has given up
 * on, it is never sent again: the next refresh says authorization needed. */
static void mark_spent(const struct stored_pair *pair, struct refresh_status *status)
{
    token_fingerprint(pair->refresh_token, status->unknown_fingerprint,
                      sizeof(status->unknown_fingerprint));
    status->unknown_attempts = UNKNOWN_MAX_ATTEMPTS;
}

/* Whether the keyring still holds the refresh token this refresh spent: only then is the new
 * pair ours to store. A sign-in stored while the answer was on its way (an exchange that could
 * wait no longer for the lock, request_work.c) holds a newer grant, which a pair descended
 * from the spent token must not replace. Compared in constant time, under the lock; current
 * gets what the keyring holds. A read that fails tells nothing: the new pair is then stored,
 * as it always was - dropping it would lose the grant for certain. */
static bool keyring_holds_spent_token(struct keyring *keyring,
                                      const struct refresh_request *request,
                                      const struct stored_pair *spent, struct stored_pair *current)
{
    char why[512];

    if (keyring_read_pair(keyring, &request->names, current, why, sizeof(why)) != 0)
        return true;
    return current->refresh_token != NULL &&
           secret_strings_equal(current->refresh_token, spent->refresh_token);
}

/* The keyring moved on while the provider answered: its pair stays, the answer is dropped
 * (the caller wipes it with the result) and the lost-answer record of the spent token goes,
 * its answer having come. The report describes the keyring's pair; it is news, recorded in
 * SERVICE.status without a secret. */
static void keep_newer_pair(const struct stored_pair *current, struct refresh_status *status,
                            struct refresh_report *report)
{
    report->obtained_at = current->obtained_at;
    report->access_expires_at = current->access_expires_at;
    report->refresh_expires_at = current->refresh_expires_at;
    report->holds_refresh_token = current->refresh_token != NULL;
    if (current->refresh_token != NULL)
        report_set(report, REFRESH_NOT_DUE,
                   "the keyring took a newer sign-in while a refresh was answered; that "
                   "refresh's pair was discarded and the newer one kept");
    else
        report_set(report, REFRESH_AUTHORIZATION_NEEDED,
                   "the refresh token was removed from the keyring while it was refreshed; the "
                   "new pair was discarded");
    status->unknown_fingerprint[0] = '\0';
    status->unknown_attempts = 0;
}

static void judge_refresh(struct keyring *keyring, const struct refresh_request *request,
                          const struct stored_pair *pair, struct exchange_result *result,
                          const char *token_url, struct refresh_status *status,
                          struct refresh_report *report)
{
    struct stored_pair current;
    char why[256];
    bool rotated;

    memset(&current, 0, sizeof(current));
    switch (result->outcome) {
    case EXCHANGE_OK:
        if (!keyring_holds_spent_token(keyring, request, pair, &current)) {
            keep_newer_pair(&current, status, report);
            break;
        }
        rotated = result->tokens.refresh_token != NULL;
        if (keep_old_refresh_token(&result->tokens, pair, (long long)time(NULL)) != 0)
            report_set(report, REFRESH_KEYRING_FAILED, "out of memory");
        else
            store_new_pair(keyring, request, result, token_url, report);
        if (report->outcome != REFRESH_DONE && rotated) {
            mark_spent(pair, status);
        } else {
            status->unknown_fingerprint[0] = '\0';
            status->unknown_attempts = 0;
        }
        break;
    case EXCHANGE_REFUSED:
        if (strcmp(result->reason, "invalid_grant") == 0) {
            if (keyring_delete_pair(keyring, &request->names, why, sizeof(why)) != 0)
                report_set(report, REFRESH_AUTHORIZATION_NEEDED, "%s; %s", result->message, why);
            else
                report_set(report, REFRESH_AUTHORIZATION_NEEDED, "%s; the dead tokens were removed",
                           result->message);
        } else {
            report_set(report, REFRESH_PROVIDER_ERROR, "%s", result->message);
        }
        break;
    case EXCHANGE_NOT_SENT:
    case EXCHANGE_SERVER_ERROR:
        /* Not spent (a 5xx, or a 429 whatever its body): the in-flight record is dropped with
         * the status rewritten below, so this never counts as a lost answer. */
        report_set(report, REFRESH_PROVIDER_UNREACHABLE, "%s", result->message);
        report->retry_after_seconds = result->retry_after_seconds;
        break;
    case EXCHANGE_UNKNOWN:
    case EXCHANGE_BAD_RESPONSE:
        count_unknown_attempt(pair, status);
        report_set(report, REFRESH_OUTCOME_UNKNOWN, "%s", result->message);
        break;
    }
    stored_pair_clear(&current);
}

/* The clock of the lost-answer rule: the status file's times and the minute between them.
 * time(NULL) in the installed helper; a test build adds the offset a test has set
 * (test_hooks.h), so a test can let the minute pass without sleeping through it. */
static long long lost_answer_clock(void)
{
    return (long long)time(NULL) + test_clock_offset_seconds();
}

/* After a lost answer: wait, then one more try, then stop - never a loop on one token. */
static bool unknown_outcome_blocks(const struct stored_pair *pair,
                                   const struct refresh_status *status, long long now,
                                   struct refresh_report *report)
{
    char fingerprint[24];

    token_fingerprint(pair->refresh_token, fingerprint, sizeof(fingerprint));
    if (status->unknown_fingerprint[0] == '\0' ||
        strcmp(fingerprint, status->unknown_fingerprint) != 0)
        return false;
    if (status->unknown_attempts >= UNKNOWN_MAX_ATTEMPTS) {
        report_set(report, REFRESH_AUTHORIZATION_NEEDED,
                   "this refresh token is spent without a new pair in the keyring (its answers "
                   "were lost, or the keyring refused the pair); authorize again");
        return true;
    }
    if (now - status->time < UNKNOWN_RETRY_AFTER_SECONDS) {
        report_set(report, REFRESH_OUTCOME_UNKNOWN,
                   "the last refresh got no answer; one more try after %d s",
                   UNKNOWN_RETRY_AFTER_SECONDS);
        return true;
    }
    return false;
}

/* A 429/503 said when the token endpoint takes requests again: until then nothing is sent,
 * by this process or any other of the user's (a login's session hook, the refresher, the
 * refresher for oauth-keyring), so the time goes to SERVICE.status. A value further away than
 * a Retry-After is ever believed (a clock set back) is no hold. */
static bool retry_after_holds(const struct refresh_status *status, long long now,
                              struct refresh_report *report)
{
    long long left = status->retry_after_until - now;

    if (left <= 0 || left > SCHEDULE_RETRY_AFTER_MAX_SECONDS)
        return false;
    report_set(report, REFRESH_PROVIDER_UNREACHABLE,
               "the token endpoint asked us to wait (Retry-After); %lld s more; nothing sent",
               left);
    report->retry_after_seconds = (long)left;
    return true;
}

static void note_retry_after(struct refresh_status *status, long seconds)
{
    if (seconds <= 0)
        return;
    if (seconds > SCHEDULE_RETRY_AFTER_MAX_SECONDS)
        seconds = SCHEDULE_RETRY_AFTER_MAX_SECONDS;
    status->retry_after_until = lost_answer_clock() + seconds;
}

/* The token URL the configuration stands for: its own, or - for a configuration that names
 * only the issuer - the one the issuer's metadata names, fetched now (oauth/discovery.h) within
 * budget_ms. Never one from a file or the keyring: those are the user's to write, and the
 * client secret goes where this URL says. NULL with why when there is none. */
static char *configured_token_url(const struct refresh_request *request, long budget_ms, char *why,
                                  size_t why_size)
{
    struct provider_metadata metadata;
    char *url = NULL;

    if (request->token_url != NULL)
        return g_strdup(request->token_url);
    if (request->issuer == NULL) {
        text_set_why(why, why_size, "no token endpoint is configured");
        return NULL;
    }
    if (discovery_fetch(request->issuer, request->ca_file, budget_ms, &metadata, why, why_size) ==
        0)
        url = g_strdup(metadata.token_endpoint);
    provider_metadata_clear(&metadata);
    return url;
}

/* The pair's own token URL is believed only when the configuration would have chosen it
 * too: the configured one (configured), or (Snyk) an allowed regional one. The keyring is the
 * user's to edit; a URL taken from it unchecked would carry the client secret anywhere. */
static char *choose_token_url(const struct refresh_request *request, const char *configured,
                              const struct stored_pair *pair)
{
    /* A Snyk region is followed only where the preset chose the token URL: an admin's explicit
     * token_url stands (an EU site must not quietly talk to the US host). */
    bool snyk = request->names.preset != NULL && strcmp(request->names.preset, "snyk") == 0 &&
                request->token_url_from_preset;
    char allowed[SNYK_TOKEN_URL_MAX] = "";
    char *host = NULL, *chosen;

    if (pair->token_url != NULL && snyk && g_str_has_prefix(pair->token_url, "https://")) {
        host = g_strndup(pair->token_url + 8, strcspn(pair->token_url + 8, "/"));
        snyk_instance_token_url(host, allowed, sizeof(allowed));
    }
    if (pair->token_url != NULL && (strcmp(pair->token_url, configured) == 0 ||
                                    (allowed[0] != '\0' && strcmp(pair->token_url, allowed) == 0)))
        chosen = g_strdup(pair->token_url);
    else
        chosen = g_strdup(configured);
    g_free(host);
    return chosen;
}

long request_time_budget_ms(long timeout_ms, long long deadline_ms)
{
    long long left;

    if (deadline_ms <= 0)
        return timeout_ms;
    left = deadline_remaining_ms(deadline_ms) - STORE_RESERVE_MS;
    return left < timeout_ms ? (long)left : timeout_ms;
}

/* Written before the request goes out, as if its answer were already lost: a process that
 * dies before it hears the answer (killed at a deadline, crashed) leaves this behind, and
 * the lost-answer rule holds for it too. The answer, when it comes, overwrites it. */
static int record_request_in_flight(const struct refresh_request *request,
                                    const struct stored_pair *pair,
                                    const struct refresh_status *status)
{
    struct refresh_status in_flight = *status;

    count_unknown_attempt(pair, &in_flight);
    in_flight.time = lost_answer_clock();
    snprintf(in_flight.outcome, sizeof(in_flight.outcome), "%s",
             refresh_outcome_name(REFRESH_OUTCOME_UNKNOWN));
    snprintf(in_flight.message, sizeof(in_flight.message),
             "a refresh request went out and its answer was never recorded");
    return refresh_status_write(request->names.service, &in_flight);
}

/* True when the request went out (and the in-flight record was written). */
static bool spend_refresh_token(struct keyring *keyring, const struct refresh_request *request,
                                const struct stored_pair *pair, struct refresh_status *status,
                                struct refresh_report *report)
{
    char *token_url = NULL, *configured = NULL;
    struct capped_buffer form = {0};
    struct exchange_result result;
    bool sent = false;
    long timeout_ms;
    long long started_ms = monotonic_now_ms();
    char why[512];

    memset(&result, 0, sizeof(result));
    if (keyring_probe_writable(keyring, why, sizeof(why)) != 0) {
        report_set(report, REFRESH_KEYRING_FAILED, "%s; the refresh token was not spent", why);
        goto out;
    }
    timeout_ms = request_time_budget_ms(request->timeout_ms, request->deadline_ms);
    if (timeout_ms < 500 || build_refresh_form(request, pair->refresh_token, &form) != 0) {
        report_set(report, REFRESH_LOCK_TIMEOUT, "no time left for a refresh; nothing spent");
        goto out;
    }
    /* Discovery and the refresh share the one budget: nothing is sent without both. */
    configured = configured_token_url(request, timeout_ms, why, sizeof(why));
    if (configured == NULL) {
        report_set(report, REFRESH_PROVIDER_UNREACHABLE, "%s; nothing spent", why);
        goto out;
    }
    timeout_ms -= (long)(monotonic_now_ms() - started_ms);
    if (timeout_ms < 500) {
        report_set(report, REFRESH_LOCK_TIMEOUT,
                   "no time left for a refresh after discovery; "
                   "nothing spent");
        goto out;
    }
    token_url = choose_token_url(request, configured, pair);
    test_pause_point("before-request");
    if (record_request_in_flight(request, pair, status) != 0) {
        report_set(report, REFRESH_KEYRING_FAILED,
                   "cannot record the refresh attempt in the runtime directory; nothing spent");
        goto out;
    }
    sent = true;
    token_exchange(token_url, request->ca_file, timeout_ms, &form, &result);
    if (result.outcome == EXCHANGE_OK)
        test_pause_point("after-response");
    judge_refresh(keyring, request, pair, &result, token_url, status, report);
    note_retry_after(status, result.retry_after_seconds);
out:
    exchange_result_clear(&result);
    capped_buffer_wipe(&form);
    g_free(token_url);
    g_free(configured);
    return sent;
}

/* Whether the status file has news: not when the token is not due, nor while the lost-answer
 * rule waits out its minute or a Retry-After holds. The status already says that, and its time -
 * the lost request's - is where the minute runs from: rewritten at every held-back attempt, logins
 * or a tool asking more often than once a minute would hold the token back for good. */
static bool refresh_locked(struct keyring *keyring, const struct refresh_request *request,
                           struct refresh_status *status, struct refresh_report *report)
{
    struct stored_pair pair;
    long long now = (long long)time(NULL);
    char why[512];
    bool news = true, spent = false;

    /* Re-read after taking the lock: another process may have refreshed meanwhile. */
    if (keyring_read_pair(keyring, &request->names, &pair, why, sizeof(why)) != 0) {
        report_set(report, REFRESH_KEYRING_FAILED, "%s", why);
        return true;
    }
    report->obtained_at = pair.obtained_at;
    report->access_expires_at = pair.access_expires_at;
    report->refresh_expires_at = pair.refresh_expires_at;
    report->holds_refresh_token = pair.refresh_token != NULL;
    if (!is_due(request, &pair, now))
        report_set(report, REFRESH_NOT_DUE, "the access token is still valid");
    else if (pair.refresh_token == NULL)
        report_set(report, REFRESH_AUTHORIZATION_NEEDED, "no refresh token in the keyring");
    else if (pair.refresh_expires_at > 0 && now >= pair.refresh_expires_at)
        report_set(report, REFRESH_AUTHORIZATION_NEEDED, "the refresh token has expired");
    else if (unknown_outcome_blocks(&pair, status, lost_answer_clock(), report))
        news = report->outcome != REFRESH_OUTCOME_UNKNOWN;
    else if (retry_after_holds(status, lost_answer_clock(), report))
        news = false; /* the status already says so, with the 429's time */
    else
        spent = spend_refresh_token(keyring, request, &pair, status, report);
    stored_pair_clear(&pair);
    /* A request that went out is news whatever came of it (a newer pair kept: not-due): its
     * outcome replaces the in-flight record. */
    return spent || (news && report->outcome != REFRESH_NOT_DUE);
}

static void record_outcome(const struct refresh_request *request, struct refresh_status *status,
                           const struct refresh_report *report)
{
    status->time = lost_answer_clock();
    snprintf(status->outcome, sizeof(status->outcome), "%s", refresh_outcome_name(report->outcome));
    snprintf(status->message, sizeof(status->message), "%s", report->message);
    refresh_status_write(request->names.service, status);
}

/* Most calls find the token valid: that is decided from one read, without the lock or the
 * status file. One item holds the whole pair (keyring.h), so the read is consistent even
 * while another process replaces it; anything else goes the locked way. */
static bool still_valid(struct keyring *keyring, const struct refresh_request *request,
                        struct refresh_report *report)
{
    struct stored_pair pair;
    char why[512];
    bool valid = keyring_read_pair(keyring, &request->names, &pair, why, sizeof(why)) == 0 &&
                 pair.refresh_token != NULL && !is_due(request, &pair, (long long)time(NULL));

    if (valid) {
        report->obtained_at = pair.obtained_at;
        report->access_expires_at = pair.access_expires_at;
        report->refresh_expires_at = pair.refresh_expires_at;
        report->holds_refresh_token = true;
        report_set(report, REFRESH_NOT_DUE, "the access token is still valid");
    }
    stored_pair_clear(&pair);
    return valid;
}

void refresh_if_due(struct keyring *keyring, const struct refresh_request *request,
                    struct refresh_report *report)
{
    struct refresh_status status;
    int lock;

    memset(report, 0, sizeof(*report));
    if (still_valid(keyring, request, report))
        return;
    /* Whoever holds the lock finishes within one request timeout; wait a little longer. */
    lock = refresh_lock_acquire(request->names.service,
                                request->lock_wait_ms > 0
                                    ? request->lock_wait_ms
                                    : request->timeout_ms + REFRESH_LOCK_SLACK_MS);
    if (lock < 0) {
        report_set(report, REFRESH_LOCK_TIMEOUT, "another refresh is still running");
        return;
    }
    refresh_status_read(request->names.service, &status);
    if (refresh_locked(keyring, request, &status, report))
        record_outcome(request, &status, report);
    refresh_lock_release(lock);
}
