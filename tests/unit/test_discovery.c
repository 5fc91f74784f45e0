/* oauth/discovery.c: where an issuer's metadata is (OpenID Connect Discovery 1.0 section 4,
 * RFC 8414 section 3.1) and what of a metadata document is taken. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "oauth/discovery.h"

#define OIDC "/.well-known/openid-configuration"
#define OAUTH "/.well-known/oauth-authorization-server"

static void urls_are(const char *issuer, const char *openid, const char *oauth)
{
    char got_openid[DISCOVERY_URL_MAX + 64], got_oauth[DISCOVERY_URL_MAX + 64];

    if (discovery_well_known_urls(issuer, got_openid, sizeof(got_openid), got_oauth,
                                  sizeof(got_oauth)) != 0)
        fail_msg("refused: %s", issuer);
    assert_string_equal(got_openid, openid);
    assert_string_equal(got_oauth, oauth);
}

static void no_urls(const char *issuer)
{
    char openid[DISCOVERY_URL_MAX + 64], oauth[DISCOVERY_URL_MAX + 64];

    if (discovery_well_known_urls(issuer, openid, sizeof(openid), oauth, sizeof(oauth)) != -1)
        fail_msg("accepted: %s", issuer != NULL ? issuer : "(null)");
}

/* An issuer without a path: both suffixes are simply appended. */
static void test_host_only(void **state)
{
    (void)state;
    urls_are("https://accounts.google.com", "https://accounts.google.com" OIDC,
             "https://accounts.google.com" OAUTH);
    urls_are("https://example.com:8443", "https://example.com:8443" OIDC,
             "https://example.com:8443" OAUTH);
}

/* RFC 8414 3.1's own example: the suffix goes between the host and the path; OpenID Connect's
 * goes after the path. */
static void test_path_inserted_and_appended(void **state)
{
    (void)state;
    urls_are("https://example.com/issuer1", "https://example.com/issuer1" OIDC,
             "https://example.com" OAUTH "/issuer1");
    urls_are("https://keycloak.example/realms/corp", "https://keycloak.example/realms/corp" OIDC,
             "https://keycloak.example" OAUTH "/realms/corp");
    urls_are("https://login.microsoftonline.com/0123-abcd/v2.0",
             "https://login.microsoftonline.com/0123-abcd/v2.0" OIDC,
             "https://login.microsoftonline.com" OAUTH "/0123-abcd/v2.0");
    urls_are("https://example.okta.com/oauth2/default",
             "https://example.okta.com/oauth2/default" OIDC,
             "https://example.okta.com" OAUTH "/oauth2/default");
}

/* Both standards: "any terminating / MUST be removed" first. */
static void test_trailing_slash_removed(void **state)
{
    (void)state;
    urls_are("https://example.com/", "https://example.com" OIDC, "https://example.com" OAUTH);
    urls_are("https://example.com/issuer1/", "https://example.com/issuer1" OIDC,
             "https://example.com" OAUTH "/issuer1");
    urls_are("https://example.com/a/b//", "https://example.com/a/b" OIDC,
             "https://example.com" OAUTH "/a/b");
}

/* Not an issuer (RFC 8414 section 2: https, no query, no fragment), or one that does not fit. */
static void test_refused_issuers(void **state)
{
    char longer[DISCOVERY_URL_MAX + 100], small[16];

    (void)state;
    no_urls(NULL);
    no_urls("");
    no_urls("http://example.com");
    no_urls("https://");
    no_urls("https:///path");
    no_urls("https://user@example.com");
    no_urls("https://example.com?tenant=1");
    no_urls("https://example.com/#frag");
    no_urls("https://exa mple.com");
    no_urls("https://example.com/\n");
    memset(longer, 'a', sizeof(longer) - 1);
    memcpy(longer, "https://", 8);
    longer[sizeof(longer) - 1] = '\0';
    no_urls(longer);
    assert_int_equal(discovery_well_known_urls("https://example.com/issuer1", small, sizeof(small),
                                               small, sizeof(small)),
                     -1);
}

static void parse_ok(const char *body, const char *issuer, struct provider_metadata *metadata)
{
    char why[512] = "";

    if (discovery_metadata_parse(body, strlen(body), issuer, metadata, why, sizeof(why)) != 0)
        fail_msg("refused (%s): %s", why, body);
}

/* Refused, with why containing each of the expected texts (NULL ends the list). */
static void parse_refused(const char *body, size_t length, const char *issuer, ...)
{
    struct provider_metadata metadata;
    char why[512] = "";
    va_list expected;
    const char *text;

    memset(&metadata, 0x5a, sizeof(metadata));
    if (discovery_metadata_parse(body, length, issuer, &metadata, why, sizeof(why)) != -1)
        fail_msg("accepted: %s", body);
    assert_null(metadata.issuer);
    assert_null(metadata.token_endpoint);
    assert_null(metadata.authorization_endpoint);
    va_start(expected, issuer);
    while ((text = va_arg(expected, const char *)) != NULL) {
        if (strstr(why, text) == NULL)
            fail_msg("why \"%s\" lacks \"%s\"", why, text);
    }
    va_end(expected);
}

#define REFUSED(body, issuer, ...) parse_refused(body, strlen(body), issuer, __VA_ARGS__, NULL)

static void test_keeps_the_endpoints(void **state)
{
    struct provider_metadata metadata;

    (void)state;
    parse_ok("{\"issuer\": \"https://i.example/t\", \"authorization_endpoint\": "
             "\"https://i.example/t/auth?x=1\", \"token_endpoint\": \"https://i.example/t/token\", "
             "\"revocation_endpoint\": \"https://i.example/t/revoke\", "
             "\"device_authorization_endpoint\": \"https://i.example/t/device\", "
             "\"jwks_uri\": \"http://ignored.example/\", \"scopes_supported\": [\"openid\"], "
             "\"mtls_endpoint_aliases\": {\"token_endpoint\": \"https://m.example/token\"}, "
             "\"request_uri_parameter_supported\": false}\n",
             "https://i.example/t", &metadata);
    assert_string_equal(metadata.issuer, "https://i.example/t");
    assert_string_equal(metadata.authorization_endpoint, "https://i.example/t/auth?x=1");
    assert_string_equal(metadata.token_endpoint, "https://i.example/t/token");
    assert_string_equal(metadata.revocation_endpoint, "https://i.example/t/revoke");
    assert_string_equal(metadata.device_authorization_endpoint, "https://i.example/t/device");
    provider_metadata_clear(&metadata);
    assert_null(metadata.token_endpoint);
}

/* Entra ID publishes no revocation endpoint, an OAuth-only server may have no authorization
 * endpoint (device grant): absent or null is none. */
static void test_optional_endpoints(void **state)
{
    struct provider_metadata metadata;

    (void)state;
    parse_ok("{\"issuer\":\"https://i.example\",\"token_endpoint\":\"https://i.example/t\","
             "\"revocation_endpoint\":null}",
             "https://i.example", &metadata);
    assert_null(metadata.authorization_endpoint);
    assert_null(metadata.revocation_endpoint);
    assert_null(metadata.device_authorization_endpoint);
    provider_metadata_clear(&metadata);
}

/* What real documents carry beside the endpoints: nulls, booleans, nested objects, arrays,
 * UTF-8 text, members we do not know (Entra ID's tenant_region_scope, Keycloak's
 * mtls_endpoint_aliases, a service documentation page in another language). */
static void test_real_world_members(void **state)
{
    struct provider_metadata metadata;

    (void)state;
    parse_ok(
        "{\n  \"token_endpoint\": \"https://login.example/t/oauth2/v2.0/token\",\n"
        "  \"issuer\": \"https://login.example/t/v2.0\",\n"
        "  \"tenant_region_scope\": null,\n  \"http_logout_supported\": true,\n"
        "  \"op_policy_uri\": \"https://login.example/r\u00e8gles\",\n"
        "  \"service_documentation\": \"https://login.example/d\xc3\xa9marrer\",\n"
        "  \"claims_supported\": [\"sub\", \"iss\"],\n"
        "  \"mtls_endpoint_aliases\": {\"token_endpoint\": \"https://mtls.login.example/t\"}\n}\n",
        "https://login.example/t/v2.0", &metadata);
    assert_string_equal(metadata.token_endpoint, "https://login.example/t/oauth2/v2.0/token");
    assert_null(metadata.authorization_endpoint);
    provider_metadata_clear(&metadata);
}

/* OpenID Connect Discovery 4.3, RFC 8414 3.3: exactly the configured issuer, or nothing. */
static void test_issuer_must_equal(void **state)
{
    static const char nul[] = "{\"issuer\":\"https://i.example\\u0000x\",\"token_endpoint\":"
                              "\"https://i.example/t\"}";

    (void)state;
    REFUSED("{\"issuer\":\"https://evil.example\",\"token_endpoint\":\"https://evil.example/t\"}",
            "https://i.example", "https://evil.example", "https://i.example");
    REFUSED("{\"issuer\":\"https://i.example/\",\"token_endpoint\":\"https://i.example/t\"}",
            "https://i.example",
            "names the issuer https://i.example/, not the configured "
            "https://i.example");
    REFUSED("{\"issuer\":\"https://I.example\",\"token_endpoint\":\"https://i.example/t\"}",
            "https://i.example", "https://I.example");
    REFUSED(nul, "https://i.example", "names the issuer");
    /* Entra ID's multi-tenant documents name a template, never the alias asked for. */
    REFUSED("{\"issuer\":\"https://login.microsoftonline.com/{tenantid}/v2.0\","
            "\"token_endpoint\":\"https://login.microsoftonline.com/common/oauth2/v2.0/token\"}",
            "https://login.microsoftonline.com/common/v2.0",
            "names the issuer https://login.microsoftonline.com/{tenantid}/v2.0, not the "
            "configured https://login.microsoftonline.com/common/v2.0");
    REFUSED("{\"token_endpoint\":\"https://i.example/t\"}", "https://i.example", "no issuer");
    REFUSED("{\"issuer\":42,\"token_endpoint\":\"https://i.example/t\"}", "https://i.example",
            "no issuer");
}

/* Every endpoint we may use is an https URL with a host and no fragment or userinfo. */
static void test_endpoints_must_be_https(void **state)
{
    (void)state;
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"http://i/t\"}", "https://i",
            "token_endpoint is not an https URL (http://i/t)");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"https://i/t\","
            "\"authorization_endpoint\":\"http://i/a\"}",
            "https://i", "authorization_endpoint");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"https://i/t\","
            "\"revocation_endpoint\":\"javascript:alert(1)\"}",
            "https://i", "revocation_endpoint");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"https://i/t\","
            "\"device_authorization_endpoint\":\"ftp://i/d\"}",
            "https://i", "device_authorization_endpoint");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"https://u@evil/t\"}", "https://i",
            "token_endpoint");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"https://i/t#f\"}", "https://i",
            "token_endpoint");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"https:///t\"}", "https://i",
            "token_endpoint");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":[\"https://i/t\"]}", "https://i",
            "token_endpoint is not a string");
    REFUSED("{\"issuer\":\"https://i\"}", "https://i", "no token_endpoint");
}

static void test_not_a_document(void **state)
{
    static const char with_nul[] =
        "{\"issuer\":\"https://i\",\"token_endpoint\":\"https://i/t\"}\0";

    (void)state;
    REFUSED("", "https://i", "not one JSON object");
    REFUSED("[]", "https://i", "not one JSON object");
    REFUSED("<html>", "https://i", "not one JSON object");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"https://i/t\"} {}", "https://i",
            "not one JSON object");
    REFUSED("{\"issuer\":\"https://i\",\"token_endpoint\":\"https://i/t\",}", "https://i",
            "not one JSON object");
    REFUSED("{\"a\":[[[[[[[[[[1]]]]]]]]],\"issuer\":\"https://i\",\"token_endpoint\":"
            "\"https://i/t\"}",
            "https://i", "not one JSON object");
    parse_refused(with_nul, sizeof(with_nul) - 1, "https://i", "not one JSON object", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_only),
        cmocka_unit_test(test_path_inserted_and_appended),
        cmocka_unit_test(test_trailing_slash_removed),
        cmocka_unit_test(test_refused_issuers),
        cmocka_unit_test(test_keeps_the_endpoints),
        cmocka_unit_test(test_optional_endpoints),
        cmocka_unit_test(test_real_world_members),
        cmocka_unit_test(test_issuer_must_equal),
        cmocka_unit_test(test_endpoints_must_be_https),
        cmocka_unit_test(test_not_a_document),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
