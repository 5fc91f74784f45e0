/* The refresher's socket speaks one line each way (refresher/refresher.h). */
#ifndef POK_SOCKET_LINE_H
#define POK_SOCKET_LINE_H

#include <stddef.h>

/* The longest line either side sends, newline included. */
#define SOCKET_LINE_MAX 512

/* Reads one line (without its newline) into line, whole by deadline_ms (CLOCK_MONOTONIC): a
 * peer that trickles bytes cannot hold the reader longer than that. 0, or -1 on a timeout, an
 * error, an early end or a line that does not fit. */
int socket_read_line(int fd, char *line, size_t size, long long deadline_ms);

#endif
