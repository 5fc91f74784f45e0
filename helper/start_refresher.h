/* How a session's login helper starts the user's refresher (refresher/refresher.h). */
#ifndef POK_START_REFRESHER_H
#define POK_START_REFRESHER_H

#include "common/protocol.h"

/* Starts the detached refresher: forks twice (a session of its own, not a child of the
 * login) and executes pam_oauth_keyring_refresher, the program beside this one - no D-Bus or
 * GLib state crosses a fork - with request (REQUEST_START_REFRESHER) on a socketpair as its
 * stdin. Returns at once. */
void refresher_spawn(const struct protocol_message *request);

#endif
