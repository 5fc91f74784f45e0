#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "oauth/pkce.h"

#define RFC7636_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC7636_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static void assert_base64url_alphabet(const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
            fail_msg("'%c' is outside the base64url alphabet in '%s'", *p, text);
    }
}

static void test_rfc7636_challenge(void **state)
{
    char *challenge;

    (void)state;
    challenge = pkce_challenge_s256(RFC7636_VERIFIER);
    assert_non_null(challenge);
    assert_string_equal(challenge, RFC7636_CHALLENGE);
    g_free(challenge);
}

static void test_challenge_other_values(void **state)
{
    char *challenge;

    (void)state;
    /* Expected values from: printf %s "$verifier" | openssl dgst -sha256 -binary | base64,
     * with + / turned into - _ and the padding removed. */
    challenge = pkce_challenge_s256("");
    assert_non_null(challenge);
    assert_string_equal(challenge, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    g_free(challenge);

    challenge = pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK");
    assert_non_null(challenge);
    assert_string_equal(challenge, "gMhFviSMvh4p6Dk0JJBqmff50a_bngH3n_i14zTH5Z4");
    g_free(challenge);
}

static void test_rfc7636_verifier_encoding(void **state)
{
    static const unsigned char octets[32] = {116, 24,  223, 180, 151, 153, 224, 37,  79,  250, 96,
                                             125, 216, 173, 187, 186, 22,  212, 37,  77,  105, 214,
                                             191, 240, 91,  88,  5,   88,  83,  132, 141, 121};
    char *encoded;

    (void)state;
    encoded = base64url_encode(octets, sizeof(octets));
    assert_non_null(encoded);
    assert_string_equal(encoded, RFC7636_VERIFIER);
    g_free(encoded);
}

static void test_base64url_known_values(void **state)
{
    /* 0xfb 0xff 0xbf is "+/+/" in standard base64. */
    static const unsigned char plus_slash[] = {0xfb, 0xff, 0xbf};
    static const unsigned char one_byte[] = {0xff};
    static const unsigned char two_bytes[] = {0xfb, 0xf0};
    char *encoded;

    (void)state;
    encoded = base64url_encode(plus_slash, sizeof(plus_slash));
    assert_string_equal(encoded, "-_-_");
    g_free(encoded);
    encoded = base64url_encode(one_byte, sizeof(one_byte));
    assert_string_equal(encoded, "_w");
    g_free(encoded);
    encoded = base64url_encode(two_bytes, sizeof(two_bytes));
    assert_string_equal(encoded, "-_A");
    g_free(encoded);
    encoded = base64url_encode((const unsigned char *)"f", 0);
    assert_non_null(encoded);
    assert_string_equal(encoded, "");
    g_free(encoded);
}

static void test_base64url_never_standard_characters(void **state)
{
    unsigned char bytes[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(255 - i);
    /* Every length modulo 3 and every 6-bit value show up. */
    for (size_t count = 1; count <= sizeof(bytes); count++) {
        char *encoded = base64url_encode(bytes, count);

        assert_non_null(encoded);
        assert_null(strchr(encoded, '+'));
        assert_null(strchr(encoded, '/'));
        assert_null(strchr(encoded, '='));
        assert_base64url_alphabet(encoded);
        assert_int_equal(strlen(encoded), (count * 4 + 2) / 3);
        g_free(encoded);
    }
}

static void test_random_base64url(void **state)
{
    char *first, *second, *state_value;

    (void)state;
    first = random_base64url(PKCE_VERIFIER_BYTES);
    second = random_base64url(PKCE_VERIFIER_BYTES);
    assert_non_null(first);
    assert_non_null(second);
    assert_int_equal(strlen(first), 43);
    assert_int_equal(strlen(second), 43);
    assert_base64url_alphabet(first);
    assert_base64url_alphabet(second);
    assert_string_not_equal(first, second);
    g_free(first);
    g_free(second);

    state_value = random_base64url(STATE_BYTES);
    assert_non_null(state_value);
    assert_int_equal(strlen(state_value), 32);
    assert_base64url_alphabet(state_value);
    g_free(state_value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7636_challenge),
        cmocka_unit_test(test_challenge_other_values),
        cmocka_unit_test(test_rfc7636_verifier_encoding),
        cmocka_unit_test(test_base64url_known_values),
        cmocka_unit_test(test_base64url_never_standard_characters),
        cmocka_unit_test(test_random_base64url),
    };

    return cmocka_run_group_tests_name("test_pkce", tests, NULL, NULL);
}
