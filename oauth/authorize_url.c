#include "config.h"

#include "oauth/authorize_url.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include "common/secret_memory.h"
#include "oauth/pkce.h"

static void append_parameter(GString *url, const char *name, const char *value)
{
    char *escaped = g_uri_escape_string(value, NULL, FALSE);

    g_string_append_c(url, '&');
    g_string_append(url, name);
    g_string_append_c(url, '=');
    g_string_append(url, escaped);
    g_free(escaped);
}

char *authorize_url_build(const struct authorize_request *request)
{
    GString *url;
    /* Keep an existing query (some providers need one) and never a fragment. */
    bool has_query;

    if (request->authorize_url == NULL || request->client_id == NULL ||
        request->redirect_uri == NULL || request->state == NULL ||
        request->code_challenge == NULL || strchr(request->authorize_url, '#') != NULL)
        return NULL;
    has_query = strchr(request->authorize_url, '?') != NULL;
    url = g_string_new(request->authorize_url);
    g_string_append(url, has_query ? "&" : "?");
    g_string_append(url, "response_type=code");
    append_parameter(url, "client_id", request->client_id);
    append_parameter(url, "redirect_uri", request->redirect_uri);
    if (request->scope != NULL && request->scope[0] != '\0')
        append_parameter(url, "scope", request->scope);
    append_parameter(url, "state", request->state);
    append_parameter(url, "code_challenge", request->code_challenge);
    append_parameter(url, "code_challenge_method", "S256");
    return g_string_free(url, FALSE);
}

int authorization_begin(const struct authorize_request *request,
                        struct authorization *authorization)
{
    struct authorize_request with_secrets = *request;
    char *challenge = NULL;

    memset(authorization, 0, sizeof(*authorization));
    authorization->verifier = random_base64url(PKCE_VERIFIER_BYTES);
    authorization->state = random_base64url(STATE_BYTES);
    if (authorization->verifier != NULL)
        challenge = pkce_challenge_s256(authorization->verifier);
    with_secrets.state = authorization->state;
    with_secrets.code_challenge = challenge;
    if (authorization->state != NULL && challenge != NULL)
        authorization->url = authorize_url_build(&with_secrets);
    g_free(challenge);
    if (authorization->url == NULL) {
        authorization_clear(authorization);
        return -1;
    }
    return 0;
}

void authorization_clear(struct authorization *authorization)
{
    secret_free_string(&authorization->verifier);
    secret_free_string(&authorization->state);
    g_free(authorization->url);
    authorization->url = NULL;
}
