/* The loopback listener of a sign-in (RFC 8252 section 7.3): while the refresher runs a
 * sign-in whose redirect_uri is a loopback http URI with a port, it listens on exactly that
 * address and port for the browser's redirect.
 *
 * One callback counts: a GET of the configured path whose `state` is this sign-in's and whose
 * Host is the loopback address and port. Everything else gets a 4xx and the listener keeps
 * waiting: another path or method, a missing or wrong state, a Host that is not ours (DNS
 * rebinding), a request over LOOPBACK_REQUEST_MAX bytes, a client that has not sent its whole
 * request within LOOPBACK_CLIENT_SECONDS. Every page is self-contained, sent with
 * Content-Security-Policy default-src 'none', Cache-Control no-store and Referrer-Policy
 * no-referrer, and never shows the code. After the callback the browser is sent (303) to the
 * configured path without a query, which then shows the outcome.
 *
 * Before any of that, a connection counts only when the socket at its other end is the user's
 * own (peer_owner.h, the login-CSRF defence): another user's program gets a 403 page whatever
 * it sends, and its request is never judged against the sign-in; one the kernel cannot name
 * gets a 403 too (fail closed) and the sign-in hears why (loopback_unknown_peer_fn); one
 * already closed is closed. */
#ifndef POK_LOOPBACK_LISTENER_H
#define POK_LOOPBACK_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

#define LOOPBACK_REQUEST_MAX 8192
#define LOOPBACK_CLIENT_SECONDS 3
#define LOOPBACK_MAX_CLIENTS 16
/* How long the outcome page stays available after the sign-in ended. */
#define LOOPBACK_LINGER_SECONDS 5
#define LOOPBACK_PATH_MAX 512
#define LOOPBACK_TARGET_MAX LOOPBACK_REQUEST_MAX

/* Where the redirect comes back: host as written in the URI, lower case (127.0.0.1, [::1],
 * localhost), its port, and its path ("/" when empty). */
struct loopback_redirect {
    char host[16];
    unsigned short port;
    char path[LOOPBACK_PATH_MAX];
};

/* 0 when redirect_uri is http://127.0.0.1:PORT/..., http://[::1]:PORT/... or
 * http://localhost:PORT/... (no user info, query or fragment); -1 otherwise: the sign-in then
 * takes a pasted answer only. */
int loopback_redirect_parse(const char *redirect_uri, struct loopback_redirect *redirect);

enum loopback_verdict {
    LOOPBACK_INCOMPLETE,  /* no blank line yet: read on */
    LOOPBACK_REFUSED,     /* answer check->status and keep waiting */
    LOOPBACK_CALLBACK,    /* the callback: check->target is the path and query */
    LOOPBACK_RESULT_PAGE, /* the clean path after the sign-in ended: show the outcome */
};

struct loopback_check {
    int status;        /* for LOOPBACK_REFUSED: 400, 404, 405, 410, 421 or 431 */
    const char *why;   /* for LOOPBACK_REFUSED: a static sentence for the page */
    size_t target_end; /* for LOOPBACK_CALLBACK: the target is data[4, 4 + target_end) */
};

/* Judges the length bytes a client has sent so far (an HTTP/1.x request head) against the
 * redirect and this sign-in's state. finished: the sign-in has ended (only the result page is
 * served then). Pure: no I/O. */
enum loopback_verdict loopback_request_check(const char *data, size_t length,
                                             const struct loopback_redirect *redirect,
                                             const char *state, bool finished,
                                             struct loopback_check *check);

/* What the sign-in answers to the callback. */
struct loopback_reply {
    bool redirect_clean; /* 303 to the clean path, which then shows the outcome page */
    int status;          /* without redirect_clean: this status with title and text */
    char title[64];
    char text[512];
};

/* The sign-in's judgement of one callback: callback_url is the whole redirect address
 * (http://host:port/path?query, a secret: it holds the code). */
typedef void (*loopback_callback_fn)(void *data, const char *callback_url,
                                     struct loopback_reply *reply);

/* A connection was refused because the kernel could not say whose program it came from; why
 * says what failed (nothing secret). */
typedef void (*loopback_unknown_peer_fn)(void *data, const char *why);

struct loopback_listener;

/* Binds every address of the redirect (localhost: 127.0.0.1 and ::1; an address family the
 * host lacks is skipped) on its port and listens, in the thread-default GLib main context.
 * NULL with why set when the port is taken or cannot be bound, or when the kernel cannot name
 * a socket's owner (peer_owner_self_check): the sign-in falls back to a pasted answer. state
 * is copied (and the copy wiped when the sign-in ends); unknown_peer may be NULL. */
struct loopback_listener *loopback_listener_open(const struct loopback_redirect *redirect,
                                                 const char *state, loopback_callback_fn callback,
                                                 loopback_unknown_peer_fn unknown_peer, void *data,
                                                 char *why, size_t why_size);

/* The sign-in has ended: callbacks are refused (410) from now on, the clean path shows title
 * and text, and the listener closes after it has shown them once or LOOPBACK_LINGER_SECONDS,
 * whichever comes first. */
void loopback_listener_finish(struct loopback_listener *listener, const char *title,
                              const char *text);

/* Whether the listening sockets are still open. */
bool loopback_listener_is_open(const struct loopback_listener *listener);

/* How many accepted clients wait for their answer (at most LOOPBACK_MAX_CLIENTS; when all are
 * taken, another user's connection is dropped first, else the oldest). */
size_t loopback_listener_client_count(const struct loopback_listener *listener);

/* Closes every socket at once and frees the listener. NULL is allowed. */
void loopback_listener_free(struct loopback_listener *listener);

#endif
