/* pam_oauth_keyring_helper: runs as the user, never as root and never setuid. It reads one
 * request from stdin, does the one job asked of it (build an authorization URL, check the
 * user's answer, or exchange a code and store the tokens) and writes one reply to stdout.
 * See common/protocol.h for the format and docs/ARCHITECTURE.md for the data path. */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <signal.h>
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
#include "refresher/refresher.h"
#include "common/protocol.h"
#include "common/protocol_table.h"
#include "oauth/qr_text.h"
#include "common/secret_memory.h"
#include "store/test_hooks.h"
#include "oauth/token_exchange.h"
#include "oauth/token_forms.h"
#include "store/user_state.h"

/* An absolute bound on this process, beyond the longest configurable exchange. */
#define HELPER_MAX_SECONDS 150
/* How long a login's exchange waits for a refresh of the previous grant to finish. */
#define EXCHANGE_LOCK_WAIT_MS 1000
/* The requests this program takes. Until the refresher has a program of its own, the helper
 * program is also the refresher and the refresher's children. */
#define HELPER_READS (PROTOCOL_LOGIN_HELPER_READS | PROTOCOL_REFRESHER_READS)

struct helper_context {
    struct protocol_message request;
    struct protocol_message reply;
};

static int reply_error(struct helper_context *context, const char *reason, const char *message)
{
    protocol_message_clear(&context->reply);
    protocol_reply_init(&context->reply, false);
    protocol_set(&context->reply, FIELD_REASON, reason);
    protocol_set(&context->reply, FIELD_MESSAGE, message);
    return HELPER_EXIT_FAILED;
}

static const char *field(const struct helper_context *context, enum protocol_field_id name)
{
    return protocol_get(&context->request, name);
}

/* With qr=1, a drawing of the URL for the module to show under it. The QR code is a
 * convenience: when the URL is too long for one that fits a reply value, there is none. */
static int add_qr_drawing(struct helper_context *context, const char *url)
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
static bool ca_file_readable(struct helper_context *context)
{
    const char *ca_file = field(context, FIELD_CA_FILE);
    char message[512];

    if (ca_file == NULL || access(ca_file, R_OK) == 0)
        return true;
    snprintf(message, sizeof(message),
             "the configured ca_file cannot be read by the user the helper runs as (%s); "
             "make it readable by all (mode 0644)",
             strerror(errno));
    reply_error(context, "bad-config", message);
    return false;
}

/* "authorize": a fresh PKCE verifier and state, and the URL the user opens. */
static int build_authorization(struct helper_context *context)
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
        return reply_error(context, "bad-request", "cannot build the authorization URL");
    protocol_reply_init(&context->reply, true);
    status = protocol_set(&context->reply, FIELD_URL, authorization.url) |
                     protocol_set(&context->reply, FIELD_VERIFIER, authorization.verifier) |
                     protocol_set(&context->reply, FIELD_STATE, authorization.state) |
                     add_qr_drawing(context, authorization.url)
                 ? reply_error(context, "internal", "the reply does not fit")
                 : HELPER_EXIT_OK;
    authorization_clear(&authorization);
    return status;
}

/* "answer": the code (and Snyk's instance=) out of what the user pasted, or why not. */
static int check_answer(struct helper_context *context)
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
        return reply_error(context, "bad-answer", parsed.message);
    /* The instance, not a URL: the module derives where the code goes from its own config. */
    protocol_reply_init(&context->reply, true);
    status = protocol_set(&context->reply, FIELD_CODE, parsed.code) |
                     protocol_set(&context->reply, FIELD_INSTANCE, parsed.instance)
                 ? reply_error(context, "internal", "the reply does not fit")
                 : HELPER_EXIT_OK;
    parsed_answer_clear(&parsed);
    return status;
}

static const char *keyring_reason(enum keyring_status status)
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
static int build_code_form(const struct helper_context *context, struct capped_buffer *form)
{
    const struct oauth_client client = {field(context, FIELD_CLIENT_ID),
                                        field(context, FIELD_CLIENT_SECRET)};

    return token_form_authorization_code(form, &client, field(context, FIELD_CODE),
                                         field(context, FIELD_REDIRECT_URI),
                                         field(context, FIELD_VERIFIER));
}

/* The module's deadline (CLOCK_MONOTONIC ms, see deadline.h), 0 when it sent none. */
static long long request_deadline(const struct helper_context *context)
{
    const char *text = field(context, FIELD_DEADLINE);

    return text != NULL ? strtoll(text, NULL, 10) : 0;
}

/* What the exchange may take: the configured timeout, ending in time for the store. */
static long exchange_budget_ms(const struct helper_context *context)
{
    const char *text = field(context, FIELD_TIMEOUT);
    long seconds = text != NULL ? strtol(text, NULL, 10) : 0;

    if (seconds < 1 || seconds > 120)
        return -1;
    return request_time_budget_ms(seconds * 1000, request_deadline(context));
}

/* The refresh settings the module sent (the same for "session" and "refresher"). */
static void fill_refresh_request(const struct helper_context *context,
                                 struct refresh_request *request)
{
    const char *margin = field(context, FIELD_REFRESH_MARGIN);
    const char *timeout = field(context, FIELD_TIMEOUT);

    memset(request, 0, sizeof(*request));
    request->names.service = field(context, FIELD_KEYRING_SERVICE);
    request->names.username = field(context, FIELD_USERNAME);
    request->names.display_name = field(context, FIELD_DISPLAY_NAME);
    request->names.preset = field(context, FIELD_PRESET);
    request->token_url = field(context, FIELD_TOKEN_URL);
    request->token_url_from_preset = field(context, FIELD_TOKEN_URL_FROM_PRESET) != NULL;
    request->client_id = field(context, FIELD_CLIENT_ID);
    request->client_secret = field(context, FIELD_CLIENT_SECRET);
    request->ca_file = field(context, FIELD_CA_FILE);
    request->deadline_ms = request_deadline(context);
    request->timeout_ms = (timeout != NULL ? strtol(timeout, NULL, 10) : 10) * 1000;
    request->margin_seconds = margin != NULL ? strtol(margin, NULL, 10) : REFRESH_DEFAULT_MARGIN;
    if (request->timeout_ms < 1000 || request->timeout_ms > 120000)
        request->timeout_ms = 10000;
    if (request->margin_seconds < 0)
        request->margin_seconds = REFRESH_DEFAULT_MARGIN;
}

/* The request to start a refresher: what the table lists for it, taken from this request.
 * Not this login's deadline (nobody waits for the refresher); the code and verifier only when
 * the refresher is to finish the exchange itself (a keyring not started yet, see
 * defer_to_refresher). */
static void start_refresher(const struct helper_context *context, bool with_code)
{
    struct protocol_message request;
    int rv;

    if (field(context, FIELD_START_REFRESHER) == NULL)
        return;
    rv = protocol_request_init(&request, REQUEST_START_REFRESHER);
    if (rv == 0)
        rv = protocol_copy_fields(&request, protocol_request_spec(REQUEST_START_REFRESHER),
                                  &context->request, PROTOCOL_FIELD_COUNT);
    if (rv == 0 && !with_code)
        protocol_message_remove(&request, protocol_field_name(FIELD_CODE));
    if (rv == 0 && !with_code)
        protocol_message_remove(&request, protocol_field_name(FIELD_VERIFIER));
    if (rv == 0)
        refresher_spawn(&request);
    protocol_message_clear(&request);
}

/* With holds_refresh_token, refresh_expires_at (Unix seconds, 0: the provider gave none) for
 * the module's login state (pam_module/login_state.h): the module, not this process, writes
 * that file. Without a refresh token, no such field: the next login has to ask. */
static int add_refresh_expiry(struct helper_context *context, bool holds_refresh_token,
                              long long refresh_expires_at)
{
    char text[24];

    if (!holds_refresh_token)
        return 0;
    snprintf(text, sizeof(text), "%lld", refresh_expires_at > 0 ? refresh_expires_at : 0);
    return protocol_set(&context->reply, FIELD_REFRESH_EXPIRES_AT, text);
}

/* Stores the pair and records the sign-in (SERVICE.status, for `oauth-keyring status`): the
 * module's exchange and the one a refresher finishes for a login (refresher.c) both end here. */
static int store_exchanged(struct helper_context *context, struct keyring *keyring,
                           struct exchange_result *result, const char *token_url)
{
    struct refresh_request request;
    char why[512], event[600];
    time_t now = time(NULL);
    long long refresh_expires_at = result->tokens.refresh_expires_in > 0
                                       ? (long long)now + result->tokens.refresh_expires_in
                                       : 0;

    fill_refresh_request(context, &request);
    if (keyring_store_pair(keyring, &request.names, &result->tokens, token_url, now, why,
                           sizeof(why)) != 0) {
        snprintf(event, sizeof(event), "the sign-in was not stored: %s", why);
        refresh_status_record_event(request.names.service, "exchange-failed", event);
        return reply_error(context, "keyring-write", why);
    }
    refresh_status_record_event(request.names.service, "signed-in",
                                result->tokens.refresh_token != NULL
                                    ? "access and refresh token stored in the keyring"
                                    : "access token stored in the keyring; the provider gave "
                                      "no refresh token: sign in again when it expires");
    start_refresher(context, false);
    protocol_reply_init(&context->reply, true);
    return protocol_set(&context->reply, FIELD_MESSAGE, "tokens stored in the keyring") |
                   add_refresh_expiry(context, result->tokens.refresh_token != NULL,
                                      refresh_expires_at)
               ? reply_error(context, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* The keyring is not up yet: in a display manager's stack whose pam_gnome_keyring session
 * line comes after ours (Debian's gdm-password and lightdm, with the pam-auth-update
 * profile), the daemon starts moments after this returns. The refresher, detached, waits for
 * it (bounded, refresher.h) and then does what this run could not: the exchange (with_code)
 * or the session's refresh. The login goes on at once. */
static int defer_to_refresher(struct helper_context *context, bool with_code)
{
    start_refresher(context, with_code);
    protocol_reply_init(&context->reply, true);
    return protocol_set(&context->reply, FIELD_OUTCOME, "deferred") |
                   protocol_set(&context->reply, FIELD_MESSAGE,
                                "the keyring is not running yet; the refresher finishes "
                                "as soon as it is")
               ? reply_error(context, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* "exchange": only with a usable keyring is the code spent; then the pair is stored. */
static int exchange_code(struct helper_context *context)
{
    const char *token_url = field(context, FIELD_TOKEN_URL);
    struct capped_buffer form = {0};
    struct exchange_result result;
    struct keyring *keyring = NULL;
    enum keyring_status keyring_status;
    char why[512];
    long budget_ms;
    int lock = -1, status;

    memset(&result, 0, sizeof(result));
    if (build_code_form(context, &form) != 0) {
        status = reply_error(context, "internal", "the token request does not fit");
        goto out;
    }
    keyring_status = keyring_open(&keyring, KEYRING_FOR_LOGIN, why, sizeof(why));
    if (keyring_status == KEYRING_NOT_STARTED && field(context, FIELD_START_REFRESHER) != NULL) {
        status = defer_to_refresher(context, true);
        goto out;
    }
    if (keyring_status != KEYRING_READY) {
        status = reply_error(context, keyring_reason(keyring_status), why);
        goto out;
    }
    /* A refresh of the previous grant may be running: wait for it (a little) so that its
     * answer cannot land on top of this new pair. */
    lock = refresh_lock_acquire(field(context, FIELD_KEYRING_SERVICE), EXCHANGE_LOCK_WAIT_MS);
    budget_ms = exchange_budget_ms(context);
    if (budget_ms < 500) {
        status = reply_error(context, "timeout", "no time left for the exchange; code not spent");
        goto out;
    }
    test_pause_point("exchange-before-request");
    token_exchange(token_url, field(context, FIELD_CA_FILE), budget_ms, &form, &result);
    if (result.outcome != EXCHANGE_OK) {
        /* The session still gets its refresher, which can run the sign-in again. */
        start_refresher(context, false);
        status = reply_error(context, result.reason, result.message);
    } else
        status = store_exchanged(context, keyring, &result, token_url);
out:
    refresh_lock_release(lock);
    exchange_result_clear(&result);
    capped_buffer_wipe(&form);
    keyring_close(keyring);
    return status;
}

/* "session": with tokens already in the keyring, refresh once if due; then the refresher. */
static int refresh_for_session(struct helper_context *context)
{
    struct refresh_request request;
    struct refresh_report report;
    struct keyring *keyring = NULL;
    enum keyring_status keyring_status;
    char why[512];
    int status;

    keyring_status = keyring_open(&keyring, KEYRING_FOR_LOGIN, why, sizeof(why));
    if (keyring_status == KEYRING_NOT_STARTED && field(context, FIELD_START_REFRESHER) != NULL)
        return defer_to_refresher(context, false);
    if (keyring_status != KEYRING_READY)
        return reply_error(context, keyring_reason(keyring_status), why);
    fill_refresh_request(context, &request);
    /* A login waits at most a second for a refresh elsewhere; the refresher catches up. */
    request.lock_wait_ms = 1000;
    refresh_if_due(keyring, &request, &report);
    keyring_close(keyring);
    /* Also when authorization is needed: the refresher then waits for a sign-in (issue 13). */
    start_refresher(context, false);
    if (report.outcome != REFRESH_NOT_DUE && report.outcome != REFRESH_DONE)
        return reply_error(context, refresh_outcome_name(report.outcome), report.message);
    protocol_reply_init(&context->reply, true);
    status =
        protocol_set(&context->reply, FIELD_OUTCOME, refresh_outcome_name(report.outcome)) |
                protocol_set(&context->reply, FIELD_MESSAGE, report.message) |
                add_refresh_expiry(context, report.holds_refresh_token, report.refresh_expires_at)
            ? reply_error(context, "internal", "the reply does not fit")
            : HELPER_EXIT_OK;
    return status;
}

/* "refresher": this process becomes the long-lived refresher (see refresher.h). */
static int run_refresher(struct helper_context *context)
{
    struct refresh_request request;

    alarm(0); /* the per-run bound does not apply to a session-long process */
    fill_refresh_request(context, &request);
    refresher_run(&context->request, &request);
    return reply_error(context, "exited", "the refresher has exited");
}

static int reply_outcome(struct helper_context *context, const char *outcome, const char *message)
{
    protocol_reply_init(&context->reply, true);
    return protocol_set(&context->reply, FIELD_OUTCOME, outcome) |
                   protocol_set(&context->reply, FIELD_MESSAGE, message)
               ? reply_error(context, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* A 429/503's Retry-After travels back to the refresher, whose schedule honours it. */
static int add_retry_after(struct helper_context *context, long seconds)
{
    char text[24];

    if (seconds <= 0)
        return HELPER_EXIT_OK;
    snprintf(text, sizeof(text), "%ld", seconds);
    return protocol_set(&context->reply, FIELD_RETRY_AFTER, text) != 0
               ? reply_error(context, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* "refresh": one refresh on the refresher's behalf, in a process of its own (helper_child.h).
 * Every outcome, failures included, is an "ok" reply that names it. */
static int refresh_for_refresher(struct helper_context *context)
{
    const char *min_valid = field(context, FIELD_MIN_VALID);
    struct refresh_request request;
    struct refresh_report report;
    struct keyring *keyring = NULL;
    char why[512];
    int status;

    if (keyring_open(&keyring, KEYRING_FOR_LOGIN, why, sizeof(why)) != KEYRING_READY)
        return reply_outcome(context, refresh_outcome_name(REFRESH_KEYRING_FAILED), why);
    fill_refresh_request(context, &request);
    request.min_valid_seconds = min_valid != NULL ? strtol(min_valid, NULL, 10) : 0;
    if (request.min_valid_seconds < 0 || request.min_valid_seconds > 86400)
        request.min_valid_seconds = 0;
    refresh_if_due(keyring, &request, &report);
    keyring_close(keyring);
    status = reply_outcome(context, refresh_outcome_name(report.outcome), report.message);
    return status == HELPER_EXIT_OK ? add_retry_after(context, report.retry_after_seconds) : status;
}

/* "logout": revoke and remove the pair on the refresher's behalf (helper_child.h). */
static int logout_for_refresher(struct helper_context *context)
{
    struct refresh_request request;
    struct keyring *keyring = NULL;
    char message[512];
    int removed;

    if (keyring_open(&keyring, KEYRING_FOR_LOGIN, message, sizeof(message)) != KEYRING_READY)
        return reply_outcome(context, "keyring-failed", message);
    fill_refresh_request(context, &request);
    removed =
        logout_pair(keyring, &request, field(context, FIELD_REVOKE_URL), message, sizeof(message));
    keyring_close(keyring);
    return reply_outcome(context, removed == 0 ? "logged-out" : "keyring-failed", message);
}

static int authorize_if_ca_readable(struct helper_context *context)
{
    return ca_file_readable(context) ? build_authorization(context) : HELPER_EXIT_FAILED;
}

/* What this program does for each request it takes; the protocol's table says which those
 * are (protocol_request_accept) and what each must carry. */
static int (*const handlers[PROTOCOL_REQUEST_COUNT])(struct helper_context *) = {
    [REQUEST_AUTHORIZE] = authorize_if_ca_readable,
    [REQUEST_ANSWER] = check_answer,
    [REQUEST_EXCHANGE] = exchange_code,
    [REQUEST_SESSION] = refresh_for_session,
    [REQUEST_START_REFRESHER] = run_refresher,
    [REQUEST_CHILD_REFRESH] = refresh_for_refresher,
    [REQUEST_CHILD_LOGOUT] = logout_for_refresher,
    [REQUEST_CHILD_EXCHANGE] = exchange_code,
};

/* A request the table refuses (another program's, an unknown field, a required one
 * missing) is answered "bad-request" with why, before any work. */
static int dispatch(struct helper_context *context)
{
    const struct protocol_request_spec *spec = NULL;
    char why[256];

    if (protocol_request_accept(HELPER_READS, &context->request, &spec, why, sizeof(why)) != 0 ||
        handlers[spec->request] == NULL)
        return reply_error(context, "bad-request", spec == NULL ? why : "not handled here");
    return handlers[spec->request](context);
}

/* Installed where the user cannot read it (root:root 0711), the helper is non-dumpable from
 * execve on: the kernel decides that before the dynamic linker runs, so none of the user's
 * other processes could ptrace it, take its fds (pidfd_getfd) or open /proc/PID/fd/0 while
 * the request waited on stdin. A dumpable start means they could have: refuse, loudly. */
static bool started_protected(void)
{
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

    return dumpable == 0 || dumpable == 2 || test_allows_dumpable_start();
}

/* Not dumpable (no core, no ptrace attach by the user's other processes), not traced now,
 * and never root: this process holds secrets and parses what the network sends. */
static bool protect_process(void)
{
    char line[256];
    bool untraced = false;
    FILE *status;

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || getuid() == 0 || geteuid() == 0)
        return false;
    status = fopen("/proc/self/status", "re");
    if (status == NULL)
        return false;
    while (fgets(line, sizeof(line), status) != NULL) {
        if (strncmp(line, "TracerPid:", 10) == 0)
            untraced = strtol(line + 10, NULL, 10) == 0;
    }
    fclose(status);
    return untraced;
}

static int read_request(struct protocol_message *request)
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
        rv = protocol_decode(input.data, input.length, request);
    secret_wipe(chunk, sizeof(chunk));
    capped_buffer_wipe(&input);
    return rv;
}

static int write_reply(const struct protocol_message *reply)
{
    struct capped_buffer output = {0};
    size_t written = 0;
    int rv = -1;

    if (capped_buffer_init(&output, PROTOCOL_MAX_MESSAGE) == 0 &&
        protocol_encode(reply, &output) == 0) {
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

int main(void)
{
    struct helper_context context;
    int status = HELPER_EXIT_BAD_REQUEST;

    memset(&context, 0, sizeof(context));
    if (!started_protected())
        return HELPER_EXIT_EXPOSED;
    if (!protect_process())
        return HELPER_EXIT_REFUSED;
    alarm(HELPER_MAX_SECONDS);
    signal(SIGPIPE, SIG_IGN);
    if (read_request(&context.request) != 0)
        goto out;
    status = dispatch(&context);
    if (write_reply(&context.reply) != 0)
        status = HELPER_EXIT_FAILED;
out:
    protocol_message_clear(&context.request);
    protocol_message_clear(&context.reply);
    return status;
}
