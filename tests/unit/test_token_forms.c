#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/secret_memory.h"
#include "oauth/token_forms.h"

static const struct oauth_client public_client = {"my-client", NULL};
static const struct oauth_client confidential_client = {"my client/1", "s3cr+t&=%"};

/* RFC 6749 4.1.3 (and appendix B's encoding), with RFC 7636 4.5's code_verifier. */
static void test_authorization_code_form(void **state)
{
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(token_form_authorization_code(&form, &public_client, "SplxlOBeZQQYbYS6WxSbIA",
                                                   "http://127.0.0.1:8080/cb?x=1",
                                                   "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                     0);
    assert_string_equal(form.data, "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA"
                                   "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb%3Fx%3D1"
                                   "&client_id=my-client"
                                   "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    capped_buffer_wipe(&form);
}

/* client_secret_post: the secret right after client_id, every reserved byte escaped. */
static void test_authorization_code_form_with_secret(void **state)
{
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(token_form_authorization_code(&form, &confidential_client, "a b~c.d_e",
                                                   "https://x.example/cb", "v"),
                     0);
    assert_string_equal(form.data, "grant_type=authorization_code&code=a%20b~c.d_e"
                                   "&redirect_uri=https%3A%2F%2Fx.example%2Fcb"
                                   "&client_id=my%20client%2F1&client_secret=s3cr%2Bt%26%3D%25"
                                   "&code_verifier=v");
    capped_buffer_wipe(&form);
}

/* RFC 6749 6. */
static void test_refresh_form(void **state)
{
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(token_form_refresh(&form, &public_client, "tGzv3JOkF0XG5Qx2TlKWIA"), 0);
    assert_string_equal(form.data, "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA"
                                   "&client_id=my-client");
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_refresh(&form, &confidential_client, "r/t+=="), 0);
    assert_string_equal(form.data, "grant_type=refresh_token&refresh_token=r%2Ft%2B%3D%3D"
                                   "&client_id=my%20client%2F1&client_secret=s3cr%2Bt%26%3D%25");
    capped_buffer_wipe(&form);
}

/* RFC 7009 2.1. */
static void test_revoke_form(void **state)
{
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(token_form_revoke(&form, &public_client, "45ghiukldjahdnhzdauz/"), 0);
    assert_string_equal(form.data, "token=45ghiukldjahdnhzdauz%2F&token_type_hint=refresh_token"
                                   "&client_id=my-client");
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_revoke(&form, &confidential_client, "t"), 0);
    assert_string_equal(form.data, "token=t&token_type_hint=refresh_token"
                                   "&client_id=my%20client%2F1&client_secret=s3cr%2Bt%26%3D%25");
    capped_buffer_wipe(&form);
}

/* RFC 8628 3.1: the client's id (and its secret, when it has one: RFC 6749 2.3.1), then the
 * scope, each escaped. */
static void test_device_authorization_form(void **state)
{
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(token_form_device_authorization(&form, &public_client, NULL), 0);
    assert_string_equal(form.data, "client_id=my-client");
    capped_buffer_wipe(&form);
    assert_int_equal(
        token_form_device_authorization(&form, &public_client, "openid offline_access"), 0);
    assert_string_equal(form.data, "client_id=my-client&scope=openid%20offline_access");
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_device_authorization(&form, &confidential_client,
                                                     "https://graph.example/.default a+b"),
                     0);
    assert_string_equal(form.data, "client_id=my%20client%2F1&client_secret=s3cr%2Bt%26%3D%25"
                                   "&scope=https%3A%2F%2Fgraph.example%2F.default%20a%2Bb");
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_device_authorization(&form, &confidential_client, NULL), 0);
    assert_string_equal(form.data, "client_id=my%20client%2F1&client_secret=s3cr%2Bt%26%3D%25");
    capped_buffer_wipe(&form);
}

/* RFC 8628 3.4, its example's bytes: the grant type's URN escaped, then the device code, then
 * the client. */
static void test_device_code_form(void **state)
{
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(
        token_form_device_code(&form, &public_client, "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"),
        0);
    assert_string_equal(form.data,
                        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
                        "&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
                        "&client_id=my-client");
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_device_code(&form, &confidential_client, "a/b+c=="), 0);
    assert_string_equal(form.data,
                        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
                        "&device_code=a%2Fb%2Bc%3D%3D"
                        "&client_id=my%20client%2F1&client_secret=s3cr%2Bt%26%3D%25");
    capped_buffer_wipe(&form);
}

static void test_device_forms_refuse_missing_values(void **state)
{
    const struct oauth_client no_id = {NULL, "secret"};
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(token_form_device_authorization(&form, &no_id, "openid"), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_device_code(&form, &no_id, "dc"), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_device_code(&form, &public_client, NULL), -1);
    capped_buffer_wipe(&form);
}

/* UTF-8 is escaped byte by byte. */
static void test_non_ascii_is_escaped(void **state)
{
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(token_form_refresh(&form, &public_client, "\xc3\xa9"), 0);
    assert_string_equal(form.data, "grant_type=refresh_token&refresh_token=%C3%A9"
                                   "&client_id=my-client");
    capped_buffer_wipe(&form);
}

static void test_missing_values_are_refused(void **state)
{
    const struct oauth_client no_id = {NULL, "secret"};
    struct capped_buffer form = {0};

    (void)state;
    assert_int_equal(token_form_authorization_code(&form, &public_client, NULL, "r", "v"), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_authorization_code(&form, &public_client, "c", NULL, "v"), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_authorization_code(&form, &public_client, "c", "r", NULL), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_authorization_code(&form, &no_id, "c", "r", "v"), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_refresh(&form, &no_id, "t"), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_refresh(&form, &public_client, NULL), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_revoke(&form, &no_id, "t"), -1);
    capped_buffer_wipe(&form);
    assert_int_equal(token_form_revoke(&form, &public_client, NULL), -1);
    capped_buffer_wipe(&form);
}

/* A token that escapes past the cap is refused, never cut. */
static void test_form_is_capped(void **state)
{
    static char token[FORM_MAX_BYTES / 3 + 2];
    struct capped_buffer form = {0};

    (void)state;
    memset(token, '/', sizeof(token) - 1);
    assert_int_equal(token_form_refresh(&form, &public_client, token), -1);
    capped_buffer_wipe(&form);
    token[FORM_MAX_BYTES / 4] = '\0';
    assert_int_equal(token_form_refresh(&form, &public_client, token), 0);
    capped_buffer_wipe(&form);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorization_code_form),
        cmocka_unit_test(test_authorization_code_form_with_secret),
        cmocka_unit_test(test_refresh_form),
        cmocka_unit_test(test_revoke_form),
        cmocka_unit_test(test_device_authorization_form),
        cmocka_unit_test(test_device_code_form),
        cmocka_unit_test(test_device_forms_refuse_missing_values),
        cmocka_unit_test(test_non_ascii_is_escaped),
        cmocka_unit_test(test_missing_values_are_refused),
        cmocka_unit_test(test_form_is_capped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
