/* The module's PAM entry points: auth collects an authorization code, open_session spends it
 * (or, without one, has the helper refresh once and start the refresher), and setcred spends
 * it at a screen unlock, which opens no session. */
#ifndef POK_LOGIN_FLOW_H
#define POK_LOGIN_FLOW_H

#include <security/pam_modules.h>

/* Always PAM_IGNORE: a code proves nothing about the local user, so the module never takes
 * part in the authentication decision. */
int login_collect_authorization(pam_handle_t *pamh, int argc, const char **argv);

/* PAM_SUCCESS (the session always opens) or PAM_IGNORE when there was nothing to do. */
int login_store_tokens(pam_handle_t *pamh, int argc, const char **argv);

/* pam_setcred. A screen unlock (GNOME's, through gdm-password) authenticates and then
 * reinitializes or refreshes the credentials, but opens no session: a code collected by auth
 * there is exchanged here, so the user who signed in at the unlock screen is not asked again.
 * A login's PAM_ESTABLISH_CRED leaves the code to open_session. Always PAM_SUCCESS. */
int login_exchange_at_unlock(pam_handle_t *pamh, int flags, int argc, const char **argv);

#endif
