#include "config.h"

#include "refresher/token_cache.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "common/deadline.h"
#include "common/message_socket.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"
#include "store/schedule.h"

/* The token's own pages: an answer carries it in at most MESSAGE_SOCKET_MAX bytes, so a
 * longer one could not be sent anyway (such a caller reads the keyring). */
#define CACHE_BYTES MESSAGE_SOCKET_MAX
/* The bus daemon answers its own GetId at once; past this the bus is in trouble and the
 * caller is better served by the keyring (its fallback is bounded too). */
#define FLUSH_TIMEOUT_MS 1000
/* gnome-keyring announces CreateItem (libsecret's store, ours and the login's), Delete and
 * collection changes, but not Item.SetSecret (secretstorage's set_secret, a keyring browser's
 * edit): a copy older than this is read again, which bounds what such a write can leave
 * stale. Scripts that ask many times a second still get nearly every answer from memory. */
#define CACHE_TRUST_MS 2000

struct token_cache {
    GDBusConnection *bus;
    guint filter;
    guint subscription;
    char *token; /* CACHE_BYTES, mlocked where allowed, never in a core dump */
    bool filled;
    bool sole_service; /* the only service the keyring holds for the user, when filled */
    bool snyk;         /* the preset recorded with the pair */
    long long obtained_at;
    long long access_expires_at;
    gint filled_generation; /* the change count when the fill began */
    long long filled_at_ms; /* CLOCK_MONOTONIC, when the fill began */
};

/* Bumped by the bus's worker thread for every Secret Service signal; read by the main loop. */
static gint keyring_changes;

/* Any signal about the Secret Service's objects (Collection ItemCreated/ItemChanged/
 * ItemDeleted, a collection's lock, the service's collections) or the owner of its name:
 * telling our items from others would cost a look at each, and dropping is cheap. */
static GDBusMessage *count_keyring_change(GDBusConnection *bus, GDBusMessage *message,
                                          gboolean incoming, gpointer data)
{
    const char *path = g_dbus_message_get_path(message);
    const char *member = g_dbus_message_get_member(message);

    (void)bus, (void)data;
    if (incoming && g_dbus_message_get_message_type(message) == G_DBUS_MESSAGE_TYPE_SIGNAL &&
        ((path != NULL && g_str_has_prefix(path, "/org/freedesktop/secrets")) ||
         g_strcmp0(member, "NameOwnerChanged") == 0))
        g_atomic_int_inc(&keyring_changes);
    return message;
}

/* The filter sees only what the bus routes to us: this match asks for the keyring's signals.
 * The callback has nothing to do (the filter counted them already, in order). */
static void ignore_signal(GDBusConnection *bus, const char *sender, const char *path,
                          const char *interface, const char *member, GVariant *parameters,
                          gpointer data)
{
    (void)bus, (void)sender, (void)path, (void)interface, (void)member, (void)parameters;
    (void)data;
}

static char *locked_pages(void)
{
    char *pages =
        mmap(NULL, CACHE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (pages == MAP_FAILED)
        return NULL;
    /* Best effort: RLIMIT_MEMLOCK may refuse; the process is non-dumpable all the same. */
    (void)mlock(pages, CACHE_BYTES);
    (void)madvise(pages, CACHE_BYTES, MADV_DONTDUMP);
    return pages;
}

struct token_cache *token_cache_new(GDBusConnection *bus)
{
    struct token_cache *cache = g_new0(struct token_cache, 1);

    cache->token = locked_pages();
    if (bus == NULL || cache->token == NULL) {
        token_cache_free(cache);
        return NULL;
    }
    cache->bus = g_object_ref(bus);
    cache->filter = g_dbus_connection_add_filter(bus, count_keyring_change, NULL, NULL);
    cache->subscription =
        g_dbus_connection_signal_subscribe(bus, "org.freedesktop.secrets", NULL, NULL, NULL, NULL,
                                           G_DBUS_SIGNAL_FLAGS_NONE, ignore_signal, NULL, NULL);
    return cache;
}

void token_cache_drop(struct token_cache *cache)
{
    if (cache == NULL)
        return;
    secret_wipe(cache->token, CACHE_BYTES);
    cache->filled = false;
}

void token_cache_free(struct token_cache *cache)
{
    if (cache == NULL)
        return;
    if (cache->token != NULL) {
        token_cache_drop(cache);
        munlock(cache->token, CACHE_BYTES);
        munmap(cache->token, CACHE_BYTES);
    }
    if (cache->bus != NULL) {
        g_dbus_connection_signal_unsubscribe(cache->bus, cache->subscription);
        g_dbus_connection_remove_filter(cache->bus, cache->filter);
        g_object_unref(cache->bus);
    }
    g_free(cache);
}

/* One round trip to the bus daemon: every signal it routed to us before its answer has
 * passed the filter by the time the answer is here. */
static bool bus_flushed(struct token_cache *cache)
{
    GVariant *answer = g_dbus_connection_call_sync(
        cache->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "GetId", NULL, G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, FLUSH_TIMEOUT_MS, NULL, NULL);

    if (answer == NULL)
        return false;
    g_variant_unref(answer);
    return true;
}

/* Whether the keyring holds no other service of ours for the user: the caller that named no
 * service may take this one only then (as oauth-keyring picks "the only one"). */
static bool only_service_stored(struct keyring *keyring, const struct token_item_names *names)
{
    char **services = keyring_list_services(keyring, names->username);
    bool sole = services != NULL && services[0] != NULL && services[1] == NULL &&
                strcmp(services[0], names->service) == 0;

    g_strfreev(services);
    return sole;
}

/* Reads the pair as every reader does; keeps the access token if it fits. */
static void fill(struct token_cache *cache, struct keyring *keyring,
                 const struct token_item_names *names)
{
    struct stored_pair pair;
    char why[512];
    gint generation = g_atomic_int_get(&keyring_changes);
    long long started_ms = monotonic_now_ms();

    memset(&pair, 0, sizeof(pair));
    if (keyring_read_pair(keyring, names, &pair, why, sizeof(why)) == 0 &&
        pair.access_token != NULL && strlen(pair.access_token) < CACHE_BYTES) {
        memcpy(cache->token, pair.access_token, strlen(pair.access_token) + 1);
        cache->obtained_at = pair.obtained_at;
        cache->access_expires_at = pair.access_expires_at;
        cache->snyk = pair.preset != NULL && strcmp(pair.preset, "snyk") == 0;
        cache->sole_service = only_service_stored(keyring, names);
        cache->filled_generation = generation;
        cache->filled_at_ms = started_ms;
        cache->filled = true;
    }
    stored_pair_clear(&pair);
}

/* oauth-keyring's rule (access_token_usable): no expiry, or before the refresh is due for
 * min_valid. */
static bool usable(const struct token_cache *cache, long min_valid)
{
    long long now = (long long)time(NULL);

    return cache->filled &&
           (cache->access_expires_at == 0 ||
            now < refresh_due_at(cache->obtained_at, cache->access_expires_at, min_valid));
}

static void refuse(struct protocol_message *reply, const char *message)
{
    protocol_reply_init(reply, false);
    protocol_set(reply, FIELD_REASON, "no-token");
    protocol_set(reply, FIELD_MESSAGE, message);
}

void token_cache_answer(struct token_cache *cache, struct keyring *keyring,
                        const struct token_item_names *names, long min_valid,
                        struct protocol_message *reply)
{
    if (cache == NULL || !bus_flushed(cache)) {
        refuse(reply, "the refresher keeps no token: read the keyring");
        return;
    }
    if (cache->filled && (cache->filled_generation != g_atomic_int_get(&keyring_changes) ||
                          monotonic_now_ms() - cache->filled_at_ms > CACHE_TRUST_MS))
        token_cache_drop(cache);
    if (!cache->filled)
        fill(cache, keyring, names);
    if (!usable(cache, min_valid)) {
        refuse(reply, "no token valid that long in the keyring: read it and refresh");
        return;
    }
    protocol_reply_init(reply, true);
    protocol_set(reply, FIELD_OUTCOME, "not-due");
    protocol_set(reply, FIELD_MESSAGE, "from the refresher's memory");
    protocol_set(reply, FIELD_ACCESS_TOKEN, cache->token);
    protocol_set(reply, FIELD_PRESET, cache->snyk ? "snyk" : NULL);
    protocol_set(reply, FIELD_SOLE_SERVICE, cache->sole_service ? "1" : NULL);
}
