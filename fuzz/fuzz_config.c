/* libFuzzer harness: the configuration file parser (pam_module/provider_config.c).
 *
 * The file is root's and trusted, but its parser runs as root inside gdm, sshd and login, in
 * plain libc; a typo must give an error naming file, line and key, never a crash or a leak.
 * provider_config_parse takes the bytes as provider_config_load has read them: a pointer and
 * a length, no terminating NUL (none here either, so ASan sees any read past the end).
 *
 * Each input is parsed twice: without provider= (the file must hold exactly one group) and
 * with provider=snyk. Checked:
 *   - on success: every required key there (authorize_url, token_url, client_id,
 *     redirect_uri), endpoints https with a host (provider_url_is_https), timeout and
 *     refresh_margin in range, no control byte in any string, the defaults filled in
 *     (keyring_service, display_name), region only with preset = snyk, the group is the one
 *     asked for;
 *   - on failure: every string freed and NULL (the client secret is among them), and a
 *     terminated, non-empty error message;
 *   - consistency: when the file's only group is [snyk], both readings give the same result.
 * Memory: ASan, UBSan, LeakSanitizer. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "pam_module/provider_config.h"
#include "common/text_checks.h"

#define PROVIDER "snyk"
#define PATH "fuzz.conf"
#define VALUE_MAX_BYTES 4096 /* CONFIG_MAX_VALUE in provider_config.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every string member with its name, in one list, for the checks below. */
#define STRING_FIELDS(X)                                                                           \
    X(name)                                                                                        \
    X(preset)                                                                                      \
    X(region)                                                                                      \
    X(display_name)                                                                                \
    X(authorize_url)                                                                               \
    X(token_url)                                                                                   \
    X(revoke_url)                                                                                  \
    X(client_id)                                                                                   \
    X(client_secret)                                                                               \
    X(redirect_uri)                                                                                \
    X(scope)                                                                                       \
    X(issuer)                                                                                      \
    X(ca_file)                                                                                     \
    X(keyring_service)                                                                             \
    X(device_authorization_url)                                                                    \
    X(sign_in_text)

static void check_string(const char *value)
{
    size_t length;

    if (value == NULL)
        return;
    length = strlen(value);
    CHECK(length > 0 && length <= VALUE_MAX_BYTES);
    CHECK(!text_has_control_byte(value, length));
}

static void check_loaded(const struct provider_config *config, const char *provider)
{
#define CHECK_STRING(field) check_string(config->field);
    STRING_FIELDS(CHECK_STRING)
#undef CHECK_STRING
    CHECK(config->name != NULL);
    CHECK(provider == NULL || strcmp(config->name, provider) == 0);
    /* With discovery (an issuer, and an endpoint the sign-in needs missing) the endpoints
     * may come from the issuer's metadata later; the issuer must then name that metadata. */
    bool browser = provider_uses_browser(config), device = provider_uses_device(config);
    bool missing = (browser && config->authorize_url == NULL) || config->token_url == NULL ||
                   (device && config->device_authorization_url == NULL);
    CHECK(browser || device);
    CHECK(config->discover == (config->issuer != NULL && missing));
    CHECK(!config->discover ||
          (provider_url_is_https(config->issuer) && strpbrk(config->issuer, "?#") == NULL));
    CHECK(config->authorize_url == NULL || provider_url_is_https(config->authorize_url));
    CHECK(config->token_url == NULL || provider_url_is_https(config->token_url));
    CHECK(config->device_authorization_url == NULL ||
          provider_url_is_https(config->device_authorization_url));
    CHECK(config->discover || !missing);
    CHECK(config->redirect_uri != NULL || !browser);
    CHECK(config->revoke_url == NULL || provider_url_is_https(config->revoke_url));
    CHECK(config->client_id != NULL);
    CHECK(config->keyring_service != NULL && config->display_name != NULL);
    CHECK(config->preset == NULL || strcmp(config->preset, "snyk") == 0);
    CHECK(config->region == NULL || config->preset != NULL);
    CHECK(strcmp(config->display_name, config->preset != NULL ? "Snyk" : config->name) == 0);
    CHECK(config->timeout >= 1 && config->timeout <= CONFIG_MAX_TIMEOUT);
    CHECK(config->refresh_margin >= 0 && config->refresh_margin <= CONFIG_MAX_REFRESH_MARGIN);
}

static void check_refused(const struct provider_config *config, const struct config_error *error)
{
    size_t length = strnlen(error->message, sizeof(error->message));

#define CHECK_NULL(field) CHECK(config->field == NULL);
    STRING_FIELDS(CHECK_NULL)
#undef CHECK_NULL
    CHECK(length > 0 && length < sizeof(error->message));
}

static bool same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_same(const struct provider_config *a, const struct provider_config *b)
{
#define CHECK_SAME(field) CHECK(same_string(a->field, b->field));
    STRING_FIELDS(CHECK_SAME)
#undef CHECK_SAME
    CHECK(a->timeout == b->timeout && a->refresh_margin == b->refresh_margin);
    CHECK(a->sign_in == b->sign_in && a->discover == b->discover);
}

static int parse(const uint8_t *data, size_t size, const char *provider,
                 struct provider_config *config)
{
    struct config_error error;
    int rv;

    /* Poisoned: the parser must set every field and the message itself. */
    memset(config, 0xa5, sizeof(*config));
    memset(&error, 'X', sizeof(error));
    rv = provider_config_parse(PATH, (const char *)data, size, provider, config, &error);
    CHECK(rv == 0 || rv == -1);
    if (rv == 0)
        check_loaded(config, provider);
    else
        check_refused(config, &error);
    return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct provider_config only, named;
    int rv_only = parse(data, size, NULL, &only);
    int rv_named = parse(data, size, PROVIDER, &named);

    /* Without provider= the single group is taken; if that group is [snyk], naming it must
     * change nothing. */
    if (rv_only == 0 && strcmp(only.name, PROVIDER) == 0) {
        CHECK(rv_named == 0);
        check_same(&only, &named);
    }
    provider_config_clear(&only);
    provider_config_clear(&named);
    return 0;
}
