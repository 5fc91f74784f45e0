#include "config.h"

#include "refresher/sign_in.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/message_socket.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"
#include "common/text_checks.h"
#include "oauth/authorize_url.h"
#include "oauth/pkce.h"
#include "refresher/helper_child.h"
#include "refresher/loopback_listener.h"
#include "store/user_state.h"

/* An exchange child's time beyond the request timeout: the lock wait (1 s) and the keyring. */
#define EXCHANGE_CHILD_SPARE_MS 5000
/* How long the waiting client has to take the outcome. */
#define OUTCOME_SEND_MS 2000
/* A sign-in's name: random, not secret (requests carry it to say which sign-in they mean). */
#define SIGN_IN_NAME_BYTES 12

struct sign_in {
    const struct protocol_message *settings;
    const struct refresh_request *request;
    struct authorization authorization;
    struct loopback_redirect redirect;
    struct loopback_listener *listener;
    bool in_listener_callback;
    bool unknown_peer_recorded;
    char *name;
    int waiter; /* the "sign-in-wait" connection, answered at the end; -1: none */
    guint waiter_watch;
    guint time_limit;
    bool ended;
    char outcome[32];
    char message[320];
    sign_in_ended_fn ended_fn;
    void *ended_data;
};

static const char *setting(const struct sign_in *sign_in, enum protocol_field_id field)
{
    return protocol_get(sign_in->settings, field);
}

static void outcome_reply(const struct sign_in *sign_in, struct protocol_message *reply)
{
    protocol_reply_init(reply, true);
    protocol_set(reply, FIELD_OUTCOME, sign_in->outcome);
    protocol_set(reply, FIELD_MESSAGE, sign_in->message);
}

static void error_reply(struct protocol_message *reply, const char *reason, const char *message)
{
    protocol_message_clear(reply);
    protocol_reply_init(reply, false);
    protocol_set(reply, FIELD_REASON, reason);
    protocol_set(reply, FIELD_MESSAGE, message);
}

/* The waiting client hears the outcome (if it is still there to read it). */
static void answer_waiter(struct sign_in *sign_in)
{
    struct protocol_message reply;

    if (sign_in->waiter_watch != 0)
        g_source_remove(sign_in->waiter_watch);
    sign_in->waiter_watch = 0;
    if (sign_in->waiter < 0)
        return;
    memset(&reply, 0, sizeof(reply));
    outcome_reply(sign_in, &reply);
    message_socket_send(sign_in->waiter, &reply, monotonic_now_ms() + OUTCOME_SEND_MS);
    protocol_message_clear(&reply);
    close(sign_in->waiter);
    sign_in->waiter = -1;
}

/* The end, once: the client told, its connection closed, the listener finished (inside the
 * browser's callback: it still shows the outcome page) or closed, the secrets wiped. */
static void sign_in_end(struct sign_in *sign_in, const char *outcome, const char *message)
{
    bool stored = strcmp(outcome, "signed-in") == 0;

    if (sign_in->ended)
        return;
    sign_in->ended = true;
    snprintf(sign_in->outcome, sizeof(sign_in->outcome), "%s", outcome);
    snprintf(sign_in->message, sizeof(sign_in->message), "%s", message);
    answer_waiter(sign_in);
    if (sign_in->time_limit != 0)
        g_source_remove(sign_in->time_limit);
    sign_in->time_limit = 0;
    loopback_listener_finish(sign_in->listener, stored ? "Signed in" : "Not signed in",
                             stored ? "The sign-in is complete: you may close this page."
                                    : message);
    if (!sign_in->in_listener_callback) {
        loopback_listener_free(sign_in->listener);
        sign_in->listener = NULL;
        authorization_clear(&sign_in->authorization);
    }
    if (sign_in->ended_fn != NULL)
        sign_in->ended_fn(sign_in->ended_data, stored);
}

/* The refresher's settings for an "exchange" child, as the protocol's table lists them (never
 * a login's code and verifier), with this sign-in's code, verifier and token URL. */
static bool exchange_request(const struct sign_in *sign_in, const char *code, const char *token_url,
                             struct protocol_message *request)
{
    int rv = protocol_request_init(request, REQUEST_CHILD_EXCHANGE);

    if (rv == 0)
        rv = protocol_copy_fields(request, protocol_request_spec(REQUEST_CHILD_EXCHANGE),
                                  sign_in->settings, FIELD_TOKEN_URL);
    protocol_message_remove(request, protocol_field_name(FIELD_CODE));
    protocol_message_remove(request, protocol_field_name(FIELD_VERIFIER));
    rv |= protocol_set(request, FIELD_CODE, code);
    rv |= protocol_set(request, FIELD_VERIFIER, sign_in->authorization.verifier);
    rv |= protocol_set(request, FIELD_TOKEN_URL, token_url);
    return rv == 0;
}

/* A failed exchange's outcome for the client: the keyring's, the network's, the provider's. */
static const char *failure_outcome(const char *reason)
{
    static const char *const unreachable[] = {"network", "tls", "timeout", "setup", "server-error"};

    if (reason == NULL)
        return refresh_outcome_name(REFRESH_OUTCOME_UNKNOWN);
    if (strncmp(reason, "keyring", 7) == 0)
        return refresh_outcome_name(REFRESH_KEYRING_FAILED);
    for (size_t i = 0; i < sizeof(unreachable) / sizeof(unreachable[0]); i++) {
        if (strcmp(reason, unreachable[i]) == 0)
            return refresh_outcome_name(REFRESH_PROVIDER_UNREACHABLE);
    }
    return refresh_outcome_name(REFRESH_PROVIDER_ERROR);
}

/* The code spent in a child helper, which stores the pair and records "signed-in"; a failure
 * is recorded here. The sign-in ends either way: a code is single-use. */
static void exchange_and_end(struct sign_in *sign_in, const char *code, const char *token_url)
{
    const char *service = sign_in->request->names.service;
    struct protocol_message request, reply;
    const char *message = NULL, *outcome = NULL;
    char event[400], why[256];

    memset(&request, 0, sizeof(request));
    memset(&reply, 0, sizeof(reply));
    if (exchange_request(sign_in, code, token_url, &request) &&
        helper_child_call(&request, service, sign_in->request->timeout_ms + EXCHANGE_CHILD_SPARE_MS,
                          &reply) == 0 &&
        protocol_reply_check(protocol_request_spec(REQUEST_CHILD_EXCHANGE), &reply, why,
                             sizeof(why)) == 0) {
        message = protocol_get(&reply, FIELD_MESSAGE);
        outcome = strcmp(reply.command, "ok") == 0
                      ? "signed-in"
                      : failure_outcome(protocol_get(&reply, FIELD_REASON));
    }
    if (outcome == NULL)
        outcome = refresh_outcome_name(REFRESH_OUTCOME_UNKNOWN);
    if (message == NULL)
        message = "the exchange gave no answer";
    if (strcmp(outcome, "signed-in") != 0) {
        snprintf(event, sizeof(event), "the sign-in was not stored: %s", message);
        refresh_status_record_event(service, "exchange-failed", event);
    }
    sign_in_end(sign_in, outcome, strcmp(outcome, "signed-in") == 0 ? "signed in" : message);
    protocol_message_clear(&request);
    protocol_message_clear(&reply);
}

enum answer_verdict { ANSWER_TAKEN, ANSWER_REFUSED };

/* A callback or a paste: checked as the login helper checks a pasted answer. The provider's
 * error= ends the sign-in (denied); any other refusal leaves it waiting, with why. */
static enum answer_verdict take_answer(struct sign_in *sign_in, const char *answer, char *why,
                                       size_t why_size)
{
    const char *preset = setting(sign_in, FIELD_PRESET);
    const char *token_url = setting(sign_in, FIELD_TOKEN_URL);
    struct answer_expectations expect = {
        .state = sign_in->authorization.state,
        .issuer = setting(sign_in, FIELD_ISSUER),
        .snyk_instances = preset != NULL && strcmp(preset, "snyk") == 0,
    };
    struct parsed_answer parsed;
    char regional[SNYK_TOKEN_URL_MAX] = "";
    enum answer_verdict verdict = ANSWER_REFUSED;

    if (answer_parse(answer, &expect, &parsed) != 0) {
        snprintf(why, why_size, "%s", parsed.message);
        if (parsed.denied) {
            refresh_status_record_event(sign_in->request->names.service, "sign-in-denied",
                                        parsed.message);
            sign_in_end(sign_in, "denied", parsed.message);
            verdict = ANSWER_TAKEN;
        }
        goto out;
    }
    if (parsed.instance != NULL &&
        snyk_token_url_for_instance(
            token_url, setting(sign_in, FIELD_TOKEN_URL_FROM_PRESET) != NULL, parsed.instance,
            regional, sizeof(regional), why, why_size) != 0)
        goto out;
    exchange_and_end(sign_in, parsed.code, regional[0] != '\0' ? regional : token_url);
    verdict = ANSWER_TAKEN;
out:
    parsed_answer_clear(&parsed);
    return verdict;
}

/* The browser's redirect, already on our path, Host and state (loopback_listener.h). */
static void on_callback(void *data, const char *callback_url, struct loopback_reply *reply)
{
    struct sign_in *sign_in = data;
    char why[320];

    sign_in->in_listener_callback = true;
    if (take_answer(sign_in, callback_url, why, sizeof(why)) == ANSWER_REFUSED) {
        reply->status = 400;
        snprintf(reply->title, sizeof(reply->title), "Not accepted");
        snprintf(reply->text, sizeof(reply->text), "%s The sign-in is still waiting.", why);
    } else if (strcmp(sign_in->outcome, "denied") == 0) {
        /* The provider's error= carries no code to clear from the address bar: say it here,
         * with a status that says nothing was signed in. */
        reply->status = 403;
        snprintf(reply->title, sizeof(reply->title), "Not signed in");
        snprintf(reply->text, sizeof(reply->text), "%s", sign_in->message);
    } else {
        reply->redirect_clean = true; /* the code leaves the address bar */
    }
    sign_in->in_listener_callback = false;
    if (sign_in->ended) {
        authorization_clear(&sign_in->authorization);
    }
}

/* The listener refused a connection whose owner the kernel could not name (fail closed): the
 * user's own browser may be among them, so the status says why, once a sign-in. The sign-in
 * waits on (a paste still works). */
static void on_unknown_peer(void *data, const char *why)
{
    struct sign_in *sign_in = data;
    char event[400];

    if (sign_in->ended || sign_in->unknown_peer_recorded)
        return;
    sign_in->unknown_peer_recorded = true;
    snprintf(event, sizeof(event),
             "a connection to the sign-in's listener was refused: cannot tell which user's "
             "program made it (%s); paste the address instead",
             why);
    refresh_status_record_event(sign_in->request->names.service, "sign-in-refused", event);
}

/* The waiting client went away (closed its connection): nobody wants this sign-in now. */
static gboolean on_waiter_gone(gint fd, GIOCondition condition, gpointer data)
{
    struct sign_in *sign_in = data;

    (void)fd, (void)condition;
    sign_in->waiter_watch = 0;
    close(sign_in->waiter);
    sign_in->waiter = -1;
    sign_in_end_now(sign_in, "cancelled", "the client went away");
    return G_SOURCE_REMOVE;
}

static gboolean on_time_limit(gpointer data)
{
    struct sign_in *sign_in = data;

    sign_in->time_limit = 0;
    sign_in_end(sign_in, "timed-out", "no answer came within the sign-in's time");
    return G_SOURCE_REMOVE;
}

/* The listener when the redirect is a loopback URI and its port is ours, and the one-use
 * address that starts the browser there; else why not (in the reply to "sign-in"). */
static void open_listener(struct sign_in *sign_in, struct protocol_message *reply)
{
    struct loopback_sign_in listened = {
        .state = sign_in->authorization.state,
        .authorize_url = sign_in->authorization.url,
    };
    char why[256], where[LOOPBACK_PATH_MAX + 64], start_url[LOOPBACK_URL_MAX];

    if (loopback_redirect_parse(setting(sign_in, FIELD_REDIRECT_URI), &sign_in->redirect) != 0) {
        protocol_set(reply, FIELD_MESSAGE, "the redirect_uri is not a loopback http address");
        return;
    }
    sign_in->listener = loopback_listener_open(&sign_in->redirect, &listened, on_callback,
                                               on_unknown_peer, sign_in, why, sizeof(why));
    if (sign_in->listener == NULL) {
        protocol_set(reply, FIELD_MESSAGE, why);
        return;
    }
    snprintf(where, sizeof(where), "http://%s:%u%s", sign_in->redirect.host,
             (unsigned)sign_in->redirect.port, sign_in->redirect.path);
    loopback_listener_start_url(sign_in->listener, start_url, sizeof(start_url));
    protocol_set(reply, FIELD_LISTENING, where);
    protocol_set(reply, FIELD_START_URL, start_url);
}

struct sign_in *sign_in_start(const struct protocol_message *settings,
                              const struct refresh_request *request, sign_in_ended_fn ended,
                              void *data, struct protocol_message *reply)
{
    struct sign_in *sign_in = g_new0(struct sign_in, 1);
    struct authorize_request authorize = {
        .authorize_url = protocol_get(settings, FIELD_AUTHORIZE_URL),
        .client_id = protocol_get(settings, FIELD_CLIENT_ID),
        .redirect_uri = protocol_get(settings, FIELD_REDIRECT_URI),
        .scope = protocol_get(settings, FIELD_SCOPE),
    };

    sign_in->settings = settings;
    sign_in->request = request;
    sign_in->waiter = -1;
    sign_in->ended_fn = ended;
    sign_in->ended_data = data;
    sign_in->name = random_base64url(SIGN_IN_NAME_BYTES);
    if (sign_in->name == NULL || authorize.authorize_url == NULL ||
        authorize.redirect_uri == NULL ||
        authorization_begin(&authorize, &sign_in->authorization) != 0) {
        sign_in_end(sign_in, "unavailable",
                    "this refresher was started without the settings a sign-in needs; sign in "
                    "at your next login");
        error_reply(reply, "unavailable", sign_in->message);
        return sign_in;
    }
    protocol_reply_init(reply, true);
    protocol_set(reply, FIELD_URL, sign_in->authorization.url);
    protocol_set(reply, FIELD_SIGN_IN, sign_in->name);
    open_listener(sign_in, reply);
    sign_in->time_limit = g_timeout_add_seconds(SIGN_IN_SECONDS, on_time_limit, sign_in);
    return sign_in;
}

bool sign_in_is(const struct sign_in *sign_in, const char *name)
{
    return sign_in != NULL && sign_in->name != NULL && name != NULL &&
           strcmp(sign_in->name, name) == 0;
}

bool sign_in_wait(struct sign_in *sign_in, int client, struct protocol_message *reply)
{
    if (sign_in->ended) {
        outcome_reply(sign_in, reply);
        return false;
    }
    if (sign_in->waiter >= 0) {
        error_reply(reply, "bad-request", "another client waits for this sign-in");
        return false;
    }
    sign_in->waiter = client;
    /* HUP only: the client has shut its side down already, so the socket reads as ended. */
    sign_in->waiter_watch = g_unix_fd_add(client, G_IO_HUP | G_IO_ERR, on_waiter_gone, sign_in);
    return true;
}

void sign_in_answer(struct sign_in *sign_in, const char *answer, struct protocol_message *reply)
{
    char why[320];

    if (sign_in->ended)
        error_reply(reply, "bad-answer", "this sign-in has ended");
    else if (take_answer(sign_in, answer, why, sizeof(why)) == ANSWER_REFUSED)
        error_reply(reply, "bad-answer", why);
    else
        outcome_reply(sign_in, reply);
}

void sign_in_cancel(struct sign_in *sign_in, struct protocol_message *reply)
{
    sign_in_end_now(sign_in, "cancelled", "the sign-in was cancelled");
    outcome_reply(sign_in, reply);
}

void sign_in_end_now(struct sign_in *sign_in, const char *outcome, const char *message)
{
    if (sign_in != NULL)
        sign_in_end(sign_in, outcome, message);
    if (sign_in != NULL && !sign_in->in_listener_callback) {
        loopback_listener_free(sign_in->listener);
        sign_in->listener = NULL;
    }
}

void sign_in_free(struct sign_in *sign_in)
{
    if (sign_in == NULL)
        return;
    sign_in->ended_fn = NULL;
    sign_in_end_now(sign_in, "cancelled", "the refresher is ending");
    authorization_clear(&sign_in->authorization);
    g_free(sign_in->name);
    g_free(sign_in);
}
