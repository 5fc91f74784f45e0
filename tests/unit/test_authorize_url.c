#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "oauth/authorize_url.h"

static struct authorize_request simple_request(void)
{
    struct authorize_request request = {
        .authorize_url = "https://app.snyk.io/oauth2/authorize",
        .client_id = "client-1",
        .redirect_uri = "https://app.snyk.io/oauth/callback",
        .scope = "org.read",
        .state = "S1",
        .code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    };
    return request;
}

static void test_simple_url(void **state)
{
    struct authorize_request request = simple_request();
    char *url;

    (void)state;
    request.redirect_uri = "urn:ietf:wg:oauth:2.0:oob";
    url = authorize_url_build(&request);
    assert_non_null(url);
    assert_string_equal(url, "https://app.snyk.io/oauth2/authorize"
                             "?response_type=code"
                             "&client_id=client-1"
                             "&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob"
                             "&scope=org.read"
                             "&state=S1"
                             "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                             "&code_challenge_method=S256");
    g_free(url);
}

static void test_values_percent_encoded(void **state)
{
    struct authorize_request request = simple_request();
    const char *query;
    char *url;

    (void)state;
    request.redirect_uri = "http://127.0.0.1:8080/cb?x=1&y=2";
    request.scope = "org.read user:read";
    request.client_id = "id with space&more=1";
    request.state = "a/b?c#d";
    url = authorize_url_build(&request);
    assert_non_null(url);
    assert_string_equal(url, "https://app.snyk.io/oauth2/authorize"
                             "?response_type=code"
                             "&client_id=id%20with%20space%26more%3D1"
                             "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb%3Fx%3D1%26y%3D2"
                             "&scope=org.read%20user%3Aread"
                             "&state=a%2Fb%3Fc%23d"
                             "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                             "&code_challenge_method=S256");

    /* Independently of the exact text: no raw separator inside any value. */
    query = strchr(url, '?');
    assert_non_null(query);
    assert_null(strchr(query + 1, '?'));
    assert_null(strchr(query, ' '));
    assert_null(strchr(query, ':'));
    assert_null(strchr(query, '/'));
    assert_null(strchr(query, '#'));
    {
        gchar **pairs = g_strsplit(query + 1, "&", -1);
        assert_int_equal(g_strv_length(pairs), 7);
        for (gchar **pair = pairs; *pair != NULL; pair++) {
            const char *equals = strchr(*pair, '=');
            assert_non_null(equals);
            assert_null(strchr(equals + 1, '='));
        }
        g_strfreev(pairs);
    }
    g_free(url);
}

static void test_existing_query_kept(void **state)
{
    struct authorize_request request = simple_request();
    char *url;

    (void)state;
    request.authorize_url = "https://idp.example/authorize?tenant=a";
    url = authorize_url_build(&request);
    assert_non_null(url);
    assert_true(g_str_has_prefix(url, "https://idp.example/authorize?tenant=a&response_type=code&"
                                      "client_id=client-1&"));
    assert_null(strchr(strchr(url, '?') + 1, '?'));
    g_free(url);
}

static void test_no_scope(void **state)
{
    struct authorize_request request = simple_request();
    static const char expected[] =
        "https://app.snyk.io/oauth2/authorize?response_type=code&client_id=client-1"
        "&redirect_uri=https%3A%2F%2Fapp.snyk.io%2Foauth%2Fcallback&state=S1"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    char *url;

    (void)state;
    request.scope = NULL;
    url = authorize_url_build(&request);
    assert_non_null(url);
    assert_string_equal(url, expected);
    assert_null(strstr(url, "scope="));
    g_free(url);

    request.scope = "";
    url = authorize_url_build(&request);
    assert_non_null(url);
    assert_string_equal(url, expected);
    g_free(url);
}

static void test_refusals(void **state)
{
    struct authorize_request request;

    (void)state;
    request = simple_request();
    request.authorize_url = "https://idp.example/authorize#frag";
    assert_null(authorize_url_build(&request));
    request = simple_request();
    request.authorize_url = NULL;
    assert_null(authorize_url_build(&request));
    request = simple_request();
    request.client_id = NULL;
    assert_null(authorize_url_build(&request));
    request = simple_request();
    request.redirect_uri = NULL;
    assert_null(authorize_url_build(&request));
    request = simple_request();
    request.state = NULL;
    assert_null(authorize_url_build(&request));
    request = simple_request();
    request.code_challenge = NULL;
    assert_null(authorize_url_build(&request));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_url),
        cmocka_unit_test(test_values_percent_encoded),
        cmocka_unit_test(test_existing_query_kept),
        cmocka_unit_test(test_no_scope),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests_name("test_authorize_url", tests, NULL, NULL);
}
