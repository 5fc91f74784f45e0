#include "config.h"

#include "refresher/device_sign_in.h"

#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/message_socket.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"
#include "oauth/device_grant.h"
#include "oauth/pkce.h"
#include "refresher/helper_child.h"
#include "store/user_state.h"

/* A poll child's time beyond the request timeout: the lock wait and the keyring. */
#define POLL_CHILD_SPARE_MS 5000
/* How long the waiting client has to take the outcome. */
#define OUTCOME_SEND_MS 2000
/* A sign-in's name: random, not secret (requests carry it to say which sign-in they mean). */
#define NAME_BYTES 12

struct device_sign_in {
    const struct protocol_message *settings;
    const struct refresh_request *request;
    struct protocol_message offer; /* device_code (secret), interval, expires_at, what is shown */
    char *name;
    long interval;
    long long expires_at;
    guint timer;
    int waiter; /* the "sign-in-wait" connection, answered at the end; -1: none */
    guint waiter_watch;
    bool ended;
    char outcome[32];
    char message[320];
    device_sign_in_ended_fn ended_fn;
    void *ended_data;
};

static const char *offered(const struct device_sign_in *device, enum protocol_field_id field)
{
    return protocol_get(&device->offer, field);
}

static const char *service_of(const struct device_sign_in *device)
{
    return device->request->names.service;
}

static void outcome_reply(const struct device_sign_in *device, struct protocol_message *reply)
{
    protocol_message_clear(reply);
    protocol_reply_init(reply, true);
    protocol_set(reply, FIELD_OUTCOME, device->outcome);
    protocol_set(reply, FIELD_MESSAGE, device->message);
}

static void answer_waiter(struct device_sign_in *device)
{
    struct protocol_message reply;

    if (device->waiter_watch != 0)
        g_source_remove(device->waiter_watch);
    device->waiter_watch = 0;
    if (device->waiter < 0)
        return;
    memset(&reply, 0, sizeof(reply));
    outcome_reply(device, &reply);
    message_socket_send(device->waiter, &reply, monotonic_now_ms() + OUTCOME_SEND_MS);
    protocol_message_clear(&reply);
    close(device->waiter);
    device->waiter = -1;
}

/* The end, once: the status line (the child recorded "signed-in" itself), the client told,
 * the device code wiped. */
static void device_end(struct device_sign_in *device, const char *outcome, const char *event,
                       const char *message)
{
    bool stored = strcmp(outcome, "signed-in") == 0;

    if (device->ended)
        return;
    device->ended = true;
    snprintf(device->outcome, sizeof(device->outcome), "%s", outcome);
    snprintf(device->message, sizeof(device->message), "%s", message);
    if (event != NULL)
        refresh_status_record_event(service_of(device), event, message);
    if (device->timer != 0)
        g_source_remove(device->timer);
    device->timer = 0;
    answer_waiter(device);
    protocol_message_clear(&device->offer);
    if (device->ended_fn != NULL)
        device->ended_fn(device->ended_data, stored);
}

/* "HH:MM" of when, local time, for the user's status line. */
static void clock_time(long long when, char *out, size_t size)
{
    time_t seconds = (time_t)when;
    struct tm local;

    if (localtime_r(&seconds, &local) == NULL || strftime(out, size, "%H:%M", &local) == 0)
        snprintf(out, size, "unknown");
}

/* The refresher's settings for a "device-poll" child, and the device code. */
static bool poll_request(const struct device_sign_in *device, struct protocol_message *request)
{
    int rv = protocol_request_init(request, REQUEST_CHILD_DEVICE_POLL);

    if (rv == 0)
        rv = protocol_copy_fields(request, protocol_request_spec(REQUEST_CHILD_DEVICE_POLL),
                                  device->settings, FIELD_DEVICE_CODE);
    rv |= protocol_set(request, FIELD_DEVICE_CODE, offered(device, FIELD_DEVICE_CODE));
    return rv == 0;
}

/* One poll in a child: the verdict (no answer counts as the provider unreachable), its
 * message and a Retry-After. A keyring that cannot take the pair sends nothing and is asked
 * again at the next poll. */
static enum device_poll_verdict poll_once(struct device_sign_in *device, char *message,
                                          size_t message_size, long *retry_after)
{
    struct protocol_message request, reply;
    enum device_poll_verdict verdict = DEVICE_POLL_UNREACHABLE;
    const char *outcome = NULL, *text;
    char why[256];

    memset(&request, 0, sizeof(request));
    memset(&reply, 0, sizeof(reply));
    *retry_after = 0;
    snprintf(message, message_size, "the device-poll process gave no answer");
    if (poll_request(device, &request) &&
        helper_child_call(&request, service_of(device),
                          device->request->timeout_ms + POLL_CHILD_SPARE_MS, &reply) == 0 &&
        protocol_reply_check(protocol_request_spec(REQUEST_CHILD_DEVICE_POLL), &reply, why,
                             sizeof(why)) == 0 &&
        strcmp(reply.command, "ok") == 0) {
        outcome = protocol_get(&reply, FIELD_OUTCOME);
        snprintf(message, message_size, "%s", protocol_get(&reply, FIELD_MESSAGE));
        text = protocol_get(&reply, FIELD_RETRY_AFTER);
        *retry_after = text != NULL ? strtol(text, NULL, 10) : 0;
        if (!device_poll_verdict_from_name(outcome, &verdict))
            verdict = DEVICE_POLL_UNREACHABLE; /* keyring-failed: nothing was sent */
    }
    protocol_message_clear(&request);
    protocol_message_clear(&reply);
    return verdict;
}

static gboolean on_poll(gpointer data);

static void schedule_poll(struct device_sign_in *device, long wait_seconds)
{
    long long left = device->expires_at - (long long)time(NULL);

    /* The last poll comes when the code expires, not a whole interval after. */
    if (wait_seconds > left)
        wait_seconds = left > 1 ? left : 1;
    /* Milliseconds, not g_timeout_add_seconds: that one may fire up to a second early (GLib
     * groups such timers), and a poll sooner than the interval earns a slow_down. */
    device->timer = g_timeout_add((guint)wait_seconds * 1000, on_poll, device);
}

/* What a verdict that ends the sign-in leaves in SERVICE.status. */
static void end_after(struct device_sign_in *device, enum device_poll_verdict verdict,
                      const char *message)
{
    char text[400];

    if (verdict == DEVICE_POLL_TOKENS) {
        device_end(device, "signed-in", NULL, "signed in");
    } else if (verdict == DEVICE_POLL_DENIED) {
        snprintf(text, sizeof(text), "the device sign-in was denied at the provider: %s", message);
        device_end(device, "denied", "sign-in-denied", text);
    } else if (verdict == DEVICE_POLL_EXPIRED) {
        device_end(device, "expired", "sign-in-expired",
                   "the device sign-in expired before anyone approved it");
    } else {
        snprintf(text, sizeof(text), "the device sign-in failed: %s", message);
        device_end(device, device_poll_verdict_name(verdict), "exchange-failed", text);
    }
}

static gboolean on_poll(gpointer data)
{
    struct device_sign_in *device = data;
    enum device_poll_verdict verdict;
    char message[320];
    long retry_after = 0;

    device->timer = 0;
    if ((long long)time(NULL) >= device->expires_at) {
        end_after(device, DEVICE_POLL_EXPIRED, "");
        return G_SOURCE_REMOVE;
    }
    verdict = poll_once(device, message, sizeof(message), &retry_after);
    if (device_poll_continues(verdict) && (long long)time(NULL) < device->expires_at)
        schedule_poll(device, device_poll_next_wait(&device->interval, verdict, retry_after));
    else
        end_after(device, device_poll_continues(verdict) ? DEVICE_POLL_EXPIRED : verdict, message);
    return G_SOURCE_REMOVE;
}

/* The status line a waiting sign-in leaves: where, the code, until when. */
static void record_waiting(const struct device_sign_in *device)
{
    char until[16], text[600];

    clock_time(device->expires_at, until, sizeof(until));
    snprintf(text, sizeof(text), "a device sign-in waits for approval at %s with code %s, until %s",
             offered(device, FIELD_VERIFICATION_URI), offered(device, FIELD_USER_CODE), until);
    refresh_status_record_event(service_of(device), "device-waiting", text);
}

static bool offer_usable(const struct protocol_message *offer, long *interval,
                         long long *expires_at)
{
    const char *text_interval = protocol_get(offer, FIELD_INTERVAL);
    const char *text_expires = protocol_get(offer, FIELD_EXPIRES_AT);

    if (protocol_get(offer, FIELD_DEVICE_CODE) == NULL || text_interval == NULL ||
        text_expires == NULL || protocol_get(offer, FIELD_USER_CODE) == NULL ||
        protocol_get(offer, FIELD_VERIFICATION_URI) == NULL)
        return false;
    *interval = strtol(text_interval, NULL, 10);
    *expires_at = strtoll(text_expires, NULL, 10);
    if (*interval < 1 || *interval > DEVICE_MAX_INTERVAL)
        *interval = DEVICE_DEFAULT_INTERVAL;
    return *expires_at > (long long)time(NULL);
}

/* A copy of what polls need and what is shown: never more (a sign-in's own fields). */
static int copy_offer(struct device_sign_in *device, const struct protocol_message *offer)
{
    size_t count;
    const struct protocol_field_rule *fields = protocol_device_fields(&count);
    int rv = protocol_reply_init(&device->offer, true);

    for (size_t i = 0; i < count; i++)
        rv |= protocol_set(&device->offer, fields[i].field, protocol_get(offer, fields[i].field));
    return rv;
}

struct device_sign_in *device_sign_in_start(const struct protocol_message *settings,
                                            const struct refresh_request *request,
                                            const struct protocol_message *offer,
                                            device_sign_in_ended_fn ended, void *data)
{
    struct device_sign_in *device = g_new0(struct device_sign_in, 1);

    device->settings = settings;
    device->request = request;
    device->waiter = -1;
    device->name = random_base64url(NAME_BYTES);
    if (device->name == NULL || !offer_usable(offer, &device->interval, &device->expires_at) ||
        copy_offer(device, offer) != 0) {
        device_sign_in_free(device, NULL, NULL);
        return NULL;
    }
    device->ended_fn = ended;
    device->ended_data = data;
    record_waiting(device);
    schedule_poll(device, device->interval);
    return device;
}

bool device_sign_in_running(const struct device_sign_in *device)
{
    return device != NULL && !device->ended;
}

bool device_sign_in_is(const struct device_sign_in *device, const char *name)
{
    return device != NULL && device->name != NULL && name != NULL &&
           strcmp(device->name, name) == 0;
}

void device_sign_in_describe(const struct device_sign_in *device, struct protocol_message *reply)
{
    const char *complete = offered(device, FIELD_VERIFICATION_URI_COMPLETE);
    char expires_at[24];

    snprintf(expires_at, sizeof(expires_at), "%lld", device->expires_at);
    protocol_set(reply, FIELD_SIGN_IN, device->name);
    protocol_set(reply, FIELD_USER_CODE, offered(device, FIELD_USER_CODE));
    protocol_set(reply, FIELD_VERIFICATION_URI, offered(device, FIELD_VERIFICATION_URI));
    protocol_set(reply, FIELD_VERIFICATION_URI_COMPLETE, complete);
    protocol_set(reply, FIELD_EXPIRES_AT, expires_at);
}

/* The waiting client went away: unlike a browser sign-in, the device sign-in goes on (the
 * user may approve on the phone after closing the terminal). */
static gboolean on_waiter_gone(gint fd, GIOCondition condition, gpointer data)
{
    struct device_sign_in *device = data;

    (void)fd, (void)condition;
    device->waiter_watch = 0;
    close(device->waiter);
    device->waiter = -1;
    return G_SOURCE_REMOVE;
}

bool device_sign_in_wait(struct device_sign_in *device, int client, struct protocol_message *reply)
{
    if (device->ended) {
        outcome_reply(device, reply);
        return false;
    }
    if (device->waiter >= 0) {
        protocol_message_clear(reply);
        protocol_reply_init(reply, false);
        protocol_set(reply, FIELD_REASON, "bad-request");
        protocol_set(reply, FIELD_MESSAGE, "another client waits for this sign-in");
        return false;
    }
    device->waiter = client;
    device->waiter_watch = g_unix_fd_add(client, G_IO_HUP | G_IO_ERR, on_waiter_gone, device);
    return true;
}

void device_sign_in_cancel(struct device_sign_in *device, struct protocol_message *reply)
{
    device_end(device, "cancelled", "sign-in-cancelled", "the device sign-in was cancelled");
    outcome_reply(device, reply);
}

void device_sign_in_free(struct device_sign_in *device, const char *outcome, const char *message)
{
    if (device == NULL)
        return;
    device->ended_fn = NULL;
    device_end(device, outcome != NULL ? outcome : "cancelled", NULL,
               message != NULL ? message : "the refresher is ending");
    if (device->timer != 0)
        g_source_remove(device->timer);
    answer_waiter(device);
    protocol_message_clear(&device->offer);
    g_free(device->name);
    g_free(device);
}
