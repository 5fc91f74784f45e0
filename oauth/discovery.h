/* Discovery: a provider's endpoints from its issuer's metadata (OpenID Connect Discovery 1.0
 * section 4, RFC 8414 section 3), for a configuration that names only the issuer.
 *
 * Run by the user's own processes only (the login helper, the refresher's children), never by
 * the module: it is a network request and a JSON document a remote party wrote. The document
 * is fetched afresh by whoever needs an endpoint and kept nowhere but in that process: a copy
 * in a file the user can write would let the user choose where the fleet's client secret goes
 * (docs/SECURITY.md 3.2). Rules: https with verified TLS, no redirect followed, at most
 * TOKEN_RESPONSE_MAX_BYTES, all within one time budget; the document's issuer must equal the
 * configured one byte for byte (OpenID Connect Discovery 4.3, RFC 8414 3.3); every endpoint we
 * may use must be an https URL. */
#ifndef POK_DISCOVERY_H
#define POK_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

/* The longest issuer or endpoint taken; real ones are under 200 bytes. */
#define DISCOVERY_URL_MAX 2048

struct provider_metadata {
    char *issuer;                        /* equal to the configured issuer */
    char *authorization_endpoint;        /* NULL when the document has none */
    char *token_endpoint;                /* always there: every use needs it */
    char *revocation_endpoint;           /* RFC 7009; NULL when none */
    char *device_authorization_endpoint; /* RFC 8628; NULL when none (for the device grant) */
};

/* An https URL with a host and no userinfo, fragment, space or control byte, at most
 * DISCOVERY_URL_MAX bytes; with query false, no query either (an issuer: RFC 8414 section 2).
 * An endpoint may carry a query (RFC 6749 section 3.1). */
bool discovery_url_is_https(const char *url, size_t length, bool query);

/* Where issuer's metadata is, in the order tried: OpenID Connect's (the issuer, any
 * terminating '/' removed, then "/.well-known/openid-configuration") and RFC 8414's
 * ("/.well-known/oauth-authorization-server" inserted between the host and the path, the
 * terminating '/' removed likewise). 0, or -1 when the issuer is not an https URL with a host,
 * without userinfo, query or fragment, spaces or control bytes, or does not fit. */
int discovery_well_known_urls(const char *issuer, char *openid, size_t openid_size, char *oauth,
                              size_t oauth_size);

/* Checks a metadata document (one strict JSON object) against the configured issuer and
 * keeps the endpoints. 0, or -1 with why (names both issuers when they differ) and nothing
 * kept. Pure: for the unit tests and the fuzzer. */
int discovery_metadata_parse(const char *body, size_t length, const char *issuer,
                             struct provider_metadata *metadata, char *why, size_t why_size);

/* Fetches and checks issuer's metadata: OpenID Connect's address first, RFC 8414's only when
 * that one answered "not here" (HTTP 4xx but 429); a redirect, a network or TLS failure or a
 * bad document ends it. timeout_ms bounds both requests together. 0, or -1 with why, which
 * starts with the issuer. */
int discovery_fetch(const char *issuer, const char *ca_file, long timeout_ms,
                    struct provider_metadata *metadata, char *why, size_t why_size);

void provider_metadata_clear(struct provider_metadata *metadata);

#endif
