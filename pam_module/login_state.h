/* What the auth phase knows of the user's tokens without seeing the keyring: "user U holds a
 * refresh token valid until T", for prompt=missing.
 *
 * One small file per user and service in the state directory (root's), owned by the user:
 * the module creates it as root, the user's helper and refresher keep it current. Only a file
 * owned by the user it describes is believed, so a user can speak for themselves alone.
 *
 *     refresh_expires_at=<Unix seconds, 0: unknown>\n
 *     authorization_needed=<0|1>\n */
#ifndef POK_LOGIN_STATE_H
#define POK_LOGIN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "user_account.h"

/* STATE_DIR/<uid>-<service with unsafe bytes as '_'>; -1 when it does not fit. */
int login_state_path(const char *state_dir, uid_t uid, const char *service, char *path,
                     size_t size);

/* Creates the file (empty: nothing known) owned by the user, when it does not exist. */
int login_state_prepare(const char *state_dir, const char *path,
                        const struct user_account *account);

/* True when the user's own file says a refresh token is held and not expired at now. */
bool login_state_has_refresh_token(const char *path, uid_t uid, time_t now);

#endif
