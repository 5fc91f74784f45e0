/* `oauth-keyring login`: a sign-in run by the user's refresher (refresher/sign_in.h). */
#ifndef POK_CLI_LOGIN_H
#define POK_CLI_LOGIN_H

#include <stdbool.h>

struct login_options {
    bool no_browser; /* never run xdg-open */
    bool qr;         /* draw the URL as a QR code too */
    bool desktop;    /* the autostart entry's run: a desktop notification before the browser */
    bool device;     /* the device grant (RFC 8628): a code to approve on another device */
};

/* Asks service's refresher for a sign-in, shows its start address (the authorize URL and its
 * QR code only where the browser may be elsewhere), opens the start address in the browser in
 * a graphical session, and sends whatever the user pastes on stdin, until the refresher tells
 * the outcome. SIGINT, SIGTERM and SIGHUP cancel the sign-in in the refresher.
 * A device sign-in (with device, or the refresher's choice for a provider with no other grant;
 * with device or desktop, one the refresher already polls for is joined): the address and the
 * code, no browser, then the wait for the outcome; SIGINT, SIGTERM and SIGHUP end only the
 * wait (the sign-in goes on until its code expires). With desktop the notification is all:
 * 0 once it is offered, nothing waited for.
 * Returns the command's exit status: 0 signed in; 2 denied, cancelled, timed out, expired,
 * superseded or no longer waited for; 3 the keyring failed; 4 the provider or the refresher
 * was unreachable (no device grant: "unavailable"). */
int login_run(const char *service, const struct login_options *options);

/* Whether SIGINT, SIGTERM or SIGHUP ended a login_run: no further sign-in should start. */
bool login_interrupted(void);

#endif
