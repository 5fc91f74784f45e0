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

/* A connection to the running refresher's socket (SERVICE.sock), or -1 when none answers. */
int refresher_connect(const char *service);

/* Reads the answer to request on fd (after message_socket_send) by deadline_ms and checks it
 * against the protocol's table. 0, or -1. */
int refresher_receive(int fd, enum protocol_request request, long long deadline_ms,
                      struct protocol_message *reply);

/* One request of the socket's (message) and its checked answer, within timeout_ms. 0, or -1
 * when no refresher answered so. */
int refresher_call(const char *service, const struct protocol_message *message, long timeout_ms,
                   struct protocol_message *reply);

#endif
