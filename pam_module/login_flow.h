/* The module's two phases: auth collects an authorization code, open_session spends it. */
#ifndef POK_LOGIN_FLOW_H
#define POK_LOGIN_FLOW_H

#include <security/pam_modules.h>

/* Always PAM_IGNORE: a code proves nothing about the local user, so the module never takes
 * part in the authentication decision. */
int login_collect_authorization(pam_handle_t *pamh, int argc, const char **argv);

/* PAM_SUCCESS (the session always opens) or PAM_IGNORE when there was nothing to do. */
int login_store_tokens(pam_handle_t *pamh, int argc, const char **argv);

#endif
