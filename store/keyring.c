#include "config.h"

#include "store/keyring.h"

/* The D-Bus-path calls (secret-paths.h) read items without building a proxy per item and
 * collection: a valid-token read is then 4 calls to the keyring instead of 10. libsecret
 * labels them "unstable"; they have not changed since libsecret 0.18 (2014). */
#define SECRET_API_SUBJECT_TO_CHANGE 1
#define SECRET_WITH_UNSTABLE 1

#include <json-c/json.h>
#include <libsecret/secret.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_memory.h"
#include "common/text_checks.h"
#include "store/test_hooks.h"
#include "store/user_state.h"

#define REFRESH_ITEM_FORMAT_VERSION 1

struct keyring {
    SecretService *service;
    char *collection_path;        /* the default collection's D-Bus object path */
    SecretCollection *collection; /* its proxy: made on the first write, delete or listing */
};

/* The one schema of our items. Attributes are never secret: a name and a service. */
static const SecretSchema *token_item_schema(void)
{
    static const SecretSchema schema = {
        .name = "io.github.pam_oauth_keyring.Token",
        .flags = SECRET_SCHEMA_NONE,
        .attributes =
            {
                {"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
                {"username", SECRET_SCHEMA_ATTRIBUTE_STRING},
                {NULL, 0},
            },
    };
    return &schema;
}

/* The two items of one pair: store/keyring.h's comment says what each holds. */
enum token_item_kind { ACCESS_ITEM, REFRESH_ITEM };

#define REFRESH_ITEM_SUFFIX "/refresh"

/* The one place that names our items: the service attribute of each (the access item's is the
 * configured service, so `secret-tool lookup service SERVICE` finds it; the refresh item's is
 * SERVICE/refresh, which such lookups miss). A new string for g_free. */
static char *item_service(const struct token_item_names *names, enum token_item_kind kind)
{
    return kind == REFRESH_ITEM ? g_strconcat(names->service, REFRESH_ITEM_SUFFIX, NULL)
                                : g_strdup(names->service);
}

/* The label keyring browsers (Seahorse) show. A new string for g_free. */
static char *item_label(const struct token_item_names *names, enum token_item_kind kind)
{
    return g_strdup_printf("%s %s token for %s", names->display_name,
                           kind == REFRESH_ITEM ? "refresh" : "access", names->username);
}

static bool is_refresh_item_service(const char *service)
{
    return g_str_has_suffix(service, REFRESH_ITEM_SUFFIX);
}

static enum keyring_status fail_open(struct keyring *keyring, enum keyring_status status, char *why,
                                     size_t why_size, const char *what, GError *error)
{
    text_set_why(why, why_size, "%s%s%s", what, error != NULL ? ": " : "",
                 error != NULL ? error->message : "");
    g_clear_error(&error);
    keyring_close(keyring);
    return status;
}

/* The collection's Locked property, read directly: one call, and no proxy to set up. */
static int read_locked(struct keyring *keyring, bool *locked, GError **error)
{
    GDBusProxy *proxy = G_DBUS_PROXY(keyring->service);
    GVariant *reply = g_dbus_connection_call_sync(
        g_dbus_proxy_get_connection(proxy), g_dbus_proxy_get_name(proxy), keyring->collection_path,
        "org.freedesktop.DBus.Properties", "Get",
        g_variant_new("(ss)", "org.freedesktop.Secret.Collection", "Locked"), G_VARIANT_TYPE("(v)"),
        G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
    GVariant *value = NULL;
    int rv = -1;

    if (reply == NULL)
        goto out;
    g_variant_get(reply, "(v)", &value);
    if (g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN)) {
        *locked = g_variant_get_boolean(value);
        rv = 0;
    } else {
        g_set_error(error, SECRET_ERROR, SECRET_ERROR_PROTOCOL, "Locked is not a boolean");
    }
out:
    if (value != NULL)
        g_variant_unref(value);
    if (reply != NULL)
        g_variant_unref(reply);
    return rv;
}

/* A gnome-keyring daemon that pam_gnome_keyring started (and unlocked) at this login: it
 * registers on the session bus only when D-Bus activation asks it to, through this socket. */
static bool login_keyring_daemon_started(void)
{
    const char *runtime = g_getenv("XDG_RUNTIME_DIR");
    char *control = runtime != NULL ? g_build_filename(runtime, "keyring", "control", NULL) : NULL;
    struct stat status;
    bool started = control != NULL && lstat(control, &status) == 0 && S_ISSOCK(status.st_mode) &&
                   status.st_uid == getuid();

    g_free(control);
    return started;
}

static bool secret_service_registered(GError **error)
{
    GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, error);
    GVariant *reply = NULL;
    gboolean registered = FALSE;

    if (bus != NULL)
        reply = g_dbus_connection_call_sync(
            bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameHasOwner", g_variant_new("(s)", "org.freedesktop.secrets"), G_VARIANT_TYPE("(b)"),
            G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
    if (reply != NULL) {
        g_variant_get(reply, "(b)", &registered);
        g_variant_unref(reply);
    }
    g_clear_object(&bus);
    return registered;
}

/* Whether libsecret may go ahead: a Secret Service is on the bus, or gnome-keyring's login
 * daemon is waiting to be attached by activation. Otherwise activation would start a new
 * daemon without the login password - from a login that is harmful, since such a daemon can
 * make a login keyring that the password then fails to unlock. */
static bool secret_service_available(GError **error)
{
    return secret_service_registered(error) || (*error == NULL && login_keyring_daemon_started());
}

enum keyring_status keyring_open(struct keyring **keyring_out, enum keyring_user user, char *why,
                                 size_t why_size)
{
    struct keyring *keyring = g_new0(struct keyring, 1);
    GError *error = NULL;
    bool locked = true;

    *keyring_out = NULL;
    if (user == KEYRING_FOR_LOGIN && !secret_service_available(&error))
        return fail_open(keyring, error != NULL ? KEYRING_UNREACHABLE : KEYRING_NOT_STARTED, why,
                         why_size,
                         error != NULL ? "the keyring is not reachable on the session bus"
                                       : "the keyring is not reachable on the session bus: no "
                                         "Secret Service is running, and a login does not start "
                                         "one (pam_gnome_keyring's session line must come first)",
                         error);
    /* None of these prompts: opening a session and reading the alias need no unlock. */
    keyring->service = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, NULL, &error);
    if (keyring->service == NULL)
        return fail_open(keyring, KEYRING_UNREACHABLE, why, why_size,
                         "the keyring is not reachable on the session bus", error);
    keyring->collection_path = secret_service_read_alias_dbus_path_sync(
        keyring->service, SECRET_COLLECTION_DEFAULT, NULL, &error);
    if (keyring->collection_path == NULL)
        return fail_open(keyring, error != NULL ? KEYRING_UNREACHABLE : KEYRING_NO_DEFAULT, why,
                         why_size, "the user has no default (login) keyring", error);
    if (user == KEYRING_FOR_LOGIN && read_locked(keyring, &locked, &error) != 0)
        return fail_open(keyring, KEYRING_UNREACHABLE, why, why_size,
                         "the user has no default (login) keyring", error);
    if (user == KEYRING_FOR_LOGIN && locked)
        return fail_open(keyring, KEYRING_LOCKED, why, why_size, "the login keyring is locked",
                         NULL);
    *keyring_out = keyring;
    return KEYRING_READY;
}

void keyring_close(struct keyring *keyring)
{
    if (keyring == NULL)
        return;
    g_clear_object(&keyring->collection);
    g_free(keyring->collection_path);
    g_clear_object(&keyring->service);
    g_free(keyring);
}

/* The proxy of the default collection, for writes, deletes and listings. */
static SecretCollection *collection(struct keyring *keyring, GError **error)
{
    if (keyring->collection == NULL)
        keyring->collection = secret_collection_new_for_dbus_path_sync(
            keyring->service, keyring->collection_path, SECRET_COLLECTION_NONE, NULL, error);
    return keyring->collection;
}

static GHashTable *item_attributes(const char *service, const char *username)
{
    GHashTable *attributes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    g_hash_table_insert(attributes, g_strdup("service"), g_strdup(service));
    g_hash_table_insert(attributes, g_strdup("username"), g_strdup(username));
    return attributes;
}

#define SEARCH_ATTEMPTS 5

/* Another process may replace an item between a search and the loading of the item's
 * properties ("No such secret item"): such a search is simply run again. */
static GList *search_items(struct keyring *keyring, GHashTable *attributes, SecretSearchFlags flags,
                           GError **error)
{
    GList *items = NULL;

    for (int attempt = 0; attempt < SEARCH_ATTEMPTS; attempt++) {
        g_clear_error(error);
        if (collection(keyring, error) == NULL)
            break;
        items = secret_collection_search_sync(keyring->collection, NULL, attributes,
                                              SECRET_SEARCH_ALL | flags, NULL, error);
        if (*error == NULL || !g_error_matches(*error, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT))
            break;
    }
    return items;
}

/* An item someone else deleted first is gone all the same. */
static bool delete_item(SecretItem *item, GError **error)
{
    if (secret_item_delete_sync(item, NULL, error))
        return true;
    if (g_error_matches(*error, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT)) {
        g_clear_error(error);
        return true;
    }
    return false;
}

/* Deletes every other item with these attributes, whoever wrote it, so lookups that take the
 * first match can only find ours. */
static int delete_other_items(struct keyring *keyring, GHashTable *attributes, SecretItem *keep,
                              GError **error)
{
    GList *items = search_items(keyring, attributes, SECRET_SEARCH_NONE, error);
    const char *keep_path = g_dbus_proxy_get_object_path(G_DBUS_PROXY(keep));
    int rv = *error == NULL ? 0 : -1;

    for (GList *node = items; node != NULL && rv == 0; node = node->next) {
        SecretItem *item = node->data;
        if (strcmp(g_dbus_proxy_get_object_path(G_DBUS_PROXY(item)), keep_path) != 0 &&
            !delete_item(item, error))
            rv = -1;
    }
    g_list_free_full(items, g_object_unref);
    return rv;
}

/* Creates (or replaces) one item and removes any duplicate of it. */
static int write_item(struct keyring *keyring, const char *service, const char *username,
                      const char *label, const char *secret, const char *content_type, char *why,
                      size_t why_size)
{
    GHashTable *attributes = item_attributes(service, username);
    SecretValue *value = secret_value_new(secret, -1, content_type);
    GError *error = NULL;
    SecretItem *item =
        collection(keyring, &error) == NULL
            ? NULL
            : secret_item_create_sync(keyring->collection, token_item_schema(), attributes, label,
                                      value, SECRET_ITEM_CREATE_REPLACE, NULL, &error);
    int rv = item != NULL ? delete_other_items(keyring, attributes, item, &error) : -1;

    if (rv != 0)
        text_set_why(why, why_size, "cannot write the keyring item \"%s\": %s", label,
                     error != NULL ? error->message : "unknown error");
    g_clear_error(&error);
    g_clear_object(&item);
    secret_value_unref(value);
    g_hash_table_unref(attributes);
    return rv;
}

static void add_time(struct json_object *object, const char *name, time_t now, long long lifetime)
{
    json_object_object_add(object, name,
                           lifetime > 0 ? json_object_new_int64((int64_t)now + lifetime) : NULL);
}

/* The refresh item's secret; a new string to wipe with secret_free_string. */
static char *refresh_document(const struct token_set *tokens, const char *token_url,
                              const char *preset, time_t now)
{
    struct json_object *object = json_object_new_object();
    char fingerprint[24];
    const char *text;
    size_t length = 0;
    char *copy = NULL;

    json_object_object_add(object, "version", json_object_new_int(REFRESH_ITEM_FORMAT_VERSION));
    json_object_object_add(
        object, "refresh_token",
        tokens->refresh_token != NULL ? json_object_new_string(tokens->refresh_token) : NULL);
    json_object_object_add(object, "token_url", json_object_new_string(token_url));
    json_object_object_add(object, "preset",
                           preset != NULL ? json_object_new_string(preset) : NULL);
    json_object_object_add(object, "obtained_at", json_object_new_int64((int64_t)now));
    /* The access token itself, so that one item gives a consistent pair to our own readers
     * (one search instead of two); the access item is for secret-tool and Python keyring. */
    json_object_object_add(object, "access_token", json_object_new_string(tokens->access_token));
    /* Ties the expiry times to the access token they belong to (see keyring_read_pair). */
    token_fingerprint(tokens->access_token, fingerprint, sizeof(fingerprint));
    json_object_object_add(object, "access_fingerprint", json_object_new_string(fingerprint));
    add_time(object, "access_expires_at", now, tokens->expires_in);
    add_time(object, "refresh_expires_at", now, tokens->refresh_expires_in);
    json_object_object_add(object, "scope",
                           tokens->scope != NULL ? json_object_new_string(tokens->scope) : NULL);
    text = json_object_to_json_string_length(object, JSON_C_TO_STRING_PLAIN, &length);
    if (text != NULL) {
        copy = secret_strndup(text, length);
        secret_wipe_borrowed(text, length);
    }
    json_wipe_and_put(object);
    return copy;
}

int keyring_store_pair(struct keyring *keyring, const struct token_item_names *names,
                       const struct token_set *tokens, const char *token_url, time_t now, char *why,
                       size_t why_size)
{
    char *refresh_service = item_service(names, REFRESH_ITEM);
    char *access_service = item_service(names, ACCESS_ITEM);
    char *refresh_label = item_label(names, REFRESH_ITEM);
    char *access_label = item_label(names, ACCESS_ITEM);
    char *document = refresh_document(tokens, token_url, names->preset, now);
    int rv = -1;

    if (document == NULL) {
        text_set_why(why, why_size, "cannot encode the refresh item");
        goto out;
    }
    /* Refresh first: if the access write then fails, the pair can still be renewed. */
    if (write_item(keyring, refresh_service, names->username, refresh_label, document,
                   "application/json", why, why_size) != 0)
        goto out;
    test_pause_point("between-writes");
    if (write_item(keyring, access_service, names->username, access_label, tokens->access_token,
                   "text/plain", why, why_size) != 0)
        goto out;
    rv = 0;
out:
    secret_free_string(&document);
    g_free(refresh_service);
    g_free(access_service);
    g_free(refresh_label);
    g_free(access_label);
    return rv;
}

/* Items with exactly these attributes (whoever wrote them), secrets loaded, nothing unlocked. */
static GList *find_items(struct keyring *keyring, const char *service, const char *username,
                         GError **error)
{
    GHashTable *attributes = item_attributes(service, username);
    GList *items = search_items(keyring, attributes, SECRET_SEARCH_LOAD_SECRETS, error);

    g_hash_table_unref(attributes);
    return items;
}

/* The D-Bus path of the first item of the default collection with exactly these attributes
 * (whoever wrote it); NULL when there is none. Nothing is unlocked: an item of ours that is
 * locked is an error. */
static char *find_item_path(struct keyring *keyring, const char *service, const char *username,
                            GError **error)
{
    GHashTable *attributes = item_attributes(service, username);
    char *prefix = g_strconcat(keyring->collection_path, "/", NULL);
    char **unlocked = NULL, **locked = NULL;
    char *found = NULL;

    if (!secret_service_search_for_dbus_paths_sync(keyring->service, NULL, attributes, NULL,
                                                   &unlocked, &locked, error))
        goto out;
    for (size_t i = 0; unlocked != NULL && unlocked[i] != NULL && found == NULL; i++) {
        if (g_str_has_prefix(unlocked[i], prefix))
            found = g_strdup(unlocked[i]);
    }
    for (size_t i = 0; locked != NULL && locked[i] != NULL && found == NULL; i++) {
        if (g_str_has_prefix(locked[i], prefix)) {
            g_set_error(error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED, "the login keyring is locked");
            break;
        }
    }
out:
    g_strfreev(unlocked);
    g_strfreev(locked);
    g_free(prefix);
    g_hash_table_unref(attributes);
    return found;
}

/* The text of the secret at path, as a new string (wipe it); false when it was not there. */
static bool take_secret(GHashTable *secrets, const char *path, char **text_out)
{
    SecretValue *value = path != NULL ? g_hash_table_lookup(secrets, path) : NULL;
    const char *text = value != NULL ? secret_value_get_text(value) : NULL;

    *text_out = text != NULL ? secret_strndup(text, 64 * 1024) : NULL;
    return path == NULL || value != NULL;
}

/* One attempt: the search, then the secret. False (and no error) when the item found by the
 * search was gone by the GetSecrets: try again. */
static bool read_secret_once(struct keyring *keyring, const char *service, const char *username,
                             char **text, GError **error)
{
    char *path = find_item_path(keyring, service, username, error);
    const char *paths[2] = {path, NULL};
    GHashTable *secrets = NULL;
    bool complete = true;

    if (*error != NULL || path == NULL)
        goto out;
    secrets = secret_service_get_secrets_for_dbus_paths_sync(keyring->service, paths, NULL, error);
    if (secrets == NULL) {
        complete = !g_error_matches(*error, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT);
        if (!complete)
            g_clear_error(error);
        goto out;
    }
    complete = take_secret(secrets, path, text);
out:
    if (secrets != NULL)
        g_hash_table_unref(secrets);
    g_free(path);
    return complete;
}

/* The secret of the first item with these attributes, as a new string (wipe it); NULL when
 * there is none. Another process may replace the item between the search and the read (a
 * refresh, a login): the read is then simply run again. */
static int read_secret(struct keyring *keyring, const char *service, const char *username,
                       char **text, GError **error)
{
    bool complete = false;

    for (int attempt = 0; attempt < SEARCH_ATTEMPTS && !complete && *error == NULL; attempt++) {
        secret_free_string(text);
        complete = read_secret_once(keyring, service, username, text, error);
    }
    if (!complete && *error == NULL)
        g_set_error(error, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT,
                    "the item kept changing while it was read");
    return *error == NULL ? 0 : -1;
}

static long long document_time(struct json_object *document, const char *name)
{
    struct json_object *value = NULL;

    if (!json_object_object_get_ex(document, name, &value) ||
        !json_object_is_type(value, json_type_int))
        return 0;
    return (long long)json_object_get_int64(value);
}

static char *document_string(struct json_object *document, const char *name)
{
    struct json_object *value = NULL;

    if (!json_object_object_get_ex(document, name, &value) ||
        !json_object_is_type(value, json_type_string) ||
        json_object_get_string_len(value) > TOKEN_MAX_BYTES)
        return NULL;
    return secret_strndup(json_object_get_string(value), TOKEN_MAX_BYTES);
}

/* For a refresh item written before it carried the access token: a crash between the two
 * writes leaves a new refresh item beside the old access token, whose expiry times are then
 * not that token's, so it is treated as absent (and refreshed) rather than printed as valid. */
static void drop_unmatched_access_token(const char *expected, struct stored_pair *pair)
{
    char actual[24];

    if (pair->access_token != NULL) {
        token_fingerprint(pair->access_token, actual, sizeof(actual));
        if (expected == NULL || strcmp(expected, actual) != 0)
            secret_free_string(&pair->access_token);
    }
}

/* Fills pair from the refresh item; access_fingerprint gets the document's fingerprint (wipe
 * it) when the document does not carry the access token itself. */
static int parse_refresh_document(const char *text, struct stored_pair *pair,
                                  char **access_fingerprint)
{
    struct json_object *document = json_tokener_parse(text);
    struct json_object *version = NULL;
    int rv = -1;

    if (document != NULL && json_object_is_type(document, json_type_object) &&
        json_object_object_get_ex(document, "version", &version) &&
        json_object_get_int(version) == REFRESH_ITEM_FORMAT_VERSION) {
        pair->refresh_token = document_string(document, "refresh_token");
        pair->token_url = document_string(document, "token_url");
        pair->preset = document_string(document, "preset");
        pair->obtained_at = document_time(document, "obtained_at");
        pair->access_expires_at = document_time(document, "access_expires_at");
        pair->refresh_expires_at = document_time(document, "refresh_expires_at");
        pair->access_token = document_string(document, "access_token");
        if (pair->access_token == NULL)
            *access_fingerprint = document_string(document, "access_fingerprint");
        rv = 0;
    }
    json_wipe_and_put(document);
    return rv;
}

int keyring_read_pair(struct keyring *keyring, const struct token_item_names *names,
                      struct stored_pair *pair, char *why, size_t why_size)
{
    char *refresh_service = item_service(names, REFRESH_ITEM);
    char *access_service = item_service(names, ACCESS_ITEM);
    char *document = NULL, *access_fingerprint = NULL;
    GError *error = NULL;
    int rv = -1;

    memset(pair, 0, sizeof(*pair));
    if (read_secret(keyring, refresh_service, names->username, &document, &error) != 0)
        goto out;
    if (document != NULL && parse_refresh_document(document, pair, &access_fingerprint) != 0) {
        text_set_why(why, why_size, "the refresh item \"%s\" is not in our format",
                     refresh_service);
        goto out;
    }
    /* No refresh item, or one from before it carried the access token: the access item. */
    if (pair->access_token == NULL) {
        if (read_secret(keyring, access_service, names->username, &pair->access_token, &error) != 0)
            goto out;
        if (document != NULL)
            drop_unmatched_access_token(access_fingerprint, pair);
    }
    rv = 0;
out:
    if (error != NULL)
        text_set_why(why, why_size, "cannot read the keyring: %s", error->message);
    if (rv != 0)
        stored_pair_clear(pair);
    secret_free_string(&document);
    secret_free_string(&access_fingerprint);
    g_clear_error(&error);
    g_free(refresh_service);
    g_free(access_service);
    return rv;
}

static int delete_items(struct keyring *keyring, const char *service, const char *username,
                        GError **error)
{
    GList *items = find_items(keyring, service, username, error);
    int rv = *error == NULL ? 0 : -1;

    for (GList *node = items; node != NULL && rv == 0; node = node->next) {
        if (!delete_item(node->data, error))
            rv = -1;
    }
    g_list_free_full(items, g_object_unref);
    return rv;
}

int keyring_delete_pair(struct keyring *keyring, const struct token_item_names *names, char *why,
                        size_t why_size)
{
    char *refresh_service = item_service(names, REFRESH_ITEM);
    char *access_service = item_service(names, ACCESS_ITEM);
    GError *error = NULL;
    int rv = delete_items(keyring, access_service, names->username, &error);

    if (rv == 0)
        rv = delete_items(keyring, refresh_service, names->username, &error);
    if (rv != 0)
        text_set_why(why, why_size, "cannot delete the keyring items: %s",
                     error != NULL ? error->message : "unknown error");
    g_clear_error(&error);
    g_free(refresh_service);
    g_free(access_service);
    return rv;
}

int keyring_probe_writable(struct keyring *keyring, char *why, size_t why_size)
{
    char *probe_service = g_strdup_printf("pam_oauth_keyring/probe/%ld", (long)getpid());
    GError *error = NULL;
    int rv = write_item(keyring, probe_service, "probe", "pam_oauth_keyring write probe", "probe",
                        "text/plain", why, why_size);

    if (rv == 0 && delete_items(keyring, probe_service, "probe", &error) != 0) {
        text_set_why(why, why_size, "cannot delete the write probe: %s", error->message);
        rv = -1;
    }
    g_clear_error(&error);
    g_free(probe_service);
    return rv;
}

void stored_pair_clear(struct stored_pair *pair)
{
    secret_free_string(&pair->access_token);
    secret_free_string(&pair->refresh_token);
    secret_free_string(&pair->token_url);
    secret_free_string(&pair->preset);
    pair->obtained_at = 0;
    pair->access_expires_at = 0;
    pair->refresh_expires_at = 0;
}

char **keyring_list_services(struct keyring *keyring, const char *username)
{
    GHashTable *attributes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GPtrArray *services = g_ptr_array_new();
    GError *error = NULL;
    GList *items;

    g_hash_table_insert(attributes, g_strdup("xdg:schema"), g_strdup(token_item_schema()->name));
    g_hash_table_insert(attributes, g_strdup("username"), g_strdup(username));
    items = collection(keyring, &error) == NULL
                ? NULL
                : secret_collection_search_sync(keyring->collection, NULL, attributes,
                                                SECRET_SEARCH_ALL, NULL, &error);
    for (GList *node = items; node != NULL; node = node->next) {
        GHashTable *found = secret_item_get_attributes(node->data);
        const char *service = g_hash_table_lookup(found, "service");
        if (service != NULL && !is_refresh_item_service(service))
            g_ptr_array_add(services, g_strdup(service));
        g_hash_table_unref(found);
    }
    g_ptr_array_add(services, NULL);
    g_list_free_full(items, g_object_unref);
    g_hash_table_unref(attributes);
    if (error != NULL) {
        g_error_free(error);
        g_strfreev((char **)g_ptr_array_free(services, FALSE));
        return NULL;
    }
    return (char **)g_ptr_array_free(services, FALSE);
}
