/* `oauth-keyring login`: a sign-in run by the user's refresher (refresher/sign_in.h). */
#ifndef POK_CLI_LOGIN_H
#define POK_CLI_LOGIN_H

#include <stdbool.h>

struct login_options {
    bool no_browser; /* never run xdg-open */
    bool qr;         /* draw the URL as a QR code too */
    bool desktop;    /* the autostart entry's run: a desktop notification before the browser */
};

/* Asks service's refresher for a sign-in, shows its start address (the authorize URL and its
 * QR code only where the browser may be elsewhere), opens the start address in the browser in
 * a graphical session, and sends whatever the user pastes on stdin, until the refresher tells
 * the outcome. SIGINT, SIGTERM and SIGHUP cancel the sign-in in the refresher. Returns the
 * command's exit status: 0 signed in; 2 denied, cancelled, timed out or superseded; 3 the
 * keyring failed; 4 the provider or the refresher was unreachable. */
int login_run(const char *service, const struct login_options *options);

/* Whether SIGINT, SIGTERM or SIGHUP ended a login_run: no further sign-in should start. */
bool login_interrupted(void);

#endif
