/* The device authorization grant (oauth/device_grant.h): the device authorization answer
 * (RFC 8628 3.2), what each poll's answer means (3.5), and the wait before the next poll. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "oauth/device_grant.h"
#include "oauth/https_transport.h"
#include "oauth/token_exchange.h"

#define T0 1700000000LL

/* RFC 8628 3.2's example, on one line. */
#define RFC_ANSWER                                                                                 \
    "{\"device_code\":\"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS\","                              \
    "\"user_code\":\"WDJB-MJHT\","                                                                 \
    "\"verification_uri\":\"https://example.com/device\","                                         \
    "\"verification_uri_complete\":\"https://example.com/device?user_code=WDJB-MJHT\","            \
    "\"expires_in\":1800,\"interval\":5}"

/* Members most answers below share, without the braces. */
#define CODES "\"device_code\":\"dc\",\"user_code\":\"UC-1\""
#define URI "\"verification_uri\":\"https://idp.example/device\""

static int parse_text(const char *body, struct device_authorization *authorization, char *why,
                      size_t why_size)
{
    return device_authorization_parse(body, strlen(body), authorization, why, why_size);
}

static void parse_ok(const char *body, struct device_authorization *authorization)
{
    char why[256] = "";

    if (parse_text(body, authorization, why, sizeof(why)) != 0)
        fail_msg("'%s' was refused: %s", body, why);
}

static void assert_nothing_kept(const struct device_authorization *authorization)
{
    assert_null(authorization->device_code);
    assert_null(authorization->user_code);
    assert_null(authorization->verification_uri);
    assert_null(authorization->verification_uri_complete);
    assert_int_equal(authorization->expires_in, 0);
    assert_int_equal(authorization->interval, 0);
}

/* Refused with a reason that holds needle, and nothing kept. */
static void parse_refused(const char *body, const char *needle)
{
    struct device_authorization authorization;
    char why[256];

    memset(why, 'X', sizeof(why));
    if (parse_text(body, &authorization, why, sizeof(why)) != -1)
        fail_msg("'%s' was accepted", body);
    assert_non_null(memchr(why, '\0', sizeof(why)));
    assert_true(why[0] != '\0');
    if (needle != NULL && strstr(why, needle) == NULL)
        fail_msg("'%s' was refused for '%s', expected '%s'", body, why, needle);
    assert_nothing_kept(&authorization);
}

/* ---- device_authorization_parse ---- */

static void test_parse_rfc_example(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_ok(RFC_ANSWER, &authorization);
    assert_string_equal(authorization.device_code, "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS");
    assert_string_equal(authorization.user_code, "WDJB-MJHT");
    assert_string_equal(authorization.verification_uri, "https://example.com/device");
    assert_string_equal(authorization.verification_uri_complete,
                        "https://example.com/device?user_code=WDJB-MJHT");
    assert_int_equal(authorization.expires_in, 1800);
    assert_int_equal(authorization.interval, 5);
    device_authorization_clear(&authorization);
    assert_nothing_kept(&authorization);
}

/* Members the grant does not know (Entra ID's "message") are ignored. */
static void test_parse_ignores_unknown_members(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_ok("{" CODES "," URI ",\"expires_in\":900,\"interval\":5,\"message\":\"To sign in, "
             "use a web browser to open the page https://microsoft.com/devicelogin\"}",
             &authorization);
    assert_string_equal(authorization.verification_uri, "https://idp.example/device");
    assert_null(authorization.verification_uri_complete);
    device_authorization_clear(&authorization);
}

/* Google's device endpoint names the address verification_url. */
static void test_parse_google_verification_url(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_ok("{\"device_code\":\"AH-1Ng2Lk7mQ0Wm4vX\",\"user_code\":\"GQVQ-JKEC\","
             "\"expires_in\":1800,\"interval\":5,"
             "\"verification_url\":\"https://www.google.com/device\"}",
             &authorization);
    assert_string_equal(authorization.verification_uri, "https://www.google.com/device");
    assert_string_equal(authorization.user_code, "GQVQ-JKEC");
    device_authorization_clear(&authorization);
}

/* Both spellings: RFC 8628's name wins. */
static void test_parse_verification_uri_wins_over_url(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_ok("{" CODES ",\"verification_url\":\"https://old.example/device\"," URI
             ",\"expires_in\":600}",
             &authorization);
    assert_string_equal(authorization.verification_uri, "https://idp.example/device");
    device_authorization_clear(&authorization);
}

static void test_parse_missing_device_code(void **state)
{
    (void)state;
    parse_refused("{\"user_code\":\"UC-1\"," URI ",\"expires_in\":600}", "device_code");
    parse_refused("{\"device_code\":null,\"user_code\":\"UC-1\"," URI ",\"expires_in\":600}",
                  "device_code");
}

static void test_parse_missing_user_code(void **state)
{
    (void)state;
    parse_refused("{\"device_code\":\"dc\"," URI ",\"expires_in\":600}", "user_code");
}

static void test_parse_missing_verification_uri(void **state)
{
    (void)state;
    parse_refused("{" CODES ",\"expires_in\":600}", "verification_uri");
    parse_refused("{" CODES ",\"verification_uri\":null,\"expires_in\":600}", "verification_uri");
    /* The complete address alone is not enough: a user who cannot scan it types the short
     * one. */
    parse_refused("{" CODES ",\"verification_uri_complete\":\"https://idp.example/device?c=1\","
                  "\"expires_in\":600}",
                  "verification_uri");
}

static void test_parse_missing_expires_in(void **state)
{
    (void)state;
    parse_refused("{" CODES "," URI ",\"interval\":5}", "expires_in");
    parse_refused("{" CODES "," URI ",\"expires_in\":null}", "expires_in");
}

static void test_parse_wrong_types(void **state)
{
    static const char *const bodies[] = {
        "{\"device_code\":12345,\"user_code\":\"UC-1\"," URI ",\"expires_in\":600}",
        "{\"device_code\":\"dc\",\"user_code\":[\"UC-1\"]," URI ",\"expires_in\":600}",
        "{" CODES ",\"verification_uri\":{\"href\":\"https://idp.example/device\"},"
        "\"expires_in\":600}",
        "{" CODES ",\"verification_url\":true,\"expires_in\":600}",
        "{" CODES "," URI ",\"verification_uri_complete\":1,\"expires_in\":600}",
        "{" CODES "," URI ",\"expires_in\":\"600\"}",
        "{" CODES "," URI ",\"expires_in\":600.5}",
        "{" CODES "," URI ",\"expires_in\":6e2}",
        "{" CODES "," URI ",\"expires_in\":true}",
        "{" CODES "," URI ",\"expires_in\":600,\"interval\":\"5\"}",
        "{" CODES "," URI ",\"expires_in\":600,\"interval\":5.0}",
        "{" CODES "," URI ",\"expires_in\":600,\"interval\":[5]}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        parse_refused(bodies[i], NULL);
}

/* The user types the address on another device: only https, with a host, may be shown. */
static void test_parse_refuses_http_and_hostless_addresses(void **state)
{
    static const char *const addresses[] = {
        "http://idp.example/device",
        "https://",
        "https:///device",
        "https://?user_code=1",
        "idp.example/device",
        "//idp.example/device",
        "ftp://idp.example/device",
        "javascript:alert(1)",
        "https://idp.example/device#frag",
        "https://idp.example/de vice",
        "",
    };
    char body[512];

    (void)state;
    for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
        snprintf(body, sizeof(body), "{" CODES ",\"verification_uri\":\"%s\",\"expires_in\":600}",
                 addresses[i]);
        parse_refused(body, "verification_uri");
        snprintf(body, sizeof(body), "{" CODES ",\"verification_url\":\"%s\",\"expires_in\":600}",
                 addresses[i]);
        parse_refused(body, "verification_url");
        /* A bad complete address is refused, not dropped: the provider's answer is wrong. */
        snprintf(body, sizeof(body),
                 "{" CODES "," URI ",\"verification_uri_complete\":\"%s\",\"expires_in\":600}",
                 addresses[i]);
        parse_refused(body, "verification_uri_complete");
    }
}

/* A URI is ASCII (RFC 3986): a non-ASCII address at the login prompt could show a host that is
 * not the one it opens, or carry bidirectional or C1 controls (fuzz_device's first finding). */
static void test_parse_refuses_non_ascii_addresses(void **state)
{
    static const char *const addresses[] = {
        "https://gith\\u00e9ub.com/login/device",  /* é, escaped */
        "https://gith\xc3\xa9ub.com/login/device", /* é, raw UTF-8 */
        "https://g\\u0456thub.com/login/device",   /* Cyrillic i: a homograph */
        "https://evil.example/\\u202emoc.buhtig",  /* right-to-left override */
        "https://idp.example/device?c=\\u009b2J",  /* C1 CSI */
        "https://idp.example/d\\u00a0evice",       /* no-break space */
    };
    char body[512];

    (void)state;
    for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
        snprintf(body, sizeof(body), "{" CODES ",\"verification_uri\":\"%s\",\"expires_in\":600}",
                 addresses[i]);
        parse_refused(body, "verification_uri");
        snprintf(body, sizeof(body), "{" CODES ",\"verification_url\":\"%s\",\"expires_in\":600}",
                 addresses[i]);
        parse_refused(body, "verification_url");
        snprintf(body, sizeof(body),
                 "{" CODES "," URI ",\"verification_uri_complete\":\"%s\",\"expires_in\":600}",
                 addresses[i]);
        parse_refused(body, "verification_uri_complete");
    }
}

/* "https://idp.example@evil.example/" shows one host and opens another. */
static void test_parse_refuses_userinfo(void **state)
{
    static const char *const addresses[] = {
        "https://idp.example@evil.example/device",
        "https://user:pass@idp.example/device",
        "https://@idp.example/device",
        "https://idp.example:443@evil.example?x=1",
    };
    char body[512];

    (void)state;
    for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
        snprintf(body, sizeof(body), "{" CODES ",\"verification_uri\":\"%s\",\"expires_in\":600}",
                 addresses[i]);
        parse_refused(body, "verification_uri");
        snprintf(body, sizeof(body),
                 "{" CODES "," URI ",\"verification_uri_complete\":\"%s\",\"expires_in\":600}",
                 addresses[i]);
        parse_refused(body, "verification_uri_complete");
    }
}

/* An '@' after the host is the path's: Okta's and Entra ID's addresses may carry one. */
static void test_parse_accepts_at_sign_in_path_and_query(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_ok("{" CODES ",\"verification_uri\":\"https://idp.example/u/@corp\","
             "\"verification_uri_complete\":\"https://idp.example:8443/d?login_hint=a@b.example\","
             "\"expires_in\":600}",
             &authorization);
    assert_string_equal(authorization.verification_uri, "https://idp.example/u/@corp");
    assert_string_equal(authorization.verification_uri_complete,
                        "https://idp.example:8443/d?login_hint=a@b.example");
    device_authorization_clear(&authorization);
}

/* RFC 8628 3.2: "If no value is provided, clients MUST use 5 as the default." */
static void test_parse_interval_absent_is_5(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_ok("{" CODES "," URI ",\"expires_in\":600}", &authorization);
    assert_int_equal(authorization.interval, 5);
    device_authorization_clear(&authorization);
    parse_ok("{" CODES "," URI ",\"expires_in\":600,\"interval\":null}", &authorization);
    assert_int_equal(authorization.interval, 5);
    device_authorization_clear(&authorization);
}

/* interval 0 would poll in a busy loop: at least a second. */
static void test_parse_interval_0_is_1(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_ok("{" CODES "," URI ",\"expires_in\":600,\"interval\":0}", &authorization);
    assert_int_equal(authorization.interval, 1);
    device_authorization_clear(&authorization);
}

static void test_parse_interval_capped(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_ok("{" CODES "," URI ",\"expires_in\":600,\"interval\":600}", &authorization);
    assert_int_equal(authorization.interval, DEVICE_MAX_INTERVAL);
    device_authorization_clear(&authorization);
    parse_ok("{" CODES "," URI ",\"expires_in\":600,\"interval\":601}", &authorization);
    assert_int_equal(authorization.interval, DEVICE_MAX_INTERVAL);
    device_authorization_clear(&authorization);
    parse_ok("{" CODES "," URI ",\"expires_in\":600,\"interval\":9223372036854775807}",
             &authorization);
    assert_int_equal(authorization.interval, DEVICE_MAX_INTERVAL);
    device_authorization_clear(&authorization);
}

/* However long the provider keeps the code, we poll for a day at most; 0 is a second. */
static void test_parse_expires_in_clamped(void **state)
{
    static const struct {
        const char *value;
        long long expected;
    } cases[] = {
        {"1", 1},
        {"0", 1},
        {"86400", 86400},
        {"86401", DEVICE_MAX_LIFETIME},
        {"31536000", DEVICE_MAX_LIFETIME},
        {"9223372036854775807", DEVICE_MAX_LIFETIME},
        {"18446744073709551615", DEVICE_MAX_LIFETIME},
    };
    struct device_authorization authorization;
    char body[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "{" CODES "," URI ",\"expires_in\":%s}", cases[i].value);
        parse_ok(body, &authorization);
        if (authorization.expires_in != cases[i].expected)
            fail_msg("expires_in %s gave %lld, expected %lld", cases[i].value,
                     authorization.expires_in, cases[i].expected);
        device_authorization_clear(&authorization);
    }
}

static void test_parse_refuses_negative_numbers(void **state)
{
    (void)state;
    parse_refused("{" CODES "," URI ",\"expires_in\":-1}", "expires_in");
    parse_refused("{" CODES "," URI ",\"expires_in\":-9223372036854775808}", "expires_in");
    parse_refused("{" CODES "," URI ",\"expires_in\":600,\"interval\":-5}", "interval");
    parse_refused("{" CODES "," URI ",\"expires_in\":600,\"interval\":-1}", "interval");
}

/* The user code is shown and the device code is sent back: visible ASCII only, no empty one. */
static void test_parse_refuses_invisible_characters_in_codes(void **state)
{
    static const char *const codes[] = {
        "",           "WDJB MJHT",        "WDJB\\tMJHT",       "WDJB\\nMJHT", "WDJB\\u0000MJHT",
        "\\u001b[2J", "WDJB-MJHT\\u00e9", "WDJB-MJHT\xc3\xa9", "\\u007f",
    };
    char body[256];

    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"device_code\":\"dc\",\"user_code\":\"%s\"," URI ",\"expires_in\":600}",
                 codes[i]);
        parse_refused(body, "user_code");
        snprintf(body, sizeof(body),
                 "{\"device_code\":\"%s\",\"user_code\":\"UC\"," URI ",\"expires_in\":600}",
                 codes[i]);
        parse_refused(body, "device_code");
    }
}

/* The caps: USER_CODE_MAX and DEVICE_CODE_MAX bytes are taken, one more is refused. */
static void test_parse_code_lengths(void **state)
{
    static char user_code[USER_CODE_MAX + 2], device_code[DEVICE_CODE_MAX + 2];
    static char body[DEVICE_CODE_MAX + 512];
    struct device_authorization authorization;

    (void)state;
    memset(user_code, 'U', USER_CODE_MAX);
    memset(device_code, 'D', DEVICE_CODE_MAX);
    snprintf(body, sizeof(body),
             "{\"device_code\":\"%s\",\"user_code\":\"%s\"," URI ",\"expires_in\":600}",
             device_code, user_code);
    parse_ok(body, &authorization);
    assert_int_equal(strlen(authorization.user_code), USER_CODE_MAX);
    assert_int_equal(strlen(authorization.device_code), DEVICE_CODE_MAX);
    device_authorization_clear(&authorization);

    user_code[USER_CODE_MAX] = 'U';
    snprintf(body, sizeof(body),
             "{\"device_code\":\"dc\",\"user_code\":\"%s\"," URI ",\"expires_in\":600}", user_code);
    parse_refused(body, "user_code");
    device_code[DEVICE_CODE_MAX] = 'D';
    snprintf(body, sizeof(body),
             "{\"device_code\":\"%s\",\"user_code\":\"UC\"," URI ",\"expires_in\":600}",
             device_code);
    parse_refused(body, "device_code");
}

/* One JSON object and nothing after it but white space. */
static void test_parse_refuses_trailing_garbage(void **state)
{
    struct device_authorization authorization;

    (void)state;
    parse_refused(RFC_ANSWER " x", "JSON object");
    parse_refused(RFC_ANSWER RFC_ANSWER, "JSON object");
    parse_refused(RFC_ANSWER ",", "JSON object");
    parse_refused("[" RFC_ANSWER "]", "JSON object");
    parse_refused("\"" RFC_ANSWER "\"", "JSON object");
    parse_refused("", "JSON object");
    /* Truncated: the length counts, not a NUL further on. */
    assert_int_equal(
        device_authorization_parse(RFC_ANSWER, strlen(RFC_ANSWER) - 1, &authorization, NULL, 0),
        -1);
    assert_nothing_kept(&authorization);
    /* A NUL inside the length is not white space. */
    assert_int_equal(
        device_authorization_parse(RFC_ANSWER "\0", sizeof(RFC_ANSWER), &authorization, NULL, 0),
        -1);
    assert_nothing_kept(&authorization);
    parse_ok(" \r\n\t" RFC_ANSWER " \r\n\t", &authorization);
    device_authorization_clear(&authorization);
}

/* Every member read before the one that fails is given back: nothing half-kept. */
static void test_parse_keeps_nothing_on_late_failure(void **state)
{
    struct device_authorization authorization;
    char why[256];

    (void)state;
    /* Values from an earlier answer: the parser must reset them, not leave them. */
    memset(&authorization, 0, sizeof(authorization));
    authorization.expires_in = 42;
    authorization.interval = 42;
    assert_int_equal(parse_text("{\"device_code\":\"dc\",\"user_code\":\"UC\"," URI
                                ",\"verification_uri_complete\":\"https://idp.example/d?c=UC\","
                                "\"expires_in\":600,\"interval\":-1}",
                                &authorization, why, sizeof(why)),
                     -1);
    assert_nothing_kept(&authorization);
    assert_non_null(strstr(why, "interval"));
}

/* ---- device_poll_judge: an HTTP answer to a poll, through token_answer_judge ---- */

struct poll_answer {
    long status;
    const char *body; /* JSON */
    const char *retry_after;
};

static enum device_poll_verdict judge_answer(const struct poll_answer *given, long *retry_after)
{
    struct https_answer answer = {.completed = true, .status = given->status};
    struct exchange_result result;
    enum device_poll_verdict verdict;
    char body[1024];

    memset(&result, 0, sizeof(result));
    snprintf(body, sizeof(body), "%s", given->body);
    answer.json_content = true;
    answer.body.data = body;
    answer.body.length = strlen(body);
    snprintf(answer.retry_after, sizeof(answer.retry_after), "%s",
             given->retry_after != NULL ? given->retry_after : "");
    token_answer_judge(&answer, T0, &result);
    verdict = device_poll_judge(&result);
    if (retry_after != NULL)
        *retry_after = result.retry_after_seconds;
    exchange_result_clear(&result);
    return verdict;
}

static void assert_verdict(long status, const char *body, enum device_poll_verdict expected,
                           bool continues)
{
    const struct poll_answer answer = {status, body, NULL};
    enum device_poll_verdict verdict = judge_answer(&answer, NULL);

    if (verdict != expected)
        fail_msg("HTTP %ld %s: verdict %s, expected %s", status, body,
                 device_poll_verdict_name(verdict), device_poll_verdict_name(expected));
    assert_int_equal(device_poll_continues(verdict), continues);
}

static void test_judge_authorization_pending(void **state)
{
    (void)state;
    assert_verdict(400, "{\"error\":\"authorization_pending\"}", DEVICE_POLL_PENDING, true);
}

static void test_judge_slow_down(void **state)
{
    (void)state;
    assert_verdict(400, "{\"error\":\"slow_down\",\"error_description\":\"wait\"}",
                   DEVICE_POLL_SLOW_DOWN, true);
}

static void test_judge_access_denied_ends(void **state)
{
    (void)state;
    assert_verdict(400, "{\"error\":\"access_denied\"}", DEVICE_POLL_DENIED, false);
}

static void test_judge_expired_token_ends(void **state)
{
    (void)state;
    assert_verdict(400, "{\"error\":\"expired_token\"}", DEVICE_POLL_EXPIRED, false);
}

/* RFC 6749 5.2's errors end the sign-in: polling on would not mend them. */
static void test_judge_other_oauth_errors_end(void **state)
{
    static const char *const bodies[] = {
        "{\"error\":\"invalid_grant\"}",          "{\"error\":\"invalid_client\"}",
        "{\"error\":\"unauthorized_client\"}",    "{\"error\":\"unsupported_grant_type\"}",
        "{\"error\":\"invalid_request\"}",        "{\"error\":\"Authorization_Pending\"}",
        "{\"error\":\"authorization_pending \"}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        assert_verdict(400, bodies[i], DEVICE_POLL_FAILED, false);
    assert_verdict(401, "{\"error\":\"invalid_client\"}", DEVICE_POLL_FAILED, false);
}

/* GitHub answers every poll with HTTP 200, its RFC 8628 error in the body ("Until the user
 * enters the code, GitHub will respond with a 200 status and an error response"): each is read
 * as the same error sent with a 400. */
static void test_judge_github_errors_with_200(void **state)
{
    (void)state;
    assert_verdict(200,
                   "{\"error\":\"authorization_pending\",\"error_description\":\"The "
                   "authorization request is still pending.\",\"error_uri\":\"https://"
                   "docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-"
                   "device-flow\"}",
                   DEVICE_POLL_PENDING, true);
    assert_verdict(200,
                   "{\"error\":\"slow_down\",\"error_description\":\"Too many requests have "
                   "been made in the same timeframe.\",\"interval\":10}",
                   DEVICE_POLL_SLOW_DOWN, true);
    assert_verdict(200, "{\"error\":\"access_denied\"}", DEVICE_POLL_DENIED, false);
    assert_verdict(200, "{\"error\":\"expired_token\"}", DEVICE_POLL_EXPIRED, false);
    assert_verdict(200, "{\"error\":\"incorrect_device_code\"}", DEVICE_POLL_FAILED, false);
}

/* Any other error in a 200 is still a bad response, as a refresh reads it (the lost-answer
 * rule counts it): reading GitHub's device errors changed nothing there. */
static void test_judge_other_errors_with_200_stay_bad_responses(void **state)
{
    static const char *const bodies[] = {
        "{\"error\":\"invalid_grant\"}",
        "{\"error\":\"bad_refresh_token\",\"error_description\":\"The refresh token "
        "passed is incorrect or expired.\"}",
        "{\"error\":\"bad_verification_code\"}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct https_answer answer = {.completed = true, .status = 200, .json_content = true};
        struct exchange_result result;
        char body[256];

        memset(&result, 0, sizeof(result));
        snprintf(body, sizeof(body), "%s", bodies[i]);
        answer.body.data = body;
        answer.body.length = strlen(body);
        token_answer_judge(&answer, T0, &result);
        assert_int_equal(result.outcome, EXCHANGE_BAD_RESPONSE);
        assert_string_equal(result.reason, "bad-response");
        exchange_result_clear(&result);
    }
}

/* Not an OAuth error, not tokens: nothing to poll on for. */
static void test_judge_bad_answer_ends(void **state)
{
    (void)state;
    assert_verdict(200, "{\"token_type\":\"bearer\"}", DEVICE_POLL_FAILED, false);
    assert_verdict(400, "{\"message\":\"bad\"}", DEVICE_POLL_FAILED, false);
    assert_verdict(302, "{}", DEVICE_POLL_FAILED, false);
}

static void test_judge_5xx_continues(void **state)
{
    (void)state;
    assert_verdict(500, "{\"error\":\"server_error\"}", DEVICE_POLL_UNREACHABLE, true);
    assert_verdict(502, "", DEVICE_POLL_UNREACHABLE, true);
    assert_verdict(504, "{\"error\":\"access_denied\"}", DEVICE_POLL_UNREACHABLE, true);
}

/* A 429 (or 503) is busy whatever its body, with its Retry-After for next_wait. */
static void test_judge_429_with_retry_after(void **state)
{
    const struct poll_answer answers[] = {
        {429, "{\"error\":\"slow_down\"}", "30"},
        {429, "", "Tue, 14 Nov 2023 22:13:50 GMT"},
        {503, "{\"error\":\"temporarily_unavailable\"}", "30"},
    };
    long retry_after = -1;

    (void)state;
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        assert_int_equal(judge_answer(&answers[i], &retry_after), DEVICE_POLL_UNREACHABLE);
        assert_int_equal(retry_after, 30);
    }
}

static void test_judge_429_without_retry_after(void **state)
{
    const struct poll_answer answers[] = {
        {429, "{\"error\":\"slow_down\"}", NULL},
        {429, "", "soon"},
    };
    long retry_after = -1;

    (void)state;
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        assert_int_equal(judge_answer(&answers[i], &retry_after), DEVICE_POLL_UNREACHABLE);
        assert_int_equal(retry_after, 0);
    }
}

/* No answer at all (not sent, or sent and lost): ask again later. */
static void test_judge_no_answer_continues(void **state)
{
    struct exchange_result result;

    (void)state;
    memset(&result, 0, sizeof(result));
    result.outcome = EXCHANGE_NOT_SENT;
    snprintf(result.reason, sizeof(result.reason), "network");
    assert_int_equal(device_poll_judge(&result), DEVICE_POLL_UNREACHABLE);
    result.outcome = EXCHANGE_UNKNOWN;
    snprintf(result.reason, sizeof(result.reason), "timeout");
    assert_int_equal(device_poll_judge(&result), DEVICE_POLL_UNREACHABLE);
    assert_true(device_poll_continues(DEVICE_POLL_UNREACHABLE));
}

/* The tokens end the polling. */
static void test_judge_tokens(void **state)
{
    (void)state;
    assert_verdict(200, "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":3600}",
                   DEVICE_POLL_TOKENS, false);
}

/* The names travel in replies and status lines: each one reads back as its verdict. */
static void test_verdict_names_round_trip(void **state)
{
    const enum device_poll_verdict verdicts[] = {
        DEVICE_POLL_TOKENS,  DEVICE_POLL_PENDING,     DEVICE_POLL_SLOW_DOWN, DEVICE_POLL_DENIED,
        DEVICE_POLL_EXPIRED, DEVICE_POLL_UNREACHABLE, DEVICE_POLL_FAILED,
    };
    enum device_poll_verdict back;

    (void)state;
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        back = DEVICE_POLL_FAILED;
        assert_true(device_poll_verdict_from_name(device_poll_verdict_name(verdicts[i]), &back));
        assert_int_equal(back, verdicts[i]);
    }
    assert_string_equal(device_poll_verdict_name(DEVICE_POLL_PENDING), "authorization-pending");
    assert_string_equal(device_poll_verdict_name(DEVICE_POLL_SLOW_DOWN), "slow-down");
    assert_false(device_poll_verdict_from_name("slow_down", &back));
    assert_false(device_poll_verdict_from_name("", &back));
    assert_false(device_poll_verdict_from_name(NULL, &back));
}

/* ---- device_poll_next_wait ---- */

static void test_wait_pending_keeps_interval(void **state)
{
    long interval = 7;

    (void)state;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_PENDING, 0), 7);
        assert_int_equal(interval, 7);
    }
}

/* 3.5: "the interval MUST be increased by 5 seconds for this and all subsequent requests". */
static void test_wait_slow_down_adds_5_for_good(void **state)
{
    long interval = 5;

    (void)state;
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_SLOW_DOWN, 0), 10);
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_PENDING, 0), 10);
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_SLOW_DOWN, 0), 15);
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_PENDING, 0), 15);
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_PENDING, 0), 15);
    assert_int_equal(interval, 15);
}

static void test_wait_slow_down_capped(void **state)
{
    long interval = DEVICE_MAX_INTERVAL - 2;

    (void)state;
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_SLOW_DOWN, 0),
                     DEVICE_MAX_INTERVAL);
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_SLOW_DOWN, 0),
                     DEVICE_MAX_INTERVAL);
    assert_int_equal(interval, DEVICE_MAX_INTERVAL);
}

/* No answer and no Retry-After: the interval doubles, for good, up to the cap. */
static void test_wait_unreachable_doubles_to_cap(void **state)
{
    const long expected[] = {10, 20, 40, 80, 160, 320, 600, 600};
    long interval = 5;

    (void)state;
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_UNREACHABLE, 0), expected[i]);
        assert_int_equal(interval, expected[i]);
    }
    /* The provider back: the doubled interval stands. */
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_PENDING, 0), 600);
}

/* A Retry-After longer than the interval is waited once; the interval stays. */
static void test_wait_retry_after_longer_waited_once(void **state)
{
    long interval = 5;

    (void)state;
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_UNREACHABLE, 120), 120);
    assert_int_equal(interval, 5);
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_PENDING, 0), 5);
}

/* A Retry-After shorter than the interval: the interval, which does not double. */
static void test_wait_retry_after_shorter_keeps_interval(void **state)
{
    long interval = 20;

    (void)state;
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_UNREACHABLE, 3), 20);
    assert_int_equal(interval, 20);
}

/* An interval that was never set (0, or a negative one from a broken status line) starts at
 * RFC 8628's default rather than polling without a pause. */
static void test_wait_unset_interval_is_default(void **state)
{
    long interval = 0;

    (void)state;
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_PENDING, 0), 5);
    interval = -3;
    assert_int_equal(device_poll_next_wait(&interval, DEVICE_POLL_SLOW_DOWN, 0), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rfc_example),
        cmocka_unit_test(test_parse_ignores_unknown_members),
        cmocka_unit_test(test_parse_google_verification_url),
        cmocka_unit_test(test_parse_verification_uri_wins_over_url),
        cmocka_unit_test(test_parse_missing_device_code),
        cmocka_unit_test(test_parse_missing_user_code),
        cmocka_unit_test(test_parse_missing_verification_uri),
        cmocka_unit_test(test_parse_missing_expires_in),
        cmocka_unit_test(test_parse_wrong_types),
        cmocka_unit_test(test_parse_refuses_http_and_hostless_addresses),
        cmocka_unit_test(test_parse_refuses_non_ascii_addresses),
        cmocka_unit_test(test_parse_refuses_userinfo),
        cmocka_unit_test(test_parse_accepts_at_sign_in_path_and_query),
        cmocka_unit_test(test_parse_interval_absent_is_5),
        cmocka_unit_test(test_parse_interval_0_is_1),
        cmocka_unit_test(test_parse_interval_capped),
        cmocka_unit_test(test_parse_expires_in_clamped),
        cmocka_unit_test(test_parse_refuses_negative_numbers),
        cmocka_unit_test(test_parse_refuses_invisible_characters_in_codes),
        cmocka_unit_test(test_parse_code_lengths),
        cmocka_unit_test(test_parse_refuses_trailing_garbage),
        cmocka_unit_test(test_parse_keeps_nothing_on_late_failure),
        cmocka_unit_test(test_judge_authorization_pending),
        cmocka_unit_test(test_judge_slow_down),
        cmocka_unit_test(test_judge_access_denied_ends),
        cmocka_unit_test(test_judge_expired_token_ends),
        cmocka_unit_test(test_judge_other_oauth_errors_end),
        cmocka_unit_test(test_judge_bad_answer_ends),
        cmocka_unit_test(test_judge_github_errors_with_200),
        cmocka_unit_test(test_judge_other_errors_with_200_stay_bad_responses),
        cmocka_unit_test(test_judge_5xx_continues),
        cmocka_unit_test(test_judge_429_with_retry_after),
        cmocka_unit_test(test_judge_429_without_retry_after),
        cmocka_unit_test(test_judge_no_answer_continues),
        cmocka_unit_test(test_judge_tokens),
        cmocka_unit_test(test_verdict_names_round_trip),
        cmocka_unit_test(test_wait_pending_keeps_interval),
        cmocka_unit_test(test_wait_slow_down_adds_5_for_good),
        cmocka_unit_test(test_wait_slow_down_capped),
        cmocka_unit_test(test_wait_unreachable_doubles_to_cap),
        cmocka_unit_test(test_wait_retry_after_longer_waited_once),
        cmocka_unit_test(test_wait_retry_after_shorter_keeps_interval),
        cmocka_unit_test(test_wait_unset_interval_is_default),
    };

    return cmocka_run_group_tests_name("test_device_grant", tests, NULL, NULL);
}
