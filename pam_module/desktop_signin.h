/* The sign-in after a graphical login (issue 13, item 4): at the greeter the user may press
 * Enter, and the XDG autostart entry (oauth-keyring login --if-needed --desktop) then opens
 * the sign-in in the browser through the session's refresher. desktop_signin=no turns it off. */
#ifndef POK_DESKTOP_SIGNIN_H
#define POK_DESKTOP_SIGNIN_H

#include <security/pam_modules.h>
#include <stdbool.h>

#include "pam_module/module_options.h"

/* Set to "no" in the PAM environment (and so the session's) when desktop_signin=no: the
 * autostart entry then does nothing. A preference, not a control: the user can still sign in
 * with oauth-keyring login. */
#define DESKTOP_SIGNIN_VARIABLE "OAUTH_KEYRING_DESKTOP_SIGNIN"

/* Whether the prompt may promise the sign-in after login: desktop_signin and refresher on, in
 * a login of a graphical greeter (pam_is_graphical_login). */
bool desktop_signin_offered(pam_handle_t *pamh, const struct module_options *options);

/* A login at a graphical greeter: PAM_XDISPLAY set, a PAM_TTY that is an X display (":0"),
 * XDG_SESSION_TYPE x11 or wayland in the PAM environment, or the service of a display manager
 * (gdm-*, lightdm*, sddm*, lxdm*, xdm). */
bool pam_is_graphical_login(pam_handle_t *pamh);

/* At session open: with desktop_signin=no, DESKTOP_SIGNIN_VARIABLE=no into the PAM
 * environment, which the display manager hands to the session. */
void desktop_signin_mark_session(pam_handle_t *pamh, const struct module_options *options);

#endif
