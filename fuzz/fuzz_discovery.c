/* libFuzzer harness: the issuer's metadata and its addresses (oauth/discovery.c).
 *
 * The metadata document is written by whoever answers at the issuer's well-known address;
 * the issuer is the admin's, but its text decides two URLs. Both are fuzzed from one input:
 * the bytes as the body of a metadata document for a fixed issuer (not NUL-terminated, as
 * libFuzzer hands them over), and the bytes up to the first NUL as an issuer.
 *
 * Beyond memory safety (ASan, UBSan, LeakSanitizer), it checks what discovery.h promises:
 *   - discovery_metadata_parse: on success the issuer is the configured one, a token endpoint
 *     is there and every endpoint kept starts with https:// and holds no byte below 0x21 or
 *     '#'; on failure nothing kept and a terminated reason;
 *   - discovery_well_known_urls: on success both addresses end in their suffix (RFC 8414's
 *     followed by the issuer's path) and start with https://, and the OpenID Connect one
 *     starts with the issuer less any terminating '/'. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_check.h"
#include "oauth/discovery.h"
#include "oauth/https_transport.h"
#include "oauth/token_exchange.h"

#define ISSUER "https://issuer.example/realms/fuzz"
#define OPENID_SUFFIX "/.well-known/openid-configuration"
#define OAUTH_WELL_KNOWN "/.well-known/oauth-authorization-server"

/* discovery_fetch is not reached from here; its transport is stubbed out so that the harness
 * links without the https module. */
void https_get_document(const char *url, const char *ca_file, long timeout_ms, const char *endpoint,
                        struct https_answer *answer)
{
    (void)url, (void)ca_file, (void)timeout_ms, (void)endpoint, (void)answer;
    abort();
}

static void check_endpoint(const char *url, bool required)
{
    if (url == NULL) {
        CHECK(!required);
        return;
    }
    CHECK(strncasecmp(url, "https://", 8) == 0 && strlen(url) > 8);
    CHECK(strlen(url) <= DISCOVERY_URL_MAX);
    for (const char *c = url; *c != '\0'; c++)
        CHECK((unsigned char)*c > 0x20 && *c != '#' && *c != 0x7f);
}

static void fuzz_metadata(const char *body, size_t length)
{
    struct provider_metadata metadata;
    char why[256];

    memset(why, 'X', sizeof(why));
    if (discovery_metadata_parse(body, length, ISSUER, &metadata, why, sizeof(why)) != 0) {
        CHECK(memchr(why, '\0', sizeof(why)) != NULL);
        CHECK(metadata.issuer == NULL && metadata.token_endpoint == NULL &&
              metadata.authorization_endpoint == NULL && metadata.revocation_endpoint == NULL &&
              metadata.device_authorization_endpoint == NULL);
        return;
    }
    CHECK(metadata.issuer != NULL && strcmp(metadata.issuer, ISSUER) == 0);
    check_endpoint(metadata.token_endpoint, true);
    check_endpoint(metadata.authorization_endpoint, false);
    check_endpoint(metadata.revocation_endpoint, false);
    check_endpoint(metadata.device_authorization_endpoint, false);
    provider_metadata_clear(&metadata);
}

static void fuzz_issuer(const uint8_t *data, size_t size)
{
    char *issuer = strndup((const char *)data, size < 4096 ? size : 4096);
    char openid[DISCOVERY_URL_MAX + 64], oauth[DISCOVERY_URL_MAX + 64];
    const char *inserted;
    size_t kept;

    if (issuer == NULL)
        return;
    if (discovery_well_known_urls(issuer, openid, sizeof(openid), oauth, sizeof(oauth)) == 0) {
        kept = strlen(issuer);
        while (kept > 8 && issuer[kept - 1] == '/')
            kept--;
        CHECK(strncmp(openid, issuer, kept) == 0 && strcmp(openid + kept, OPENID_SUFFIX) == 0);
        /* RFC 8414's is the same issuer with the suffix inserted right after the host. */
        inserted = strstr(oauth, OAUTH_WELL_KNOWN);
        CHECK(inserted != NULL && strchr(oauth + 8, '/') == inserted);
        CHECK((size_t)(inserted - oauth) <= kept &&
              strncmp(oauth, issuer, (size_t)(inserted - oauth)) == 0 &&
              strncmp(inserted + strlen(OAUTH_WELL_KNOWN), issuer + (inserted - oauth),
                      kept - (size_t)(inserted - oauth)) == 0 &&
              strlen(inserted + strlen(OAUTH_WELL_KNOWN)) == kept - (size_t)(inserted - oauth));
        CHECK(strchr(openid, '?') == NULL && strchr(openid, '#') == NULL);
    }
    free(issuer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_metadata((const char *)data, size);
    fuzz_issuer(data, size);
    return 0;
}
