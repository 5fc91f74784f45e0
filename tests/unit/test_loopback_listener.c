/* The loopback listener's judgement of a request head (refresher/loopback_listener.h): the one
 * callback that counts, and a 4xx for everything else. Pure: no sockets here (signin_*.sh
 * exercise the real listener). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "refresher/loopback_listener.h"

#define STATE "S-123_abc"

static struct loopback_redirect redirect_of(const char *uri)
{
    struct loopback_redirect redirect;

    assert_int_equal(loopback_redirect_parse(uri, &redirect), 0);
    return redirect;
}

/* The verdict on head; status holds a refusal's status. */
static enum loopback_verdict judge(const char *uri, const char *head, bool finished, int *status)
{
    struct loopback_redirect redirect = redirect_of(uri);
    struct loopback_check check;
    enum loopback_verdict verdict =
        loopback_request_check(head, strlen(head), &redirect, STATE, finished, &check);

    *status = check.status;
    return verdict;
}

static void refused_with(const char *head, int expected)
{
    int status = 0;

    assert_int_equal(judge("http://127.0.0.1:8765/callback", head, false, &status),
                     LOOPBACK_REFUSED);
    assert_int_equal(status, expected);
}

static void test_redirect_parse(void **unused)
{
    struct loopback_redirect redirect;

    (void)unused;
    redirect = redirect_of("http://127.0.0.1:8765/callback");
    assert_string_equal(redirect.host, "127.0.0.1");
    assert_int_equal(redirect.port, 8765);
    assert_string_equal(redirect.path, "/callback");
    redirect = redirect_of("http://[::1]:9/");
    assert_string_equal(redirect.host, "[::1]");
    redirect = redirect_of("http://LocalHost:1234");
    assert_string_equal(redirect.host, "localhost");
    assert_string_equal(redirect.path, "/");
    /* Not loopback http with a port: paste only. */
    assert_int_equal(loopback_redirect_parse("https://127.0.0.1:8765/cb", &redirect), -1);
    assert_int_equal(loopback_redirect_parse("http://127.0.0.1/cb", &redirect), -1);
    assert_int_equal(loopback_redirect_parse("http://example.com:80/cb", &redirect), -1);
    assert_int_equal(loopback_redirect_parse("http://127.0.0.2:80/cb", &redirect), -1);
    assert_int_equal(loopback_redirect_parse("http://u@127.0.0.1:80/cb", &redirect), -1);
    assert_int_equal(loopback_redirect_parse("http://127.0.0.1:80/cb?x=1", &redirect), -1);
    assert_int_equal(loopback_redirect_parse(NULL, &redirect), -1);
}

static void test_the_callback(void **unused)
{
    int status = 0;

    (void)unused;
    assert_int_equal(judge("http://127.0.0.1:8765/callback",
                           "GET /callback?code=C&state=" STATE " HTTP/1.1\r\n"
                           "Host: 127.0.0.1:8765\r\nUser-Agent: x\r\n\r\n",
                           false, &status),
                     LOOPBACK_CALLBACK);
    /* localhost: either loopback address names us too. */
    assert_int_equal(judge("http://localhost:8765/callback",
                           "GET /callback?state=" STATE
                           "&code=C HTTP/1.1\r\nHost: [::1]:8765\r\n\r\n",
                           false, &status),
                     LOOPBACK_CALLBACK);
}

static void test_incomplete_then_too_large(void **unused)
{
    char big[LOOPBACK_REQUEST_MAX + 64];
    int status = 0;

    (void)unused;
    assert_int_equal(
        judge("http://127.0.0.1:8765/callback", "GET /callback?state=" STATE, false, &status),
        LOOPBACK_INCOMPLETE);
    snprintf(big, sizeof(big), "GET /callback?state=%s HTTP/1.1\r\nX: ", STATE);
    memset(big + strlen(big), 'a', sizeof(big) - strlen(big) - 1);
    big[sizeof(big) - 1] = '\0';
    refused_with(big, 431);
}

static void test_hostile_requests(void **unused)
{
    (void)unused;
    /* Wrong path, wrong or missing or twice the state, another method. */
    refused_with("GET /other?state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", 404);
    refused_with("GET /callback/x?state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", 404);
    refused_with("GET /callback?state=nope&code=C HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", 400);
    refused_with("GET /callback?code=C HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", 400);
    refused_with("GET /callback HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", 400);
    refused_with("GET /callback?state=" STATE "&state=" STATE
                 " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n",
                 400);
    refused_with("POST /callback?state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", 405);
    /* DNS rebinding: a name that resolved to 127.0.0.1, another port, no Host, two. */
    refused_with("GET /callback?state=" STATE " HTTP/1.1\r\nHost: evil.example:8765\r\n\r\n", 421);
    refused_with("GET /callback?state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8766\r\n\r\n", 421);
    refused_with("GET /callback?state=" STATE " HTTP/1.1\r\nHost: localhost:8765\r\n\r\n", 421);
    refused_with("GET /callback?state=" STATE " HTTP/1.1\r\nX: y\r\n\r\n", 421);
    refused_with("GET /callback?state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n"
                 "Host: 127.0.0.1:8765\r\n\r\n",
                 421);
    /* Not HTTP/1.x, an absolute target, a control byte. */
    refused_with("GET /callback?state=" STATE " HTTP/2\r\nHost: 127.0.0.1:8765\r\n\r\n", 400);
    refused_with("GET http://127.0.0.1:8765/callback?state=" STATE
                 " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n",
                 400);
    refused_with("GET /callback?state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\x01\r\n\r\n", 400);
}

static void test_after_the_end(void **unused)
{
    int status = 0;

    (void)unused;
    assert_int_equal(judge("http://127.0.0.1:8765/callback",
                           "GET /callback HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", true, &status),
                     LOOPBACK_RESULT_PAGE);
    assert_int_equal(judge("http://127.0.0.1:8765/callback",
                           "GET /callback?code=C&state=" STATE
                           " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n",
                           true, &status),
                     LOOPBACK_REFUSED);
    assert_int_equal(status, 410);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_parse),
        cmocka_unit_test(test_the_callback),
        cmocka_unit_test(test_incomplete_then_too_large),
        cmocka_unit_test(test_hostile_requests),
        cmocka_unit_test(test_after_the_end),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
