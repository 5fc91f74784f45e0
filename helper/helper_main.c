/* pam_oauth_keyring_helper: runs as the user, never as root and never setuid. It reads one
 * request from stdin, does the one job asked of it (build an authorization URL, check the
 * user's answer, or exchange a code and store the tokens) and writes one reply to stdout.
 * See common/protocol.h for the format and docs/ARCHITECTURE.md for the data path. */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "oauth/answer.h"
#include "oauth/authorize_url.h"
#include "common/deadline.h"
#include "store/keyring.h"
#include "store/logout.h"
#include "store/refresh.h"
#include "helper/start_refresher.h"
#include "common/protocol.h"
#include "common/protocol_table.h"
#include "oauth/provider_probe.h"
#include "oauth/qr_text.h"
#include "common/secret_memory.h"
#include "store/test_hooks.h"
#include "oauth/token_exchange.h"
#include "oauth/token_forms.h"
#include "store/request_work.h"
#include "store/user_state.h"

/* An absolute bound on this process, beyond the longest configurable exchange. */
#define HELPER_MAX_SECONDS 150
/* The requests this program takes: the module's, none of the refresher's. */
#define HELPER_READS PROTOCOL_LOGIN_HELPER_READS

static const char *field(const struct request_work *work, enum protocol_field_id name)
{
    return work_field(work, name);
}

/* With qr=1, a drawing of the URL for the module to show under it. The QR code is a
 * convenience: when the URL is too long for one that fits a reply value, there is none. */
static int add_qr_drawing(struct request_work *context, const char *url)
{
    const char *wanted = field(context, FIELD_QR);
    char *drawing = NULL;
    int rv = 0;

    if (wanted == NULL || strcmp(wanted, "1") != 0)
        return 0;
    drawing = qr_text_render(url, PROTOCOL_MAX_VALUE);
    if (drawing != NULL)
        rv = protocol_set(&context->reply, FIELD_QR, drawing);
    secret_free_string(&drawing);
    return rv;
}

/* What would make the exchange fail for sure, found before the user signs in: the module can
 * check the CA file's owner and mode, but only the user's own process can tell whether the
 * user may read it (curl's "Problem with the SSL CA cert" came after the sign-in). */
static bool ca_file_readable(struct request_work *context)
{
    const char *ca_file = field(context, FIELD_CA_FILE);
    char message[512];

    if (ca_file == NULL || access(ca_file, R_OK) == 0)
        return true;
    snprintf(message, sizeof(message),
             "the configured ca_file cannot be read by the user the helper runs as (%s); "
             "make it readable by all (mode 0644)",
             strerror(errno));
    work_reply_error(context, "bad-config", message);
    return false;
}

/* signed_in=1 when the module asked (prompt=missing, its login state says a sign-in is
 * needed, written at signed_in_since) and the user's status file records a sign-in since,
 * made inside a session (`oauth-keyring login`): the module then does not ask. This process,
 * not the module, touches the user's runtime directory, under the module's deadline. */
static bool signed_in_since_asked(const struct request_work *context)
{
    const char *since = field(context, FIELD_SIGNED_IN_SINCE);
    const char *service = field(context, FIELD_KEYRING_SERVICE);

    return since != NULL && service != NULL &&
           refresh_status_signed_in_since(service, strtoll(since, NULL, 10));
}

static int add_signed_in(struct request_work *context)
{
    return signed_in_since_asked(context) ? protocol_set(&context->reply, FIELD_SIGNED_IN, "1") : 0;
}

/* "authorize": a fresh PKCE verifier and state, and the URL the user opens. */
static int build_authorization(struct request_work *context)
{
    struct authorize_request request = {
        .authorize_url = field(context, FIELD_AUTHORIZE_URL),
        .client_id = field(context, FIELD_CLIENT_ID),
        .redirect_uri = field(context, FIELD_REDIRECT_URI),
        .scope = field(context, FIELD_SCOPE),
    };
    struct authorization authorization;
    int status;

    if (authorization_begin(&request, &authorization) != 0)
        return work_reply_error(context, "bad-request", "cannot build the authorization URL");
    protocol_reply_init(&context->reply, true);
    status = protocol_set(&context->reply, FIELD_URL, authorization.url) |
                     protocol_set(&context->reply, FIELD_VERIFIER, authorization.verifier) |
                     protocol_set(&context->reply, FIELD_STATE, authorization.state) |
                     add_qr_drawing(context, authorization.url) | add_signed_in(context)
                 ? work_reply_error(context, "internal", "the reply does not fit")
                 : HELPER_EXIT_OK;
    authorization_clear(&authorization);
    return status;
}

/* "answer": the code (and Snyk's instance=) out of what the user pasted, or why not. */
static int check_answer(struct request_work *context)
{
    const char *preset = field(context, FIELD_PRESET);
    struct answer_expectations expect = {
        .state = field(context, FIELD_STATE),
        .issuer = field(context, FIELD_ISSUER),
        .snyk_instances = preset != NULL && strcmp(preset, "snyk") == 0,
    };
    struct parsed_answer parsed;
    int status;

    if (answer_parse(field(context, FIELD_ANSWER), &expect, &parsed) != 0)
        return work_reply_error(context, "bad-answer", parsed.message);
    /* The instance, not a URL: the module derives where the code goes from its own config. */
    protocol_reply_init(&context->reply, true);
    status = protocol_set(&context->reply, FIELD_CODE, parsed.code) |
                     protocol_set(&context->reply, FIELD_INSTANCE, parsed.instance)
                 ? work_reply_error(context, "internal", "the reply does not fit")
                 : HELPER_EXIT_OK;
    parsed_answer_clear(&parsed);
    return status;
}

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* What a started refresher is handed beyond its settings. */
enum handoff { HANDOFF_NOTHING, HANDOFF_CODE, HANDOFF_DEVICE };

/* The request to start a refresher: what the table lists for it, taken from this request.
 * Not this login's deadline (nobody waits for the refresher); the code and verifier only when
 * the refresher is to finish the exchange itself (a keyring not started yet, see
 * defer_to_refresher), the device code only when it is to poll on for the user's approval. */
static void start_refresher(const struct request_work *context, enum handoff handoff)
{
    static const enum protocol_field_id code_fields[] = {FIELD_CODE, FIELD_VERIFIER};
    size_t device_count;
    const struct protocol_field_rule *device_fields = protocol_device_fields(&device_count);
    struct protocol_message request;
    int rv;

    if (field(context, FIELD_START_REFRESHER) == NULL)
        return;
    rv = protocol_request_init(&request, REQUEST_START_REFRESHER);
    if (rv == 0)
        rv = protocol_copy_fields(&request, protocol_request_spec(REQUEST_START_REFRESHER),
                                  &context->request, PROTOCOL_FIELD_COUNT);
    for (size_t i = 0; rv == 0 && handoff != HANDOFF_CODE && i < COUNT_OF(code_fields); i++)
        protocol_message_remove(&request, protocol_field_name(code_fields[i]));
    for (size_t i = 0; rv == 0 && handoff != HANDOFF_DEVICE && i < device_count; i++)
        protocol_message_remove(&request, protocol_field_name(device_fields[i].field));
    if (rv == 0)
        refresher_spawn(&request);
    protocol_message_clear(&request);
}

/* The keyring is not up yet: in a display manager's stack whose pam_gnome_keyring session
 * line comes after ours (Debian's gdm-password and lightdm, with the pam-auth-update
 * profile), the daemon starts moments after this returns. The refresher, detached, waits for
 * it (bounded, refresher.h) and then does what this run could not: the exchange (a code),
 * the polls of a device sign-in, or the session's refresh. The login goes on at once. */
static int defer_to_refresher(struct request_work *context, enum handoff handoff)
{
    start_refresher(context, handoff);
    protocol_reply_init(&context->reply, true);
    return protocol_set(&context->reply, FIELD_OUTCOME, "deferred") |
                   protocol_set(&context->reply, FIELD_MESSAGE,
                                "the keyring is not running yet; the refresher finishes "
                                "as soon as it is")
               ? work_reply_error(context, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* "exchange": the code is spent and the pair stored (store/request_work.h), then the
 * refresher starts; with the keyring not started yet, the refresher gets the code instead. */
static int exchange_for_login(struct request_work *context)
{
    enum work_exchange_result result;
    int status =
        work_exchange_code(context, field(context, FIELD_START_REFRESHER) != NULL, &result);

    if (result == WORK_EXCHANGE_DEFERRED)
        return defer_to_refresher(context, HANDOFF_CODE);
    /* Stored, or refused by the provider: the session still gets its refresher, which can run
     * the sign-in again. */
    if (result == WORK_EXCHANGE_STORED || result == WORK_EXCHANGE_PROVIDER_FAILED)
        start_refresher(context, HANDOFF_NOTHING);
    return status;
}

/* The device sign-in still waits for the user (pending, slow_down, or no answer now), its
 * code not expired, and a refresher to hand it to: the refresher polls on at the interval
 * this poll leaves (slow_down: 5 s more), and the login is told so. */
static int hand_device_to_refresher(struct request_work *context,
                                    const struct work_device_poll *poll)
{
    long interval = strtol(field(context, FIELD_INTERVAL), NULL, 10);
    char text[24], message[400];

    device_poll_next_wait(&interval, poll->verdict, 0);
    snprintf(text, sizeof(text), "%ld", interval);
    protocol_message_remove(&context->request, protocol_field_name(FIELD_INTERVAL));
    if (protocol_set(&context->request, FIELD_INTERVAL, text) != 0)
        return work_reply_error(context, "internal", "the request does not fit");
    start_refresher(context, HANDOFF_DEVICE);
    snprintf(message, sizeof(message),
             "waiting for your approval; the tokens are stored as soon as you approve (%s)",
             poll->message);
    return work_reply_outcome(context, "device-pending", message);
}

static bool device_code_expired(const struct request_work *context)
{
    return strtoll(field(context, FIELD_EXPIRES_AT), NULL, 10) <= (long long)time(NULL);
}

/* "device-session": one poll at session open (the user may have approved at the prompt
 * already); still waiting, the refresher polls on; the keyring not started, the refresher
 * does it all. */
static int device_session(struct request_work *context)
{
    bool may_hand_on = field(context, FIELD_START_REFRESHER) != NULL;
    enum work_exchange_result result = WORK_EXCHANGE_NOT_SENT;
    struct work_device_poll poll;
    int status;

    if (device_code_expired(context)) {
        start_refresher(context, HANDOFF_NOTHING);
        return work_reply_error(context, "expired_token",
                                "the device sign-in expired before it was approved");
    }
    status = work_poll_device(context, may_hand_on, &result, &poll);
    if (result == WORK_EXCHANGE_DEFERRED)
        return defer_to_refresher(context, HANDOFF_DEVICE);
    if (result == WORK_EXCHANGE_PROVIDER_FAILED && may_hand_on &&
        device_poll_continues(poll.verdict))
        return hand_device_to_refresher(context, &poll);
    if (result == WORK_EXCHANGE_STORED || result == WORK_EXCHANGE_PROVIDER_FAILED)
        start_refresher(context, HANDOFF_NOTHING);
    return status;
}

/* "device-authorize": the device authorization request, as the user, under the module's
 * deadline; the reply carries what the prompt shows and, with qr=1, a drawing of the address
 * to open (the complete one, code included, when the provider has it). */
static int device_authorize(struct request_work *context)
{
    const char *qr_url;
    int status;

    if (!ca_file_readable(context))
        return HELPER_EXIT_FAILED;
    /* prompt=missing and a sign-in inside a session since: no device code is asked for. */
    if (signed_in_since_asked(context))
        return work_reply_error(context, "signed-in",
                                "signed in inside a session since the login state was written");
    status = work_device_authorize(context);
    if (status != HELPER_EXIT_OK)
        return status;
    qr_url = protocol_get(&context->reply, FIELD_VERIFICATION_URI_COMPLETE);
    if (qr_url == NULL)
        qr_url = protocol_get(&context->reply, FIELD_VERIFICATION_URI);
    return add_qr_drawing(context, qr_url) != 0
               ? work_reply_error(context, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* "session": with tokens already in the keyring, refresh once if due; then the refresher. */
static int refresh_for_session(struct request_work *context)
{
    struct refresh_request request;
    struct refresh_report report;
    struct keyring *keyring = NULL;
    enum keyring_status keyring_status;
    char why[512];
    int status;

    keyring_status = keyring_open(&keyring, KEYRING_FOR_LOGIN, why, sizeof(why));
    if (keyring_status == KEYRING_NOT_STARTED && field(context, FIELD_START_REFRESHER) != NULL)
        return defer_to_refresher(context, HANDOFF_NOTHING);
    if (keyring_status != KEYRING_READY)
        return work_reply_error(context, work_keyring_reason(keyring_status), why);
    work_refresh_settings(context, &request);
    /* A login waits at most a second for a refresh elsewhere; the refresher catches up. */
    request.lock_wait_ms = 1000;
    refresh_if_due(keyring, &request, &report);
    keyring_close(keyring);
    /* Also when authorization is needed: the refresher then waits for a sign-in (issue 13). */
    start_refresher(context, HANDOFF_NOTHING);
    if (report.outcome != REFRESH_NOT_DUE && report.outcome != REFRESH_DONE)
        return work_reply_error(context, refresh_outcome_name(report.outcome), report.message);
    protocol_reply_init(&context->reply, true);
    status = protocol_set(&context->reply, FIELD_OUTCOME, refresh_outcome_name(report.outcome)) |
                     protocol_set(&context->reply, FIELD_MESSAGE, report.message) |
                     work_add_refresh_expiry(context, report.holds_refresh_token,
                                             report.refresh_expires_at)
                 ? work_reply_error(context, "internal", "the reply does not fit")
                 : HELPER_EXIT_OK;
    return status;
}

/* Whether the request's grant (the configured sign_in) is word. */
static bool grant_is(const struct request_work *context, const char *word)
{
    const char *grant = field(context, FIELD_GRANT);

    return grant != NULL && strcmp(grant, word) == 0;
}

static int probe_reply(struct request_work *context, const struct probe_outcome *outcome)
{
    bool device = outcome->device_result[0] != '\0';

    protocol_reply_init(&context->reply, true);
    return protocol_set(&context->reply, FIELD_AUTHORIZE_RESULT, outcome->authorize_result) |
                   protocol_set(&context->reply, FIELD_AUTHORIZE_MESSAGE,
                                outcome->authorize_message) |
                   protocol_set(&context->reply, FIELD_GRANT_RESULT, outcome->token_result) |
                   protocol_set(&context->reply, FIELD_GRANT_MESSAGE, outcome->token_message) |
                   (device ? protocol_set(&context->reply, FIELD_DEVICE_RESULT,
                                          outcome->device_result) |
                                 protocol_set(&context->reply, FIELD_DEVICE_MESSAGE,
                                              outcome->device_message)
                           : 0)
               ? work_reply_error(context, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* "probe": `oauth-keyring check` (as root) runs this program as an unprivileged uid to talk
 * to the provider for it; nothing is stored, the reply says what each endpoint answered. */
static int probe_provider(struct request_work *context)
{
    const char *timeout = field(context, FIELD_TIMEOUT);
    long seconds = timeout != NULL ? strtol(timeout, NULL, 10) : 10;
    struct probe_request request = {
        .authorize_url = field(context, FIELD_AUTHORIZE_URL),
        .token_url = field(context, FIELD_TOKEN_URL),
        .client_id = field(context, FIELD_CLIENT_ID),
        .client_secret = field(context, FIELD_CLIENT_SECRET),
        .redirect_uri = field(context, FIELD_REDIRECT_URI),
        .ca_file = field(context, FIELD_CA_FILE),
        .timeout_ms = (seconds >= 1 && seconds <= 120 ? seconds : 10) * 1000,
    };
    struct probe_outcome outcome;
    char why[512];

    if (!ca_file_readable(context))
        return HELPER_EXIT_FAILED;
    /* A configuration that names only the issuer: its metadata is the first thing probed. */
    if (work_discover_endpoints(context, request.timeout_ms, why, sizeof(why)) != 0)
        return work_reply_error(context, "discovery", why);
    request.authorize_url = field(context, FIELD_AUTHORIZE_URL);
    request.token_url = field(context, FIELD_TOKEN_URL);
    request.scope = field(context, FIELD_SCOPE);
    request.device_only = grant_is(context, "device");
    if (grant_is(context, "device") || grant_is(context, "both"))
        request.device_authorization_url = field(context, FIELD_DEVICE_AUTHORIZATION_URL);
    if ((request.authorize_url == NULL && !request.device_only) || request.token_url == NULL)
        return work_reply_error(context, "bad-config",
                                "no authorization or token endpoint: neither configured nor "
                                "discovered");
    if ((grant_is(context, "device") || grant_is(context, "both")) &&
        request.device_authorization_url == NULL)
        return work_reply_error(context, "bad-config",
                                "sign_in uses the device grant, but there is no device "
                                "authorization endpoint: neither configured nor in the "
                                "issuer's metadata");
    provider_probe(&request, &outcome);
    return probe_reply(context, &outcome);
}

/* A configuration that names only the issuer: the authorization endpoint from its metadata,
 * fetched here, as the user, within the module's deadline (the module never touches the
 * network). A provider that is down costs the login at most the configured timeout: the
 * module then shows no prompt and the login goes on. */
static bool authorization_endpoint_known(struct request_work *context)
{
    char why[512];

    if (field(context, FIELD_AUTHORIZE_URL) != NULL)
        return true;
    if (work_discover_endpoints(context, work_time_budget_ms(context), why, sizeof(why)) != 0) {
        work_reply_error(context, "discovery", why);
        return false;
    }
    if (field(context, FIELD_AUTHORIZE_URL) == NULL) {
        work_reply_error(context, "discovery",
                         "the issuer's metadata names no authorization_endpoint");
        return false;
    }
    return true;
}

static int authorize_if_ca_readable(struct request_work *context)
{
    return ca_file_readable(context) && authorization_endpoint_known(context)
               ? build_authorization(context)
               : HELPER_EXIT_FAILED;
}

/* What this program does for each request it takes; the protocol's table says which those
 * are (protocol_request_accept) and what each must carry. */
static work_handler *const handlers[PROTOCOL_REQUEST_COUNT] = {
    [REQUEST_AUTHORIZE] = authorize_if_ca_readable,
    [REQUEST_ANSWER] = check_answer,
    [REQUEST_EXCHANGE] = exchange_for_login,
    [REQUEST_SESSION] = refresh_for_session,
    [REQUEST_PROBE] = probe_provider,
    [REQUEST_DEVICE_AUTHORIZE] = device_authorize,
    [REQUEST_DEVICE_SESSION] = device_session,
};

int main(void)
{
    return work_serve_one_request(HELPER_READS, handlers, HELPER_MAX_SECONDS);
}
