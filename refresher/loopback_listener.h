/* The loopback listener of a sign-in (RFC 8252 section 7.3): while the refresher runs a
 * sign-in whose redirect_uri is a loopback http URI with a port, it listens on exactly that
 * address and port for the browser's redirect.
 *
 * The browser is started at a one-use address of its own, http://HOST:PORT/start/NONCE (the
 * nonce drawn from getrandom, LOOPBACK_NONCE_BYTES), never at the authorize URL: a program's
 * argv is readable by every local user, and the authorize URL carries the state and the PKCE
 * challenge, with which another user could sign in to their own account and have any program
 * of the victim deliver that code (the login CSRF, issue 19). The start address answers 303 to
 * the authorize URL and sets a cookie bound to this sign-in; a second visit gets 410.
 *
 * One callback counts: a GET of the configured path whose Host is the loopback address and
 * port, which carries that cookie (compared in constant time: a program that never went
 * through the start address, say a mail client fetching a link, is refused 403) and whose
 * `state` is this sign-in's. Everything else gets a 4xx and the listener keeps waiting:
 * another path or method, a missing or wrong state, a Host that is not ours (DNS rebinding),
 * a request over LOOPBACK_REQUEST_MAX bytes, a client that has not sent its whole request
 * within LOOPBACK_CLIENT_SECONDS. Every page is self-contained, sent with
 * Content-Security-Policy default-src 'none', Cache-Control no-store, Referrer-Policy
 * no-referrer, X-Frame-Options DENY and X-Content-Type-Options nosniff, and never shows the
 * code. After the callback the browser is sent (303) to the configured path without a query,
 * which then shows the outcome.
 *
 * Before any of that, a connection counts only when the socket at its other end is the user's
 * own (peer_owner.h): another user's program gets a 403 page whatever it sends (the start
 * address included), and its request is never judged against the sign-in; one the kernel
 * cannot name gets a 403 too (fail closed) and the sign-in hears why
 * (loopback_unknown_peer_fn); one already closed is closed. */
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
/* The start address's nonce and the cookie's value: random bytes, base64url. */
#define LOOPBACK_NONCE_BYTES 24
#define LOOPBACK_COOKIE_BYTES 32
/* How long the browser keeps the cookie: a sign-in's longest life (sign_in.h). */
#define LOOPBACK_COOKIE_SECONDS 300
#define LOOPBACK_START_PREFIX "/start/"
#define LOOPBACK_URL_MAX (LOOPBACK_PATH_MAX + 128)

/* Where the redirect comes back: host as written in the URI, lower case (127.0.0.1, [::1],
 * localhost), its port, and its path ("/" when empty). */
struct loopback_redirect {
    char host[16];
    unsigned short port;
    char path[LOOPBACK_PATH_MAX];
};

/* 0 when redirect_uri is http://127.0.0.1:PORT/..., http://[::1]:PORT/... or
 * http://localhost:PORT/... (no user info, query or fragment, and no ';', ',' or space in the
 * path, which a cookie's Path could not hold); -1 otherwise: the sign-in then takes a pasted
 * answer only. */
int loopback_redirect_parse(const char *redirect_uri, struct loopback_redirect *redirect);

enum loopback_verdict {
    LOOPBACK_INCOMPLETE,  /* no blank line yet: read on */
    LOOPBACK_REFUSED,     /* answer check->status and keep waiting */
    LOOPBACK_START,       /* the start address, first visit: 303 to the authorize URL, cookie */
    LOOPBACK_CALLBACK,    /* the callback: check->target is the path and query */
    LOOPBACK_RESULT_PAGE, /* the clean path after the sign-in ended: show the outcome */
};

/* What a request is judged against: this sign-in's secrets and where it stands. */
struct loopback_expected {
    const char *state;       /* the callback's state= */
    const char *start_nonce; /* the start address's last segment */
    const char *cookie_name; /* loopback_cookie_name */
    const char *cookie;      /* the value the start address set */
    bool started;            /* the start address has been visited (it is one use) */
    bool finished;           /* the sign-in has ended: only the result page is served */
};

struct loopback_check {
    int status;        /* for LOOPBACK_REFUSED: 400, 403, 404, 405, 410, 421 or 431 */
    const char *why;   /* for LOOPBACK_REFUSED: a static sentence for the page */
    size_t target_end; /* for LOOPBACK_CALLBACK: the target is data[4, 4 + target_end) */
};

/* Judges the length bytes a client has sent so far (an HTTP/1.x request head) against the
 * redirect and the sign-in. Pure: no I/O. */
enum loopback_verdict loopback_request_check(const char *data, size_t length,
                                             const struct loopback_redirect *redirect,
                                             const struct loopback_expected *expected,
                                             struct loopback_check *check);

/* The cookie's name for redirect: with the port in it, because browsers keep cookies per host,
 * not per port, and two services' sign-ins may run at once on two ports. */
void loopback_cookie_name(const struct loopback_redirect *redirect, char *name, size_t size);

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

/* What the listener needs of the sign-in; copied, and the copies wiped when it ends. */
struct loopback_sign_in {
    const char *state;         /* the callback's state= */
    const char *authorize_url; /* where the start address sends the browser */
};

/* Binds every address of the redirect (localhost: 127.0.0.1 and ::1; an address family the
 * host lacks is skipped) on its port and listens, in the thread-default GLib main context, and
 * draws the start address's nonce and the cookie. NULL with why set when the port is taken or
 * cannot be bound, or when the kernel cannot name a socket's owner (peer_owner_self_check):
 * the sign-in falls back to a pasted answer. unknown_peer may be NULL. */
struct loopback_listener *loopback_listener_open(const struct loopback_redirect *redirect,
                                                 const struct loopback_sign_in *sign_in,
                                                 loopback_callback_fn callback,
                                                 loopback_unknown_peer_fn unknown_peer, void *data,
                                                 char *why, size_t why_size);

/* The one-use start address, http://HOST:PORT/start/NONCE, into url: the address to open in
 * the browser. It may be shown and put in argv: only the user's own programs are answered
 * there, once. */
void loopback_listener_start_url(const struct loopback_listener *listener, char *url, size_t size);

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
