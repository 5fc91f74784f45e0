#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pam_module/provider_config.h"

#define PATH "/etc/test.conf"

/* A Snyk group body without its client secret, and a minimal valid one (a Snyk App has a
 * secret); neither has its [group] line. */
#define SNYK_PUBLIC_KEYS                                                                           \
    "preset = snyk\n"                                                                              \
    "client_id = cid\n"                                                                            \
    "redirect_uri = https://app.snyk.io/oauth/callback\n"
#define SNYK_KEYS SNYK_PUBLIC_KEYS "client_secret = csecret\n"

/* A minimal valid group for a generic provider, without its [group] line. */
#define GENERIC_KEYS                                                                               \
    "authorize_url = https://idp.example/authorize\n"                                              \
    "token_url = https://idp.example/token\n"                                                      \
    "client_id = cid\n"                                                                            \
    "redirect_uri = http://127.0.0.1:8080/cb\n"

static int parse(const char *text, const char *provider, struct provider_config *config,
                 struct config_error *error)
{
    memset(error, 0, sizeof(*error));
    return provider_config_parse(PATH, text, strlen(text), provider, config, error);
}

/* Parses text expecting success. */
static void parse_ok(const char *text, const char *provider, struct provider_config *config)
{
    struct config_error error;
    int rv = parse(text, provider, config, &error);

    if (rv != 0)
        print_error("unexpected failure: %s\n", error.message);
    assert_int_equal(rv, 0);
    assert_string_equal(error.message, "");
}

/* Parses text expecting failure with every one of the NULL-terminated needles in the message;
 * the config must come back empty. */
static void parse_fails_with(const char *text, const char *provider, ...)
{
    struct provider_config config;
    struct config_error error;
    va_list needles;
    const char *needle;

    assert_int_equal(parse(text, provider, &config, &error), -1);
    assert_true(error.message[0] != '\0');
    va_start(needles, provider);
    while ((needle = va_arg(needles, const char *)) != NULL) {
        if (strstr(error.message, needle) == NULL)
            print_error("message '%s' lacks '%s'\n", error.message, needle);
        assert_non_null(strstr(error.message, needle));
    }
    va_end(needles);
    assert_null(config.name);
    assert_null(config.client_id);
    assert_null(config.client_secret);
    assert_null(config.authorize_url);
    assert_null(config.token_url);
    assert_null(config.keyring_service);
    assert_null(config.display_name);
}

static void test_snyk_preset_default_region(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[snyk]\n" SNYK_KEYS, NULL, &config);
    assert_string_equal(config.name, "snyk");
    assert_string_equal(config.preset, "snyk");
    assert_null(config.region);
    assert_string_equal(config.authorize_url, "https://app.snyk.io/oauth2/authorize");
    assert_string_equal(config.token_url, "https://api.snyk.io/oauth2/token");
    assert_string_equal(config.revoke_url, "https://api.snyk.io/oauth2/revoke");
    assert_string_equal(config.client_id, "cid");
    assert_string_equal(config.redirect_uri, "https://app.snyk.io/oauth/callback");
    assert_string_equal(config.client_secret, "csecret");
    assert_null(config.scope);
    assert_null(config.issuer);
    assert_null(config.ca_file);
    assert_string_equal(config.display_name, "Snyk");
    assert_string_equal(config.keyring_service, "snyk");
    assert_int_equal(config.timeout, CONFIG_DEFAULT_TIMEOUT);
    assert_int_equal(config.timeout, 10);
    provider_config_clear(&config);
    assert_null(config.name);
    assert_null(config.token_url);
    assert_int_equal(config.timeout, 0);
}

static void test_snyk_preset_eu_region(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[work]\n" SNYK_KEYS "region = SNYK-EU-01\n", NULL, &config);
    assert_string_equal(config.region, "SNYK-EU-01");
    assert_string_equal(config.authorize_url, "https://app.eu.snyk.io/oauth2/authorize");
    assert_string_equal(config.token_url, "https://api.eu.snyk.io/oauth2/token");
    assert_string_equal(config.revoke_url, "https://api.eu.snyk.io/oauth2/revoke");
    assert_string_equal(config.display_name, "Snyk");
    assert_string_equal(config.keyring_service, "work");
    provider_config_clear(&config);
}

static void test_snyk_preset_gov_region(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[gov]\n" SNYK_KEYS "region = SNYK-GOV-01\n", NULL, &config);
    assert_string_equal(config.authorize_url, "https://app.snykgov.io/oauth2/authorize");
    assert_string_equal(config.token_url, "https://api.snykgov.io/oauth2/token");
    assert_string_equal(config.revoke_url, "https://api.snykgov.io/oauth2/revoke");
    provider_config_clear(&config);
}

static void test_snyk_preset_explicit_url_wins(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[snyk]\n" SNYK_KEYS "token_url = https://proxy.example/token\n", NULL, &config);
    assert_string_equal(config.token_url, "https://proxy.example/token");
    assert_string_equal(config.authorize_url, "https://app.snyk.io/oauth2/authorize");
    assert_string_equal(config.revoke_url, "https://api.snyk.io/oauth2/revoke");
    provider_config_clear(&config);
}

static void test_generic_provider(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[Corp IdP]\n" GENERIC_KEYS "client_secret = s3cr3t-value\n"
             "scope = openid profile\n"
             "issuer = https://idp.example\n"
             "ca_file = /etc/ssl/corp.pem\n"
             "keyring_service = corp-tokens\n"
             "timeout = 30\n",
             NULL, &config);
    assert_string_equal(config.name, "Corp IdP");
    assert_null(config.preset);
    assert_string_equal(config.display_name, "Corp IdP");
    assert_string_equal(config.authorize_url, "https://idp.example/authorize");
    assert_string_equal(config.token_url, "https://idp.example/token");
    assert_null(config.revoke_url);
    assert_string_equal(config.client_id, "cid");
    assert_string_equal(config.client_secret, "s3cr3t-value");
    assert_string_equal(config.redirect_uri, "http://127.0.0.1:8080/cb");
    assert_string_equal(config.scope, "openid profile");
    assert_string_equal(config.issuer, "https://idp.example");
    assert_string_equal(config.ca_file, "/etc/ssl/corp.pem");
    assert_string_equal(config.keyring_service, "corp-tokens");
    assert_int_equal(config.timeout, 30);
    provider_config_clear(&config);
    assert_null(config.client_secret);
}

static void test_keyring_service_defaults_to_group(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[my-idp]\n" GENERIC_KEYS, NULL, &config);
    assert_string_equal(config.keyring_service, "my-idp");
    assert_string_equal(config.display_name, "my-idp");
    assert_int_equal(config.timeout, 10);
    provider_config_clear(&config);
}

static void test_timeout_bounds(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" GENERIC_KEYS "timeout = 1\n", NULL, &config);
    assert_int_equal(config.timeout, 1);
    provider_config_clear(&config);
    parse_ok("[p]\n" GENERIC_KEYS "timeout = 120\n", NULL, &config);
    assert_int_equal(config.timeout, 120);
    provider_config_clear(&config);

    parse_fails_with("[p]\n" GENERIC_KEYS "timeout = 0\n", NULL, PATH ":6:", "timeout", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "timeout = 121\n", NULL, PATH ":6:", "timeout", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "timeout = abc\n", NULL, PATH ":6:", "timeout", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "timeout = 30s\n", NULL, "timeout", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "timeout = -5\n", NULL, "timeout", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "timeout =\n", NULL, "timeout", NULL);
}

static void test_unknown_key(void **state)
{
    (void)state;
    parse_fails_with("# comment\n"
                     "[p]\n" GENERIC_KEYS "\n"
                     "client_sercet = typo\n",
                     NULL, PATH ":8:", "client_sercet", NULL);
}

/* An unknown key is named by the key alone (a-z and _), and a long one is cut. */
static void test_unknown_key_named_by_its_key_only(void **state)
{
    struct provider_config config;
    struct config_error error;

    (void)state;
    parse_fails_with("[p]\n" GENERIC_KEYS "client_sercet = TOPSECRET==\n", NULL,
                     PATH ":6: unknown key 'client_sercet'", NULL);
    assert_int_equal(parse("[p]\n" GENERIC_KEYS "abcdefghijklmnopqrstuvwxyz_secret = x\n", NULL,
                           &config, &error),
                     -1);
    assert_string_equal(error.message, PATH ":6: unknown key 'abcdefghijklmnopqrstuvwx...'");
}

/* Issue 10: a client secret typed without its '=' (or with the '=' of its base64 padding
 * only) was logged whole at every login. No message may hold any part of the secret. */
static void test_malformed_lines_never_quote_a_value(void **state)
{
    static const struct {
        const char *line;
        const char *message;
    } cases[] = {
        {"client_secret TOPSECRET==", ":6: not a \"key = value\" line (key 'client_secret')"},
        {"client_secret TOPSECRET", ":6: not a \"key = value\" line (key 'client_secret')"},
        {"client_secret:TOPSECRET", ":6: not a \"key = value\" line (key 'client_secret')"},
        {"client_secret\tTOPSECRET=x", ":6: not a \"key = value\" line (key 'client_secret')"},
        {"TOPSECRET==", ":6: not a \"key = value\" line (keys are a-z and _)"},
        {"TOPSECRET", ":6: not a \"key = value\" line (keys are a-z and _)"},
        {"topsecretTOPSECRET", ":6: not a \"key = value\" line (keys are a-z and _)"},
        {"client_secretTOPSECRET = x", ":6: not a \"key = value\" line (key 'client_secret')"},
        {"Client_Secret = TOPSECRET", ":6: not a \"key = value\" line (keys are a-z and _)"},
        {"client-secret = TOPSECRET", ":6: not a \"key = value\" line (keys are a-z and _)"},
        {"= TOPSECRET", ":6: not a \"key = value\" line (keys are a-z and _)"},
        {"client_secret = TOPSECRET\\q", ":6: invalid escape sequence"},
        {"client_secret = TOPSECRET\\n", ":6: key 'client_secret': control characters"},
        {"preset = TOPSECRET", ":6: [p]: key 'preset': unknown preset (known: snyk)"},
        {"region = TOPSECRET", ":6: [p]: key 'region' needs preset = snyk"},
        {"timeout = TOPSECRET", ":6: key 'timeout': expected whole seconds"},
        {"revoke_url = TOPSECRET", ":6: key 'revoke_url': only https://"},
        {"client_id = TOPSECRET", ":6: key 'client_id' appears twice"},
        {"client_secret = \"TOPSECRET", ":6: key 'client_secret': unbalanced double quote"},
        {"client_secret = TOPSECRET\"", ":6: key 'client_secret': unbalanced double quote"},
        {"client_secret = \"TOP\"SECRET\"", ":6: key 'client_secret': unbalanced double quote"},
        {"preset = \"TOPSECRET\"", ":6: [p]: key 'preset': unknown preset (known: snyk)"},
        {"region = \"TOPSECRET\"", ":6: [p]: key 'region' needs preset = snyk"},
    };
    struct provider_config config;
    struct config_error error;
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "[p]\n" GENERIC_KEYS "%s\n", cases[i].line);
        assert_int_equal(parse(text, NULL, &config, &error), -1);
        if (strstr(error.message, "TOPSECRET") != NULL || strstr(error.message, "topsecret") ||
            strstr(error.message, cases[i].message) == NULL)
            fail_msg("'%s' gave '%s', expected '%s' and no secret", cases[i].line, error.message,
                     cases[i].message);
        assert_null(config.client_secret);
    }
}

static void test_http_authorize_url_rejected(void **state)
{
    (void)state;
    parse_fails_with("[p]\n"
                     "authorize_url = http://idp.example/authorize\n"
                     "token_url = https://idp.example/token\n"
                     "client_id = cid\n"
                     "redirect_uri = http://127.0.0.1/cb\n",
                     NULL, PATH ":2:", "authorize_url", "https", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "revoke_url = http://idp.example/revoke\n", NULL,
                     PATH ":6:", "revoke_url", NULL);
}

static void test_missing_required_keys(void **state)
{
    (void)state;
    parse_fails_with("[p]\n"
                     "authorize_url = https://idp.example/authorize\n"
                     "token_url = https://idp.example/token\n"
                     "redirect_uri = http://127.0.0.1/cb\n",
                     NULL, PATH, "client_id", NULL);
    parse_fails_with("[p]\n"
                     "authorize_url = https://idp.example/authorize\n"
                     "client_id = cid\n"
                     "redirect_uri = http://127.0.0.1/cb\n",
                     NULL, "token_url", NULL);
    parse_fails_with("[p]\n"
                     "token_url = https://idp.example/token\n"
                     "client_id = cid\n"
                     "redirect_uri = http://127.0.0.1/cb\n",
                     NULL, "authorize_url", NULL);
    parse_fails_with("[p]\n"
                     "preset = snyk\n"
                     "client_id = cid\n",
                     NULL, "redirect_uri", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "client_id =\n", NULL, "client_id", NULL);
}

static void test_provider_selection(void **state)
{
    static const char two_groups[] = "[first]\n" GENERIC_KEYS "client_secret = one\n"
                                     "\n"
                                     "[second]\n" SNYK_PUBLIC_KEYS "client_secret = two\n";
    struct provider_config config;

    (void)state;
    parse_fails_with(two_groups, NULL, "provider=", NULL);

    parse_ok(two_groups, "second", &config);
    assert_string_equal(config.name, "second");
    assert_string_equal(config.client_secret, "two");
    assert_string_equal(config.token_url, "https://api.snyk.io/oauth2/token");
    provider_config_clear(&config);

    parse_ok(two_groups, "first", &config);
    assert_string_equal(config.name, "first");
    assert_string_equal(config.client_secret, "one");
    assert_string_equal(config.token_url, "https://idp.example/token");
    provider_config_clear(&config);

    parse_fails_with(two_groups, "third", "third", NULL);
    parse_fails_with("# only a comment\n", NULL, PATH, NULL);
}

static void test_duplicates_rejected(void **state)
{
    (void)state;
    parse_fails_with("[p]\n" GENERIC_KEYS "client_id = again\n", NULL, PATH ":6:", "client_id",
                     NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "[q]\n" GENERIC_KEYS "[p]\n" GENERIC_KEYS, "q",
                     PATH ":11:", "[p]", NULL);
}

static void test_region_and_preset_errors(void **state)
{
    struct provider_config config;

    (void)state;
    parse_fails_with("[p]\n" GENERIC_KEYS "region = SNYK-EU-01\n", NULL, "region", "preset", NULL);
    /* The values are not quoted (a value in the wrong key may be a secret); the known are. */
    parse_fails_with("[p]\n" SNYK_KEYS "region = SNYK-MARS-01\n", NULL, "unknown Snyk region",
                     "SNYK-EU-01", "SNYK-GOV-01", NULL);
    parse_fails_with("[p]\n"
                     "preset = github\n"
                     "client_id = cid\n"
                     "redirect_uri = http://127.0.0.1/cb\n",
                     NULL, "unknown preset", "snyk", NULL);

    /* Region names are matched without regard to case. */
    parse_ok("[p]\n" SNYK_KEYS "region = snyk-au-01\n", NULL, &config);
    assert_string_equal(config.token_url, "https://api.au.snyk.io/oauth2/token");
    provider_config_clear(&config);
}

static void test_comments_and_blank_lines(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("# leading comment\n"
             "\n"
             "   \n"
             "[p]\n"
             "  # indented comment = with an equals sign\n"
             "\tclient_id = cid\n"
             "\r\n"
             "preset = snyk\r\n"
             "#client_secret = commented-out\n"
             "client_secret = kept\r\n"
             "redirect_uri = https://x.example/cb\n"
             "\n",
             NULL, &config);
    assert_string_equal(config.client_id, "cid");
    assert_string_equal(config.preset, "snyk");
    assert_string_equal(config.client_secret, "kept");
    provider_config_clear(&config);
}

static void test_escapes(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" GENERIC_KEYS "client_secret = \\sa\\\\b c\\s\n", NULL, &config);
    assert_string_equal(config.client_secret, " a\\b c ");
    provider_config_clear(&config);

    parse_fails_with("[p]\n" GENERIC_KEYS "client_secret = a\\qb\n", NULL, PATH ":6:", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "client_secret = trailing\\\n", NULL, PATH ":6:", NULL);
    /* An escaped newline decodes to a control character, which no value may hold. */
    parse_fails_with("[p]\n" GENERIC_KEYS "client_secret = a\\nb\n", NULL,
                     PATH ":6:", "client_secret", NULL);
}

static void test_key_before_group(void **state)
{
    (void)state;
    parse_fails_with("client_id = cid\n[p]\n" GENERIC_KEYS, NULL, PATH ":1:", NULL);
}

static void test_malformed_lines(void **state)
{
    static const char with_nul[] = "[p]\n" GENERIC_KEYS "scope = a\0b\n";
    struct provider_config config;
    struct config_error error;

    (void)state;
    parse_fails_with("[p]\n" GENERIC_KEYS "just words\n", NULL, PATH ":6:", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS " = value\n", NULL, PATH ":6:", NULL);
    parse_fails_with("[]\n" GENERIC_KEYS, NULL, PATH ":1:", NULL);
    memset(&error, 0, sizeof(error));
    assert_int_equal(
        provider_config_parse(PATH, with_nul, sizeof(with_nul) - 1, NULL, &config, &error), -1);
    assert_non_null(strstr(error.message, "NUL"));
}

static void test_url_is_https(void **state)
{
    (void)state;
    assert_true(provider_url_is_https("https://host/path"));
    assert_true(provider_url_is_https("https://host"));
    assert_true(provider_url_is_https("https://host:8443/p?q=1"));
    assert_true(provider_url_is_https("https://host/path@not-userinfo"));
    assert_false(provider_url_is_https("http://host/path"));
    assert_false(provider_url_is_https("https://"));
    assert_false(provider_url_is_https("https:///x"));
    assert_false(provider_url_is_https("https://:443/x"));
    assert_false(provider_url_is_https("https://user@host/"));
    assert_false(provider_url_is_https("https://user:pw@host"));
    assert_false(provider_url_is_https("https://host/a path"));
    assert_false(provider_url_is_https("https://host/a\tpath"));
    assert_false(provider_url_is_https("ftp://host/"));
    assert_false(provider_url_is_https("host/path"));
    assert_false(provider_url_is_https(""));
}

/* ---- provider_token_url_for_login: where a login's code is spent ---- */

/* Parses text, derives the token URL for instance: expected, or a refusal (expected NULL)
 * whose sentence holds every one of the NULL-terminated needles. */
static void token_url_is(const char *text, const char *instance, const char *expected, ...)
{
    struct provider_config config;
    char *token_url = NULL, why[512] = "";
    int rv;
    va_list needles;
    const char *needle;

    parse_ok(text, NULL, &config);
    rv = provider_token_url_for_login(&config, instance, &token_url, why, sizeof(why));
    if (expected != NULL) {
        if (rv != 0)
            fail_msg("instance '%s' refused: %s", instance, why);
        assert_string_equal(token_url, expected);
    } else {
        if (rv == 0)
            fail_msg("instance '%s' gave '%s'", instance, token_url);
        assert_null(token_url);
        va_start(needles, expected);
        while ((needle = va_arg(needles, const char *)) != NULL) {
            if (strstr(why, needle) == NULL)
                fail_msg("'%s' lacks '%s'", why, needle);
        }
        va_end(needles);
    }
    free(token_url);
    provider_config_clear(&config);
}

#define SNYK_EXPLICIT SNYK_KEYS "token_url = https://api.eu.snyk.io/oauth2/token\n"

static void test_token_url_from_preset_follows_instance(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" SNYK_KEYS, NULL, &config);
    assert_true(config.token_url_from_preset);
    provider_config_clear(&config);
    token_url_is("[p]\n" SNYK_KEYS, NULL, "https://api.snyk.io/oauth2/token", NULL);
    token_url_is("[p]\n" SNYK_KEYS, "api.eu.snyk.io", "https://api.eu.snyk.io/oauth2/token", NULL);
    token_url_is("[p]\n" SNYK_KEYS, "HTTPS://API.AU.SNYK.IO/",
                 "https://api.au.snyk.io/oauth2/token", NULL);
    token_url_is("[p]\n" SNYK_KEYS "region = SNYK-EU-01\n", "api.snyk.io",
                 "https://api.snyk.io/oauth2/token", NULL);
}

/* The module checks the instance itself: a helper that lies about it moves nothing. */
static void test_token_url_hostile_instance_refused(void **state)
{
    static const char *const hostile[] = {
        "evil.example",
        "api.evil.snyk.io.example.com",
        "https://api.snyk.io/x",
        "api.snyk.io:8443",
        "api.snyk.io@evil.com",
        "https://evil.example/oauth2/token",
        "",
        "api.snyk.io\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        token_url_is("[p]\n" SNYK_KEYS, hostile[i], NULL, "not allowed", NULL);
        token_url_is("[p]\n" SNYK_EXPLICIT, hostile[i], NULL, "not allowed", NULL);
    }
}

/* Issue 11 item 3: the admin's token_url stands; an instance on another host is refused. */
static void test_token_url_explicit_stands(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" SNYK_EXPLICIT, NULL, &config);
    assert_false(config.token_url_from_preset);
    provider_config_clear(&config);
    token_url_is("[p]\n" SNYK_EXPLICIT, NULL, "https://api.eu.snyk.io/oauth2/token", NULL);
    token_url_is("[p]\n" SNYK_EXPLICIT, "api.eu.snyk.io", "https://api.eu.snyk.io/oauth2/token",
                 NULL);
    token_url_is("[p]\n" SNYK_EXPLICIT, "https://API.EU.SNYK.IO/",
                 "https://api.eu.snyk.io/oauth2/token", NULL);
    token_url_is("[p]\n" SNYK_EXPLICIT, "api.us.snyk.io", NULL, "api.us.snyk.io", "api.eu.snyk.io",
                 "not kept", NULL);
    token_url_is("[p]\n" SNYK_KEYS "token_url = https://API.EU.snyk.io:443/oauth2/token\n",
                 "api.eu.snyk.io", "https://API.EU.snyk.io:443/oauth2/token", NULL);
    token_url_is("[p]\n" SNYK_KEYS "token_url = https://proxy.corp.example/snyk/token\n",
                 "api.snyk.io", NULL, "Snyk instance api.snyk.io", "proxy.corp.example", NULL);
}

/* Without the Snyk preset there is no instance= to follow: the configured URL, always. */
static void test_token_url_without_preset_ignores_instance(void **state)
{
    (void)state;
    token_url_is("[p]\n" GENERIC_KEYS, NULL, "https://idp.example/token", NULL);
    token_url_is("[p]\n" GENERIC_KEYS, "api.eu.snyk.io", "https://idp.example/token", NULL);
    token_url_is("[p]\n" GENERIC_KEYS, "evil.example", "https://idp.example/token", NULL);
}

/* ---- provider_config_load: the file's trust checks ---- */

static const char file_text[] = "[p]\n" GENERIC_KEYS "client_secret = from-file\n";

/* A temporary file holding text with the given mode; the caller unlinks it. */
static void make_file_with(char *path, const char *text, mode_t mode)
{
    size_t length = strlen(text);
    int fd;

    strcpy(path, "/tmp/test_provider_config.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, length), (ssize_t)length);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

/* A temporary file holding file_text with the given mode; the caller unlinks it. */
static void make_file(char *path, mode_t mode)
{
    make_file_with(path, file_text, mode);
}

static void test_load_private_file(void **state)
{
    char path[64];
    struct provider_config config;
    struct config_error error;
    int rv;

    (void)state;
    make_file(path, 0600);
    memset(&error, 0, sizeof(error));
    error.world_readable = true;
    rv = provider_config_load(path, NULL, &config, &error);
    unlink(path);
    if (rv != 0)
        print_error("%s\n", error.message);
    assert_int_equal(rv, 0);
    assert_false(error.world_readable);
    assert_string_equal(config.client_secret, "from-file");
    assert_string_equal(config.name, "p");
    provider_config_clear(&config);
}

/* When the module does not run as root it trusts a file owned by its own euid. */
static void test_load_own_file_when_not_root(void **state)
{
    char path[64];
    struct provider_config config;
    struct config_error error;
    uid_t unprivileged = 65534;
    int rv;

    (void)state;
    make_file(path, 0600);
    if (geteuid() == 0) {
        /* Become someone else for the duration of the load (the real uid stays root). */
        assert_int_equal(chown(path, unprivileged, (gid_t)-1), 0);
        assert_int_equal(seteuid(unprivileged), 0);
    }
    memset(&error, 0, sizeof(error));
    rv = provider_config_load(path, NULL, &config, &error);
    if (getuid() == 0)
        assert_int_equal(seteuid(0), 0);
    unlink(path);
    if (rv != 0)
        print_error("%s\n", error.message);
    assert_int_equal(rv, 0);
    assert_string_equal(config.client_secret, "from-file");
    provider_config_clear(&config);
}

static void load_fails_with(mode_t mode, const char *needle)
{
    char path[64];
    struct provider_config config;
    struct config_error error;
    int rv;

    make_file(path, mode);
    memset(&error, 0, sizeof(error));
    rv = provider_config_load(path, NULL, &config, &error);
    unlink(path);
    assert_int_equal(rv, -1);
    if (strstr(error.message, needle) == NULL || strstr(error.message, path) == NULL)
        print_error("message '%s' lacks '%s' or the path\n", error.message, needle);
    assert_non_null(strstr(error.message, needle));
    assert_non_null(strstr(error.message, path));
    assert_null(config.client_secret);
    assert_null(config.name);
}

static void test_load_rejects_writable_by_others(void **state)
{
    (void)state;
    load_fails_with(0620, "writable");
    load_fails_with(0602, "writable");
    load_fails_with(0666, "writable");
}

static void test_load_world_readable_warns(void **state)
{
    char path[64];
    struct provider_config config;
    struct config_error error;
    int rv;

    (void)state;
    make_file(path, 0644);
    memset(&error, 0, sizeof(error));
    rv = provider_config_load(path, NULL, &config, &error);
    unlink(path);
    assert_int_equal(rv, 0);
    assert_true(error.world_readable);
    assert_string_equal(config.client_secret, "from-file");
    provider_config_clear(&config);
}

static void test_load_rejects_directory(void **state)
{
    char path[64] = "/tmp/test_provider_config_dir.XXXXXX";
    struct provider_config config;
    struct config_error error;
    int rv;

    (void)state;
    assert_non_null(mkdtemp(path));
    memset(&error, 0, sizeof(error));
    rv = provider_config_load(path, NULL, &config, &error);
    rmdir(path);
    assert_int_equal(rv, -1);
    assert_non_null(strstr(error.message, path));
    assert_non_null(strstr(error.message, "regular"));
    assert_null(config.name);
}

/* A FIFO nobody writes to (a path an admin got wrong, or one planted where the config should
 * be): opened without blocking, refused as not a regular file, at once - the login goes on. */
static void test_load_rejects_fifo_without_blocking(void **state)
{
    char directory[64] = "/tmp/test_provider_config_dir.XXXXXX", path[96];
    struct provider_config config;
    struct config_error error;
    int rv;

    (void)state;
    assert_non_null(mkdtemp(directory));
    snprintf(path, sizeof(path), "%s/fifo.conf", directory);
    assert_int_equal(mkfifo(path, 0600), 0);
    memset(&error, 0, sizeof(error));
    alarm(5); /* a blocking open would hang here: SIGALRM ends the test as a failure */
    rv = provider_config_load(path, NULL, &config, &error);
    alarm(0);
    unlink(path);
    rmdir(directory);
    assert_int_equal(rv, -1);
    assert_non_null(strstr(error.message, "regular"));
    assert_null(config.name);
}

static void test_load_rejects_missing_file(void **state)
{
    char path[64];
    struct provider_config config;
    struct config_error error;

    (void)state;
    make_file(path, 0600);
    unlink(path);
    memset(&error, 0, sizeof(error));
    assert_int_equal(provider_config_load(path, NULL, &config, &error), -1);
    assert_non_null(strstr(error.message, path));
    assert_null(config.name);
}

static void test_load_rejects_foreign_owner(void **state)
{
    char path[64];
    struct provider_config config;
    struct config_error error;
    int rv;

    (void)state;
    if (getuid() != 0) {
        skip();
    }
    make_file(path, 0600);
    assert_int_equal(chown(path, 65534, (gid_t)-1), 0);
    memset(&error, 0, sizeof(error));
    rv = provider_config_load(path, NULL, &config, &error);
    unlink(path);
    assert_int_equal(rv, -1);
    if (strstr(error.message, "owned by root") == NULL)
        print_error("%s\n", error.message);
    assert_non_null(strstr(error.message, "owned by root"));
    assert_null(config.client_secret);
}

/* ---- issue 11, item 4: what would make the code exchange fail for sure ---- */

/* Snyk Apps are confidential clients: the preset without client_secret is refused at load,
 * naming the group's line, before any user is sent to sign in. */
static void test_snyk_preset_without_client_secret_warns(void **state)
{
    struct provider_config config;
    struct config_error error;

    (void)state;
    /* Accepted (Snyk has public clients too), with a warning naming the group's line. */
    assert_int_equal(provider_config_parse(PATH, "# Snyk\n[work]\n" SNYK_PUBLIC_KEYS,
                                           strlen("# Snyk\n[work]\n" SNYK_PUBLIC_KEYS), NULL,
                                           &config, &error),
                     0);
    assert_non_null(strstr(error.warning, PATH ":2: [work]: preset = snyk without client_secret"));
    provider_config_clear(&config);
    assert_int_equal(
        provider_config_parse(PATH, "[work]\n" SNYK_PUBLIC_KEYS "client_secret = s\n",
                              strlen("[work]\n" SNYK_PUBLIC_KEYS "client_secret = s\n"), NULL,
                              &config, &error),
        0);
    assert_string_equal(error.warning, "");
    provider_config_clear(&config);
    /* A generic provider may be a public client. */
    parse_ok("[p]\n" GENERIC_KEYS, NULL, &config);
    assert_null(config.client_secret);
    provider_config_clear(&config);
}

/* A configuration file (mode 0600, owned by us) whose group names ca_file_path; loads it and
 * returns provider_config_load's result, error filled; the config is cleared and the file
 * removed (config_path still names it, for messages). */
static int load_with_ca_file(const char *ca_file_path, char *config_path,
                             struct config_error *error)
{
    char text[512];
    struct provider_config config;
    int rv;

    snprintf(text, sizeof(text), "[p]\n" GENERIC_KEYS "ca_file = %s\n", ca_file_path);
    make_file_with(config_path, text, 0600);
    memset(error, 0, sizeof(*error));
    rv = provider_config_load(config_path, NULL, &config, error);
    unlink(config_path);
    if (rv == 0)
        assert_string_equal(config.ca_file, ca_file_path);
    else
        assert_null(config.ca_file);
    provider_config_clear(&config);
    return rv;
}

/* Loads a configuration naming a CA file of this mode and owner (-1: ours); expects the
 * NULL-terminated needles in the refusal, or success when the first needle is NULL. */
static void ca_file_check_is(mode_t mode, uid_t owner, const char *first_needle, ...)
{
    char ca_path[64], config_path[64], line_prefix[192];
    struct config_error error;
    const char *needle = first_needle;
    va_list needles;
    int rv;

    make_file_with(ca_path, "-----BEGIN CERTIFICATE-----\n", mode);
    if (owner != (uid_t)-1)
        assert_int_equal(chown(ca_path, owner, (gid_t)-1), 0);
    rv = load_with_ca_file(ca_path, config_path, &error);
    unlink(ca_path);
    if (first_needle == NULL) {
        if (rv != 0)
            fail_msg("mode %04o owner %d refused: %s", (unsigned)mode, (int)owner, error.message);
        return;
    }
    if (rv == 0)
        fail_msg("mode %04o owner %d accepted", (unsigned)mode, (int)owner);
    /* The configuration file and the key's line, then the CA file itself. */
    snprintf(line_prefix, sizeof(line_prefix), "%s:6: key 'ca_file': %s: ", config_path, ca_path);
    if (strncmp(error.message, line_prefix, strlen(line_prefix)) != 0)
        fail_msg("'%s' does not start with '%s'", error.message, line_prefix);
    va_start(needles, first_needle);
    for (; needle != NULL; needle = va_arg(needles, const char *)) {
        if (strstr(error.message, needle) == NULL)
            fail_msg("'%s' lacks '%s'", error.message, needle);
    }
    va_end(needles);
}

/* Issue 11, item 4: a ca_file another user can write lets them add trust anchors for every
 * user the module serves; the file has the configuration file's own rule. */
static void test_load_ca_file_trust(void **state)
{
    (void)state;
    ca_file_check_is(0644, (uid_t)-1, NULL);
    ca_file_check_is(0600, (uid_t)-1, NULL);
    ca_file_check_is(0444, (uid_t)-1, NULL);
    ca_file_check_is(0664, (uid_t)-1, "must not be writable by group or others", "0664", NULL);
    ca_file_check_is(0646, (uid_t)-1, "must not be writable by group or others", "0646", NULL);
    ca_file_check_is(0666, (uid_t)-1, "must not be writable by group or others", NULL);
    if (geteuid() == 0)
        ca_file_check_is(0644, 65534, "must be owned by root", "owner is uid 65534", NULL);
}

/* A missing, relative or non-regular ca_file: refused at load, the value never quoted when
 * it names no file (it may be a secret in the wrong key). */
static void test_load_ca_file_must_exist(void **state)
{
    char directory[64] = "/tmp/test_provider_config_dir.XXXXXX", config_path[64];
    char missing[80], expected[192];
    struct config_error error;
    int rv;

    (void)state;
    snprintf(missing, sizeof(missing), "/nonexistent/TOPSECRET/%d.pem", (int)getpid());
    assert_int_equal(load_with_ca_file(missing, config_path, &error), -1);
    snprintf(expected, sizeof(expected), "%s:6: key 'ca_file': ", config_path);
    if (strncmp(error.message, expected, strlen(expected)) != 0 ||
        strstr(error.message, "No such file") == NULL || strstr(error.message, "TOPSECRET"))
        fail_msg("missing ca_file gave '%s'", error.message);

    assert_int_equal(load_with_ca_file("TOPSECRET.pem", config_path, &error), -1);
    snprintf(expected, sizeof(expected), "%s:6: key 'ca_file': must be an absolute path",
             config_path);
    if (strcmp(error.message, expected) != 0)
        fail_msg("relative ca_file gave '%s'", error.message);

    assert_non_null(mkdtemp(directory));
    rv = load_with_ca_file(directory, config_path, &error);
    rmdir(directory);
    assert_int_equal(rv, -1);
    snprintf(expected, sizeof(expected), "%s:6: key 'ca_file': %s: not a regular file", config_path,
             directory);
    if (strcmp(error.message, expected) != 0)
        fail_msg("directory ca_file gave '%s'", error.message);
}

/* Not running as root, the module trusts a CA file of its own euid, as it does its
 * configuration file. */
static void test_load_ca_file_own_when_not_root(void **state)
{
    char ca_path[64], config_path[64], text[512];
    struct provider_config config;
    struct config_error error;
    uid_t unprivileged = 65534;
    int rv;

    (void)state;
    if (geteuid() != 0)
        skip();
    make_file_with(ca_path, "-----BEGIN CERTIFICATE-----\n", 0644);
    snprintf(text, sizeof(text), "[p]\n" GENERIC_KEYS "ca_file = %s\n", ca_path);
    make_file_with(config_path, text, 0600);
    assert_int_equal(chown(ca_path, unprivileged, (gid_t)-1), 0);
    assert_int_equal(chown(config_path, unprivileged, (gid_t)-1), 0);
    assert_int_equal(seteuid(unprivileged), 0);
    memset(&error, 0, sizeof(error));
    rv = provider_config_load(config_path, NULL, &config, &error);
    assert_int_equal(seteuid(0), 0);
    if (rv != 0) {
        unlink(ca_path);
        unlink(config_path);
        fail_msg("own ca_file refused: %s", error.message);
    }
    provider_config_clear(&config);
    /* Owned by another user than the module's: refused, with the rule for this module. */
    assert_int_equal(chown(ca_path, 1, (gid_t)-1), 0);
    assert_int_equal(seteuid(unprivileged), 0);
    rv = provider_config_load(config_path, NULL, &config, &error);
    assert_int_equal(seteuid(0), 0);
    unlink(ca_path);
    unlink(config_path);
    if (rv == 0 || strstr(error.message, "must be owned by root or by uid 65534") == NULL)
        fail_msg("foreign ca_file gave %d '%s'", rv, error.message);
}

/* ---- issue 11, item 5: values in double quotes ---- */

static void test_quoted_values(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" GENERIC_KEYS "scope = \"org.read\"\n"
             "client_secret = \" spaced \\s\"\n"
             "issuer = \"https://idp.example\"\n"
             "keyring_service = a\"b\n",
             NULL, &config);
    assert_string_equal(config.scope, "org.read");
    assert_string_equal(config.client_secret, " spaced  ");
    assert_string_equal(config.issuer, "https://idp.example");
    /* A quote inside a value is the value's own. */
    assert_string_equal(config.keyring_service, "a\"b");
    provider_config_clear(&config);

    parse_ok("[p]\n"
             "authorize_url = \"https://idp.example/authorize\"\n"
             "token_url = \"https://idp.example/token\"\n"
             "client_id = \"cid\"\n"
             "redirect_uri = \"http://127.0.0.1:8080/cb\"\n"
             "timeout = \"30\"\n",
             NULL, &config);
    assert_string_equal(config.authorize_url, "https://idp.example/authorize");
    assert_string_equal(config.client_id, "cid");
    assert_int_equal(config.timeout, 30);
    provider_config_clear(&config);

    parse_fails_with("[p]\n" GENERIC_KEYS "scope = \"org.read\n", NULL,
                     PATH ":6: key 'scope': unbalanced double quote", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "scope = org.read\"\n", NULL,
                     PATH ":6: key 'scope': unbalanced double quote", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "scope = \"\n", NULL,
                     PATH ":6: key 'scope': unbalanced double quote", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "scope = \"a\" \"b\"\n", NULL,
                     PATH ":6: key 'scope': unbalanced double quote", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "scope = \"\"\n", NULL,
                     PATH ":6: key 'scope': empty value", NULL);
}

/* ---- issue 21, item 1: an issuer alone discovers the endpoints ---- */

static void test_issuer_alone_discovers(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[kc]\nissuer = https://kc.example/realms/corp\nclient_id = cid\n"
             "redirect_uri = http://127.0.0.1:8080/cb\n",
             NULL, &config);
    assert_true(config.discover);
    assert_null(config.authorize_url);
    assert_null(config.token_url);
    assert_null(config.revoke_url);
    assert_string_equal(config.issuer, "https://kc.example/realms/corp");
    provider_config_clear(&config);
    assert_false(config.discover);
    /* An explicit key stands; the other endpoints still come from the metadata. */
    parse_ok("[kc]\nissuer = https://kc.example/realms/corp\nclient_id = cid\n"
             "token_url = https://proxy.example/token\nredirect_uri = http://127.0.0.1:8080/cb\n",
             NULL, &config);
    assert_true(config.discover);
    assert_string_equal(config.token_url, "https://proxy.example/token");
    provider_config_clear(&config);
}

/* An issuer beside both endpoints keeps its old meaning only (RFC 9207's iss check): no
 * network request that today's configurations did not make. */
static void test_issuer_with_endpoints_does_not_discover(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" GENERIC_KEYS "issuer = https://idp.example\n", NULL, &config);
    assert_false(config.discover);
    provider_config_clear(&config);
}

static void test_discovery_needs_an_issuer_url(void **state)
{
    (void)state;
    parse_fails_with(
        "[p]\nissuer = https://idp.example/?tenant=1\nclient_id = c\n"
        "redirect_uri = http://127.0.0.1/cb\n",
        NULL, PATH ":2: key 'issuer': to discover the endpoints it must be an https URL", NULL);
    parse_fails_with("[p]\nissuer = http://idp.example\nclient_id = c\n"
                     "redirect_uri = http://127.0.0.1/cb\n",
                     NULL, "key 'issuer'", NULL);
    parse_fails_with(
        "[p]\nclient_id = c\nredirect_uri = http://127.0.0.1/cb\n", NULL,
        PATH ":1: [p]: required key 'authorize_url' is missing (or give 'issuer' alone", NULL);
    parse_fails_with("[p]\nissuer = https://idp.example\nredirect_uri = http://127.0.0.1/cb\n",
                     NULL, "required key 'client_id' is missing", NULL);
}

/* ---- the device grant (RFC 8628): sign_in and the keys each sign-in needs ---- */

/* A device-only group: the client, the token and device authorization endpoints. */
#define DEVICE_KEYS                                                                                \
    "client_id = cid\n"                                                                            \
    "token_url = https://idp.example/token\n"                                                      \
    "device_authorization_url = https://idp.example/device\n"

/* Without the key, the browser: what every configuration written before the device grant
 * means. */
static void test_sign_in_defaults_to_browser(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" GENERIC_KEYS, NULL, &config);
    assert_int_equal(config.sign_in, SIGN_IN_BROWSER);
    assert_null(config.sign_in_text);
    assert_true(provider_uses_browser(&config));
    assert_false(provider_uses_device(&config));
    provider_config_clear(&config);
}

static void test_sign_in_words(void **state)
{
    static const struct {
        const char *word;
        enum provider_sign_in sign_in;
        bool browser, device;
    } cases[] = {
        {"browser", SIGN_IN_BROWSER, true, false},
        {"device", SIGN_IN_DEVICE, false, true},
        {"both", SIGN_IN_BOTH, true, true},
        {"\"both\"", SIGN_IN_BOTH, true, true},
    };
    struct provider_config config;
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* Every endpoint and the redirect: each sign-in has what it needs. */
        snprintf(text, sizeof(text),
                 "[p]\n" GENERIC_KEYS "device_authorization_url = https://idp.example/device\n"
                 "sign_in = %s\n",
                 cases[i].word);
        parse_ok(text, NULL, &config);
        assert_int_equal(config.sign_in, cases[i].sign_in);
        assert_int_equal(provider_uses_browser(&config), cases[i].browser);
        assert_int_equal(provider_uses_device(&config), cases[i].device);
        assert_string_equal(config.device_authorization_url, "https://idp.example/device");
        assert_false(config.discover);
        provider_config_clear(&config);
        assert_int_equal(config.sign_in, SIGN_IN_BROWSER);
        assert_null(config.sign_in_text);
    }
}

/* Any other word is refused at its line, naming the three words; the word itself is not
 * quoted (a value in the wrong key may be the client secret). */
static void test_sign_in_unknown_word_refused(void **state)
{
    static const char *const words[] = {"Device",         "BOTH",    "phone",    "browser,device",
                                        "browser device", "devices", "TOPSECRET"};
    struct provider_config config;
    struct config_error error;
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        snprintf(text, sizeof(text),
                 "[p]\n" GENERIC_KEYS "device_authorization_url = https://idp.example/device\n"
                 "sign_in = %s\n",
                 words[i]);
        assert_int_equal(parse(text, NULL, &config, &error), -1);
        assert_string_equal(error.message,
                            PATH ":7: key 'sign_in': must be browser, device or both");
        assert_null(config.sign_in_text);
        assert_null(config.client_id);
    }
    parse_fails_with("[p]\n" GENERIC_KEYS "sign_in =\n", NULL,
                     PATH ":6: key 'sign_in': empty value", NULL);
    parse_fails_with("[p]\n" GENERIC_KEYS "sign_in = device\nsign_in = both\n", NULL,
                     PATH ":7: key 'sign_in' appears twice", NULL);
}

static void test_device_authorization_url_must_be_https(void **state)
{
    (void)state;
    parse_fails_with("[p]\nclient_id = cid\ntoken_url = https://idp.example/token\n"
                     "device_authorization_url = http://idp.example/device\nsign_in = device\n",
                     NULL, PATH ":4: key 'device_authorization_url': only https://", NULL);
    parse_fails_with("[p]\nclient_id = cid\ntoken_url = https://idp.example/token\n"
                     "device_authorization_url = https://user@idp.example/device\n"
                     "sign_in = device\n",
                     NULL, PATH ":4: key 'device_authorization_url': only https://", NULL);
    parse_fails_with("[p]\nclient_id = cid\ntoken_url = https://idp.example/token\n"
                     "device_authorization_url = https:///device\nsign_in = device\n",
                     NULL, PATH ":4: key 'device_authorization_url': only https://", NULL);
}

/* The device grant alone has no redirect and no authorization endpoint; with both endpoints
 * it needs, nothing is discovered. */
static void test_device_explicit_endpoints_need_no_redirect(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" DEVICE_KEYS "sign_in = device\n", NULL, &config);
    assert_int_equal(config.sign_in, SIGN_IN_DEVICE);
    assert_null(config.redirect_uri);
    assert_null(config.authorize_url);
    assert_string_equal(config.token_url, "https://idp.example/token");
    assert_string_equal(config.device_authorization_url, "https://idp.example/device");
    assert_false(config.discover);
    provider_config_clear(&config);
    /* An issuer beside them keeps its old meaning only: nothing to fetch. */
    parse_ok("[p]\n" DEVICE_KEYS "sign_in = device\nissuer = https://idp.example\n", NULL, &config);
    assert_false(config.discover);
    provider_config_clear(&config);
}

/* An issuer alone and sign_in = device, no redirect: the endpoints come from its metadata. */
static void test_device_issuer_alone_discovers(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[kc]\nissuer = https://kc.example/realms/corp\nclient_id = cid\nsign_in = device\n",
             NULL, &config);
    assert_true(config.discover);
    assert_null(config.token_url);
    assert_null(config.device_authorization_url);
    assert_null(config.redirect_uri);
    provider_config_clear(&config);
    /* The device authorization endpoint alone missing is reason enough. */
    parse_ok("[kc]\nissuer = https://kc.example/realms/corp\nclient_id = cid\nsign_in = device\n"
             "token_url = https://kc.example/token\n",
             NULL, &config);
    assert_true(config.discover);
    provider_config_clear(&config);
}

/* Without an issuer, each endpoint the device grant needs is required, by name. */
static void test_device_endpoints_required_without_issuer(void **state)
{
    (void)state;
    parse_fails_with("[p]\nclient_id = cid\ntoken_url = https://idp.example/token\n"
                     "sign_in = device\n",
                     NULL, PATH ":1: [p]: required key 'device_authorization_url' is missing",
                     NULL);
    parse_fails_with("[p]\nclient_id = cid\n"
                     "device_authorization_url = https://idp.example/device\nsign_in = device\n",
                     NULL, PATH ":1: [p]: required key 'token_url' is missing", NULL);
    parse_fails_with("[p]\ntoken_url = https://idp.example/token\n"
                     "device_authorization_url = https://idp.example/device\nsign_in = device\n",
                     NULL, PATH ":1: [p]: required key 'client_id' is missing", NULL);
}

/* Both sign-ins: the browser's keys and the device grant's. */
static void test_both_without_device_url_refused(void **state)
{
    (void)state;
    parse_fails_with("[p]\n" GENERIC_KEYS "sign_in = both\n", NULL,
                     PATH ":1: [p]: required key 'device_authorization_url' is missing", NULL);
}

static void test_both_needs_browser_keys(void **state)
{
    (void)state;
    parse_fails_with("[p]\n" DEVICE_KEYS "sign_in = both\n", NULL,
                     PATH ":1: [p]: required key 'authorize_url' is missing", NULL);
    parse_fails_with("[p]\n" DEVICE_KEYS "authorize_url = https://idp.example/authorize\n"
                     "sign_in = both\n",
                     NULL, PATH ":1: [p]: required key 'redirect_uri' is missing", NULL);
}

/* An issuer beside the browser's endpoints discovers once sign_in asks for the device grant
 * too: its endpoint is missing. */
static void test_both_with_issuer_discovers_device_url(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" GENERIC_KEYS "issuer = https://idp.example\nsign_in = both\n", NULL, &config);
    assert_true(config.discover);
    assert_null(config.device_authorization_url);
    assert_string_equal(config.authorize_url, "https://idp.example/authorize");
    provider_config_clear(&config);
    /* The same without sign_in: the browser has both its endpoints, nothing is fetched. */
    parse_ok("[p]\n" GENERIC_KEYS "issuer = https://idp.example\n", NULL, &config);
    assert_false(config.discover);
    provider_config_clear(&config);
}

/* A device-only group with a redirect_uri it does not need is still fine; one with the
 * browser's authorize_url too. */
static void test_device_ignores_browser_keys(void **state)
{
    struct provider_config config;

    (void)state;
    parse_ok("[p]\n" GENERIC_KEYS "device_authorization_url = https://idp.example/device\n"
             "sign_in = device\n",
             NULL, &config);
    assert_int_equal(config.sign_in, SIGN_IN_DEVICE);
    assert_false(provider_uses_browser(&config));
    provider_config_clear(&config);
}

/* ---- issue 11, item 8: every error names the file and the line ---- */

static void test_group_errors_name_a_line(void **state)
{
    (void)state;
    /* Missing keys: the group's line. */
    parse_fails_with("# a comment\n\n[p]\n"
                     "authorize_url = https://idp.example/authorize\n"
                     "token_url = https://idp.example/token\n"
                     "redirect_uri = http://127.0.0.1/cb\n",
                     NULL, PATH ":3: [p]: required key 'client_id' is missing", NULL);
    parse_fails_with("[q]\n" GENERIC_KEYS "\n[p]\npreset = snyk\nclient_id = c\n", "p",
                     PATH ":7: [p]: required key 'redirect_uri' is missing", NULL);
    /* A key's own error: that key's line. */
    parse_fails_with("[p]\n" GENERIC_KEYS "region = SNYK-EU-01\n", NULL,
                     PATH ":6: [p]: key 'region' needs preset = snyk", NULL);
    parse_fails_with("[p]\n" SNYK_KEYS "\nregion = SNYK-MARS-01\n", NULL,
                     PATH ":7: [p]: key 'region': unknown Snyk region (known: SNYK-US-01, "
                          "SNYK-US-02, SNYK-EU-01, SNYK-AU-01, SNYK-GOV-01)",
                     NULL);
    parse_fails_with("[p]\nclient_id = c\npreset = github\nredirect_uri = http://h/cb\n", NULL,
                     PATH ":3: [p]: key 'preset': unknown preset (known: snyk)", NULL);
}

static void test_nul_byte_names_its_line(void **state)
{
    static const char with_nul[] = "[p]\n" GENERIC_KEYS "scope = a\0b\n";
    struct provider_config config;
    struct config_error error;

    (void)state;
    memset(&error, 0, sizeof(error));
    assert_int_equal(
        provider_config_parse(PATH, with_nul, sizeof(with_nul) - 1, NULL, &config, &error), -1);
    assert_string_equal(error.message, PATH ":6: contains a NUL byte");
}

/* The Snyk preset's name is matched without regard to case, like its regions. */
static void test_preset_any_case(void **state)
{
    static const char *const spellings[] = {"Snyk", "SNYK", "sNyK"};
    struct provider_config config;
    char text[512];
    char *token_url = NULL, why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        snprintf(text, sizeof(text),
                 "[p]\npreset = %s\nclient_id = cid\nclient_secret = s\n"
                 "redirect_uri = https://app.snyk.io/cb\nregion = snyk-eu-01\n",
                 spellings[i]);
        parse_ok(text, NULL, &config);
        assert_string_equal(config.preset, "snyk");
        assert_string_equal(config.display_name, "Snyk");
        assert_string_equal(config.token_url, "https://api.eu.snyk.io/oauth2/token");
        /* The preset's behaviour follows: instance= is honoured. */
        assert_int_equal(
            provider_token_url_for_login(&config, "api.au.snyk.io", &token_url, why, sizeof(why)),
            0);
        assert_string_equal(token_url, "https://api.au.snyk.io/oauth2/token");
        free(token_url);
        provider_config_clear(&config);
    }
}

/* "No [NAME] group" and "several groups" list the groups found: names only, never a value. */
static void test_group_choice_lists_the_groups(void **state)
{
    static const char three[] = "[first]\n" GENERIC_KEYS "client_secret = TOPSECRET\n"
                                "[Corp IdP]\n" GENERIC_KEYS "[snyk]\n" SNYK_KEYS;
    struct provider_config config;
    struct config_error error;

    (void)state;
    assert_int_equal(parse(three, "Snyk", &config, &error), -1);
    assert_string_equal(error.message, PATH ": no [Snyk] group for provider=Snyk (groups: [first], "
                                            "[Corp IdP], [snyk])");
    assert_int_equal(parse(three, NULL, &config, &error), -1);
    assert_string_equal(error.message, PATH ": several provider groups ([first], [Corp IdP], "
                                            "[snyk]); name one with the provider= module argument");
    assert_int_equal(parse("# nothing\n", "p", &config, &error), -1);
    assert_string_equal(error.message, PATH ": no [p] group for provider=p (the file has none)");
}

/* Many groups: the list is cut to fit, and says so. */
static void test_group_list_is_cut(void **state)
{
    char text[4096] = "";
    size_t used = 0;
    struct provider_config config;
    struct config_error error;

    (void)state;
    for (int i = 0; i < 100; i++)
        used += (size_t)snprintf(text + used, sizeof(text) - used,
                                 "[group-with-a-long-name-%03d]\n", i);
    assert_int_equal(parse(text, "other", &config, &error), -1);
    assert_true(strlen(error.message) < sizeof(error.message) - 1);
    assert_non_null(strstr(error.message, "[group-with-a-long-name-000]"));
    assert_null(strstr(error.message, "[group-with-a-long-name-099]"));
    assert_non_null(strstr(error.message, ", ...)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snyk_preset_default_region),
        cmocka_unit_test(test_snyk_preset_eu_region),
        cmocka_unit_test(test_snyk_preset_gov_region),
        cmocka_unit_test(test_snyk_preset_explicit_url_wins),
        cmocka_unit_test(test_generic_provider),
        cmocka_unit_test(test_keyring_service_defaults_to_group),
        cmocka_unit_test(test_timeout_bounds),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_unknown_key_named_by_its_key_only),
        cmocka_unit_test(test_malformed_lines_never_quote_a_value),
        cmocka_unit_test(test_token_url_from_preset_follows_instance),
        cmocka_unit_test(test_token_url_hostile_instance_refused),
        cmocka_unit_test(test_token_url_explicit_stands),
        cmocka_unit_test(test_token_url_without_preset_ignores_instance),
        cmocka_unit_test(test_http_authorize_url_rejected),
        cmocka_unit_test(test_missing_required_keys),
        cmocka_unit_test(test_provider_selection),
        cmocka_unit_test(test_duplicates_rejected),
        cmocka_unit_test(test_region_and_preset_errors),
        cmocka_unit_test(test_comments_and_blank_lines),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_key_before_group),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_url_is_https),
        cmocka_unit_test(test_load_private_file),
        cmocka_unit_test(test_load_own_file_when_not_root),
        cmocka_unit_test(test_load_rejects_writable_by_others),
        cmocka_unit_test(test_load_world_readable_warns),
        cmocka_unit_test(test_load_rejects_directory),
        cmocka_unit_test(test_load_rejects_fifo_without_blocking),
        cmocka_unit_test(test_load_rejects_missing_file),
        cmocka_unit_test(test_load_rejects_foreign_owner),
        cmocka_unit_test(test_snyk_preset_without_client_secret_warns),
        cmocka_unit_test(test_load_ca_file_trust),
        cmocka_unit_test(test_load_ca_file_must_exist),
        cmocka_unit_test(test_load_ca_file_own_when_not_root),
        cmocka_unit_test(test_quoted_values),
        cmocka_unit_test(test_group_errors_name_a_line),
        cmocka_unit_test(test_nul_byte_names_its_line),
        cmocka_unit_test(test_preset_any_case),
        cmocka_unit_test(test_group_choice_lists_the_groups),
        cmocka_unit_test(test_group_list_is_cut),
        cmocka_unit_test(test_issuer_alone_discovers),
        cmocka_unit_test(test_issuer_with_endpoints_does_not_discover),
        cmocka_unit_test(test_discovery_needs_an_issuer_url),
        cmocka_unit_test(test_sign_in_defaults_to_browser),
        cmocka_unit_test(test_sign_in_words),
        cmocka_unit_test(test_sign_in_unknown_word_refused),
        cmocka_unit_test(test_device_authorization_url_must_be_https),
        cmocka_unit_test(test_device_explicit_endpoints_need_no_redirect),
        cmocka_unit_test(test_device_issuer_alone_discovers),
        cmocka_unit_test(test_device_endpoints_required_without_issuer),
        cmocka_unit_test(test_both_without_device_url_refused),
        cmocka_unit_test(test_both_needs_browser_keys),
        cmocka_unit_test(test_both_with_issuer_discovers_device_url),
        cmocka_unit_test(test_device_ignores_browser_keys),
    };

    return cmocka_run_group_tests_name("test_provider_config", tests, NULL, NULL);
}
