#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "oauth/token_response.h"

static int parse(const char *body, struct token_set *tokens, char *why, size_t why_size)
{
    return token_response_parse(body, strlen(body), tokens, why, why_size);
}

static void accepts(const char *body, struct token_set *tokens)
{
    char why[128] = "";
    int rv = parse(body, tokens, why, sizeof(why));

    if (rv != 0)
        print_error("refused (%s): %s\n", why, body);
    assert_int_equal(rv, 0);
    assert_non_null(tokens->access_token);
}

/* Expects a refusal with a reason and nothing left in the token set. */
static void refuses_length(const char *body, size_t length)
{
    struct token_set tokens;
    char why[128] = "";

    /* Poison the set to see that the parser clears it. */
    memset(&tokens, 0x5a, sizeof(tokens));
    if (token_response_parse(body, length, &tokens, why, sizeof(why)) != -1) {
        token_set_clear(&tokens);
        fail_msg("accepted %zu bytes: %.*s", length, (int)(length > 200 ? 200 : length), body);
    }
    assert_true(why[0] != '\0');
    assert_null(tokens.access_token);
    assert_null(tokens.refresh_token);
    assert_null(tokens.scope);
    assert_int_equal(tokens.expires_in, 0);
    assert_int_equal(tokens.refresh_expires_in, 0);
}

static void refuses(const char *body)
{
    refuses_length(body, strlen(body));
}

static void test_full_snyk_response(void **state)
{
    struct token_set tokens;

    (void)state;
    accepts("{\"access_token\":\"at\",\"expires_in\":3599,\"refresh_token\":\"rt\","
            "\"refresh_expires_in\":15552000,\"token_type\":\"bearer\",\"scope\":\"org.read\","
            "\"bot_id\":\"x\"}",
            &tokens);
    assert_string_equal(tokens.access_token, "at");
    assert_string_equal(tokens.refresh_token, "rt");
    assert_string_equal(tokens.scope, "org.read");
    assert_int_equal(tokens.expires_in, 3599);
    assert_int_equal(tokens.refresh_expires_in, 15552000);
    token_set_clear(&tokens);
    assert_null(tokens.access_token);
    assert_null(tokens.refresh_token);
    assert_null(tokens.scope);
    assert_int_equal(tokens.expires_in, 0);
    assert_int_equal(tokens.refresh_expires_in, 0);
}

static void test_token_type_case(void **state)
{
    struct token_set tokens;

    (void)state;
    accepts("{\"access_token\":\"at\",\"token_type\":\"Bearer\"}", &tokens);
    token_set_clear(&tokens);
    accepts("{\"access_token\":\"at\",\"token_type\":\"BEARER\"}", &tokens);
    token_set_clear(&tokens);
}

static void test_minimal_response(void **state)
{
    struct token_set tokens;

    (void)state;
    accepts("{\"token_type\":\"bearer\",\"access_token\":\"a.b-c_d~e+f/g=\"}", &tokens);
    assert_string_equal(tokens.access_token, "a.b-c_d~e+f/g=");
    assert_null(tokens.refresh_token);
    assert_null(tokens.scope);
    assert_int_equal(tokens.expires_in, 0);
    assert_int_equal(tokens.refresh_expires_in, 0);
    token_set_clear(&tokens);

    /* null members count as absent. */
    accepts("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"refresh_token\":null,"
            "\"expires_in\":null,\"scope\":null}",
            &tokens);
    assert_null(tokens.refresh_token);
    assert_int_equal(tokens.expires_in, 0);
    token_set_clear(&tokens);
}

static void test_whitespace_around_object(void **state)
{
    struct token_set tokens;

    (void)state;
    accepts("{\"access_token\":\"at\",\"token_type\":\"bearer\"} \r\n\t\n", &tokens);
    token_set_clear(&tokens);
    accepts(" \n{ \"access_token\" : \"at\" ,\n \"token_type\" : \"bearer\" }", &tokens);
    token_set_clear(&tokens);
}

static void test_refuses_non_objects(void **state)
{
    (void)state;
    refuses("");
    refuses("not json");
    refuses("[{\"access_token\":\"at\",\"token_type\":\"bearer\"}]");
    refuses("\"at\"");
    refuses("null");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\"");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\"}x");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\"} {}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\"},");
    /* Strict JSON: no single quotes, no trailing comma. */
    refuses("{'access_token':'at','token_type':'bearer'}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",}");
}

static void test_refuses_trailing_nul(void **state)
{
    static const char garbage[] = "{\"access_token\":\"at\",\"token_type\":\"bearer\"}\0garbage";

    (void)state;
    refuses_length(garbage, sizeof(garbage) - 1);
}

/* A NUL byte is not whitespace: "{...}\0" is not "one JSON object with nothing but whitespace
 * after it" (token_response.c, parse_object). */
static void test_refuses_trailing_nul_only(void **state)
{
    static const char nul[] = "{\"access_token\":\"at\",\"token_type\":\"bearer\"}\0";
    static const char spaced_nul[] = "{\"access_token\":\"at\",\"token_type\":\"bearer\"} \0 ";

    (void)state;
    refuses_length(nul, sizeof(nul) - 1);
    refuses_length(spaced_nul, sizeof(spaced_nul) - 1);
}

static void test_refuses_bad_access_token(void **state)
{
    (void)state;
    refuses("{\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":\"\",\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":null,\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":42,\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":[\"at\"],\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":\"a t\",\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":\"a\\nt\",\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":\"a\\u0000t\",\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":\"caf\\u00e9\",\"token_type\":\"bearer\"}");
}

static void test_refuses_bad_token_type(void **state)
{
    (void)state;
    refuses("{\"access_token\":\"at\",\"token_type\":\"mac\"}");
    refuses("{\"access_token\":\"at\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":null}");
    refuses("{\"access_token\":\"at\",\"token_type\":1}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer \"}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearerx\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"\"}");
}

/* JSON strings may hold U+0000; "bearer\u0000mac" is not the token type "bearer". */
static void test_refuses_token_type_with_nul(void **state)
{
    (void)state;
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\\u0000mac\"}");
}

static void test_refuses_bad_lifetimes(void **state)
{
    struct token_set tokens;

    (void)state;
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":\"3600\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":-1}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":1e30}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":3600e0}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\","
            "\"expires_in\":99999999999999999999}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\","
            "\"expires_in\":9223372036854775807}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\","
            "\"expires_in\":-99999999999999999999}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":1.5}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":true}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"refresh_expires_in\":-5}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"refresh_expires_in\":\"1\"}");
    /* Ten years (of 366 days) is the longest lifetime believed. */
    accepts("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":316224000,"
            "\"refresh_expires_in\":0}",
            &tokens);
    assert_int_equal(tokens.expires_in, 316224000);
    token_set_clear(&tokens);
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":316224001}");
}

static void test_refuses_bad_refresh_token_and_scope(void **state)
{
    (void)state;
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"refresh_token\":\"r t\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"refresh_token\":\"\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"refresh_token\":7}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"scope\":\"a\\u0001b\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"scope\":[\"a\"]}");
}

/* {"access_token":"at","token_type":"bearer","x":[[[...]]]} with depth arrays under x. */
static char *nested_body(int depth)
{
    GString *body = g_string_new("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"x\":");

    for (int i = 0; i < depth; i++)
        g_string_append_c(body, '[');
    for (int i = 0; i < depth; i++)
        g_string_append_c(body, ']');
    g_string_append_c(body, '}');
    return g_string_free(body, FALSE);
}

/* Values of the wrong JSON type: objects, arrays, booleans and null where strings or
 * numbers belong. */
static void test_refuses_wrong_types(void **state)
{
    (void)state;
    refuses("{\"access_token\":{\"value\":\"at\"},\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":[\"at\"],\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":[\"bearer\"]}");
    refuses("{\"access_token\":true,\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":null,\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":true}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"expires_in\":{}}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"refresh_token\":7}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"scope\":[\"a\"]}");
}

/* json-c keeps the last of repeated keys; that last value is what gets checked, so a bad
 * value cannot hide behind a good one. */
static void test_repeated_keys_last_one_checked(void **state)
{
    struct token_set tokens;
    char why[128];

    (void)state;
    refuses("{\"access_token\":\"ok\",\"access_token\":\"a b\",\"token_type\":\"bearer\"}");
    refuses("{\"access_token\":\"at\",\"token_type\":\"bearer\",\"token_type\":\"mac\"}");
    assert_int_equal(
        token_response_parse("{\"access_token\":\"a b\",\"access_token\":\"ok\","
                             "\"token_type\":\"bearer\"}",
                             strlen("{\"access_token\":\"a b\",\"access_token\":\"ok\","
                                    "\"token_type\":\"bearer\"}"),
                             &tokens, why, sizeof(why)),
        0);
    assert_string_equal(tokens.access_token, "ok");
    token_set_clear(&tokens);
}

static void test_nesting_limit(void **state)
{
    struct token_set tokens;
    char *body;

    (void)state;
    /* The object and seven arrays in an unknown member: eight levels, the most allowed... */
    body = nested_body(7);
    accepts(body, &tokens);
    token_set_clear(&tokens);
    g_free(body);
    /* ...one more, and deeper, is not parsed at all. */
    body = nested_body(8);
    refuses(body);
    g_free(body);
    body = nested_body(9);
    refuses(body);
    g_free(body);
    body = nested_body(100);
    refuses(body);
    g_free(body);
}

static void test_token_size_limit(void **state)
{
    struct token_set tokens;
    size_t size = 17 * 1024;
    GString *body;

    (void)state;
    body = g_string_new("{\"token_type\":\"bearer\",\"access_token\":\"");
    for (size_t i = 0; i < size; i++)
        g_string_append_c(body, 'a');
    g_string_append(body, "\"}");
    refuses(body->str);
    g_string_free(body, TRUE);

    /* Exactly the limit is fine. */
    body = g_string_new("{\"token_type\":\"bearer\",\"access_token\":\"");
    for (size_t i = 0; i < TOKEN_MAX_BYTES; i++)
        g_string_append_c(body, 'a');
    g_string_append(body, "\"}");
    accepts(body->str, &tokens);
    assert_int_equal(strlen(tokens.access_token), TOKEN_MAX_BYTES);
    token_set_clear(&tokens);
    g_string_free(body, TRUE);
}

static void test_why_is_bounded(void **state)
{
    struct token_set tokens;
    char why[8];

    (void)state;
    memset(why, 'x', sizeof(why));
    assert_int_equal(parse("nope", &tokens, why, sizeof(why)), -1);
    assert_int_equal(strlen(why), sizeof(why) - 1);
    assert_null(tokens.access_token);
}

/* UTF-8 text in strings, which json-c 0.17 and later refuse in strict mode unescaped (Debian
 * 13): keys and values, two-, three- and four-byte characters, after an escaped quote. */
static void test_utf8_text_parses(void **state)
{
    static const char body[] =
        "{\"a\":\"r\xc3\xa8gles\",\"b\xc3\xa8\":\"\xe2\x82\xac \xf0\x9f\x98\x80\","
        "\"c\":\"x\\\"\xc3\xa8\\\\\"}";
    struct json_object *root = json_parse_strict_object(body, strlen(body));
    struct json_object *value = NULL;

    (void)state;
    assert_non_null(root);
    assert_true(json_object_object_get_ex(root, "a", &value));
    assert_string_equal(json_object_get_string(value), "r\xc3\xa8gles");
    assert_true(json_object_object_get_ex(root, "b\xc3\xa8", &value));
    assert_string_equal(json_object_get_string(value), "\xe2\x82\xac \xf0\x9f\x98\x80");
    assert_true(json_object_object_get_ex(root, "c", &value));
    assert_string_equal(json_object_get_string(value), "x\"\xc3\xa8\\");
    json_wipe_and_put(root);
}

static void test_invalid_utf8_refused(void **state)
{
    static const char *const bodies[] = {"{\"a\":\"\xc3\"}", "{\"a\":\"\xc3\x28\"}",
                                         "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xff\"}",
                                         /* valid UTF-8 escaped by a backslash: invalid JSON
                                          * (fuzz_token_response's first finding) */
                                         "[{\"1_u`\\\xca\x81", "{\"a\":\"\\\xca\x81\"}"};

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        assert_null(json_parse_strict_object(bodies[i], strlen(bodies[i])));
}

static void test_error_description_in_french(void **state)
{
    static const char body[] = "{\"error\":\"access_denied\",\"error_description\":\"Acc\xc3\xa8s "
                               "refus\xc3\xa9\"}";
    char code[64] = "", message[256] = "";

    (void)state;
    assert_int_equal(
        token_error_parse(body, strlen(body), code, sizeof(code), message, sizeof(message)), 0);
    assert_string_equal(code, "access_denied");
    assert_non_null(strstr(message, "access_denied: Acc"));
}

static void test_error_with_description(void **state)
{
    static const char body[] = "{\"error\":\"invalid_grant\",\"error_description\":\"Refresh token "
                               "used\"}";
    char code[64] = "", message[256] = "";

    (void)state;
    assert_int_equal(
        token_error_parse(body, strlen(body), code, sizeof(code), message, sizeof(message)), 0);
    assert_string_equal(code, "invalid_grant");
    assert_string_equal(message, "invalid_grant: Refresh token used");
}

static void test_error_without_description(void **state)
{
    static const char body[] = "{\"error\":\"invalid_client\"}";
    static const char null_description[] = "{\"error\":\"invalid_client\",\"error_description\":"
                                           "null}";
    char code[64] = "", message[256] = "";

    (void)state;
    assert_int_equal(
        token_error_parse(body, strlen(body), code, sizeof(code), message, sizeof(message)), 0);
    assert_string_equal(code, "invalid_client");
    assert_string_equal(message, "invalid_client");
    assert_int_equal(token_error_parse(null_description, strlen(null_description), code,
                                       sizeof(code), message, sizeof(message)),
                     0);
    assert_string_equal(message, "invalid_client");
}

static void test_error_control_characters_replaced(void **state)
{
    static const char body[] = "{\"error\":\"bad\\u0007code\",\"error_description\":"
                               "\"line one\\nline two\\r\\u001b[31mred\\tcaf\\u00e9\"}";
    char code[64] = "", message[256] = "";

    (void)state;
    assert_int_equal(
        token_error_parse(body, strlen(body), code, sizeof(code), message, sizeof(message)), 0);
    for (const char *p = message; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            fail_msg("byte 0x%02x in message '%s'", (unsigned char)*p, message);
    }
    for (const char *p = code; *p != '\0'; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    assert_string_equal(code, "bad?code");
    assert_true(g_str_has_prefix(message, "bad?code: line one?line two??[31mred?caf"));
}

static void test_error_bounded(void **state)
{
    static const char body[] = "{\"error\":\"invalid_grant\",\"error_description\":\"Refresh token "
                               "used\"}";
    char code[8], message[16];

    (void)state;
    assert_int_equal(
        token_error_parse(body, strlen(body), code, sizeof(code), message, sizeof(message)), 0);
    assert_string_equal(code, "invalid");
    assert_int_equal(strlen(message), sizeof(message) - 1);
}

static void test_error_refusals(void **state)
{
    static const char *const bodies[] = {
        "<html>502 Bad Gateway</html>",        "",
        "{\"error_description\":\"no code\"}", "{\"error\":42}",
        "[{\"error\":\"invalid_grant\"}]",     "{\"error\":\"invalid_grant\"} trailing",
    };
    char code[64], message[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        if (token_error_parse(bodies[i], strlen(bodies[i]), code, sizeof(code), message,
                              sizeof(message)) != -1)
            fail_msg("accepted '%s'", bodies[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_snyk_response),
        cmocka_unit_test(test_utf8_text_parses),
        cmocka_unit_test(test_invalid_utf8_refused),
        cmocka_unit_test(test_error_description_in_french),
        cmocka_unit_test(test_token_type_case),
        cmocka_unit_test(test_minimal_response),
        cmocka_unit_test(test_whitespace_around_object),
        cmocka_unit_test(test_refuses_non_objects),
        cmocka_unit_test(test_refuses_trailing_nul),
        cmocka_unit_test(test_refuses_trailing_nul_only),
        cmocka_unit_test(test_refuses_bad_access_token),
        cmocka_unit_test(test_refuses_bad_token_type),
        cmocka_unit_test(test_refuses_token_type_with_nul),
        cmocka_unit_test(test_refuses_bad_lifetimes),
        cmocka_unit_test(test_refuses_bad_refresh_token_and_scope),
        cmocka_unit_test(test_refuses_wrong_types),
        cmocka_unit_test(test_repeated_keys_last_one_checked),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_token_size_limit),
        cmocka_unit_test(test_why_is_bounded),
        cmocka_unit_test(test_error_with_description),
        cmocka_unit_test(test_error_without_description),
        cmocka_unit_test(test_error_control_characters_replaced),
        cmocka_unit_test(test_error_bounded),
        cmocka_unit_test(test_error_refusals),
    };

    return cmocka_run_group_tests_name("test_token_response", tests, NULL, NULL);
}
