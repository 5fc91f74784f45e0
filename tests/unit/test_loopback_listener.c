/* The loopback listener's judgement of a request head (refresher/loopback_listener.h): the
 * one-use start address, the one callback that counts (with the start address's cookie), and
 * a 4xx for everything else. Pure: no sockets here (signin_*.sh
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
#define NONCE "N0nce-xyz"
#define COOKIE "C00kie_value"
/* The cookie the start address set, as a browser sends it back to the callback. */
#define WITH_COOKIE "Cookie: oauth_keyring_sign_in_8765=" COOKIE "\r\n"

static struct loopback_redirect redirect_of(const char *uri)
{
    struct loopback_redirect redirect;

    assert_int_equal(loopback_redirect_parse(uri, &redirect), 0);
    return redirect;
}

/* The verdict on head, the start address not yet visited or already (started); status holds
 * a refusal's status. */
static enum loopback_verdict judge_at(const char *uri, const char *head, bool started,
                                      bool finished, int *status)
{
    struct loopback_redirect redirect = redirect_of(uri);
    char cookie_name[64];
    struct loopback_expected expected = {
        .state = STATE,
        .start_nonce = NONCE,
        .cookie_name = cookie_name,
        .cookie = COOKIE,
        .started = started,
        .finished = finished,
    };
    struct loopback_check check;
    enum loopback_verdict verdict;

    loopback_cookie_name(&redirect, cookie_name, sizeof(cookie_name));
    verdict = loopback_request_check(head, strlen(head), &redirect, &expected, &check);
    *status = check.status;
    return verdict;
}

static enum loopback_verdict judge(const char *uri, const char *head, bool finished, int *status)
{
    return judge_at(uri, head, true, finished, status);
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
    /* A path a cookie's Path attribute cannot hold. */
    assert_int_equal(loopback_redirect_parse("http://127.0.0.1:80/cb;x", &redirect), -1);
    assert_int_equal(loopback_redirect_parse("http://127.0.0.1:80/a,b", &redirect), -1);
    assert_int_equal(loopback_redirect_parse(NULL, &redirect), -1);
}

static void test_the_callback(void **unused)
{
    int status = 0;

    (void)unused;
    assert_int_equal(judge("http://127.0.0.1:8765/callback",
                           "GET /callback?code=C&state=" STATE " HTTP/1.1\r\n"
                           "Host: 127.0.0.1:8765\r\nUser-Agent: x\r\n" WITH_COOKIE "\r\n",
                           false, &status),
                     LOOPBACK_CALLBACK);
    /* localhost: either loopback address names us too. */
    assert_int_equal(judge("http://localhost:8765/callback",
                           "GET /callback?state=" STATE
                           "&code=C HTTP/1.1\r\nHost: [::1]:8765\r\n" WITH_COOKIE "\r\n",
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
    refused_with("GET /callback?state=nope&code=C HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n" WITH_COOKIE
                 "\r\n",
                 400);
    refused_with("GET /callback?code=C HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n" WITH_COOKIE "\r\n",
                 400);
    refused_with("GET /callback HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", 400);
    refused_with("GET /callback?state=" STATE "&state=" STATE
                 " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n" WITH_COOKIE "\r\n",
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

/* The right state without the start address's cookie: a program that never went through the
 * start address (issue 19: any program of the user fetching the attacker's callback). */
static void test_callback_needs_the_cookie(void **unused)
{
    (void)unused;
    refused_with("GET /callback?code=C&state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n",
                 403);
    /* Another value, another port's cookie, the name as a prefix, the value as a prefix. */
    refused_with("GET /callback?code=C&state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n"
                 "Cookie: oauth_keyring_sign_in_8765=guess\r\n\r\n",
                 403);
    refused_with("GET /callback?code=C&state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n"
                 "Cookie: oauth_keyring_sign_in_8766=" COOKIE "\r\n\r\n",
                 403);
    refused_with("GET /callback?code=C&state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n"
                 "Cookie: oauth_keyring_sign_in_87650=" COOKIE "\r\n\r\n",
                 403);
    refused_with("GET /callback?code=C&state=" STATE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n"
                 "Cookie: oauth_keyring_sign_in_8765=" COOKIE "x\r\n\r\n",
                 403);
}

/* Ours among other cookies, in any Cookie header; a tossed one of the same name is ignored. */
static void test_cookie_among_others(void **unused)
{
    int status = 0;

    (void)unused;
    assert_int_equal(judge("http://127.0.0.1:8765/callback",
                           "GET /callback?code=C&state=" STATE " HTTP/1.1\r\n"
                           "Host: 127.0.0.1:8765\r\ncookie: a=b;oauth_keyring_sign_in_8765=x; "
                           "oauth_keyring_sign_in_8765=" COOKIE " ; c=d\r\n\r\n",
                           false, &status),
                     LOOPBACK_CALLBACK);
    assert_int_equal(judge("http://127.0.0.1:8765/callback",
                           "GET /callback?code=C&state=" STATE " HTTP/1.1\r\n"
                           "Cookie: a=b\r\nHost: 127.0.0.1:8765\r\n" WITH_COOKIE "\r\n",
                           false, &status),
                     LOOPBACK_CALLBACK);
}

/* The start address: once, its exact nonce, our Host; 410 after the first visit or the end. */
static void test_start_address(void **unused)
{
    int status = 0;
    const char *start = "GET /start/" NONCE " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n";

    (void)unused;
    assert_int_equal(judge_at("http://127.0.0.1:8765/callback", start, false, false, &status),
                     LOOPBACK_START);
    assert_int_equal(judge_at("http://127.0.0.1:8765/callback", start, true, false, &status),
                     LOOPBACK_REFUSED);
    assert_int_equal(status, 410);
    assert_int_equal(judge_at("http://127.0.0.1:8765/callback", start, false, true, &status),
                     LOOPBACK_REFUSED);
    assert_int_equal(status, 410);
    assert_int_equal(judge_at("http://127.0.0.1:8765/callback",
                              "GET /start/" NONCE "x HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n",
                              false, false, &status),
                     LOOPBACK_REFUSED);
    assert_int_equal(status, 404);
    assert_int_equal(judge_at("http://127.0.0.1:8765/callback",
                              "GET /start/ HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n", false, false,
                              &status),
                     LOOPBACK_REFUSED);
    assert_int_equal(status, 404);
    assert_int_equal(judge_at("http://127.0.0.1:8765/callback",
                              "GET /start/" NONCE "?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n",
                              false, false, &status),
                     LOOPBACK_REFUSED);
    assert_int_equal(status, 404);
    assert_int_equal(judge_at("http://127.0.0.1:8765/callback",
                              "GET /start/" NONCE " HTTP/1.1\r\nHost: evil.example:8765\r\n\r\n",
                              false, false, &status),
                     LOOPBACK_REFUSED);
    assert_int_equal(status, 421);
    /* A callback path under /start/ is still the callback. */
    assert_int_equal(judge_at("http://127.0.0.1:8765/start/cb",
                              "GET /start/cb?code=C&state=" STATE
                              " HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n" WITH_COOKIE "\r\n",
                              true, false, &status),
                     LOOPBACK_CALLBACK);
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
        cmocka_unit_test(test_callback_needs_the_cookie),
        cmocka_unit_test(test_cookie_among_others),
        cmocka_unit_test(test_start_address),
        cmocka_unit_test(test_after_the_end),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
