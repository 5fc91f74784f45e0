#include "config.h"

#include "refresher/refresher.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/protocol_table.h"
#include "common/message_socket.h"
#include "refresher/device_sign_in.h"
#include "refresher/helper_child.h"
#include "store/schedule.h"
#include "refresher/sign_in.h"
#include "refresher/token_cache.h"
#include "common/secret_memory.h"
#include "oauth/token_exchange.h"
#include "store/logout.h"
#include "store/test_hooks.h"
#include "store/user_state.h"

/* How long a refresher started by a login waits for a keyring that is not up yet. */
#define KEYRING_WAIT_SECONDS 30
/* An exchange child's time beyond the request timeout: the lock wait (1 s) and the keyring. */
#define EXCHANGE_CHILD_SPARE_MS 5000
/* The most a sign-in's start waits for the issuer's metadata: oauth-keyring waits 5 s for
 * the answer (cli/login.c START_WAIT_MS). */
#define SIGN_IN_DISCOVERY_MS 4000
/* The most a device sign-in's start (its device authorization request) may take:
 * oauth-keyring login --device waits 15 s for the answer (cli/login.c). */
#define DEVICE_START_MS 12000
/* How long a client has to send its request, and to take the answer. */
#define CLIENT_WAIT_MS 2000

struct refresher {
    struct protocol_message *settings; /* as started: handed on to each child */
    const struct refresh_request *request;
    struct keyring *keyring;
    GMainLoop *loop;
    GDBusConnection *bus;
    int listen_fd;
    guint timer;
    struct schedule_state schedule; /* carried from one schedule_next to the next */
    struct schedule_plan plan;      /* the latest: when to refresh, when to look again */
    long long obtained_at;          /* of the pair plan_next last read (0: none) */
    bool waiting;                   /* nothing to refresh: waiting for a sign-in */
    long long waiting_obtained_at;  /* the pair there was when the wait began */
    struct sign_in *sign_in;        /* the latest `oauth-keyring login`, kept until the next */
    struct token_cache *token;      /* the access token for "token" requests, from memory */
    struct device_sign_in *device;  /* the device sign-in polled for, if any */
};

/* --- the refresh schedule (store/schedule.h decides; this only feeds it) -------------- */

static enum schedule_outcome schedule_outcome_of(enum refresh_outcome outcome, long retry_after)
{
    switch (outcome) {
    case REFRESH_DONE:
    case REFRESH_NOT_DUE:
        return SCHEDULE_SUCCEEDED;
    case REFRESH_AUTHORIZATION_NEEDED:
        return SCHEDULE_STOP;
    case REFRESH_OUTCOME_UNKNOWN:
        return SCHEDULE_LOST;
    default:
        return retry_after > 0 ? SCHEDULE_BUSY : SCHEDULE_FAILED;
    }
}

/* A uniform draw in [0, 1) for the schedule; a test build may have it fixed (test_hooks.h). */
static double schedule_draw(void)
{
    double fixed = test_fixed_draw();

    return fixed >= 0.0 ? fixed : g_random_double();
}

/* Plans from the pair in the keyring and the outcome of the refresh just made, if any. A
 * keyring that cannot be read (locked, say) is looked at again within a minute. */
static void plan_next(struct refresher *refresher, enum schedule_outcome outcome, long retry_after,
                      long long now)
{
    struct schedule_input input = {
        .policy = SCHEDULE_FLEET,
        .now = now,
        .holds_tokens = true,
        .margin_seconds = refresher->request->margin_seconds,
        .outcome = outcome,
        .retry_after_seconds = retry_after,
        .jitter_draw = schedule_draw(),
        .backoff_draw = schedule_draw(),
    };
    struct stored_pair pair;
    char why[512];

    if (keyring_read_pair(refresher->keyring, &refresher->request->names, &pair, why,
                          sizeof(why)) == 0) {
        input.obtained_at = pair.obtained_at;
        input.access_expires_at = pair.access_expires_at;
        input.holds_tokens = pair.access_token != NULL || pair.refresh_token != NULL;
    }
    refresher->obtained_at = input.holds_tokens ? input.obtained_at : 0;
    stored_pair_clear(&pair);
    schedule_next(&refresher->schedule, &input, &refresher->plan);
}

/* Nothing left to keep fresh (no tokens, a logout, a dead grant): the refresher stays for a
 * sign-in (sign_in.h) and looks at the keyring once a minute for a pair newer than this one. */
static void wait_for_sign_in(struct refresher *refresher)
{
    if (refresher->waiting)
        return;
    refresher->waiting = true;
    refresher->waiting_obtained_at = refresher->obtained_at;
}

/* A new pair (a sign-in here, a login's exchange): earlier failures say nothing about it. */
static void take_new_pair(struct refresher *refresher)
{
    refresher->waiting = false;
    memset(&refresher->schedule, 0, sizeof(refresher->schedule));
    plan_next(refresher, SCHEDULE_NO_ATTEMPT, 0, (long long)time(NULL));
    if (refresher->plan.stop)
        wait_for_sign_in(refresher);
}

static void after_refresh(struct refresher *refresher, const struct refresh_report *report)
{
    plan_next(refresher, schedule_outcome_of(report->outcome, report->retry_after_seconds),
              report->retry_after_seconds, (long long)time(NULL));
    if (refresher->plan.stop)
        wait_for_sign_in(refresher);
}

/* The refresher's settings, for a child, as request (what the protocol's table lists for it:
 * never the request to start a refresher; the code and verifier only for the exchange
 * child), with the margin plus this refresher's jitter; false if they do not fit. */
static bool child_request(const struct refresher *refresher, enum protocol_request command,
                          long min_valid, struct protocol_message *request)
{
    const struct protocol_request_spec *spec = protocol_request_spec(command);
    char margin[24], valid[24];
    int rv = protocol_request_init(request, command);

    if (rv == 0)
        rv = protocol_copy_fields(request, spec, refresher->settings, FIELD_REFRESH_MARGIN);
    snprintf(margin, sizeof(margin), "%ld", refresher->plan.margin_seconds);
    snprintf(valid, sizeof(valid), "%ld", min_valid);
    rv |= protocol_set(request, FIELD_REFRESH_MARGIN, margin);
    if (command == REQUEST_CHILD_REFRESH)
        rv |= protocol_set(request, FIELD_MIN_VALID, valid);
    return rv == 0;
}

/* command in a short-lived child: 0 when it answered with a reply the protocol's table
 * accepts for command (protocol_reply_check). */
static int call_child(const struct refresher *refresher, enum protocol_request command,
                      long min_valid, long timeout_ms, struct protocol_message *reply)
{
    struct protocol_message request;
    char why[256];
    int rv = -1;

    memset(&request, 0, sizeof(request));
    if (child_request(refresher, command, min_valid, &request) &&
        helper_child_call(&request, refresher->request->names.service, timeout_ms, reply) == 0)
        rv = protocol_reply_check(protocol_request_spec(command), reply, why, sizeof(why));
    protocol_message_clear(&request);
    return rv;
}

/* A configuration that names only the issuer (discover=1): its endpoints from the issuer's
 * metadata, fetched by a child (this process never touches the network) within limit_ms and
 * kept in the settings that every later child and sign-in gets, for the refresher's life;
 * discover=1 goes once they are there. On failure (the provider down) nothing changes: each
 * child fetches for itself when it needs an endpoint, and a sign-in asks here again. */
static void discover_endpoints(struct refresher *refresher, long limit_ms)
{
    static const enum protocol_field_id endpoints[] = {
        FIELD_AUTHORIZE_URL, FIELD_TOKEN_URL, FIELD_REVOKE_URL, FIELD_DEVICE_AUTHORIZATION_URL};
    struct protocol_message *settings = refresher->settings;
    struct protocol_message reply;
    int rv = 0;

    if (protocol_get(settings, FIELD_DISCOVER) == NULL)
        return;
    memset(&reply, 0, sizeof(reply));
    if (call_child(refresher, REQUEST_CHILD_DISCOVER, 0, limit_ms, &reply) == 0 &&
        strcmp(reply.command, "ok") == 0) {
        for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
            if (protocol_get(settings, endpoints[i]) == NULL)
                rv |= protocol_set(settings, endpoints[i], protocol_get(&reply, endpoints[i]));
        }
        if (rv == 0)
            protocol_message_remove(settings, protocol_field_name(FIELD_DISCOVER));
    }
    protocol_message_clear(&reply);
}

/* Long enough for the child's lock wait (timeout + 2 s), its request (timeout) and the
 * keyring: a child stuck past that is killed. */
static long child_time_limit_ms(const struct refresher *refresher)
{
    return 2 * refresher->request->timeout_ms + 5000;
}

/* A refresh reply's retry_after: whole seconds, at most a day (the protocol's table checked
 * it); 0 when absent. */
static long reply_retry_after(const struct protocol_message *reply)
{
    const char *text = protocol_get(reply, FIELD_RETRY_AFTER);

    return text != NULL ? strtol(text, NULL, 10) : 0;
}

/* command (a refresh or a logout) in a short-lived child; its outcome and message, and for a
 * refresh the provider's Retry-After (retry_after may be NULL). */
static void run_in_child(struct refresher *refresher, enum protocol_request command, long min_valid,
                         const char **outcome, char *message, size_t message_size,
                         long *retry_after)
{
    struct protocol_message reply;

    /* A refresh or logout is about to change the pair (or fail and leave it unusable): the
     * copy in memory goes now, and is read again when next asked for. */
    token_cache_drop(refresher->token);
    memset(&reply, 0, sizeof(reply));
    *outcome = NULL;
    if (call_child(refresher, command, min_valid, child_time_limit_ms(refresher), &reply) == 0 &&
        strcmp(reply.command, "ok") == 0) {
        *outcome = protocol_get(&reply, FIELD_OUTCOME);
        snprintf(message, message_size, "%s", protocol_get(&reply, FIELD_MESSAGE));
        if (retry_after != NULL)
            *retry_after = reply_retry_after(&reply);
    } else {
        snprintf(message, message_size, "the %s process gave no answer",
                 protocol_request_spec(command)->command);
    }
    /* outcome points into reply: keep only the known names (static strings). */
    *outcome = *outcome != NULL && strcmp(*outcome, "logged-out") == 0 ? "logged-out"
               : *outcome != NULL ? refresh_outcome_name(refresh_outcome_from_name(*outcome))
                                  : NULL;
    protocol_message_clear(&reply);
}

/* A child that gave no answer may have sent the refresh token: that is an unknown outcome,
 * which the lost-answer rule (refresh.h) handles like any other. */
static void run_refresh(struct refresher *refresher, long min_valid_seconds,
                        struct refresh_report *report)
{
    const char *outcome = NULL;

    memset(report, 0, sizeof(*report));
    run_in_child(refresher, REQUEST_CHILD_REFRESH, min_valid_seconds, &outcome, report->message,
                 sizeof(report->message), &report->retry_after_seconds);
    report->outcome =
        outcome != NULL ? refresh_outcome_from_name(outcome) : REFRESH_OUTCOME_UNKNOWN;
}

/* A tool's request (oauth-keyring token): a refresh now, unless the provider's Retry-After
 * still holds - then nothing goes out and the tool hears how long is left. */
static void refresh_on_demand(struct refresher *refresher, long min_valid,
                              struct refresh_report *report)
{
    long long now = (long long)time(NULL);

    if (!schedule_may_send_now(&refresher->schedule, SCHEDULE_FLEET, now)) {
        memset(report, 0, sizeof(*report));
        report->outcome = REFRESH_PROVIDER_UNREACHABLE;
        snprintf(report->message, sizeof(report->message),
                 "the token endpoint asked us to wait (Retry-After); %lld s more; nothing sent",
                 refresher->schedule.retry_after_end - now);
        return;
    }
    run_refresh(refresher, min_valid, report);
    after_refresh(refresher, report);
}

static gboolean on_tick(gpointer data);

/* The timer at the plan's wake time: at most a minute away, so a suspend is noticed. */
static void schedule_tick(struct refresher *refresher)
{
    long long wait = refresher->waiting ? SCHEDULE_TICK_MAX_SECONDS
                                        : refresher->plan.wake_at - (long long)time(NULL);

    if (wait < 1)
        wait = 1;
    if (wait > SCHEDULE_TICK_MAX_SECONDS)
        wait = SCHEDULE_TICK_MAX_SECONDS;
    if (refresher->timer != 0)
        g_source_remove(refresher->timer);
    refresher->timer = g_timeout_add_seconds((guint)wait, on_tick, refresher);
}

static gboolean on_tick(gpointer data)
{
    struct refresher *refresher = data;
    long long now = (long long)time(NULL);
    struct refresh_report report;

    refresher->timer = 0;
    plan_next(refresher, SCHEDULE_NO_ATTEMPT, 0, now);
    if (refresher->waiting && refresher->obtained_at != 0 &&
        refresher->obtained_at != refresher->waiting_obtained_at)
        take_new_pair(refresher);
    if (!refresher->waiting && !refresher->plan.stop && refresher->plan.refresh_at > 0 &&
        now >= refresher->plan.refresh_at) {
        run_refresh(refresher, 0, &report);
        after_refresh(refresher, &report);
    }
    if (refresher->plan.stop)
        wait_for_sign_in(refresher);
    schedule_tick(refresher);
    return G_SOURCE_REMOVE;
}

/* --- the socket for oauth-keyring ---------------------------------------------------------- */

static bool peer_is_us(int fd)
{
    struct ucred credentials;
    socklen_t length = sizeof(credentials);

    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 &&
           credentials.uid == getuid();
}

/* A logout's answer is its child's outcome: "logged-out" (the items are gone: this refresher
 * has nothing left to keep fresh and waits for a sign-in), "keyring-failed" (locked, say: the
 * tokens stay), "outcome-unknown" (no answer). */
static void answer_logout(struct refresher *refresher, struct protocol_message *reply, bool *done)
{
    char message[320];
    const char *outcome = NULL;

    run_in_child(refresher, REQUEST_CHILD_LOGOUT, 0, &outcome, message, sizeof(message), NULL);
    if (outcome == NULL)
        outcome = refresh_outcome_name(REFRESH_OUTCOME_UNKNOWN);
    *done = strcmp(outcome, "logged-out") == 0;
    protocol_reply_init(reply, true);
    protocol_set(reply, FIELD_OUTCOME, outcome);
    protocol_set(reply, FIELD_MESSAGE, message);
}

/* A refresh now for a tool, valid for at least min_valid seconds (at most a day). */
static void answer_refresh(struct refresher *refresher, const char *min_valid,
                           struct protocol_message *reply)
{
    struct refresh_report report;
    long seconds = strtol(min_valid, NULL, 10);

    protocol_reply_init(reply, seconds <= 86400);
    if (seconds > 86400) {
        protocol_set(reply, FIELD_REASON, "bad-request");
        protocol_set(reply, FIELD_MESSAGE, "min_valid is more than a day");
        return;
    }
    refresh_on_demand(refresher, seconds, &report);
    protocol_set(reply, FIELD_OUTCOME, refresh_outcome_name(report.outcome));
    protocol_set(reply, FIELD_MESSAGE, report.message);
}

/* The token from memory (token_cache.h), valid for min_valid seconds; never a refresh here:
 * a caller told "no-token" reads the keyring and asks for a refresh as it always did, so a
 * provider that hangs holds it exactly as long as before, and no one else. */
static void answer_token(struct refresher *refresher, const char *min_valid,
                         struct protocol_message *reply)
{
    long seconds = strtol(min_valid, NULL, 10);

    if (seconds > 86400) {
        protocol_reply_init(reply, false);
        protocol_set(reply, FIELD_REASON, "bad-request");
        protocol_set(reply, FIELD_MESSAGE, "min_valid is more than a day");
        return;
    }
    token_cache_answer(refresher->token, refresher->keyring, &refresher->request->names, seconds,
                       reply);
}

/* A sign-in has ended: a stored pair is planned for at once. */
static void on_sign_in_ended(void *data, bool stored)
{
    struct refresher *refresher = data;

    if (stored) {
        /* A device sign-in still polling would store over this pair when approved. */
        device_sign_in_free(refresher->device, "superseded", "a browser sign-in was stored");
        refresher->device = NULL;
        take_new_pair(refresher);
        schedule_tick(refresher);
    }
}

/* A device sign-in has ended: a stored pair is planned for at once, and a browser sign-in
 * still open is over. */
static void on_device_ended(void *data, bool stored)
{
    struct refresher *refresher = data;

    if (stored) {
        sign_in_end_now(refresher->sign_in, "superseded", "a device sign-in was stored");
        take_new_pair(refresher);
        schedule_tick(refresher);
    }
}

/* Polls for offer's device sign-in (a login's, or one just started), replacing any earlier
 * one: the newer code is the one the user was shown last. false when offer is unusable. */
static bool start_device(struct refresher *refresher, const struct protocol_message *offer)
{
    device_sign_in_free(refresher->device, "superseded", "a newer device sign-in started");
    refresher->device = device_sign_in_start(refresher->settings, refresher->request, offer,
                                             on_device_ended, refresher);
    return refresher->device != NULL;
}

/* "device-wait": a newer login's device sign-in, handed on by the refresher it started. */
static void answer_device_wait(struct refresher *refresher, const struct protocol_message *request,
                               struct protocol_message *reply)
{
    bool started = start_device(refresher, request);

    protocol_reply_init(reply, started);
    if (!started)
        protocol_set(reply, FIELD_REASON, "expired");
    protocol_set(reply, FIELD_MESSAGE,
                 started ? "polling for the device sign-in" : "the device sign-in has expired");
}

/* "device-status": the device sign-in that waits, if any. */
static void answer_device_status(struct refresher *refresher, struct protocol_message *reply)
{
    bool waiting = device_sign_in_running(refresher->device);

    protocol_reply_init(reply, true);
    protocol_set(reply, FIELD_MESSAGE,
                 waiting ? "a device sign-in waits for approval" : "no device sign-in waits");
    if (waiting)
        device_sign_in_describe(refresher->device, reply);
}

/* "sign-in" with grant=device (oauth-keyring login --device): the device authorization in a
 * child, then polls as for a login's; the reply says where to approve and with which code. */
static void start_device_sign_in(struct refresher *refresher, struct protocol_message *reply)
{
    struct protocol_message offer;
    const char *message, *shown;

    memset(&offer, 0, sizeof(offer));
    if (call_child(refresher, REQUEST_CHILD_DEVICE_AUTHORIZE, 0, DEVICE_START_MS, &offer) != 0 ||
        strcmp(offer.command, "ok") != 0 || !start_device(refresher, &offer)) {
        message = protocol_get(&offer, FIELD_MESSAGE);
        protocol_reply_init(reply, false);
        protocol_set(reply, FIELD_REASON, "unavailable");
        protocol_set(reply, FIELD_MESSAGE,
                     message != NULL ? message : "the device authorization gave no answer");
    } else {
        shown = protocol_get(&offer, FIELD_VERIFICATION_URI_COMPLETE);
        protocol_reply_init(reply, true);
        protocol_set(reply, FIELD_URL,
                     shown != NULL ? shown : protocol_get(&offer, FIELD_VERIFICATION_URI));
        device_sign_in_describe(refresher->device, reply);
    }
    protocol_message_clear(&offer);
}

/* Whether the configuration's sign_in allows the device grant (device or both): an admin who
 * chose the browser alone may have chosen it against device-code phishing (RFC 8628 5.4), so
 * oauth-keyring login --device does not get round it. */
static bool device_grant_allowed(const struct refresher *refresher)
{
    const char *configured = protocol_get(refresher->settings, FIELD_GRANT);

    return configured != NULL &&
           (strcmp(configured, "device") == 0 || strcmp(configured, "both") == 0);
}

/* "sign-in-wait", "sign-in-answer", "sign-in-cancel" naming the device sign-in; false when
 * client was handed to it (a waiter). */
static bool answer_device_request(struct refresher *refresher,
                                  const struct protocol_request_spec *spec, int client,
                                  struct protocol_message *reply)
{
    if (spec->request == REQUEST_SOCKET_SIGN_IN_WAIT)
        return !device_sign_in_wait(refresher->device, client, reply);
    if (spec->request == REQUEST_SOCKET_SIGN_IN_CANCEL) {
        device_sign_in_cancel(refresher->device, reply);
        return true;
    }
    protocol_reply_init(reply, false);
    protocol_set(reply, FIELD_REASON, "bad-answer");
    protocol_set(reply, FIELD_MESSAGE,
                 "a device sign-in takes no pasted answer: approve it at the address shown");
    return true;
}

/* The sign-in requests (refresher/sign_in.h): "sign-in" supersedes a running one; the others
 * must name the current one. false when client was handed to the sign-in (a waiter). */
static bool answer_sign_in(struct refresher *refresher, const struct protocol_request_spec *spec,
                           const struct protocol_message *request, int client,
                           struct protocol_message *reply)
{
    /* The device grant when asked for, or when it is the provider's only sign-in. */
    const char *grant = protocol_get(request, FIELD_GRANT) != NULL
                            ? protocol_get(request, FIELD_GRANT)
                            : protocol_get(refresher->settings, FIELD_GRANT);
    const char *name = protocol_get(request, FIELD_SIGN_IN);

    if (spec->request == REQUEST_SOCKET_SIGN_IN && grant != NULL && strcmp(grant, "device") == 0) {
        if (device_grant_allowed(refresher)) {
            discover_endpoints(refresher, SIGN_IN_DISCOVERY_MS);
            start_device_sign_in(refresher, reply);
        } else {
            protocol_reply_init(reply, false);
            protocol_set(reply, FIELD_REASON, "unavailable");
            protocol_set(reply, FIELD_MESSAGE,
                         "the administrator allows only the browser's sign-in for this provider "
                         "(sign_in = browser)");
        }
        return true;
    }
    if (spec->request != REQUEST_SOCKET_SIGN_IN && device_sign_in_is(refresher->device, name))
        return answer_device_request(refresher, spec, client, reply);
    if (spec->request == REQUEST_SOCKET_SIGN_IN) {
        /* Discovery failed at the start (the provider was down): once more, within what
         * oauth-keyring waits for this answer. */
        discover_endpoints(refresher, SIGN_IN_DISCOVERY_MS);
        sign_in_end_now(refresher->sign_in, "superseded", "another sign-in was started");
        sign_in_free(refresher->sign_in);
        refresher->sign_in = sign_in_start(refresher->settings, refresher->request,
                                           on_sign_in_ended, refresher, reply);
        return true;
    }
    if (!sign_in_is(refresher->sign_in, name)) {
        protocol_reply_init(reply, false);
        protocol_set(reply, FIELD_REASON, "no-sign-in");
        protocol_set(reply, FIELD_MESSAGE, "no such sign-in: another one replaced it");
        return true;
    }
    if (spec->request == REQUEST_SOCKET_SIGN_IN_WAIT)
        return !sign_in_wait(refresher->sign_in, client, reply);
    if (spec->request == REQUEST_SOCKET_SIGN_IN_ANSWER)
        sign_in_answer(refresher->sign_in, protocol_get(request, FIELD_ANSWER), reply);
    else
        sign_in_cancel(refresher->sign_in, reply);
    return true;
}

/* "wake": the keyring changed under us (a newer login's pair, a sign-in by another path):
 * the token in memory goes, and the plan is made afresh from the keyring (the caller). */
static bool answer_wake(struct refresher *refresher, struct protocol_message *reply)
{
    token_cache_drop(refresher->token);
    return protocol_reply_init(reply, true) == 0 &&
           protocol_set(reply, FIELD_MESSAGE, "looking at the keyring again") == 0;
}

/* One request from oauth-keyring, checked against the protocol's table before any work (a
 * request it does not list, or one missing a field, is answered bad-request), then answered.
 * Bytes that did not arrive whole in time get no answer. false when the connection was handed
 * on (a sign-in's waiter keeps it). */
static bool answer_client(struct refresher *refresher, int client)
{
    struct protocol_message request, reply;
    const struct protocol_request_spec *spec = NULL;
    char why[256] = "not a POK/1 message";
    long long deadline_ms = monotonic_now_ms() + CLIENT_WAIT_MS;
    bool done = false, kept = false;
    int received;

    memset(&reply, 0, sizeof(reply));
    if (!peer_is_us(client))
        return true;
    received = message_socket_receive(client, deadline_ms, &request);
    if (received == 0 && protocol_request_accept(PROTOCOL_REFRESHER_SOCKET_READS, &request, &spec,
                                                 why, sizeof(why)) == 0) {
        if (spec->request == REQUEST_SOCKET_LOGOUT)
            answer_logout(refresher, &reply, &done);
        else if (spec->request == REQUEST_SOCKET_REFRESH)
            answer_refresh(refresher, protocol_get(&request, FIELD_MIN_VALID), &reply);
        else if (spec->request == REQUEST_SOCKET_TOKEN)
            answer_token(refresher, protocol_get(&request, FIELD_MIN_VALID), &reply);
        else if (spec->request == REQUEST_SOCKET_DEVICE_WAIT)
            answer_device_wait(refresher, &request, &reply);
        else if (spec->request == REQUEST_SOCKET_DEVICE_STATUS)
            answer_device_status(refresher, &reply);
        else if (spec->request == REQUEST_SOCKET_WAKE)
            done = answer_wake(refresher, &reply);
        else
            kept = !answer_sign_in(refresher, spec, &request, client, &reply);
    } else if (received >= 0) {
        protocol_reply_init(&reply, false);
        protocol_set(&reply, FIELD_REASON, "bad-request");
        protocol_set(&reply, FIELD_MESSAGE, why);
    }
    /* The outcome stands whether or not the client is still there to read it. */
    if (received >= 0 && !kept)
        message_socket_send(client, &reply, monotonic_now_ms() + CLIENT_WAIT_MS);
    protocol_message_clear(&request);
    protocol_message_clear(&reply);
    if (done) { /* a logout, or a newer login's pair: plan afresh from the keyring */
        take_new_pair(refresher);
        schedule_tick(refresher);
    }
    return !kept;
}

static gboolean on_client(gint fd, GIOCondition condition, gpointer data)
{
    struct refresher *refresher = data;
    int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    (void)condition;
    if (client >= 0 && answer_client(refresher, client))
        close(client);
    return G_SOURCE_CONTINUE;
}

static int listen_on_socket(const char *service)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    int fd;

    if (user_state_path(service, ".sock", address.sun_path, sizeof(address.sun_path)) != 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* Only the refresher holding the single-refresher lock gets here: a socket left by a
     * refresher that died is stale. */
    unlink(address.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0 ||
        chmod(address.sun_path, 0600) != 0 || listen(fd, 8) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void on_bus_closed(GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
                          gpointer data)
{
    (void)connection, (void)remote_peer_vanished, (void)error;
    g_main_loop_quit(((struct refresher *)data)->loop);
}

/* Started by a login whose keyring was not up yet (helper_main.c: defer_to_refresher), the
 * refresher waits for it: a not-started or still locked keyring is tried again every 250 ms
 * for KEYRING_WAIT_SECONDS. Otherwise the first answer counts. */
static enum keyring_status open_keyring_waiting(struct keyring **keyring)
{
    long long deadline_ms = monotonic_now_ms() + KEYRING_WAIT_SECONDS * 1000LL;
    char why[512];
    enum keyring_status status = keyring_open(keyring, KEYRING_FOR_LOGIN, why, sizeof(why));

    while ((status == KEYRING_NOT_STARTED || status == KEYRING_LOCKED) &&
           deadline_remaining_ms(deadline_ms) > 0) {
        g_usleep(250 * 1000);
        status = keyring_open(keyring, KEYRING_FOR_LOGIN, why, sizeof(why));
    }
    return status;
}

static void record_exchange_failure(const char *service, const char *message)
{
    char text[320];

    snprintf(text, sizeof(text), "the sign-in at login was not stored: %s",
             message != NULL ? message : "the exchange gave no answer");
    refresh_status_record_event(service, "exchange-failed", text);
}

/* The login's exchange, which it left to us, in a child (the https module stays out of the
 * refresher); then the code and verifier are wiped. Its outcome goes to SERVICE.status for
 * `oauth-keyring status`: "signed-in" from the child (store/request_work.c store_exchanged), or a
 * failure from here; the login state file still says the next login must ask. */
static void finish_deferred_exchange(struct refresher *refresher)
{
    const char *service = refresher->request->names.service;
    struct protocol_message reply;
    bool stored;

    memset(&reply, 0, sizeof(reply));
    stored = call_child(refresher, REQUEST_CHILD_EXCHANGE, 0,
                        refresher->request->timeout_ms + EXCHANGE_CHILD_SPARE_MS, &reply) == 0 &&
             strcmp(reply.command, "ok") == 0;
    if (!stored)
        record_exchange_failure(service, protocol_get(&reply, FIELD_MESSAGE));
    /* Single-use: no later child gets them (the table lists them for the exchange only). */
    protocol_message_remove(refresher->settings, protocol_field_name(FIELD_CODE));
    protocol_message_remove(refresher->settings, protocol_field_name(FIELD_VERIFIER));
    protocol_message_clear(&reply);
}

/* A login's device sign-in that was not approved when its session opened: polled for from
 * now on; the device code leaves the settings (no child but a poll gets it). */
static void take_login_device_sign_in(struct refresher *refresher)
{
    size_t count;
    const struct protocol_field_rule *fields = protocol_device_fields(&count);
    struct protocol_message offer;

    if (protocol_get(refresher->settings, FIELD_DEVICE_CODE) == NULL)
        return;
    memset(&offer, 0, sizeof(offer));
    for (size_t i = 0; i < count; i++) {
        protocol_set(&offer, fields[i].field, protocol_get(refresher->settings, fields[i].field));
        protocol_message_remove(refresher->settings, protocol_field_name(fields[i].field));
    }
    if (!start_device(refresher, &offer))
        refresh_status_record_event(refresher->request->names.service, "sign-in-expired",
                                    "the device sign-in expired before anyone approved it");
    protocol_message_clear(&offer);
}

/* A refresher started while another one runs (a new login's): the running one may be
 * waiting for a sign-in that this login's exchange has just done; it looks again at once
 * instead of within a minute. A login's device sign-in still waiting is handed to it
 * ("device-wait", over the user's own socket): it polls on. */
static void wake_running_refresher(const struct protocol_message *settings, const char *service)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    struct protocol_message request, reply;
    long long deadline_ms = monotonic_now_ms() + CLIENT_WAIT_MS;
    bool device = protocol_get(settings, FIELD_DEVICE_CODE) != NULL;
    int fd = -1, rv;

    memset(&request, 0, sizeof(request));
    memset(&reply, 0, sizeof(reply));
    rv = protocol_request_init(&request, device ? REQUEST_SOCKET_DEVICE_WAIT : REQUEST_SOCKET_WAKE);
    if (rv == 0 && device)
        rv = protocol_copy_fields(&request, protocol_request_spec(REQUEST_SOCKET_DEVICE_WAIT),
                                  settings, PROTOCOL_FIELD_COUNT);
    if (rv == 0 &&
        user_state_existing_path(service, ".sock", address.sun_path, sizeof(address.sun_path)) == 0)
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0 &&
        message_socket_send(fd, &request, deadline_ms) == 0)
        message_socket_receive(fd, deadline_ms, &reply);
    if (fd >= 0)
        close(fd);
    protocol_message_clear(&request);
    protocol_message_clear(&reply);
}

void refresher_run(struct protocol_message *settings, const struct refresh_request *request)
{
    struct refresher refresher = {.settings = settings, .request = request, .listen_fd = -1};

    if (!refresher_lock_take(request->names.service)) {
        wake_running_refresher(settings, request->names.service);
        return;
    }
    if (open_keyring_waiting(&refresher.keyring) != KEYRING_READY) {
        if (protocol_get(settings, FIELD_CODE) != NULL)
            record_exchange_failure(request->names.service,
                                    "the keyring was not up and unlocked within 30 s; nothing "
                                    "was spent, the next login asks again");
        return;
    }
    refresher.plan.margin_seconds = request->margin_seconds; /* the exchange child's, unused */
    discover_endpoints(&refresher, request->timeout_ms + EXCHANGE_CHILD_SPARE_MS);
    if (protocol_get(settings, FIELD_CODE) != NULL)
        finish_deferred_exchange(&refresher);
    refresher.bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, NULL);
    refresher.listen_fd = listen_on_socket(request->names.service);
    if (refresher.bus == NULL || refresher.listen_fd < 0)
        goto out;
    refresher.loop = g_main_loop_new(NULL, FALSE);
    g_dbus_connection_set_exit_on_close(refresher.bus, FALSE);
    g_signal_connect(refresher.bus, "closed", G_CALLBACK(on_bus_closed), &refresher);
    refresher.token = token_cache_new(refresher.bus);
    g_unix_fd_add(refresher.listen_fd, G_IO_IN, on_client, &refresher);
    plan_next(&refresher, SCHEDULE_NO_ATTEMPT, 0, (long long)time(NULL));
    take_login_device_sign_in(&refresher);
    schedule_tick(&refresher);
    g_main_loop_run(refresher.loop);
out:
    token_cache_free(refresher.token);
    device_sign_in_free(refresher.device, "cancelled", "the refresher is ending");
    sign_in_free(refresher.sign_in);
    if (refresher.listen_fd >= 0) {
        char path[STATE_PATH_MAX];
        if (user_state_path(request->names.service, ".sock", path, sizeof(path)) == 0)
            unlink(path);
        close(refresher.listen_fd);
    }
    if (refresher.loop != NULL)
        g_main_loop_unref(refresher.loop);
    g_clear_object(&refresher.bus);
    keyring_close(refresher.keyring);
}
