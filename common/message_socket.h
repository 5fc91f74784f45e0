/* One POK/1 message each way over a stream socket (the refresher's SERVICE.sock): the sender
 * writes its message and shuts its writing side down; the reader reads to end of file. Both
 * bounded by a deadline and a size, so a peer that trickles bytes or never ends holds neither
 * side longer than that. */
#ifndef POK_MESSAGE_SOCKET_H
#define POK_MESSAGE_SOCKET_H

#include <stddef.h>

#include "common/protocol.h"

/* A request or an answer on the refresher's socket is small: a few fields of a few hundred
 * bytes; the largest, a pasted sign-in answer, at most ANSWER_MAX_BYTES (4 KiB) and its
 * framing. Anything longer is refused. */
#define MESSAGE_SOCKET_MAX 8192

/* Encodes message, writes it whole and shuts down fd's writing side, by deadline_ms
 * (CLOCK_MONOTONIC). 0, or -1 when it could not be written in time. */
int message_socket_send(int fd, const struct protocol_message *message, long long deadline_ms);

/* Reads to end of file, at most MESSAGE_SOCKET_MAX bytes, by deadline_ms, and decodes into
 * message (cleared by the caller afterwards, even on failure). 0; 1 when the bytes arrived
 * whole but are not a POK/1 message; -1 when they did not arrive whole in time. */
int message_socket_receive(int fd, long long deadline_ms, struct protocol_message *message);

#endif
