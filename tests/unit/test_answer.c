#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/answer.h"

/* What an answer without a Snyk instance= gives: the module keeps its configured URL. */
#define NO_INSTANCE NULL
#define ISSUER "https://app.snyk.io"

static const struct answer_expectations plain = {
    .state = "S1",
    .issuer = NULL,
    .snyk_instances = false,
};

static const struct answer_expectations with_issuer = {
    .state = "S1",
    .issuer = ISSUER,
    .snyk_instances = false,
};

static const struct answer_expectations snyk = {
    .state = "S1",
    .issuer = NULL,
    .snyk_instances = true,
};

/* Expects answer to be accepted with the given code and instance= (NULL: none). */
static void accepts(const char *answer, const struct answer_expectations *expect, const char *code,
                    const char *instance)
{
    struct parsed_answer parsed;
    int rv = answer_parse(answer, expect, &parsed);

    if (rv != 0)
        print_error("'%s' refused: %s\n", answer, parsed.message);
    assert_int_equal(rv, 0);
    assert_non_null(parsed.code);
    assert_string_equal(parsed.code, code);
    if (instance == NULL)
        assert_null(parsed.instance);
    else
        assert_string_equal(parsed.instance, instance);
    parsed_answer_clear(&parsed);
    assert_null(parsed.code);
    assert_null(parsed.instance);
}

/* Expects answer to be refused; the message must hold needle (when not NULL) and nothing may
 * be left for the caller to free. */
static void refuses(const char *answer, const struct answer_expectations *expect,
                    const char *needle)
{
    struct parsed_answer parsed;
    int rv = answer_parse(answer, expect, &parsed);

    if (rv == 0) {
        print_error("'%s' accepted with code '%s'\n", answer, parsed.code);
        parsed_answer_clear(&parsed);
    }
    assert_int_equal(rv, -1);
    assert_null(parsed.code);
    assert_null(parsed.instance);
    assert_true(parsed.message[0] != '\0');
    if (needle != NULL && strstr(parsed.message, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", parsed.message, needle);
}

static void test_bare_code(void **state)
{
    (void)state;
    accepts("abc", &plain, "abc", NO_INSTANCE);
    accepts("  abc-DEF_123.~  ", &plain, "abc-DEF_123.~", NO_INSTANCE);
    refuses("two words", &plain, NULL);
    refuses("", &plain, NULL);
    refuses("   ", &plain, NULL);
}

/* RFC 6749 allows '=' in a code (base64 padding): only a paste that starts with a redirect
 * parameter is read as a query. */
static void test_bare_code_with_equals(void **state)
{
    (void)state;
    accepts("abc=", &plain, "abc=", NO_INSTANCE);
    accepts("  YWJj==  ", &plain, "YWJj==", NO_INSTANCE);
    refuses("code=abc=&state=S2", &plain, "state");
}

static void test_redirect_forms(void **state)
{
    (void)state;
    accepts("http://localhost:8080/cb?code=abc&state=S1", &plain, "abc", NO_INSTANCE);
    accepts(" http://localhost:8080/cb?state=S1&code=abc ", &plain, "abc", NO_INSTANCE);
    accepts("?code=abc&state=S1", &plain, "abc", NO_INSTANCE);
    accepts("code=abc&state=S1", &plain, "abc", NO_INSTANCE);
    accepts("https://app.snyk.io/oauth/callback?code=abc&state=S1&other=x#frag", &plain, "abc",
            NO_INSTANCE);
    /* The fragment is not part of the query. */
    accepts("https://x/cb?code=abc&state=S1#frag", &plain, "abc", NO_INSTANCE);
    accepts("https://x/cb?code=abc&state=S1#&state=S2", &plain, "abc", NO_INSTANCE);
}

static void test_code_percent_decoded(void **state)
{
    (void)state;
    accepts("https://x/cb?code=a%2Fb&state=S1", &plain, "a/b", NO_INSTANCE);
    accepts("code=a%2fb%3D&state=S%31", &plain, "a/b=", NO_INSTANCE);
}

static void test_state_checked(void **state)
{
    (void)state;
    refuses("https://x/cb?code=abc&state=S2", &plain, "state");
    refuses("https://x/cb?code=abc&state=S", &plain, "state");
    refuses("https://x/cb?code=abc&state=S1x", &plain, "state");
    refuses("https://x/cb?code=abc&state=", &plain, "state");
    refuses("https://x/cb?code=abc", &plain, "state");
    refuses("code=abc", &plain, "state");
}

static void test_provider_error(void **state)
{
    (void)state;
    refuses("https://x/cb?error=access_denied&error_description=User+denied&state=S1", &plain,
            "access_denied");
    refuses("https://x/cb?error=access_denied&error_description=User+denied&state=S1", &plain,
            "User denied");
    refuses("https://x/cb?error=access_denied&state=S1", &plain, "access_denied");
    /* Provider text reaches the user only as printable ASCII. */
    {
        struct parsed_answer parsed;
        assert_int_equal(
            answer_parse("https://x/cb?error=x%C3%A9&error_description=caf%C3%A9&state=S1", &plain,
                         &parsed),
            -1);
        assert_non_null(strstr(parsed.message, "x??: caf??"));
        for (const char *p = parsed.message; *p != '\0'; p++)
            assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    }
    /* A control byte in the description is refused before it could reach the user. */
    refuses("https://x/cb?error=x&error_description=a%0Db%1Bc&state=S1", &plain, NULL);
}

static void test_issuer(void **state)
{
    (void)state;
    accepts("https://x/cb?code=abc&state=S1&iss=https%3A%2F%2Fapp.snyk.io", &with_issuer, "abc",
            NO_INSTANCE);
    refuses("https://x/cb?code=abc&state=S1&iss=https%3A%2F%2Fevil.example", &with_issuer,
            "issuer");
    refuses("https://x/cb?code=abc&state=S1&iss=https%3A%2F%2Fapp.snyk.io%2F", &with_issuer,
            "issuer");
    accepts("https://x/cb?code=abc&state=S1", &with_issuer, "abc", NO_INSTANCE);
    accepts("https://x/cb?code=abc&state=S1&iss=https%3A%2F%2Fevil.example", &plain, "abc",
            NO_INSTANCE);
}

static void test_repeated_parameters(void **state)
{
    (void)state;
    refuses("https://x/cb?code=abc&code=def&state=S1", &plain, "code");
    refuses("https://x/cb?code=abc&state=S1&state=S1", &plain, "state");
    refuses("https://x/cb?code=abc&state=S1&iss=a&iss=a", &with_issuer, "iss");
    refuses("https://x/cb?code=abc&state=S1&instance=api.snyk.io&instance=api.eu.snyk.io", &snyk,
            "instance");
}

static void test_malformed_input(void **state)
{
    char *long_answer;

    (void)state;
    refuses("abc\x01", &plain, NULL);
    refuses("code=abc\x01&state=S1", &plain, NULL);
    refuses("abc\tdef", &plain, NULL);
    refuses("abc\n", &plain, NULL);
    refuses("abc\x7f", &plain, NULL);

    /* A redirect address padded with an unknown parameter to exactly the limit is fine; one
     * byte more is refused for its length alone. */
    long_answer = malloc(ANSWER_MAX_BYTES + 2);
    assert_non_null(long_answer);
    strcpy(long_answer, "code=abc&state=S1&pad=");
    memset(long_answer + strlen(long_answer), 'a', ANSWER_MAX_BYTES - strlen(long_answer));
    long_answer[ANSWER_MAX_BYTES] = '\0';
    assert_int_equal(strlen(long_answer), ANSWER_MAX_BYTES);
    accepts(long_answer, &plain, "abc", NO_INSTANCE);
    long_answer[ANSWER_MAX_BYTES] = 'a';
    long_answer[ANSWER_MAX_BYTES + 1] = '\0';
    refuses(long_answer, &plain, "too long");
    memset(long_answer, 'a', ANSWER_MAX_BYTES + 1);
    refuses(long_answer, &plain, "too long");
    free(long_answer);
}

static void test_encoded_control_bytes_in_code(void **state)
{
    (void)state;
    refuses("https://x/cb?code=a%0Ab&state=S1", &plain, NULL);
    refuses("https://x/cb?code=a%00b&state=S1", &plain, NULL);
    refuses("https://x/cb?code=%00&state=S1", &plain, NULL);
    refuses("https://x/cb?code=a%20b&state=S1", &plain, NULL);
    refuses("https://x/cb?code=a+b&state=S1", &plain, NULL);
    refuses("https://x/cb?code=a%7Fb&state=S1", &plain, NULL);
    refuses("https://x/cb?code=a%C3%A9&state=S1", &plain, NULL);
    refuses("https://x/cb?code=&state=S1", &plain, NULL);
}

static void test_address_without_query(void **state)
{
    (void)state;
    refuses("http://localhost:8080/cb", &plain, NULL);
    refuses("https://x/cb#code=abc&state=S1", &plain, NULL);
    refuses("https://x/cb?", &plain, NULL);
    refuses("https://x/cb?foo=bar&state=S1", &plain, "code");
    /* An address is never read as a bare "code=...&state=..." query. */
    refuses("https://x/cb&code=abc&state=S1", &plain, "code");
}

/* RFC 3986 section 3.5: a '?' after the '#' belongs to the fragment; the address has no query,
 * just like "https://x/cb#code=abc&state=S1" above, and must be refused the same way. */
static void test_question_mark_inside_fragment(void **state)
{
    (void)state;
    refuses("https://x/cb#frag?code=abc&state=S1", &plain, NULL);
}

static void test_snyk_instance_accepted(void **state)
{
    (void)state;
    /* The helper checks instance= and hands it on as pasted; the module derives the URL. */
    accepts("https://x/cb?code=abc&state=S1&instance=api.eu.snyk.io", &snyk, "abc",
            "api.eu.snyk.io");
    accepts("https://x/cb?code=abc&state=S1&instance=https%3A%2F%2Fapi.snykgov.io", &snyk, "abc",
            "https://api.snykgov.io");
    accepts("https://x/cb?code=abc&state=S1&instance=API.US.SNYK.IO", &snyk, "abc",
            "API.US.SNYK.IO");
    accepts("https://x/cb?code=abc&state=S1&instance=api.snyk.io", &snyk, "abc", "api.snyk.io");
    /* Without instance= the configured endpoint stays. */
    accepts("https://x/cb?code=abc&state=S1", &snyk, "abc", NO_INSTANCE);
    accepts("abc", &snyk, "abc", NO_INSTANCE);
}

static void test_snyk_instance_refused(void **state)
{
    static const char *const bad[] = {
        "evil.com",
        "api.snyk.io.evil.com",
        "app.snyk.io",
        "api.evil.com%2Fsnyk.io",
        "api..snyk.io",
        "api.snyk.io%3A8443",
        "https%3A%2F%2Fapi.snyk.io%2Fx",
        "http%3A%2F%2Fapi.snyk.io",
        "api.evilsnyk.io",
        "api.snyk.io.",
        "api.snyk.io%40evil.com",
        "",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *answer = g_strdup_printf("https://x/cb?code=abc&state=S1&instance=%s", bad[i]);
        refuses(answer, &snyk, "instance");
        g_free(answer);
    }
}

static void test_snyk_instance_ignored_when_off(void **state)
{
    (void)state;
    accepts("https://x/cb?code=abc&state=S1&instance=api.eu.snyk.io", &plain, "abc", NO_INSTANCE);
    accepts("https://x/cb?code=abc&state=S1&instance=evil.com", &plain, "abc", NO_INSTANCE);
}

static void test_missing_expectations(void **state)
{
    struct answer_expectations no_state = plain;

    (void)state;
    no_state.state = NULL;
    refuses("abc", &no_state, NULL);
    refuses(NULL, &plain, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare_code),
        cmocka_unit_test(test_bare_code_with_equals),
        cmocka_unit_test(test_redirect_forms),
        cmocka_unit_test(test_code_percent_decoded),
        cmocka_unit_test(test_state_checked),
        cmocka_unit_test(test_provider_error),
        cmocka_unit_test(test_issuer),
        cmocka_unit_test(test_repeated_parameters),
        cmocka_unit_test(test_malformed_input),
        cmocka_unit_test(test_encoded_control_bytes_in_code),
        cmocka_unit_test(test_address_without_query),
        cmocka_unit_test(test_question_mark_inside_fragment),
        cmocka_unit_test(test_snyk_instance_accepted),
        cmocka_unit_test(test_snyk_instance_refused),
        cmocka_unit_test(test_snyk_instance_ignored_when_off),
        cmocka_unit_test(test_missing_expectations),
    };

    return cmocka_run_group_tests_name("test_answer", tests, NULL, NULL);
}
