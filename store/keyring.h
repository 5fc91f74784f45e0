/* The user's Secret Service keyring (libsecret): the items developer tools read.
 *
 * Access item:  secret = the bare access token; attributes service=SERVICE, username=USER
 *               (so `secret-tool lookup service SERVICE username USER` prints it).
 * Refresh item: secret = a small JSON document with the refresh token and the expiry times;
 *               attributes service=SERVICE/refresh, username=USER (those lookups miss it).
 * Storing writes the refresh item first and leaves exactly one item of each kind. */
#ifndef POK_KEYRING_H
#define POK_KEYRING_H

#include <stddef.h>
#include <time.h>

#include "oauth/token_response.h"

enum keyring_status {
    KEYRING_READY,
    KEYRING_UNREACHABLE, /* no bus, or no Secret Service on it */
    KEYRING_NOT_STARTED, /* a login: the bus is there, no Secret Service runs on it yet */
    KEYRING_NO_DEFAULT,  /* no default collection (no login keyring) */
    KEYRING_LOCKED,      /* the default collection is locked: we never prompt to unlock it */
};

struct keyring; /* opaque: the service connection and the default collection */

/* Connects without any prompt; *keyring is NULL unless KEYRING_READY. why explains others. */
/* Who opens the keyring, which decides two things. */
enum keyring_user {
    /* A login's helper, the refresher: only a Secret Service already running (or the
     * gnome-keyring daemon pam_gnome_keyring started) is used, never one started by D-Bus
     * activation; and a locked default collection is reported at once (KEYRING_LOCKED). */
    KEYRING_FOR_LOGIN,
    /* A tool the user runs (oauth-keyring): activation may start the service, as for
     * secret-tool; a locked collection shows when its items are read (one call fewer). */
    KEYRING_FOR_TOOL,
};

enum keyring_status keyring_open(struct keyring **keyring, enum keyring_user user, char *why,
                                 size_t why_size);

struct token_item_names {
    const char *service;      /* keyring_service from the configuration */
    const char *username;     /* the login name */
    const char *display_name; /* "Snyk", for the labels */
    const char *preset;       /* "snyk" or NULL: recorded so tools know the conventions */
};

/* Stores the pair obtained at now from token_url. 0 on success; -1 with why. */
int keyring_store_pair(struct keyring *keyring, const struct token_item_names *names,
                       const struct token_set *tokens, const char *token_url, time_t now, char *why,
                       size_t why_size);

/* What the keyring holds for one (service, user). Times are Unix seconds, 0 when unknown. */
struct stored_pair {
    char *access_token;  /* NULL when there is no access item */
    char *refresh_token; /* NULL when there is no refresh item or it holds none */
    char *token_url;     /* where the pair was obtained (and is refreshed) */
    char *preset;        /* "snyk" or NULL */
    long long obtained_at;
    long long access_expires_at;
    long long refresh_expires_at;
};

/* Reads both items without unlocking anything. 0 on success (the pair may be empty); -1 with
 * why when the keyring could not be read or the refresh item is not ours. */
int keyring_read_pair(struct keyring *keyring, const struct token_item_names *names,
                      struct stored_pair *pair, char *why, size_t why_size);

/* Deletes the access and the refresh item (both, whoever wrote them). */
int keyring_delete_pair(struct keyring *keyring, const struct token_item_names *names, char *why,
                        size_t why_size);

/* Creates and deletes a scratch item: proof the default collection takes writes now. */
int keyring_probe_writable(struct keyring *keyring, char *why, size_t why_size);

void stored_pair_clear(struct stored_pair *pair);

/* The services for which username has an access item of ours; a new NULL-terminated array
 * (g_strfreev), NULL on error. */
char **keyring_list_services(struct keyring *keyring, const char *username);

void keyring_close(struct keyring *keyring);

#endif
