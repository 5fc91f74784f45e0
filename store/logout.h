/* A logout: revoke the refresh token at the provider (when a revoke_url is given) and delete
 * the pair, under the same lock as every refresh, so a logout never races a refresh that is
 * spending the token. Used by the refresher's child and by oauth-keyring when no refresher
 * runs. */
#ifndef POK_LOGOUT_H
#define POK_LOGOUT_H

#include "store/refresh.h"

/* Revokes the refresh token (if a revoke_url is given) and deletes both items; only when they
 * are gone is the logout recorded (SERVICE.status). message says what happened, or why
 * nothing did (a locked keyring). 0 when the items are gone. */
int logout_pair(struct keyring *keyring, const struct refresh_request *request,
                const char *revoke_url, char *message, size_t message_size);

#endif
