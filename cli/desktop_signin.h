/* What `oauth-keyring login --desktop` - the XDG autostart entry's command after a graphical
 * login (issue 13, item 4) - adds to a sign-in: the module's off switch, and a desktop
 * notification saying what is about to open. */
#ifndef POK_CLI_DESKTOP_SIGNIN_H
#define POK_CLI_DESKTOP_SIGNIN_H

#include <stdbool.h>

#include "cli/device_offer.h"

/* The module's desktop_signin=no reached this session: OAUTH_KEYRING_DESKTOP_SIGNIN is no,
 * false, off or 0 (pam_module/desktop_signin.h). */
bool desktop_signin_turned_off(void);

/* Tells the user, through the desktop's notification server (org.freedesktop.Notifications on
 * the session bus), that the browser is about to open the sign-in for service at the host of
 * url, the authorize URL: the browser is given the listener's start address, which sends it
 * there, and the provider's host is what the user can check in the address bar. Only the host
 * is sent (the URL's state and challenge stay out of the notification). 0 when a server took
 * it; -1 when none runs or it did not answer within 3 s: the sign-in goes on without it. */
int desktop_notify_signin(const char *service, const char *url);

/* Tells the user that the sign-in for service cannot complete from the desktop (nothing can
 * listen for the browser's return: the redirect's port is taken, or the redirect is not a
 * loopback address) and that `oauth-keyring login` in a terminal takes a pasted answer. 0 or
 * -1, as above. */
int desktop_notify_use_terminal(const char *service);

/* Tells the user where to approve the device sign-in offer for service (a login's, from the
 * prompt, or one just started for a provider with no other grant) and with which code, and
 * until when; nothing opens a browser. 0 or -1, as above. */
int desktop_notify_device(const char *service, const struct device_offer *offer);

#endif
