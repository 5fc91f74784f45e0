#include "config.h"

#include "pam_module/login_flow.h"

#include <security/pam_ext.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "common/deadline.h"
#include "pam_module/desktop_signin.h"
#include "pam_module/helper_process.h"
#include "pam_module/login_state.h"
#include "pam_module/module_options.h"
#include "common/protocol.h"
#include "common/protocol_table.h"
#include "pam_module/provider_config.h"
#include "common/text_checks.h"
#include "pam_module/user_account.h"

#define PENDING_DATA_NAME "pam_oauth_keyring/pending-authorization"
#define PENDING_DEVICE_DATA_NAME "pam_oauth_keyring/pending-device-sign-in"
#define ANSWER_MAX_BYTES 4096
/* The auth-phase helper calls do no network I/O: a few seconds is generous. */
#define LOCAL_HELPER_TIMEOUT_MS 5000
/* How long past the exchange timeout the helper may take before it is killed. */
#define HELPER_GRACE_MS 800

/* What auth hands to open_session through pam_set_data; wiped by its cleanup. */
struct pending_authorization {
    char *code;
    char *verifier;
    char *state;
    char *token_url;
};

/* A device sign-in shown at the prompt (RFC 8628), for open_session: the helper's reply to
 * "device-authorize" (the device code is secret), kept with pam_set_data, wiped by its
 * cleanup. */
struct pending_device {
    struct protocol_message offer;
};

/* Everything one phase of one login holds, released by login_context_cleanup. */
struct login_context {
    pam_handle_t *pamh;
    struct module_options options;
    const char *user_name;
    struct user_account account;
    struct provider_config config;
    struct helper_environment environment;
    struct protocol_message request;
    struct protocol_message reply;
    struct protocol_message device_offer; /* the helper's "device-authorize" reply, if any */
    char login_state[512];                /* this user's login state file for this provider */
    /* prompt=missing, and that file says a sign-in is needed, written at this time: the
     * helper is asked whether the user has signed in since (inside a session). */
    bool ask_signed_in;
    long long login_state_written_at;
    char why[512];
};

static void pending_authorization_free(pam_handle_t *pamh, void *data, int error_status)
{
    struct pending_authorization *pending = data;

    (void)pamh;
    (void)error_status;
    if (pending == NULL)
        return;
    secret_free_string(&pending->code);
    secret_free_string(&pending->verifier);
    secret_free_string(&pending->state);
    secret_free_string(&pending->token_url);
    free(pending);
}

static void pending_device_free(pam_handle_t *pamh, void *data, int error_status)
{
    struct pending_device *pending = data;

    (void)pamh;
    (void)error_status;
    if (pending == NULL)
        return;
    protocol_message_clear(&pending->offer);
    free(pending);
}

static void login_context_cleanup(struct login_context *context)
{
    protocol_message_clear(&context->device_offer);
    user_account_clear(&context->account);
    provider_config_clear(&context->config);
    helper_environment_clear(&context->environment);
    protocol_message_clear(&context->request);
    protocol_message_clear(&context->reply);
}

static void debug_log(const struct login_context *context, const char *message)
{
    if (context->options.debug)
        pam_syslog(context->pamh, LOG_DEBUG, "%s", message);
}

/* Decides whether this login is ours and gathers what both phases need. */
static bool login_context_prepare(struct login_context *context, pam_handle_t *pamh, int argc,
                                  const char **argv)
{
    const void *service = NULL;
    struct config_error config_error;

    memset(context, 0, sizeof(*context));
    context->pamh = pamh;
    module_options_parse(pamh, argc, argv, &context->options);
    if (pam_get_item(pamh, PAM_SERVICE, &service) != PAM_SUCCESS ||
        !module_options_serves(&context->options, service)) {
        debug_log(context, "service not in only_if=, skipping");
        return false;
    }
    if (pam_get_user(pamh, &context->user_name, NULL) != PAM_SUCCESS ||
        context->user_name == NULL || user_account_lookup(context->user_name, &context->account)) {
        pam_syslog(pamh, LOG_NOTICE, "unknown user, skipping");
        return false;
    }
    if (context->account.uid == 0 || context->account.uid < context->options.minimum_uid) {
        debug_log(context, "user below minimum_uid, skipping");
        return false;
    }
    if (provider_config_load(context->options.config_path, context->options.provider,
                             &context->config, &config_error) != 0) {
        pam_syslog(pamh, LOG_ERR, "configuration refused: %s", config_error.message);
        return false;
    }
    if (config_error.world_readable)
        pam_syslog(pamh, LOG_WARNING, "%s is readable by others; it holds the client secret",
                   context->options.config_path);
    if (config_error.warning[0] != '\0')
        pam_syslog(pamh, LOG_WARNING, "%s", config_error.warning);
    if (login_state_path(context->options.state_dir, context->account.uid,
                         context->config.keyring_service, context->login_state,
                         sizeof(context->login_state)) != 0) {
        pam_syslog(pamh, LOG_ERR, "state_dir is too long");
        return false;
    }
    if (helper_environment_build(pamh, &context->account, &context->environment) != 0) {
        pam_syslog(pamh, LOG_ERR, "user %s: unusable session environment", context->user_name);
        return false;
    }
    return true;
}

/* States a login meets every day - a locked keyring (a key-based ssh login), no tokens yet -
 * are notices, not errors. */
static bool is_expected_state(const char *reason)
{
    return reason != NULL &&
           (strcmp(reason, "keyring-locked") == 0 || strcmp(reason, "keyring-unreachable") == 0 ||
            strcmp(reason, "keyring-not-started") == 0 ||
            strcmp(reason, "authorization-needed") == 0 || strcmp(reason, "signed-in") == 0 ||
            strcmp(reason, "authorization_pending") == 0 || strcmp(reason, "slow_down") == 0);
}

/* The reply's words come from the provider or from the user's own session bus (any program
 * can answer there): only printable ASCII of them reaches root's log and the user's screen.
 * Those are the fields the protocol's table marks SHOWN. The QR code, the one field shown
 * that is not ASCII, is shown whole or not at all. (protocol_reply_check has made sure that
 * every field is one the table has.) */
static void make_reply_printable(struct protocol_message *reply)
{
    for (size_t i = 0; i < reply->field_count; i++) {
        struct protocol_field *field = &reply->fields[i];
        enum protocol_field_id id = FIELD_QR;
        bool known = protocol_field_from_name(field->name, &id);
        if (known && protocol_field_exposure(id) == PROTOCOL_SHOWN)
            text_copy_printable(field->value, field->length + 1, field->value);
        if (known && id == FIELD_QR && !text_is_block_drawing(field->value, field->length)) {
            secret_wipe(field->value, field->length);
            field->length = 0;
        }
    }
}

static int add_deadline(struct protocol_message *request, long long budget_ms);

/* Runs one request through the helper; true when it answered "ok". A failed run is logged as
 * an error; an "error" reply at the priority its reason deserves. The reply counts only when
 * it carries what the protocol's table says a reply to this request carries
 * (protocol_reply_check): the helper runs as the user, and a reply the user's own program
 * wrote must not make root's application read a field that is not there. Such a reply is
 * logged and dropped unread. */
static bool ask_helper(struct login_context *context, int timeout_ms)
{
    const char *message, *reason;

    protocol_message_clear(&context->reply);
    if (helper_run(&context->account, &context->environment, &context->request, timeout_ms,
                   &context->reply, context->why, sizeof(context->why)) != 0 ||
        protocol_reply_check(protocol_request_find(CHANNEL_LOGIN, context->request.command),
                             &context->reply, context->why, sizeof(context->why)) != 0) {
        pam_syslog(context->pamh, LOG_ERR, "user %s: %s", context->user_name, context->why);
        protocol_message_clear(&context->reply);
        return false;
    }
    make_reply_printable(&context->reply);
    if (strcmp(context->reply.command, "ok") == 0)
        return true;
    message = protocol_get(&context->reply, FIELD_MESSAGE);
    reason = protocol_get(&context->reply, FIELD_REASON);
    pam_syslog(context->pamh, is_expected_state(reason) ? LOG_NOTICE : LOG_ERR, "user %s: %s (%s)",
               context->user_name, message, reason != NULL ? reason : "no reason given");
    return false;
}

/* A new request in the context; the previous one (one phase may send two) is wiped first. */
static int start_request(struct login_context *context, enum protocol_request request)
{
    protocol_message_clear(&context->request);
    return protocol_request_init(&context->request, request);
}

/* With discovery the helper fetches the issuer's metadata first: the network, so the
 * configured timeout (and a deadline the helper plans by) instead of the local bound. */
static int add_discovery_fields(struct login_context *context, int *timeout_ms)
{
    const struct provider_config *config = &context->config;
    char timeout[16];
    int rv = 0;

    *timeout_ms = LOCAL_HELPER_TIMEOUT_MS;
    if (!config->discover)
        return 0;
    *timeout_ms = (int)config->timeout * 1000;
    snprintf(timeout, sizeof(timeout), "%ld", config->timeout);
    rv |= protocol_set(&context->request, FIELD_DISCOVER, "1");
    rv |= protocol_set(&context->request, FIELD_ISSUER, config->issuer);
    rv |= protocol_set(&context->request, FIELD_TIMEOUT, timeout);
    rv |= add_deadline(&context->request, *timeout_ms);
    *timeout_ms += HELPER_GRACE_MS;
    return rv;
}

static bool request_authorize_url(struct login_context *context)
{
    const struct provider_config *config = &context->config;
    int rv = start_request(context, REQUEST_AUTHORIZE);
    int timeout_ms = LOCAL_HELPER_TIMEOUT_MS;
    char since[24];

    snprintf(since, sizeof(since), "%lld", context->login_state_written_at);
    if (context->ask_signed_in) {
        rv |= protocol_set(&context->request, FIELD_KEYRING_SERVICE, config->keyring_service);
        rv |= protocol_set(&context->request, FIELD_SIGNED_IN_SINCE, since);
    }

    rv |= protocol_set(&context->request, FIELD_AUTHORIZE_URL, config->authorize_url);
    rv |= protocol_set(&context->request, FIELD_CLIENT_ID, config->client_id);
    rv |= protocol_set(&context->request, FIELD_REDIRECT_URI, config->redirect_uri);
    rv |= protocol_set(&context->request, FIELD_SCOPE, config->scope);
    rv |= protocol_set(&context->request, FIELD_CA_FILE, config->ca_file);
    if (context->options.show_qr)
        rv |= protocol_set(&context->request, FIELD_QR, "1");
    rv |= add_discovery_fields(context, &timeout_ms);
    return rv == 0 && ask_helper(context, timeout_ms);
}

/* The device authorization goes to the network (as the user, in the helper): the configured
 * timeout bounds it, and a provider that is down costs the prompt at most that. */
static int add_network_bound(struct login_context *context, int *timeout_ms)
{
    const struct provider_config *config = &context->config;
    char timeout[16];
    int rv = 0;

    *timeout_ms = (int)config->timeout * 1000;
    snprintf(timeout, sizeof(timeout), "%ld", config->timeout);
    if (config->discover) {
        rv |= protocol_set(&context->request, FIELD_DISCOVER, "1");
        rv |= protocol_set(&context->request, FIELD_ISSUER, config->issuer);
    }
    rv |= protocol_set(&context->request, FIELD_TIMEOUT, timeout);
    rv |= add_deadline(&context->request, *timeout_ms);
    *timeout_ms += HELPER_GRACE_MS;
    return rv;
}

/* "device-authorize": the user code and the address to enter it at, and the device code the
 * session polls with, moved into device_offer. false when there is none (the provider down,
 * or no device grant there: logged), or when the user signed in inside a session since. */
static bool request_device_authorization(struct login_context *context)
{
    const struct provider_config *config = &context->config;
    int rv = start_request(context, REQUEST_DEVICE_AUTHORIZE);
    int timeout_ms = 0;
    char since[24];

    snprintf(since, sizeof(since), "%lld", context->login_state_written_at);
    if (context->ask_signed_in) {
        rv |= protocol_set(&context->request, FIELD_KEYRING_SERVICE, config->keyring_service);
        rv |= protocol_set(&context->request, FIELD_SIGNED_IN_SINCE, since);
    }
    rv |= protocol_set(&context->request, FIELD_DEVICE_AUTHORIZATION_URL,
                       config->device_authorization_url);
    rv |= protocol_set(&context->request, FIELD_CLIENT_ID, config->client_id);
    rv |= protocol_set(&context->request, FIELD_CLIENT_SECRET, config->client_secret);
    rv |= protocol_set(&context->request, FIELD_SCOPE, config->scope);
    rv |= protocol_set(&context->request, FIELD_CA_FILE, config->ca_file);
    if (context->options.show_qr)
        rv |= protocol_set(&context->request, FIELD_QR, "1");
    rv |= add_network_bound(context, &timeout_ms);
    if (rv != 0 || !ask_helper(context, timeout_ms))
        return false;
    protocol_message_clear(&context->device_offer);
    context->device_offer = context->reply;
    memset(&context->reply, 0, sizeof(context->reply));
    return true;
}

/* The helper's drawing of the URL, when qr asked for one (an empty field was refused). */
static void show_qr_code(struct login_context *context)
{
    const char *drawing = protocol_get(&context->reply, FIELD_QR);

    if (!context->options.show_qr)
        return;
    if (drawing != NULL && drawing[0] != '\0')
        pam_prompt(context->pamh, PAM_TEXT_INFO, NULL, "%s", drawing);
    else
        debug_log(context, "no usable QR code in the helper's reply, showing the URL only");
}

/* The host of an https address the helper checked ("https://HOST[:PORT]/..."), into host:
 * RFC 8628 5.4 asks that the user see where the code is to be entered. */
static void address_host(const char *address, char *host, size_t host_size)
{
    const char *start = strncmp(address, "https://", 8) == 0 ? address + 8 : address;
    size_t length = strcspn(start, "/?#");

    snprintf(host, host_size, "%.*s", (int)(length < host_size ? length : host_size - 1), start);
}

/* The device sign-in's lines: where, the code, the host to check, the QR code of the complete
 * address, and that Enter goes on at once (the session's hook and the refresher wait for the
 * approval, never this prompt). */
static void show_device_offer(struct login_context *context, bool also_browser)
{
    const struct protocol_message *offer = &context->device_offer;
    const char *address = protocol_get(offer, FIELD_VERIFICATION_URI);
    const char *drawing = protocol_get(offer, FIELD_QR);
    time_t expires_at = (time_t)strtoll(protocol_get(offer, FIELD_EXPIRES_AT), NULL, 10);
    char host[256], until[16] = "";
    struct tm local;

    address_host(address, host, sizeof(host));
    if (localtime_r(&expires_at, &local) != NULL)
        strftime(until, sizeof(until), "%H:%M", &local);
    pam_prompt(context->pamh, PAM_TEXT_INFO, NULL,
               also_browser ? "Or, on your phone or another computer, open %s"
                            : "To keep your %s token in your keyring, approve this sign-in on "
                              "your phone or another computer:",
               also_browser ? address : context->config.display_name);
    if (!also_browser)
        pam_prompt(context->pamh, PAM_TEXT_INFO, NULL, "  open   %s", address);
    pam_prompt(context->pamh, PAM_TEXT_INFO, NULL, "  code   %s   (only on a page of %s)",
               protocol_get(offer, FIELD_USER_CODE), host);
    if (context->options.show_qr && drawing != NULL && drawing[0] != '\0')
        pam_prompt(context->pamh, PAM_TEXT_INFO, NULL, "%s", drawing);
    pam_prompt(context->pamh, PAM_TEXT_INFO, NULL,
               "Approve now or after you log in (until %s): your token is stored when you do.",
               until);
}

/* Shows the browser's URL and, with the device grant, its code; takes the user's answer
 * (NULL when the conversation failed). url is NULL for the device grant alone. */
static char *converse_for_answer(struct login_context *context, const char *url)
{
    bool device = context->device_offer.command[0] != '\0';
    char *answer = NULL;

    if (url != NULL) {
        pam_prompt(context->pamh, PAM_TEXT_INFO, NULL,
                   "To keep your %s token in your keyring, open this address in a browser and "
                   "sign in:",
                   context->config.display_name);
        pam_prompt(context->pamh, PAM_TEXT_INFO, NULL, "%s", url);
        show_qr_code(context);
    }
    if (device)
        show_device_offer(context, url != NULL);
    /* At a greeter the address can rarely be used: say what Enter leads to. */
    if (url != NULL && !device && desktop_signin_offered(context->pamh, &context->options))
        pam_prompt(context->pamh, PAM_TEXT_INFO, NULL,
                   "Or press Enter to skip: after you log in, the sign-in opens in your "
                   "browser.");
    if (pam_prompt(context->pamh, PAM_PROMPT_ECHO_ON, &answer, "%s",
                   url == NULL ? "Press Enter to continue: "
                   : device    ? "Paste the code or the address you were sent to, or press "
                                 "Enter to continue: "
                               : "Paste the code or the address you were sent to (Enter "
                                 "skips): ") != PAM_SUCCESS)
        secret_free_string(&answer);
    return answer;
}

/* Keeps the device sign-in for open_session (the offer taken over); wiped by the handle. */
static void keep_device_for_session(struct login_context *context)
{
    struct pending_device *pending = calloc(1, sizeof(*pending));

    if (pending == NULL) {
        pam_syslog(context->pamh, LOG_ERR, "user %s: cannot keep the device sign-in",
                   context->user_name);
        return;
    }
    pending->offer = context->device_offer;
    memset(&context->device_offer, 0, sizeof(context->device_offer));
    if (pam_set_data(context->pamh, PENDING_DEVICE_DATA_NAME, pending, pending_device_free) !=
        PAM_SUCCESS) {
        pending_device_free(context->pamh, pending, 0);
        pam_syslog(context->pamh, LOG_ERR, "user %s: cannot keep the device sign-in",
                   context->user_name);
        return;
    }
    debug_log(context, "device sign-in kept for the session phase");
}

static bool answer_is_acceptable(const char *answer)
{
    size_t length = strnlen(answer, ANSWER_MAX_BYTES + 1);

    return length <= ANSWER_MAX_BYTES && !text_has_control_byte(answer, length);
}

static bool request_answer_check(struct login_context *context, const char *answer,
                                 const char *state)
{
    const struct provider_config *config = &context->config;
    int rv = start_request(context, REQUEST_ANSWER);

    rv |= protocol_set(&context->request, FIELD_ANSWER, answer);
    rv |= protocol_set(&context->request, FIELD_STATE, state);
    rv |= protocol_set(&context->request, FIELD_ISSUER, config->issuer);
    rv |= protocol_set(&context->request, FIELD_PRESET, config->preset);
    return rv == 0 && ask_helper(context, LOCAL_HELPER_TIMEOUT_MS);
}

/* Where the code goes is derived from the configuration and the reply's Snyk instance (if
 * any), never a URL the helper names (provider_token_url_for_login); with discovery, the
 * helper finds it in the issuer's metadata at the exchange. An instance this configuration
 * does not allow is refused: the user told, the refusal logged. */
static void refuse_instance(struct login_context *context)
{
    pam_error(context->pamh, "%s", context->why);
    pam_syslog(context->pamh, LOG_NOTICE, "user %s: answer refused: %s", context->user_name,
               context->why);
}

/* Keeps code, verifier, state and token URL (taken over) for open_session; wiped by the PAM
 * handle. The reply's code is there and not empty: ask_helper checked the reply. */
static void keep_for_session(struct login_context *context, const char *verifier, const char *state,
                             char *token_url)
{
    struct pending_authorization *pending = calloc(1, sizeof(*pending));

    if (pending != NULL) {
        pending->code = strdup(protocol_get(&context->reply, FIELD_CODE));
        pending->token_url = token_url;
        pending->verifier = strdup(verifier);
        pending->state = strdup(state);
    } else {
        secret_free_string(&token_url);
    }
    /* No token URL only with discovery: the helper finds it at the exchange. */
    if (pending == NULL || pending->code == NULL ||
        (pending->token_url == NULL && !context->config.discover) || pending->verifier == NULL ||
        pending->state == NULL ||
        pam_set_data(context->pamh, PENDING_DATA_NAME, pending, pending_authorization_free) !=
            PAM_SUCCESS) {
        pending_authorization_free(context->pamh, pending, 0);
        pam_syslog(context->pamh, LOG_ERR, "user %s: cannot keep the code for the session",
                   context->user_name);
        return;
    }
    debug_log(context, "authorization code kept for the session phase");
}

/* Moves the "ok" reply's verifier and state out before the reply is reused. */
static void take_reply_field(struct login_context *context, enum protocol_field_id field,
                             char **target)
{
    const char *value = protocol_get(&context->reply, field);

    *target = value != NULL ? strdup(value) : NULL;
}

/* The browser's sign-in: the URL with a fresh verifier and state (verifier and state moved
 * into *verifier and *state). false when there is none, or the user signed in since. */
static bool offer_browser(struct login_context *context, char **verifier, char **state)
{
    if (!request_authorize_url(context))
        return false;
    /* Only the user's own helper read the user's status file (this process never touches a
     * path the user owns): a forged "signed in" skips only this user's prompt, and the
     * session hook then records what the keyring really holds. */
    if (protocol_get(&context->reply, FIELD_SIGNED_IN) != NULL) {
        debug_log(context, "signed in inside a session since the login state was written, "
                           "not asking (prompt=missing)");
        return false;
    }
    take_reply_field(context, FIELD_VERIFIER, verifier);
    take_reply_field(context, FIELD_STATE, state);
    if (protocol_get(&context->reply, FIELD_URL) == NULL || *verifier == NULL || *state == NULL) {
        pam_syslog(context->pamh, LOG_ERR, "user %s: out of memory", context->user_name);
        return false;
    }
    return true;
}

/* A pasted answer: checked by the helper, its code kept for the session. */
static void take_pasted_answer(struct login_context *context, const char *answer,
                               const char *verifier, const char *state)
{
    char *token_url = NULL;

    if (!answer_is_acceptable(answer)) {
        pam_error(context->pamh, "That answer is too long or holds control characters.");
        pam_syslog(context->pamh, LOG_NOTICE,
                   "user %s: answer refused (too long or control "
                   "characters)",
                   context->user_name);
        return;
    }
    if (!request_answer_check(context, answer, state)) {
        const char *message = protocol_get(&context->reply, FIELD_MESSAGE);
        pam_error(context->pamh, "%s", message != NULL ? message : "The answer was not accepted.");
        return;
    }
    if (provider_token_url_for_login(&context->config,
                                     protocol_get(&context->reply, FIELD_INSTANCE), &token_url,
                                     context->why, sizeof(context->why)) == 0)
        keep_for_session(context, verifier, state, token_url);
    else
        refuse_instance(context);
}

/* What the prompt offers (the browser's URL, the device grant's code, or both), then what the
 * user did: a pasted answer is the browser's; Enter keeps a device sign-in for the session. */
static void collect_authorization(struct login_context *context)
{
    char *verifier = NULL, *state = NULL, *answer = NULL, *url = NULL;
    bool browser = false, device = false;

    if (provider_uses_browser(&context->config)) {
        browser = offer_browser(context, &verifier, &state);
        if (browser)
            take_reply_field(context, FIELD_URL, &url);
        else if (protocol_get(&context->reply, FIELD_SIGNED_IN) != NULL)
            goto out;
    }
    if (provider_uses_device(&context->config))
        device = request_device_authorization(context);
    if (!browser && !device)
        goto out;
    answer = converse_for_answer(context, browser ? url : NULL);
    if (browser && answer != NULL && answer[0] != '\0')
        take_pasted_answer(context, answer, verifier, state);
    else if (device && answer != NULL)
        keep_device_for_session(context);
    else
        debug_log(context, "no answer given, skipping");
out:
    secret_free_string(&verifier);
    secret_free_string(&state);
    secret_free_string(&answer);
    secret_free_string(&url);
}

/* prompt=missing asks only when the user's login state file (root's) shows no usable refresh
 * token - and, when that file is there, no sign-in since it was written (collect_authorization
 * hears that from the helper). */
static bool should_prompt(struct login_context *context)
{
    struct login_state state;

    switch (context->options.prompt) {
    case PROMPT_NEVER:
        return false;
    case PROMPT_ALWAYS:
        return true;
    default:
        login_state_read(context->login_state, context->account.uid, time(NULL), &state);
        context->ask_signed_in = state.believed && !state.has_refresh_token;
        context->login_state_written_at = state.written_at;
        return !state.has_refresh_token;
    }
}

int login_collect_authorization(pam_handle_t *pamh, int argc, const char **argv)
{
    struct login_context context;

    if (!login_context_prepare(&context, pamh, argc, argv))
        debug_log(&context, "nothing to do for this login");
    else if (!should_prompt(&context))
        debug_log(&context, "the user holds a usable refresh token, not asking (prompt=)");
    else
        collect_authorization(&context);
    login_context_cleanup(&context);
    return PAM_IGNORE;
}

/* What the helper needs to store, refresh and keep refreshing for this provider and user. */
static int add_provider_fields(struct login_context *context)
{
    const struct provider_config *config = &context->config;
    struct protocol_message *request = &context->request;
    char timeout[16], margin[16];
    int rv = 0;

    snprintf(timeout, sizeof(timeout), "%ld", config->timeout);
    snprintf(margin, sizeof(margin), "%ld", config->refresh_margin);
    rv |= protocol_set(request, FIELD_CLIENT_ID, config->client_id);
    rv |= protocol_set(request, FIELD_CLIENT_SECRET, config->client_secret);
    rv |= protocol_set(request, FIELD_CA_FILE, config->ca_file);
    rv |= protocol_set(request, FIELD_TIMEOUT, timeout);
    rv |= protocol_set(request, FIELD_REFRESH_MARGIN, margin);
    rv |= protocol_set(request, FIELD_REVOKE_URL, config->revoke_url);
    rv |= protocol_set(request, FIELD_KEYRING_SERVICE, config->keyring_service);
    rv |= protocol_set(request, FIELD_USERNAME, context->user_name);
    rv |= protocol_set(request, FIELD_DISPLAY_NAME, config->display_name);
    rv |= protocol_set(request, FIELD_PRESET, config->preset);
    /* What the refresher needs to run a sign-in for `oauth-keyring login` (issue 13). */
    rv |= protocol_set(request, FIELD_AUTHORIZE_URL, config->authorize_url);
    rv |= protocol_set(request, FIELD_REDIRECT_URI, config->redirect_uri);
    rv |= protocol_set(request, FIELD_SCOPE, config->scope);
    rv |= protocol_set(request, FIELD_ISSUER, config->issuer);
    rv |= protocol_set(request, FIELD_DEVICE_AUTHORIZATION_URL, config->device_authorization_url);
    rv |= protocol_set(request, FIELD_GRANT, config->sign_in_text);
    if (context->options.start_refresher)
        rv |= protocol_set(request, FIELD_START_REFRESHER, "1");
    if (config->token_url_from_preset)
        rv |= protocol_set(request, FIELD_TOKEN_URL_FROM_PRESET, "1");
    if (config->discover)
        rv |= protocol_set(request, FIELD_DISCOVER, "1");
    return rv;
}

/* When the helper must have answered (it plans its network time by it); the module kills it
 * HELPER_GRACE_MS later. */
static int add_deadline(struct protocol_message *request, long long budget_ms)
{
    char deadline[32];

    snprintf(deadline, sizeof(deadline), "%lld", monotonic_now_ms() + budget_ms);
    return protocol_set(request, FIELD_DEADLINE, deadline);
}

static bool request_exchange(struct login_context *context,
                             const struct pending_authorization *pending)
{
    const struct provider_config *config = &context->config;
    int budget_ms = (int)config->timeout * 1000;
    int rv = start_request(context, REQUEST_EXCHANGE);

    rv |= protocol_set(&context->request, FIELD_CODE, pending->code);
    rv |= protocol_set(&context->request, FIELD_VERIFIER, pending->verifier);
    rv |= protocol_set(&context->request, FIELD_TOKEN_URL, pending->token_url);
    rv |= add_provider_fields(context);
    rv |= add_deadline(&context->request, budget_ms);
    return rv == 0 && ask_helper(context, budget_ms + HELPER_GRACE_MS);
}

/* What prompt=missing knows at the next auth, written by the module alone (login_state.h)
 * from the reply it just checked. A module running as the user writes nothing into root's
 * state directory: it says so in the debug log only. */
static void record_login_state(struct login_context *context, long long refresh_expires_at,
                               bool authorization_needed)
{
    char why[512];
    int rv = login_state_write(context->login_state, context->account.gid, refresh_expires_at,
                               authorization_needed, why, sizeof(why));

    if (rv < 0)
        pam_syslog(context->pamh, LOG_WARNING, "user %s: %s; prompt=missing will ask",
                   context->user_name, why);
    else if (rv > 0)
        debug_log(context, "running as the user: the login state stays as root wrote it");
}

/* After an "ok" to exchange or session: refresh_expires_at (digits: protocol_reply_check)
 * says the keyring now holds a refresh token, until then (0: no expiry given); without it,
 * there is none and the next login has to ask. */
static void record_refresh_token(struct login_context *context)
{
    const char *expires_at = protocol_get(&context->reply, FIELD_REFRESH_EXPIRES_AT);

    if (expires_at != NULL)
        record_login_state(context, strtoll(expires_at, NULL, 10), false);
    else
        record_login_state(context, 0, true);
}

/* The helper found the keyring not started yet and left the work to the refresher. */
static bool is_deferred(const struct protocol_message *reply)
{
    const char *outcome = protocol_get(reply, FIELD_OUTCOME);

    return outcome != NULL && strcmp(outcome, "deferred") == 0;
}

static void exchange_code(struct login_context *context,
                          const struct pending_authorization *pending)
{
    bool answered = request_exchange(context, pending);
    const char *message;

    if (answered && is_deferred(&context->reply)) {
        pam_syslog(context->pamh, LOG_NOTICE,
                   "user %s: the keyring is not running yet; the refresher stores the tokens "
                   "when it is (service %s)",
                   context->user_name, context->config.keyring_service);
        pam_info(context->pamh, "Your %s token will be in your keyring once it is unlocked.",
                 context->config.display_name);
        /* Optimistic: the refresher has the code. Should its exchange fail, the next
         * session's hook finds no refresh token, records it, and the login after asks. */
        record_login_state(context, 0, false);
    } else if (answered) {
        pam_syslog(context->pamh, LOG_INFO, "user %s: tokens stored in the keyring (service %s)",
                   context->user_name, context->config.keyring_service);
        pam_info(context->pamh, "Your %s token is now in your keyring.",
                 context->config.display_name);
        record_refresh_token(context);
    } else {
        message = protocol_get(&context->reply, FIELD_MESSAGE);
        pam_error(context->pamh, "Your %s token could not be stored: %s",
                  context->config.display_name,
                  message != NULL ? message : "the helper failed (see the system log)");
        /* What happens next: nothing was kept, and the code cannot be used twice. */
        pam_info(context->pamh, "You will be asked to sign in to %s again at your next login.",
                 context->config.display_name);
    }
    /* A code is single-use: drop it (the cleanup wipes it) whatever happened. */
    pam_set_data(context->pamh, PENDING_DATA_NAME, NULL, NULL);
}

/* How this session can still sign in, as the end of one sentence: after a graphical login the
 * desktop sign-in opens by itself; wherever the refresher runs (it starts for a session that
 * needs a sign-in, too) oauth-keyring login works now; else only the next login asks. */
static const char *how_to_sign_in(const struct login_context *context)
{
    if (desktop_signin_offered(context->pamh, &context->options))
        return "a sign-in opens in your browser once you are logged in (or run oauth-keyring "
               "login)";
    if (context->options.start_refresher)
        return "run oauth-keyring login in this session, or you will be asked at the next login";
    return "you will be asked at the next login";
}

/* Tokens from an earlier login: refresh once if due, start the refresher. The login state
 * follows the reply: refreshed or not due, what the keyring holds; "authorization-needed"
 * (no refresh token, or a dead one: a logout, a revoked grant), ask at the next login;
 * deferred or any other error (a locked keyring), nothing learnt, the file stays. */
static void refresh_existing(struct login_context *context)
{
    const struct provider_config *config = &context->config;
    const char *reason;
    /* One request, plus up to a second waiting for another process's refresh. */
    int budget_ms = (int)config->timeout * 1000 + 1000;
    int rv = start_request(context, REQUEST_SESSION);

    rv |= protocol_set(&context->request, FIELD_TOKEN_URL, config->token_url);
    rv |= add_provider_fields(context);
    rv |= add_deadline(&context->request, budget_ms);
    if (rv == 0 && ask_helper(context, budget_ms + HELPER_GRACE_MS)) {
        /* Worth a notice: the refresher, not this session, will do the refresh. */
        bool deferred = is_deferred(&context->reply);
        if (context->options.debug || deferred)
            pam_syslog(context->pamh, deferred ? LOG_NOTICE : LOG_DEBUG,
                       "user %s: session refresh: %s (%s)", context->user_name,
                       protocol_get(&context->reply, FIELD_OUTCOME),
                       protocol_get(&context->reply, FIELD_MESSAGE));
        if (!deferred)
            record_refresh_token(context);
        return;
    }
    reason = protocol_get(&context->reply, FIELD_REASON);
    if (reason != NULL && strcmp(reason, "authorization-needed") == 0) {
        record_login_state(context, 0, true);
        pam_info(context->pamh, "Your %s token needs a new sign-in: %s.", config->display_name,
                 how_to_sign_in(context));
    } else if (reason != NULL && strcmp(reason, "keyring-failed") == 0)
        pam_error(context->pamh, "Your %s token could not be renewed: %s", config->display_name,
                  protocol_get(&context->reply, FIELD_MESSAGE));
}

/* The helper's error reply says the provider still waits for the approval (RFC 8628 3.5). */
static bool still_waiting(const struct protocol_message *reply)
{
    const char *reason = protocol_get(reply, FIELD_REASON);

    return reason != NULL &&
           (strcmp(reason, "authorization_pending") == 0 || strcmp(reason, "slow_down") == 0);
}

/* "device-session": the device code and what was shown, the provider's settings; the token
 * URL as for a session (with discovery, the helper finds it). */
static bool request_device_session(struct login_context *context,
                                   const struct pending_device *pending)
{
    int budget_ms = (int)context->config.timeout * 1000;
    int rv = start_request(context, REQUEST_DEVICE_SESSION);

    /* The offer's fields this request lists: the device code and what was shown (not the QR). */
    rv |= protocol_copy_fields(&context->request, protocol_request_spec(REQUEST_DEVICE_SESSION),
                               &pending->offer, PROTOCOL_FIELD_COUNT);
    rv |= protocol_set(&context->request, FIELD_TOKEN_URL, context->config.token_url);
    rv |= add_provider_fields(context);
    rv |= add_deadline(&context->request, budget_ms);
    return rv == 0 && ask_helper(context, budget_ms + HELPER_GRACE_MS);
}

/* The session after a device sign-in's prompt: approved already, the pair is stored now;
 * still waiting, the refresher stores it when the user approves (the login goes on). */
static void poll_device(struct login_context *context, const struct pending_device *pending)
{
    const struct provider_config *config = &context->config;
    bool answered = request_device_session(context, pending);
    const char *outcome = protocol_get(&context->reply, FIELD_OUTCOME);

    if (answered && outcome != NULL && strcmp(outcome, "device-pending") == 0) {
        pam_info(context->pamh,
                 "Your %s sign-in waits for your approval at %s (code %s); your token is "
                 "stored as soon as you approve.",
                 config->display_name, protocol_get(&pending->offer, FIELD_VERIFICATION_URI),
                 protocol_get(&pending->offer, FIELD_USER_CODE));
        /* Not stored yet: the next login asks the helper whether a sign-in happened since. */
        record_login_state(context, 0, true);
    } else if (answered && is_deferred(&context->reply)) {
        pam_syslog(context->pamh, LOG_NOTICE,
                   "user %s: the keyring is not running yet; the refresher polls for the device "
                   "sign-in and stores the tokens when it is (service %s)",
                   context->user_name, config->keyring_service);
        pam_info(context->pamh,
                 "Your %s token will be in your keyring once it is unlocked and you have "
                 "approved the sign-in.",
                 config->display_name);
        record_login_state(context, 0, true);
    } else if (answered) {
        pam_syslog(context->pamh, LOG_INFO, "user %s: tokens stored in the keyring (service %s)",
                   context->user_name, config->keyring_service);
        pam_info(context->pamh, "Your %s token is now in your keyring.", config->display_name);
        record_refresh_token(context);
    } else if (still_waiting(&context->reply)) {
        /* refresher=no: nobody polls after this one poll. */
        pam_info(context->pamh,
                 "Your %s sign-in was not approved before the session opened; you will be "
                 "asked at the next login.",
                 config->display_name);
        record_login_state(context, 0, true);
    } else {
        pam_error(context->pamh, "Your %s sign-in did not complete: %s", config->display_name,
                  protocol_get(&context->reply, FIELD_MESSAGE) != NULL
                      ? protocol_get(&context->reply, FIELD_MESSAGE)
                      : "the helper failed (see the system log)");
    }
    /* The refresher has the device code now, if anyone: this copy goes (the cleanup wipes). */
    pam_set_data(context->pamh, PENDING_DEVICE_DATA_NAME, NULL, NULL);
}

static void store_tokens(struct login_context *context)
{
    const void *data = NULL;

    if (pam_get_data(context->pamh, PENDING_DATA_NAME, &data) == PAM_SUCCESS && data != NULL)
        exchange_code(context, data);
    else if (pam_get_data(context->pamh, PENDING_DEVICE_DATA_NAME, &data) == PAM_SUCCESS &&
             data != NULL)
        poll_device(context, data);
    else
        refresh_existing(context);
}

int login_store_tokens(pam_handle_t *pamh, int argc, const char **argv)
{
    struct login_context context;
    int rv = PAM_IGNORE;

    if (login_context_prepare(&context, pamh, argc, argv)) {
        desktop_signin_mark_session(pamh, &context.options);
        store_tokens(&context);
        rv = PAM_SUCCESS;
    }
    login_context_cleanup(&context);
    return rv;
}

int login_exchange_at_unlock(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct login_context context;
    const void *data = NULL;
    bool unlocking = (flags & (PAM_REINITIALIZE_CRED | PAM_REFRESH_CRED)) != 0;

    if (unlocking &&
        ((pam_get_data(pamh, PENDING_DATA_NAME, &data) == PAM_SUCCESS && data != NULL) ||
         (pam_get_data(pamh, PENDING_DEVICE_DATA_NAME, &data) == PAM_SUCCESS && data != NULL))) {
        if (login_context_prepare(&context, pamh, argc, argv))
            store_tokens(&context);
        login_context_cleanup(&context);
    }
    return PAM_SUCCESS;
}
