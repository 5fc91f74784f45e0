/* oauth-keyring's side of the refresher's socket (refresher/refresher.h). */
#ifndef POK_REFRESHER_CLIENT_H
#define POK_REFRESHER_CLIENT_H

#include <stddef.h>

/* Sends one request line to the running refresher and reads its answer line (without the
 * newline) into reply. 0 on an answer; -1 when no refresher answered within timeout_ms. */
int refresher_ask(const char *service, const char *line, char *reply, size_t reply_size,
                  long timeout_ms);

#endif
