#include "config.h"

#include "oauth/discovery.h"

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/deadline.h"
#include "common/text_checks.h"
#include "oauth/https_transport.h"
#include "oauth/token_exchange.h"
#include "oauth/token_response.h"

#define OPENID_SUFFIX "/.well-known/openid-configuration"
#define OAUTH_WELL_KNOWN "/.well-known/oauth-authorization-server"
/* Less than this left: a request could not finish, so it is not started. */
#define DISCOVERY_MIN_REQUEST_MS 200
/* The most of a value from the document a message quotes. */
#define SHOWN_MAX 160

/* An https URL with a host and no userinfo, fragment, space or control byte; with query false,
 * no query either (an issuer: RFC 8414 section 2). An endpoint may carry a query (RFC 6749
 * section 3.1). */
bool discovery_url_is_https(const char *url, size_t length, bool query)
{
    size_t authority;

    if (url == NULL || length <= 8 || length > DISCOVERY_URL_MAX || strlen(url) != length ||
        strncasecmp(url, "https://", 8) != 0 || text_has_control_byte(url, length) ||
        strchr(url, ' ') != NULL || strchr(url, '#') != NULL)
        return false;
    authority = strcspn(url + 8, "/?");
    if (authority == 0 || memchr(url + 8, '@', authority) != NULL)
        return false;
    return query || strchr(url, '?') == NULL;
}

int discovery_well_known_urls(const char *issuer, char *openid, size_t openid_size, char *oauth,
                              size_t oauth_size)
{
    size_t length = issuer != NULL ? strlen(issuer) : 0;
    size_t authority_end;
    int written_openid, written_oauth;

    if (!discovery_url_is_https(issuer, length, false))
        return -1;
    /* Both documents: "any terminating '/' MUST be removed" first. */
    while (length > 8 && issuer[length - 1] == '/')
        length--;
    authority_end = 8 + strcspn(issuer + 8, "/");
    if (authority_end > length)
        authority_end = length;
    written_openid = snprintf(openid, openid_size, "%.*s%s", (int)length, issuer, OPENID_SUFFIX);
    /* RFC 8414 section 3.1: between the host and the path, so that one host can serve
     * several issuers. */
    written_oauth =
        snprintf(oauth, oauth_size, "%.*s%s%.*s", (int)authority_end, issuer, OAUTH_WELL_KNOWN,
                 (int)(length - authority_end), issuer + authority_end);
    return written_openid > 0 && (size_t)written_openid < openid_size && written_oauth > 0 &&
                   (size_t)written_oauth < oauth_size
               ? 0
               : -1;
}

/* One endpoint of the document: absent (or null) is fine here, anything but an https URL is
 * not. The value is public (the document is), so a refusal quotes it. */
static int take_endpoint(struct json_object *root, const char *name, char **target, char *why,
                         size_t why_size)
{
    struct json_object *value = NULL;
    char shown[SHOWN_MAX];

    if (!json_object_object_get_ex(root, name, &value) ||
        json_object_is_type(value, json_type_null))
        return 0;
    if (!json_object_is_type(value, json_type_string))
        return text_set_why(why, why_size, "its %s is not a string", name);
    if (!discovery_url_is_https(json_object_get_string(value),
                                (size_t)json_object_get_string_len(value), true)) {
        text_copy_printable(shown, sizeof(shown), json_object_get_string(value));
        return text_set_why(why, why_size, "its %s is not an https URL (%s)", name, shown);
    }
    *target = g_strdup(json_object_get_string(value));
    return 0;
}

/* OpenID Connect Discovery 4.3 and RFC 8414 3.3: the issuer in the document must be exactly the
 * one the metadata was asked for, or nothing in it may be used (an impersonation otherwise:
 * one tenant's document naming another's endpoints). */
static int check_issuer(struct json_object *root, const char *issuer, char *why, size_t why_size)
{
    struct json_object *value = NULL;
    char shown[SHOWN_MAX];

    if (!json_object_object_get_ex(root, "issuer", &value) ||
        !json_object_is_type(value, json_type_string))
        return text_set_why(why, why_size, "it has no issuer");
    if ((size_t)json_object_get_string_len(value) == strlen(issuer) &&
        strcmp(json_object_get_string(value), issuer) == 0)
        return 0;
    text_copy_printable(shown, sizeof(shown), json_object_get_string(value));
    return text_set_why(why, why_size,
                        "it names the issuer %s, not the configured %s (they must be equal)", shown,
                        issuer);
}

int discovery_metadata_parse(const char *body, size_t length, const char *issuer,
                             struct provider_metadata *metadata, char *why, size_t why_size)
{
    struct json_object *root = json_parse_strict_object(body, length);
    int rv = -1;

    memset(metadata, 0, sizeof(*metadata));
    if (root == NULL) {
        text_set_why(why, why_size, "it is not one JSON object");
        goto out;
    }
    if (check_issuer(root, issuer, why, why_size) != 0 ||
        take_endpoint(root, "authorization_endpoint", &metadata->authorization_endpoint, why,
                      why_size) != 0 ||
        take_endpoint(root, "token_endpoint", &metadata->token_endpoint, why, why_size) != 0 ||
        take_endpoint(root, "revocation_endpoint", &metadata->revocation_endpoint, why, why_size) !=
            0 ||
        take_endpoint(root, "device_authorization_endpoint",
                      &metadata->device_authorization_endpoint, why, why_size) != 0)
        goto out;
    if (metadata->token_endpoint == NULL) {
        text_set_why(why, why_size, "it names no token_endpoint");
        goto out;
    }
    metadata->issuer = g_strdup(issuer);
    rv = 0;
out:
    json_object_put(root);
    if (rv != 0)
        provider_metadata_clear(metadata);
    return rv;
}

enum fetch_verdict { FETCH_FOUND, FETCH_NOT_HERE, FETCH_FAILED };

/* One GET of a well-known address within what is left until until_ms. A 4xx (but 429) means
 * the document is not published there; anything else that is not a good document fails. */
static enum fetch_verdict fetch_one(const char *url, const char *issuer, const char *ca_file,
                                    long long until_ms, struct provider_metadata *metadata,
                                    char *why, size_t why_size)
{
    long timeout_ms = (long)deadline_remaining_ms(until_ms);
    enum fetch_verdict verdict = FETCH_FAILED;
    struct https_answer answer;
    char problem[400];

    memset(&answer, 0, sizeof(answer));
    if (timeout_ms < DISCOVERY_MIN_REQUEST_MS) {
        text_set_why(why, why_size, "%s: no time left to ask", url);
        return FETCH_FAILED;
    }
    https_get_document(url, ca_file, timeout_ms, "the metadata endpoint", &answer);
    if (!answer.completed)
        text_set_why(why, why_size, "%s: %s", url, answer.failure_message);
    else if (answer.status >= 300 && answer.status < 400)
        text_set_why(why, why_size, "%s answered with a redirect (HTTP %ld), which is not followed",
                     url, answer.status);
    else if (answer.status >= 400 && answer.status < 500 && answer.status != 429) {
        text_set_why(why, why_size, "%s: HTTP %ld", url, answer.status);
        verdict = FETCH_NOT_HERE;
    } else if (answer.status != 200)
        text_set_why(why, why_size, "%s: HTTP %ld", url, answer.status);
    else if (!answer.json_content)
        text_set_why(why, why_size, "%s did not answer with application/json", url);
    else if (discovery_metadata_parse(answer.body.data, answer.body.length, issuer, metadata,
                                      problem, sizeof(problem)) != 0)
        text_set_why(why, why_size, "%s: %s", url, problem);
    else
        verdict = FETCH_FOUND;
    capped_buffer_wipe(&answer.body);
    return verdict;
}

int discovery_fetch(const char *issuer, const char *ca_file, long timeout_ms,
                    struct provider_metadata *metadata, char *why, size_t why_size)
{
    char openid[DISCOVERY_URL_MAX + 64], oauth[DISCOVERY_URL_MAX + 64];
    char first[512] = "", second[512] = "";
    long long until_ms = monotonic_now_ms() + timeout_ms;
    enum fetch_verdict verdict;

    memset(metadata, 0, sizeof(*metadata));
    if (discovery_well_known_urls(issuer, openid, sizeof(openid), oauth, sizeof(oauth)) != 0)
        return text_set_why(why, why_size,
                            "the issuer is not an https URL without query or fragment: no "
                            "discovery");
    verdict = fetch_one(openid, issuer, ca_file, until_ms, metadata, first, sizeof(first));
    if (verdict == FETCH_NOT_HERE)
        verdict = fetch_one(oauth, issuer, ca_file, until_ms, metadata, second, sizeof(second));
    if (verdict == FETCH_FOUND)
        return 0;
    if (second[0] != '\0')
        return text_set_why(why, why_size, "no metadata for the issuer %s: %s; %s", issuer, first,
                            second);
    return text_set_why(why, why_size, "no usable metadata for the issuer %s: %s", issuer, first);
}

void provider_metadata_clear(struct provider_metadata *metadata)
{
    g_free(metadata->issuer);
    g_free(metadata->authorization_endpoint);
    g_free(metadata->token_endpoint);
    g_free(metadata->revocation_endpoint);
    g_free(metadata->device_authorization_endpoint);
    memset(metadata, 0, sizeof(*metadata));
}
