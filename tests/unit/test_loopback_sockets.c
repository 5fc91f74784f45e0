/* The loopback listener (refresher/loopback_listener.h) over real sockets, in this process's
 * GLib main context, with the real NETLINK_SOCK_DIAG owner check:
 * - every page carries its security headers (a real answer, read off the socket);
 * - the one-use start address: 303 to the authorize URL with the sign-in's cookie, then 410;
 * - after the end: 410 for the callback and the start address, the outcome page once; the
 *   listener's copies of the sign-in's strings are its own (finding 6);
 * - when all client slots are taken, the oldest waiting client is dropped, also after slots
 *   have been reused (issue 19, finding 4: slot 0 was dropped, the newest after one round);
 * - another user's connection is dropped before any of the user's own (as root: a child
 *   that has become another uid makes the connection and hands it over). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <glib.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "refresher/loopback_listener.h"

#define OTHER_UID 65534
#define STATE "S-sockets"
#define AUTHORIZE_URL "https://idp.example/authorize?state=" STATE "&code_challenge=X"
/* Well below LOOPBACK_CLIENT_SECONDS: a drop seen in this time is an eviction, not a
 * slowloris timeout. */
#define WAIT_MS 2000

struct fixture {
    struct loopback_redirect redirect;
    struct sockaddr_in address;
    struct loopback_listener *listener;
};

static void no_callback(void *data, const char *callback_url, struct loopback_reply *reply)
{
    (void)data, (void)callback_url;
    reply->status = 400;
}

/* A loopback port that was free a moment ago. */
static unsigned short free_port(void)
{
    struct sockaddr_in address = {.sin_family = AF_INET};
    socklen_t size = sizeof(address);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unsigned short port;

    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &size), 0);
    port = ntohs(address.sin_port);
    close(fd);
    return port;
}

static int setup(void **state)
{
    struct fixture *fixture = g_new0(struct fixture, 1);
    char uri[64], why[256] = "";

    snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/callback", (unsigned)free_port());
    assert_int_equal(loopback_redirect_parse(uri, &fixture->redirect), 0);
    fixture->address.sin_family = AF_INET;
    fixture->address.sin_port = htons(fixture->redirect.port);
    fixture->address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fixture->listener = loopback_listener_open(
        &fixture->redirect,
        &(struct loopback_sign_in){.state = STATE, .authorize_url = AUTHORIZE_URL}, no_callback,
        NULL, NULL, why, sizeof(why));
    if (fixture->listener == NULL)
        fail_msg("no listener: %s", why);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;

    loopback_listener_free(fixture->listener);
    g_free(fixture);
    return 0;
}

static gint64 now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* Runs the main context until the listener holds count clients (or WAIT_MS passed). */
static void serve_until_clients(const struct fixture *fixture, size_t count)
{
    gint64 deadline = now_ms() + WAIT_MS;

    while (loopback_listener_client_count(fixture->listener) != count && now_ms() < deadline)
        g_main_context_iteration(NULL, FALSE);
    assert_int_equal(loopback_listener_client_count(fixture->listener), count);
}

static int connect_own(const struct fixture *fixture)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(
        connect(fd, (const struct sockaddr *)&fixture->address, sizeof(fixture->address)), 0);
    return fd;
}

/* Whether the listener has answered fd or closed it (its side shut down). */
static bool answered(int fd)
{
    struct pollfd poll_fd = {fd, POLLIN, 0};

    return poll(&poll_fd, 1, 0) == 1;
}

/* Runs the main context until one of fds[0, count) is answered; its index. */
static size_t serve_until_one_answered(const int *fds, size_t count, const bool *already)
{
    gint64 deadline = now_ms() + WAIT_MS;

    while (now_ms() < deadline) {
        for (size_t i = 0; i < count; i++) {
            if (!already[i] && answered(fds[i]))
                return i;
        }
        g_main_context_iteration(NULL, FALSE);
    }
    fail_msg("no client was dropped within %d ms", WAIT_MS);
    return count;
}

/* The status line and headers the listener sent on fd (the head only). */
static void read_head(int fd, char *head, size_t size)
{
    size_t used = 0;
    gint64 deadline = now_ms() + WAIT_MS;

    head[0] = '\0';
    while (strstr(head, "\r\n\r\n") == NULL && used + 1 < size && now_ms() < deadline) {
        ssize_t got;
        g_main_context_iteration(NULL, FALSE);
        if (!answered(fd))
            continue;
        got = recv(fd, head + used, size - used - 1, MSG_DONTWAIT);
        if (got <= 0)
            break;
        used += (size_t)got;
        head[used] = '\0';
    }
}

static void send_text(int fd, const char *text)
{
    assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

static void test_pages_carry_their_headers(void **state)
{
    const struct fixture *fixture = *state;
    static const char *const headers[] = {
        "\r\nContent-Security-Policy: default-src 'none'\r\n",
        "\r\nCache-Control: no-store\r\n",
        "\r\nReferrer-Policy: no-referrer\r\n",
        "\r\nX-Frame-Options: DENY\r\n",
        "\r\nX-Content-Type-Options: nosniff\r\n",
        "\r\nContent-Type: text/html; charset=utf-8\r\n",
    };
    static const char *const targets[] = {"/callback", "/elsewhere", "/callback?state=x&code=C"};
    char request[256], head[4096];

    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        int fd = connect_own(fixture);
        snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
                 targets[t], (unsigned)fixture->redirect.port);
        send_text(fd, request);
        read_head(fd, head, sizeof(head));
        assert_true(strncmp(head, "HTTP/1.1 4", 10) == 0);
        for (size_t h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
            if (strstr(head, headers[h]) == NULL)
                fail_msg("%s: no '%.*s' in\n%s", targets[t], (int)strlen(headers[h]) - 4,
                         headers[h] + 2, head);
        }
        close(fd);
    }
}

/* The start address's answer, read off the socket: 303 to the authorize URL, the cookie with
 * its attributes, the same security headers; a second visit 410. */
static void test_start_answer(void **state)
{
    const struct fixture *fixture = *state;
    char start_url[LOOPBACK_URL_MAX], request[LOOPBACK_URL_MAX + 64], head[4096];
    char expected_cookie[128];
    const char *path;
    int fd;

    loopback_listener_start_url(fixture->listener, start_url, sizeof(start_url));
    path = strstr(start_url + strlen("http://"), "/start/");
    assert_non_null(path);
    assert_true(strlen(path) >= strlen("/start/") + 32); /* 24 random bytes, base64url */
    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", path,
             (unsigned)fixture->redirect.port);
    fd = connect_own(fixture);
    send_text(fd, request);
    read_head(fd, head, sizeof(head));
    close(fd);
    assert_true(strncmp(head, "HTTP/1.1 303 ", 13) == 0);
    assert_non_null(strstr(head, "\r\nLocation: " AUTHORIZE_URL "\r\n"));
    snprintf(expected_cookie, sizeof(expected_cookie),
             "\r\nSet-Cookie: oauth_keyring_sign_in_%u=", (unsigned)fixture->redirect.port);
    assert_non_null(strstr(head, expected_cookie));
    assert_non_null(strstr(head, "; Path=/callback; Max-Age=300; HttpOnly; SameSite=Lax\r\n"));
    assert_non_null(strstr(head, "\r\nContent-Security-Policy: default-src 'none'\r\n"));
    assert_non_null(strstr(head, "\r\nCache-Control: no-store\r\n"));
    assert_non_null(strstr(head, "\r\nReferrer-Policy: no-referrer\r\n"));
    fd = connect_own(fixture);
    send_text(fd, request);
    read_head(fd, head, sizeof(head));
    close(fd);
    assert_true(strncmp(head, "HTTP/1.1 410 ", 13) == 0);
    assert_null(strstr(head, "Set-Cookie"));
    assert_null(strstr(head, "Location"));
}

/* After the sign-in ended the listener holds none of its secrets (issue 19, finding 6: its
 * state pointed into the sign-in's freed memory for the linger): a callback with the old state
 * and the start address get 410, the clean path the outcome once. Under valgrind or ASan
 * (tests/sanitizer builds) a read of freed memory here would fail the test. */
static void test_after_the_end(void **state)
{
    const struct fixture *fixture = *state;
    char start_url[LOOPBACK_URL_MAX], request[LOOPBACK_URL_MAX + 128], head[4096];
    const char *targets[3] = {"/callback?code=C&state=" STATE, NULL, "/callback"};
    static const char *const statuses[3] = {"HTTP/1.1 410 ", "HTTP/1.1 410 ", "HTTP/1.1 200 "};

    loopback_listener_start_url(fixture->listener, start_url, sizeof(start_url));
    targets[1] = strstr(start_url + strlen("http://"), "/start/");
    assert_non_null(targets[1]);
    loopback_listener_finish(fixture->listener, "Signed in", "The sign-in is complete.");
    for (size_t t = 0; t < 3; t++) {
        int fd = connect_own(fixture);
        snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
                 targets[t], (unsigned)fixture->redirect.port);
        send_text(fd, request);
        read_head(fd, head, sizeof(head));
        close(fd);
        if (strncmp(head, statuses[t], strlen(statuses[t])) != 0)
            fail_msg("%s after the end: '%.20s', not '%s'", targets[t], head, statuses[t]);
    }
    assert_false(loopback_listener_is_open(fixture->listener)); /* the outcome shown once */
}

static void count_callback(void *data, const char *callback_url, struct loopback_reply *reply)
{
    (void)callback_url;
    (*(int *)data)++;
    reply->redirect_clean = true;
}

/* The listener keeps its own copies: the sign-in's strings may be wiped and freed right after
 * the listener opened (as the sign-in's are when it ends) and the start address and the
 * callback still work. Before issue 19 the listener borrowed the state: a freed state, read. */
static void test_sign_in_strings_are_its_own(void **unused)
{
    struct loopback_redirect redirect;
    struct sockaddr_in address = {.sin_family = AF_INET};
    char *state_copy = g_strdup(STATE), *url_copy = g_strdup(AUTHORIZE_URL);
    struct loopback_sign_in sign_in = {.state = state_copy, .authorize_url = url_copy};
    struct fixture fixture;
    char uri[64], why[256] = "", start_url[LOOPBACK_URL_MAX], cookie[256] = "";
    char request[LOOPBACK_URL_MAX + 512], head[4096];
    const char *set_cookie, *end;
    int calls = 0, fd;

    (void)unused;
    snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/callback", (unsigned)free_port());
    assert_int_equal(loopback_redirect_parse(uri, &redirect), 0);
    address.sin_port = htons(redirect.port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fixture.redirect = redirect;
    fixture.address = address;
    fixture.listener =
        loopback_listener_open(&redirect, &sign_in, count_callback, NULL, &calls, why, sizeof(why));
    assert_non_null(fixture.listener);
    memset(state_copy, 'x', strlen(state_copy)); /* the sign-in's copies, gone */
    g_free(state_copy);
    memset(url_copy, 'x', strlen(url_copy));
    g_free(url_copy);

    loopback_listener_start_url(fixture.listener, start_url, sizeof(start_url));
    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
             strstr(start_url + strlen("http://"), "/start/"), (unsigned)redirect.port);
    fd = connect_own(&fixture);
    send_text(fd, request);
    read_head(fd, head, sizeof(head));
    close(fd);
    assert_non_null(strstr(head, "\r\nLocation: " AUTHORIZE_URL "\r\n"));
    set_cookie = strstr(head, "\r\nSet-Cookie: ");
    assert_non_null(set_cookie);
    set_cookie += strlen("\r\nSet-Cookie: ");
    end = strchr(set_cookie, ';');
    assert_non_null(end);
    snprintf(cookie, sizeof(cookie), "%.*s", (int)(end - set_cookie), set_cookie);

    snprintf(request, sizeof(request),
             "GET /callback?code=C&state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
             "Cookie: %s\r\n\r\n",
             (unsigned)redirect.port, cookie);
    fd = connect_own(&fixture);
    send_text(fd, request);
    read_head(fd, head, sizeof(head));
    close(fd);
    assert_int_equal(calls, 1);
    assert_true(strncmp(head, "HTTP/1.1 303 ", 13) == 0);
    loopback_listener_free(fixture.listener);
}

/* Fills every slot with own clients 1..16, then connects two more: the first and then the
 * second client are dropped, in that order (408), never a newer one. */
static void test_oldest_dropped_first(void **state)
{
    const struct fixture *fixture = *state;
    int fds[LOOPBACK_MAX_CLIENTS + 2];
    bool dropped[LOOPBACK_MAX_CLIENTS + 2] = {false};
    char head[4096];

    for (size_t i = 0; i < LOOPBACK_MAX_CLIENTS; i++) {
        fds[i] = connect_own(fixture);
        serve_until_clients(fixture, i + 1);
    }
    for (size_t extra = 0; extra < 2; extra++) {
        size_t newest = LOOPBACK_MAX_CLIENTS + extra, gone;
        fds[newest] = connect_own(fixture);
        gone = serve_until_one_answered(fds, newest + 1, dropped);
        if (gone != extra)
            fail_msg("client %zu was dropped, not client %zu, the oldest", gone + 1, extra + 1);
        dropped[gone] = true;
        read_head(fds[gone], head, sizeof(head));
        assert_true(strncmp(head, "HTTP/1.1 408 ", 13) == 0);
        serve_until_clients(fixture, LOOPBACK_MAX_CLIENTS);
    }
    for (size_t i = 0; i < LOOPBACK_MAX_CLIENTS + 2; i++) {
        if (!dropped[i])
            assert_false(answered(fds[i]));
        close(fds[i]);
    }
}

/* A connection made by a child that has become OTHER_UID, received back over a socketpair:
 * its socket stays OTHER_UID's, as the kernel tells the listener. */
static int connect_as_other_user(const struct fixture *fixture)
{
    char control[CMSG_SPACE(sizeof(int))], byte = 'x';
    struct iovec data = {&byte, 1};
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1};
    struct cmsghdr *header;
    int pair[2], fd = -1, status = 0;
    pid_t child;

    memset(control, 0, sizeof(control));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int connection;
        if (setgroups(0, NULL) != 0 || setresgid(OTHER_UID, OTHER_UID, OTHER_UID) != 0 ||
            setresuid(OTHER_UID, OTHER_UID, OTHER_UID) != 0)
            _exit(2);
        connection = socket(AF_INET, SOCK_STREAM, 0);
        if (connection < 0 || connect(connection, (const struct sockaddr *)&fixture->address,
                                      sizeof(fixture->address)) != 0)
            _exit(3);
        message.msg_control = control;
        message.msg_controllen = sizeof(control);
        header = CMSG_FIRSTHDR(&message);
        if (header == NULL)
            _exit(4);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &connection, sizeof(int));
        _exit(sendmsg(pair[1], &message, 0) == 1 ? 0 : 4);
    }
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    assert_int_equal(recvmsg(pair[0], &message, 0), 1);
    header = CMSG_FIRSTHDR(&message);
    if (header == NULL)
        fail_msg("the child handed over no connection");
    else
        memcpy(&fd, CMSG_DATA(header), sizeof(int));
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(status, 0);
    close(pair[0]);
    close(pair[1]);
    return fd;
}

/* Own client 1, another user's client 2, own clients 3..16; a 17th and an 18th: client 2 goes
 * first (its 403), though client 1 is older; then client 1, the oldest of the user's own. */
static void test_other_user_dropped_first(void **state)
{
    const struct fixture *fixture = *state;
    int fds[LOOPBACK_MAX_CLIENTS + 2];
    bool dropped[LOOPBACK_MAX_CLIENTS + 2] = {false};
    char head[4096];
    static const size_t expected[2] = {1, 0};
    static const char *const statuses[2] = {"HTTP/1.1 403 ", "HTTP/1.1 408 "};

    if (geteuid() != 0)
        skip();
    for (size_t i = 0; i < LOOPBACK_MAX_CLIENTS; i++) {
        fds[i] = i == 1 ? connect_as_other_user(fixture) : connect_own(fixture);
        serve_until_clients(fixture, i + 1);
    }
    for (size_t extra = 0; extra < 2; extra++) {
        size_t newest = LOOPBACK_MAX_CLIENTS + extra, gone;
        fds[newest] = connect_own(fixture);
        gone = serve_until_one_answered(fds, newest + 1, dropped);
        if (gone != expected[extra])
            fail_msg("client %zu was dropped, not client %zu", gone + 1, expected[extra] + 1);
        dropped[gone] = true;
        read_head(fds[gone], head, sizeof(head));
        if (strncmp(head, statuses[extra], strlen(statuses[extra])) != 0)
            fail_msg("client %zu was answered '%.20s', not '%s'", gone + 1, head, statuses[extra]);
        serve_until_clients(fixture, LOOPBACK_MAX_CLIENTS);
    }
    for (size_t i = 0; i < LOOPBACK_MAX_CLIENTS + 2; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pages_carry_their_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_the_end, setup, teardown),
        cmocka_unit_test(test_sign_in_strings_are_its_own),
        cmocka_unit_test_setup_teardown(test_oldest_dropped_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_user_dropped_first, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
