/* The user's own small files beside the keyring: nothing secret is ever in them.
 *
 *   $XDG_RUNTIME_DIR/pam_oauth_keyring/          (0700, the user's)
 *       SERVICE.lock       flock: one refresh at a time across all the user's processes
 *       SERVICE.refresher  flock held by the running refresher: at most one per service
 *       SERVICE.sock       the refresher's socket for `oauth-keyring`
 *       SERVICE.status     JSON: the last event (a refresh's outcome, a sign-in, a logout)
 *                          and its time, for `oauth-keyring status`; the lost-answer record;
 *                          the provider's Retry-After (the time until which nothing is sent)
 *
 * The module's login state file (prompt=missing) is root's and written by the module alone,
 * from the replies of the helper (pam_module/login_state.h): nothing here writes it. */
#ifndef POK_USER_STATE_H
#define POK_USER_STATE_H

#include <stdbool.h>
#include <stddef.h>

#define STATE_PATH_MAX 512

/* "$XDG_RUNTIME_DIR/pam_oauth_keyring/SERVICE<suffix>" with SERVICE made safe for a file name;
 * creates the directory (0700) and checks it is the user's. -1 on failure. */
int user_state_path(const char *service, const char *suffix, char *path, size_t size);

/* The same path for a reader: nothing is created; -1 also when the directory is not there
 * (then neither is the file). */
int user_state_existing_path(const char *service, const char *suffix, char *path, size_t size);

/* The services with a SERVICE.status file, names decoded; a new NULL-terminated array
 * (g_strfreev), never NULL. Creates nothing. */
char **user_state_recorded_services(void);

/* The services whose refresher is running now (its SERVICE.refresher lock is held), names
 * decoded, sorted; a new NULL-terminated array (g_strfreev), never NULL. Creates nothing. */
char **user_state_running_services(void);

/* Waits (polling, at most timeout_ms) for the per-service refresh lock; the fd, or -1. */
int refresh_lock_acquire(const char *service, long timeout_ms);
void refresh_lock_release(int fd);

/* Takes the single-refresher lock for good (it stays held until exit); false when another
 * refresher holds it. refresher_is_running asks without taking it, and creates nothing. */
bool refresher_lock_take(const char *service);
bool refresher_is_running(const char *service);

/* SERVICE.status: the last event, and the lost-answer record refresh.c keeps in it. Never a
 * secret: outcomes, messages meant for the user, a fingerprint. */
struct refresh_status {
    long long time;   /* of the last event, Unix seconds; 0: none yet */
    char outcome[32]; /* a refresh's ("refreshed", "authorization-needed", ... refresh.h), or
                       * "signed-in", "exchange-failed", "logged-out" */
    char message[320];
    char unknown_fingerprint[24]; /* a refresh token whose request got no answer */
    int unknown_attempts;
    long long retry_after_until; /* a 429/503's Retry-After: no token request before this
                                  * (Unix seconds), whichever process asks; 0: none */
};

/* Reads SERVICE.status (all zero when absent; creates nothing); writes it atomically. */
void refresh_status_read(const char *service, struct refresh_status *status);
int refresh_status_write(const char *service, const struct refresh_status *status);

/* Records an event that is not a refresh (a sign-in, a logout) as the last one, now, keeping
 * the lost-answer record. 0 when written. */
int refresh_status_record_event(const char *service, const char *outcome, const char *message);

/* A short, non-reversible tag of a refresh token (SHA-256, first 16 hex digits). */
void token_fingerprint(const char *token, char *out, size_t size);

#endif
