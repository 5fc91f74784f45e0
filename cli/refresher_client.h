/* oauth-keyring's side of the refresher's socket (refresher/refresher.h): one request of the
 * protocol's table (REQUEST_SOCKET_REFRESH, REQUEST_SOCKET_LOGOUT), one answer. */
#ifndef POK_REFRESHER_CLIENT_H
#define POK_REFRESHER_CLIENT_H

#include "common/protocol_table.h"

/* What the refresher answered: an outcome (refresh.h's names, "logged-out"), or for a refusal
 * its reason ("bad-request"), and a message; printable ASCII only. */
struct refresher_answer {
    char outcome[64];
    char message[512];
};

/* Sends request (min_valid, in seconds, for a refresh) to the running refresher and reads its
 * answer. 0 on an answer the protocol's table accepts; -1 when no refresher answered so
 * within timeout_ms. */
int refresher_ask(const char *service, enum protocol_request request, long min_valid,
                  struct refresher_answer *answer, long timeout_ms);

#endif
