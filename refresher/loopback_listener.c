#include "config.h"

#include "refresher/loopback_listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/secret_memory.h"
#include "common/text_checks.h"
#include "oauth/pkce.h"
#include "refresher/peer_owner.h"

/* --- the redirect URI --------------------------------------------------------------------- */

static bool is_loopback_host(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

/* The path goes into the cookie's Path attribute: nothing there may end or split it. */
static bool path_fits_a_cookie(const char *path)
{
    for (const char *c = path; *c != '\0'; c++) {
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f || strchr(";,\"\\", *c) != NULL)
            return false;
    }
    return true;
}

int loopback_redirect_parse(const char *redirect_uri, struct loopback_redirect *redirect)
{
    GUri *uri = redirect_uri != NULL ? g_uri_parse(redirect_uri, G_URI_FLAGS_NONE, NULL) : NULL;
    char *host = uri != NULL ? g_ascii_strdown(g_uri_get_host(uri), -1) : NULL;
    const char *path = uri != NULL ? g_uri_get_path(uri) : NULL;
    int rv = -1;

    memset(redirect, 0, sizeof(*redirect));
    if (uri == NULL || host == NULL || g_ascii_strcasecmp(g_uri_get_scheme(uri), "http") != 0 ||
        g_uri_get_userinfo(uri) != NULL || g_uri_get_query(uri) != NULL ||
        g_uri_get_fragment(uri) != NULL || g_uri_get_port(uri) <= 0 ||
        g_uri_get_port(uri) > 65535 || !is_loopback_host(host) ||
        strlen(path) >= sizeof(redirect->path) || !path_fits_a_cookie(path))
        goto out;
    /* The path as the browser sends it: GUri keeps percent-encoding as written. */
    snprintf(redirect->host, sizeof(redirect->host), strcmp(host, "::1") == 0 ? "[%s]" : "%s",
             host);
    snprintf(redirect->path, sizeof(redirect->path), "%s", path[0] != '\0' ? path : "/");
    redirect->port = (unsigned short)g_uri_get_port(uri);
    rv = 0;
out:
    g_free(host);
    if (uri != NULL)
        g_uri_unref(uri);
    return rv;
}

/* --- one request head --------------------------------------------------------------------- */

static enum loopback_verdict refused(struct loopback_check *check, int status, const char *why)
{
    check->status = status;
    check->why = why;
    return LOOPBACK_REFUSED;
}

/* value (its length bytes, spaces around it already trimmed) names our address and port: the
 * redirect's own host, or for localhost either loopback address. A name that resolves to
 * 127.0.0.1 through someone else's DNS (rebinding) does not. Port 80 may be left out. */
static bool host_is_ours(const char *value, size_t length, const struct loopback_redirect *redirect)
{
    const char *hosts[3] = {redirect->host, NULL, NULL};
    char expected[64];

    if (strcmp(redirect->host, "localhost") == 0) {
        hosts[1] = "127.0.0.1";
        hosts[2] = "[::1]";
    }
    for (size_t i = 0; i < 3 && hosts[i] != NULL; i++) {
        size_t host_length = strlen(hosts[i]);
        snprintf(expected, sizeof(expected), "%s:%u", hosts[i], (unsigned)redirect->port);
        if (length == strlen(expected) && strncasecmp(value, expected, length) == 0)
            return true;
        if (redirect->port == 80 && length == host_length &&
            strncasecmp(value, hosts[i], length) == 0)
            return true;
    }
    return false;
}

/* The Host header among the header lines [headers, end): exactly one, and ours. */
static bool headers_name_our_host(const char *headers, const char *end,
                                  const struct loopback_redirect *redirect)
{
    int hosts_seen = 0;
    bool ours = false;

    while (headers < end) {
        const char *line_end = memchr(headers, '\r', (size_t)(end - headers));
        const char *colon;
        if (line_end == NULL || line_end + 1 >= end || line_end[1] != '\n')
            return false;
        colon = memchr(headers, ':', (size_t)(line_end - headers));
        if (colon == NULL || colon == headers)
            return false; /* not a header line */
        if ((size_t)(colon - headers) == 4 && strncasecmp(headers, "host", 4) == 0) {
            const char *value = colon + 1, *value_end = line_end;
            while (value < value_end && (*value == ' ' || *value == '\t'))
                value++;
            while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
                value_end--;
            hosts_seen++;
            ours = host_is_ours(value, (size_t)(value_end - value), redirect);
        }
        headers = line_end + 2;
    }
    return hosts_seen == 1 && ours;
}

/* Exactly one state= in the query, equal to ours (compared in constant time). */
static bool query_has_our_state(const char *query, size_t length, const char *state)
{
    GUriParamsIter iterator;
    char *name = NULL, *value = NULL;
    int seen = 0;
    bool equal = false;

    g_uri_params_iter_init(&iterator, query, (gssize)length, "&", G_URI_PARAMS_WWW_FORM);
    while (g_uri_params_iter_next(&iterator, &name, &value, NULL)) {
        if (strcmp(name, "state") == 0) {
            seen++;
            equal = state != NULL && secret_strings_equal(state, value);
        }
        g_free(name);
        secret_free_string(&value);
    }
    return seen == 1 && equal;
}

void loopback_cookie_name(const struct loopback_redirect *redirect, char *name, size_t size)
{
    snprintf(name, size, "oauth_keyring_sign_in_%u", (unsigned)redirect->port);
}

/* Whether one "name=value" of a Cookie header (its length bytes, spaces trimmed) is ours. */
static bool cookie_pair_is_ours(const char *pair, size_t length,
                                const struct loopback_expected *expected)
{
    size_t name_length = strlen(expected->cookie_name);
    char *value;
    bool ours;

    if (length <= name_length || memcmp(pair, expected->cookie_name, name_length) != 0 ||
        pair[name_length] != '=')
        return false;
    value = g_strndup(pair + name_length + 1, length - name_length - 1);
    ours = secret_strings_equal(expected->cookie, value); /* constant time */
    secret_free_string(&value);
    return ours;
}

/* Whether the Cookie header value [value, end) holds our cookie. Another cookie of the same
 * name (one set by another port of this host: cookies do not keep ports apart) is ignored. */
static bool cookie_value_has_ours(const char *value, const char *end,
                                  const struct loopback_expected *expected)
{
    bool ours = false;

    while (value < end) {
        const char *pair_end = memchr(value, ';', (size_t)(end - value));
        const char *last;
        if (pair_end == NULL)
            pair_end = end;
        while (value < pair_end && (*value == ' ' || *value == '\t'))
            value++;
        last = pair_end;
        while (last > value && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        ours |= cookie_pair_is_ours(value, (size_t)(last - value), expected);
        value = pair_end + 1;
    }
    return ours;
}

/* Whether the header lines [headers, end), already checked to be well formed, carry the
 * cookie the start address set. */
static bool headers_carry_our_cookie(const char *headers, const char *end,
                                     const struct loopback_expected *expected)
{
    bool ours = false;

    if (expected->cookie == NULL || expected->cookie_name == NULL)
        return false;
    while (headers < end) {
        const char *line_end = memmem(headers, (size_t)(end - headers), "\r\n", 2);
        const char *colon = memchr(headers, ':', (size_t)(line_end - headers));
        if ((size_t)(colon - headers) == 6 && strncasecmp(headers, "cookie", 6) == 0)
            ours |= cookie_value_has_ours(colon + 1, line_end, expected);
        headers = line_end + 2;
    }
    return ours;
}

/* The start address: LOOPBACK_START_PREFIX and the nonce, nothing after. */
static enum loopback_verdict check_start(const char *target, size_t length,
                                         const struct loopback_expected *expected,
                                         struct loopback_check *check)
{
    size_t prefix = strlen(LOOPBACK_START_PREFIX);

    if (expected->finished)
        return refused(check, 410, "This sign-in has already ended.");
    if (expected->start_nonce == NULL || length - prefix != strlen(expected->start_nonce) ||
        memcmp(target + prefix, expected->start_nonce, length - prefix) != 0)
        return refused(check, 404, "There is nothing here.");
    if (expected->started)
        return refused(check, 410,
                       "This sign-in address has been opened already; it works once. Run "
                       "oauth-keyring login again.");
    return LOOPBACK_START;
}

static enum loopback_verdict check_target(const char *target, size_t length, const char *headers,
                                          const char *headers_end,
                                          const struct loopback_redirect *redirect,
                                          const struct loopback_expected *expected,
                                          struct loopback_check *check)
{
    const char *question = memchr(target, '?', length);
    size_t path_length = question != NULL ? (size_t)(question - target) : length;
    size_t prefix = strlen(LOOPBACK_START_PREFIX);

    if (memchr(target, '#', length) != NULL)
        return refused(check, 404, "There is nothing here.");
    if ((path_length != strlen(redirect->path) ||
         memcmp(target, redirect->path, path_length) != 0) &&
        length > prefix && memcmp(target, LOOPBACK_START_PREFIX, prefix) == 0)
        return check_start(target, length, expected, check);
    if (path_length != strlen(redirect->path) || memcmp(target, redirect->path, path_length) != 0)
        return refused(check, 404, "There is nothing here.");
    if (question == NULL && expected->finished)
        return LOOPBACK_RESULT_PAGE;
    if (expected->finished)
        return refused(check, 410, "This sign-in has already ended.");
    if (question == NULL)
        return refused(check, 400, "This address carries no sign-in answer.");
    if (!headers_carry_our_cookie(headers, headers_end, expected))
        return refused(check, 403,
                       "This answer did not come through the browser that started this sign-in "
                       "(it lacks the sign-in's cookie), so it is refused. Start the sign-in from "
                       "the address oauth-keyring login opened or printed, or paste this page's "
                       "address into oauth-keyring login.");
    if (!query_has_our_state(question + 1, length - path_length - 1, expected->state))
        return refused(check, 400, "This answer belongs to no sign-in waiting here.");
    check->target_end = length;
    return LOOPBACK_CALLBACK;
}

enum loopback_verdict loopback_request_check(const char *data, size_t length,
                                             const struct loopback_redirect *redirect,
                                             const struct loopback_expected *expected,
                                             struct loopback_check *check)
{
    const char *head_end = memmem(data, length, "\r\n\r\n", 4);
    const char *line_end, *target_end;
    size_t head_length;

    memset(check, 0, sizeof(*check));
    if (head_end == NULL)
        return length >= LOOPBACK_REQUEST_MAX ? refused(check, 431, "The request is too large.")
                                              : LOOPBACK_INCOMPLETE;
    head_length = (size_t)(head_end - data) + 4;
    if (head_length > LOOPBACK_REQUEST_MAX)
        return refused(check, 431, "The request is too large.");
    /* Tabs, CR and LF aside, no control byte anywhere in the head. */
    for (size_t i = 0; i < head_length; i++) {
        unsigned char byte = (unsigned char)data[i];
        if ((byte < 0x20 && byte != '\r' && byte != '\n' && byte != '\t') || byte == 0x7f)
            return refused(check, 400, "The request is malformed.");
    }
    line_end = memmem(data, head_length, "\r\n", 2);
    if (strncmp(data, "GET ", 4) != 0)
        return refused(check, 405, "Only GET is answered here.");
    target_end = memchr(data + 4, ' ', (size_t)(line_end - data - 4));
    if (target_end == NULL || data[4] != '/' ||
        (strncmp(target_end, " HTTP/1.1\r\n", 11) != 0 &&
         strncmp(target_end, " HTTP/1.0\r\n", 11) != 0))
        return refused(check, 400, "The request is malformed.");
    if (!headers_name_our_host(line_end + 2, head_end + 2, redirect))
        return refused(check, 421, "This request was not addressed to this computer's loopback.");
    return check_target(data + 4, (size_t)(target_end - data - 4), line_end + 2, head_end + 2,
                        redirect, expected, check);
}

/* --- pages -------------------------------------------------------------------------------- */

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 303:
        return "See Other";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 410:
        return "Gone";
    case 421:
        return "Misdirected Request";
    case 431:
        return "Request Header Fields Too Large";
    case 502:
        return "Bad Gateway";
    default:
        return "Service Unavailable";
    }
}

static void append_escaped(GString *out, const char *text)
{
    char *escaped = g_markup_escape_text(text, -1);

    g_string_append(out, escaped);
    g_free(escaped);
}

/* Self-contained (nothing to fetch, nothing to run: the policy forbids it anyway), never
 * cached, never a referrer; location: a 303 to that address; set_cookie: a Set-Cookie value. */
static GString *http_response(int status, const char *title, const char *text, const char *location,
                              const char *set_cookie)
{
    GString *body = g_string_new("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    GString *response = g_string_new(NULL);

    append_escaped(body, title);
    g_string_append(body, "</title></head>\n<body><h1>");
    append_escaped(body, title);
    g_string_append(body, "</h1>\n<p>");
    append_escaped(body, text);
    g_string_append(body, "</p></body></html>\n");
    g_string_append_printf(response,
                           "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                           "Content-Length: %zu\r\nContent-Security-Policy: default-src 'none'\r\n"
                           "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n"
                           "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n",
                           status, status_text(status), body->len);
    if (location != NULL)
        g_string_append_printf(response, "Location: %s\r\n", location);
    if (set_cookie != NULL)
        g_string_append_printf(response, "Set-Cookie: %s\r\n", set_cookie);
    g_string_append(response, "Connection: close\r\n\r\n");
    g_string_append_len(response, body->str, (gssize)body->len);
    g_string_free(body, TRUE);
    return response;
}

/* --- the sockets -------------------------------------------------------------------------- */

/* The pages of a connection whose other end is not the user's own (peer_owner.h). */
#define LOOPBACK_OTHER_USER_TEXT                                                                   \
    "This request came from a program of another user of this computer. Only the programs of "     \
    "the user who is signing in may answer this sign-in."
#define LOOPBACK_UNKNOWN_PEER_TEXT                                                                 \
    "This computer cannot tell which user ran the program that sent this request, so it is "       \
    "refused. Paste the address of this page into oauth-keyring login instead."

struct loopback_client {
    struct loopback_listener *listener;
    int fd;
    /* Not NULL: the connection's other end is not the user's own (another user's program, or
     * one the kernel could not name): whatever it sends is answered 403 with this text, never
     * judged against the sign-in. */
    const char *refusal;
    guint watch;
    guint timer;
    unsigned long long accepted; /* the listener's count when it was accepted: its age */
    size_t used;
    char buffer[LOOPBACK_REQUEST_MAX + 1];
};

struct loopback_listener {
    struct loopback_redirect redirect;
    /* Our copies, wiped when the sign-in ends: never a pointer into the sign-in. */
    char *state;
    char *authorize_url; /* holds the state and the PKCE challenge */
    char *start_nonce;
    char *cookie;
    char cookie_name[64];
    bool started;
    loopback_callback_fn callback;
    loopback_unknown_peer_fn unknown_peer;
    void *data;
    int fds[2];
    guint watches[2];
    size_t fd_count;
    struct loopback_client *clients[LOOPBACK_MAX_CLIENTS];
    unsigned long long accepted; /* connections accepted so far */
    bool finished;
    guint linger_timer;
    char result_title[64];
    char result_text[512];
};

static void close_listening(struct loopback_listener *listener);

static void client_free(struct loopback_client *client)
{
    struct loopback_listener *listener = client->listener;

    for (size_t i = 0; i < LOOPBACK_MAX_CLIENTS; i++) {
        if (listener->clients[i] == client)
            listener->clients[i] = NULL;
    }
    if (client->watch != 0)
        g_source_remove(client->watch);
    if (client->timer != 0)
        g_source_remove(client->timer);
    close(client->fd);
    secret_wipe(client->buffer, sizeof(client->buffer)); /* a callback holds the code */
    g_free(client);
}

/* One try: the page is a few hundred bytes, far below a socket's buffer. A client that does
 * not take it loses it. The start address's answer holds the state and the cookie: wiped. */
static void client_answer(struct loopback_client *client, GString *response)
{
    ssize_t sent = send(client->fd, response->str, response->len, MSG_DONTWAIT | MSG_NOSIGNAL);

    (void)sent;
    shutdown(client->fd, SHUT_WR);
    secret_wipe(response->str, response->len);
    g_string_free(response, TRUE);
}

static void client_refuse(struct loopback_client *client, int status, const char *why)
{
    client_answer(client, http_response(status, "Not accepted", why, NULL, NULL));
    client_free(client);
}

/* The callback, handed to the sign-in as the whole address the browser was sent to. */
static void client_callback(struct loopback_client *client, size_t target_end)
{
    struct loopback_listener *listener = client->listener;
    struct loopback_reply reply = {.status = 400};
    char *url =
        g_strdup_printf("http://%s:%u%.*s", listener->redirect.host,
                        (unsigned)listener->redirect.port, (int)target_end, client->buffer + 4);

    listener->callback(listener->data, url, &reply);
    secret_free_string(&url);
    if (reply.redirect_clean)
        client_answer(client, http_response(303, "Signed in", "Continue to the result.",
                                            listener->redirect.path, NULL));
    else
        client_answer(client, http_response(reply.status, reply.title, reply.text, NULL, NULL));
    client_free(client);
}

/* The start address, once: to the provider, with the cookie that binds the callback to this
 * browser. SameSite=Lax, not Strict: the callback comes from the provider's site, a
 * cross-site top-level GET, which Lax lets through and Strict does not. No Secure: the
 * listener is plain http on the loopback (RFC 8252 7.3), where a browser would drop a Secure
 * cookie, and nothing of it crosses a network. HttpOnly: no page script reads it. Path: only
 * the callback gets it back. */
static void client_start(struct loopback_client *client)
{
    struct loopback_listener *listener = client->listener;
    char *set_cookie =
        g_strdup_printf("%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Lax", listener->cookie_name,
                        listener->cookie, listener->redirect.path, LOOPBACK_COOKIE_SECONDS);

    listener->started = true;
    client_answer(client, http_response(303, "Sign in", "Continue to the sign-in page.",
                                        listener->authorize_url, set_cookie));
    secret_free_string(&set_cookie);
    client_free(client);
}

static void client_result_page(struct loopback_client *client)
{
    struct loopback_listener *listener = client->listener;

    client_answer(client,
                  http_response(200, listener->result_title, listener->result_text, NULL, NULL));
    client_free(client);
    close_listening(listener); /* shown once: nothing is left to serve */
}

static gboolean on_client_readable(gint fd, GIOCondition condition, gpointer data)
{
    struct loopback_client *client = data;
    struct loopback_listener *listener = client->listener;
    struct loopback_check check;
    ssize_t got =
        recv(fd, client->buffer + client->used, LOOPBACK_REQUEST_MAX - client->used, MSG_DONTWAIT);
    enum loopback_verdict verdict;

    (void)condition;
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    if (got <= 0) {
        client->watch = 0;
        client_free(client);
        return G_SOURCE_REMOVE;
    }
    client->used += (size_t)got;
    client->buffer[client->used] = '\0';
    if (client->refusal != NULL) {
        /* Read to the end of the head first, so that the page is not lost to a reset. */
        if (memmem(client->buffer, client->used, "\r\n\r\n", 4) == NULL &&
            client->used < LOOPBACK_REQUEST_MAX)
            return G_SOURCE_CONTINUE;
        client->watch = 0;
        client_refuse(client, 403, client->refusal);
        return G_SOURCE_REMOVE;
    }
    verdict = loopback_request_check(client->buffer, client->used, &listener->redirect,
                                     &(struct loopback_expected){
                                         .state = listener->state,
                                         .start_nonce = listener->start_nonce,
                                         .cookie_name = listener->cookie_name,
                                         .cookie = listener->cookie,
                                         .started = listener->started,
                                         .finished = listener->finished,
                                     },
                                     &check);
    if (verdict == LOOPBACK_INCOMPLETE)
        return G_SOURCE_CONTINUE;
    client->watch = 0; /* removed by returning G_SOURCE_REMOVE */
    if (verdict == LOOPBACK_REFUSED)
        client_refuse(client, check.status, check.why);
    else if (verdict == LOOPBACK_START)
        client_start(client);
    else if (verdict == LOOPBACK_CALLBACK)
        client_callback(client, check.target_end);
    else
        client_result_page(client);
    return G_SOURCE_REMOVE;
}

/* A client that has not sent its whole request in time (a slowloris), or is dropped for a newer
 * one, is answered 408; another user's connection its 403. */
static void client_refuse_late(struct loopback_client *client)
{
    if (client->refusal != NULL)
        client_refuse(client, 403, client->refusal);
    else
        client_refuse(client, 408, "The request took too long.");
}

/* A client that has not sent its whole request in time (a slowloris) is answered 408. */
static gboolean on_client_slow(gpointer data)
{
    struct loopback_client *client = data;

    client->timer = 0;
    client_refuse_late(client);
    return G_SOURCE_REMOVE;
}

/* Whose program is at the other end of client_fd (peer_owner.h): NULL for the user's own, or
 * the refusal to answer it with. Sets gone when nobody is left to answer. */
static const char *peer_refusal(struct loopback_listener *listener, int client_fd, bool *gone)
{
    char why[256] = "";
    uid_t peer = (uid_t)-1;
    enum peer_lookup lookup =
        peer_socket_owner(client_fd, PEER_OWNER_TIMEOUT_MS, &peer, why, sizeof(why));

    *gone = false;
    switch (peer_owner_judge(lookup, peer, geteuid())) {
    case PEER_OURS:
        return NULL;
    case PEER_OTHER_USER:
        return LOOPBACK_OTHER_USER_TEXT;
    case PEER_GONE:
        *gone = true;
        return LOOPBACK_OTHER_USER_TEXT;
    default:
        if (listener->unknown_peer != NULL)
            listener->unknown_peer(listener->data, why);
        return LOOPBACK_UNKNOWN_PEER_TEXT;
    }
}

/* The slot to free when all are taken: another user's connection first (it only waits for
 * its 403), else the oldest waiting client, the likeliest to be a slow one. Slots are reused
 * in any order, so age is the accept count, not the slot's index. */
static size_t slot_to_evict(const struct loopback_listener *listener)
{
    size_t chosen = 0;

    for (size_t i = 1; i < LOOPBACK_MAX_CLIENTS; i++) {
        const struct loopback_client *candidate = listener->clients[i];
        const struct loopback_client *best = listener->clients[chosen];
        bool candidate_other = candidate->refusal != NULL, best_other = best->refusal != NULL;
        if (candidate_other != best_other ? candidate_other : candidate->accepted < best->accepted)
            chosen = i;
    }
    return chosen;
}

static void accept_client(struct loopback_listener *listener, int fd)
{
    int client_fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    struct loopback_client *client;
    const char *refusal;
    size_t slot = 0;
    bool gone = false;

    if (client_fd < 0)
        return;
    refusal = peer_refusal(listener, client_fd, &gone);
    if (gone) {
        close(client_fd);
        return;
    }
    while (slot < LOOPBACK_MAX_CLIENTS && listener->clients[slot] != NULL)
        slot++;
    if (slot == LOOPBACK_MAX_CLIENTS) {
        slot = slot_to_evict(listener);
        client_refuse_late(listener->clients[slot]);
    }
    client = g_new0(struct loopback_client, 1);
    client->listener = listener;
    client->fd = client_fd;
    client->refusal = refusal;
    client->accepted = ++listener->accepted;
    client->watch =
        g_unix_fd_add(client_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client_readable, client);
    client->timer = g_timeout_add_seconds(LOOPBACK_CLIENT_SECONDS, on_client_slow, client);
    listener->clients[slot] = client;
}

static gboolean on_listen_readable(gint fd, GIOCondition condition, gpointer data)
{
    (void)condition;
    accept_client(data, fd);
    return G_SOURCE_CONTINUE;
}

static int bind_one(int family, unsigned short port, char *why, size_t why_size)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int yes = 1, rv;

    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v6.sin6_addr = in6addr_loopback;
    if (fd < 0)
        return -1;
    /* SO_REUSEADDR: our own connections of the last sign-in may sit in TIME_WAIT on this
     * port. It never lets us (or anyone) share a port another socket listens on. */
    rv = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (rv == 0 && family == AF_INET6)
        rv = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof(yes));
    if (rv == 0)
        rv = family == AF_INET ? bind(fd, (struct sockaddr *)&v4, sizeof(v4))
                               : bind(fd, (struct sockaddr *)&v6, sizeof(v6));
    if (rv == 0)
        rv = listen(fd, LOOPBACK_MAX_CLIENTS);
    if (rv != 0) {
        text_set_why(why, why_size, "cannot listen on %s port %u: %s",
                     family == AF_INET ? "127.0.0.1" : "[::1]", (unsigned)port, strerror(errno));
        close(fd);
        fd = -1;
    }
    return fd;
}

/* An address family the host lacks (no IPv6): that address cannot be reached by the browser
 * either, so it is skipped. Any other failure (the port taken) fails the whole listener: the
 * browser might otherwise reach someone else's socket at the other address. */
static bool family_missing(void)
{
    return errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL;
}

static int bind_all(struct loopback_listener *listener, char *why, size_t why_size)
{
    const char *host = listener->redirect.host;
    bool localhost = strcmp(host, "localhost") == 0;
    int families[2] = {AF_INET, AF_INET6}, first = 0, last = 1;

    if (!localhost)
        first = last = strcmp(host, "[::1]") == 0 ? 1 : 0;
    for (int i = first; i <= last; i++) {
        int fd = bind_one(families[i], listener->redirect.port, why, why_size);
        if (fd < 0 && !(localhost && family_missing()))
            return -1;
        if (fd >= 0)
            listener->fds[listener->fd_count++] = fd;
    }
    return listener->fd_count > 0 ? 0 : -1;
}

/* Listening only makes sense when the kernel can name who connects: else every browser would
 * be refused, and the paste is the better way. */
static int check_peer_owners(struct loopback_listener *listener, char *why, size_t why_size)
{
    char detail[256];

    for (size_t i = 0; i < listener->fd_count; i++) {
        if (peer_owner_self_check(listener->fds[i], PEER_OWNER_TIMEOUT_MS, detail,
                                  sizeof(detail)) != 0)
            return text_set_why(why, why_size,
                                "cannot tell which user's program connects to port %u (%s), so "
                                "nothing listens",
                                (unsigned)listener->redirect.port, detail);
    }
    return 0;
}

/* The sign-in's copies and the start address's random values; -1 with why. The authorize URL
 * goes into a Location header: no control byte or space may end it early. */
static int take_sign_in(struct loopback_listener *listener, const struct loopback_sign_in *sign_in,
                        char *why, size_t why_size)
{
    for (const char *c = sign_in->authorize_url; c != NULL && *c != '\0'; c++) {
        if ((unsigned char)*c <= ' ' || (unsigned char)*c == 0x7f)
            return text_set_why(why, why_size, "the authorize URL cannot be sent as a redirect");
    }
    listener->state = g_strdup(sign_in->state);
    listener->authorize_url = g_strdup(sign_in->authorize_url);
    listener->start_nonce = random_base64url(LOOPBACK_NONCE_BYTES);
    listener->cookie = random_base64url(LOOPBACK_COOKIE_BYTES);
    loopback_cookie_name(&listener->redirect, listener->cookie_name, sizeof(listener->cookie_name));
    if (listener->state == NULL || listener->authorize_url == NULL ||
        listener->start_nonce == NULL || listener->cookie == NULL)
        return text_set_why(why, why_size, "cannot draw the sign-in's start address");
    return 0;
}

struct loopback_listener *loopback_listener_open(const struct loopback_redirect *redirect,
                                                 const struct loopback_sign_in *sign_in,
                                                 loopback_callback_fn callback,
                                                 loopback_unknown_peer_fn unknown_peer, void *data,
                                                 char *why, size_t why_size)
{
    struct loopback_listener *listener = g_new0(struct loopback_listener, 1);

    listener->redirect = *redirect;
    listener->callback = callback;
    listener->unknown_peer = unknown_peer;
    listener->data = data;
    if (take_sign_in(listener, sign_in, why, why_size) != 0 ||
        bind_all(listener, why, why_size) != 0 || check_peer_owners(listener, why, why_size) != 0) {
        loopback_listener_free(listener);
        return NULL;
    }
    for (size_t i = 0; i < listener->fd_count; i++)
        listener->watches[i] =
            g_unix_fd_add(listener->fds[i], G_IO_IN, on_listen_readable, listener);
    return listener;
}

void loopback_listener_start_url(const struct loopback_listener *listener, char *url, size_t size)
{
    snprintf(url, size, "http://%s:%u%s%s", listener->redirect.host,
             (unsigned)listener->redirect.port, LOOPBACK_START_PREFIX,
             listener->start_nonce != NULL ? listener->start_nonce : "");
}

/* Stops accepting; clients already connected are answered or time out. */
static void close_listening(struct loopback_listener *listener)
{
    for (size_t i = 0; i < listener->fd_count; i++) {
        if (listener->watches[i] != 0)
            g_source_remove(listener->watches[i]);
        close(listener->fds[i]);
        listener->watches[i] = 0;
    }
    listener->fd_count = 0;
    if (listener->linger_timer != 0)
        g_source_remove(listener->linger_timer);
    listener->linger_timer = 0;
}

static void forget_sign_in(struct loopback_listener *listener)
{
    secret_free_string(&listener->state);
    secret_free_string(&listener->authorize_url);
    secret_free_string(&listener->start_nonce);
    secret_free_string(&listener->cookie);
}

static gboolean on_linger_over(gpointer data)
{
    struct loopback_listener *listener = data;

    listener->linger_timer = 0;
    close_listening(listener);
    return G_SOURCE_REMOVE;
}

void loopback_listener_finish(struct loopback_listener *listener, const char *title,
                              const char *text)
{
    if (listener == NULL || listener->finished)
        return;
    listener->finished = true;
    forget_sign_in(listener); /* only the result page is served from now on */
    snprintf(listener->result_title, sizeof(listener->result_title), "%s", title);
    snprintf(listener->result_text, sizeof(listener->result_text), "%s", text);
    if (listener->fd_count > 0)
        listener->linger_timer =
            g_timeout_add_seconds(LOOPBACK_LINGER_SECONDS, on_linger_over, listener);
}

bool loopback_listener_is_open(const struct loopback_listener *listener)
{
    return listener != NULL && listener->fd_count > 0;
}

size_t loopback_listener_client_count(const struct loopback_listener *listener)
{
    size_t count = 0;

    for (size_t i = 0; listener != NULL && i < LOOPBACK_MAX_CLIENTS; i++)
        count += listener->clients[i] != NULL ? 1 : 0;
    return count;
}

void loopback_listener_free(struct loopback_listener *listener)
{
    if (listener == NULL)
        return;
    close_listening(listener);
    for (size_t i = 0; i < LOOPBACK_MAX_CLIENTS; i++) {
        if (listener->clients[i] != NULL)
            client_free(listener->clients[i]);
    }
    forget_sign_in(listener);
    g_free(listener);
}
