#include "config.h"

#include "oauth/provider_probe.h"

#include <stdio.h>
#include <string.h>

#include "common/secret_memory.h"
#include "oauth/authorize_url.h"
#include "oauth/device_grant.h"
#include "oauth/token_exchange.h"
#include "oauth/token_forms.h"

/* A GET of the URL a login would open - with client_id, redirect_uri and a real PKCE
 * challenge - so a provider that checks them at once (an unregistered redirect_uri, an
 * unknown client) can say so by its status; the verifier of this one stays here and is
 * used below, where no provider has a code for it. */
static void probe_authorize(const struct probe_request *request,
                            struct authorization *authorization, struct probe_outcome *outcome)
{
    struct authorize_request wanted = {.authorize_url = request->authorize_url,
                                       .client_id = request->client_id,
                                       .redirect_uri = request->redirect_uri,
                                       .scope = request->scope};
    struct exchange_result result;

    memset(&result, 0, sizeof(result));
    if (authorization_begin(&wanted, authorization) != 0) {
        snprintf(outcome->authorize_result, sizeof(outcome->authorize_result), "setup");
        snprintf(outcome->authorize_message, sizeof(outcome->authorize_message),
                 "cannot build the authorization URL from authorize_url");
        return;
    }
    https_get_answer(authorization->url, request->ca_file, request->timeout_ms,
                     "the authorization endpoint", &result);
    if (result.outcome == EXCHANGE_OK)
        snprintf(outcome->authorize_result, sizeof(outcome->authorize_result), "http-%ld",
                 result.http_status);
    else
        snprintf(outcome->authorize_result, sizeof(outcome->authorize_result), "%s", result.reason);
    snprintf(outcome->authorize_message, sizeof(outcome->authorize_message), "%s", result.message);
    exchange_result_clear(&result);
}

static void probe_token(const struct probe_request *request, const char *verifier,
                        struct probe_outcome *outcome)
{
    const struct oauth_client client = {request->client_id, request->client_secret};
    struct capped_buffer form = {0};
    struct exchange_result result;

    memset(&result, 0, sizeof(result));
    int rv = request->device_only
                 ? token_form_device_code(&form, &client, PROBE_INVALID_CODE)
                 : token_form_authorization_code(&form, &client, PROBE_INVALID_CODE,
                                                 request->redirect_uri,
                                                 verifier != NULL ? verifier : "");

    if (rv != 0) {
        snprintf(outcome->token_result, sizeof(outcome->token_result), "setup");
        snprintf(outcome->token_message, sizeof(outcome->token_message),
                 "cannot build the token request");
        goto out;
    }
    token_exchange(request->token_url, request->ca_file, request->timeout_ms, &form, &result);
    if (result.outcome == EXCHANGE_OK) {
        /* Nothing is stored: whatever came for a code nobody issued goes at once. */
        snprintf(outcome->token_result, sizeof(outcome->token_result), PROBE_TOKEN_ACCEPTED);
        snprintf(outcome->token_message, sizeof(outcome->token_message),
                 "the token endpoint answered tokens for a code it never issued");
    } else {
        snprintf(outcome->token_result, sizeof(outcome->token_result), "%s", result.reason);
        snprintf(outcome->token_message, sizeof(outcome->token_message), "%s", result.message);
    }
out:
    exchange_result_clear(&result);
    capped_buffer_wipe(&form);
}

/* The device authorization request a login's prompt sends: a user code issued means the
 * client may use the grant; it is dropped at once (it expires at the provider unused). */
static void probe_device(const struct probe_request *request, struct probe_outcome *outcome)
{
    const struct oauth_client client = {request->client_id, request->client_secret};
    struct device_authorization authorization;
    struct capped_buffer form = {0};
    struct exchange_result result;

    memset(&result, 0, sizeof(result));
    if (token_form_device_authorization(&form, &client, request->scope) != 0) {
        snprintf(outcome->device_result, sizeof(outcome->device_result), "setup");
        snprintf(outcome->device_message, sizeof(outcome->device_message),
                 "cannot build the device authorization request");
    } else if (device_authorization_request(request->device_authorization_url, request->ca_file,
                                            request->timeout_ms, &form, &authorization,
                                            &result) == 0) {
        snprintf(outcome->device_result, sizeof(outcome->device_result), PROBE_DEVICE_ANSWERED);
        snprintf(outcome->device_message, sizeof(outcome->device_message),
                 "the device authorization endpoint issued a user code (dropped unused); "
                 "users enter codes at %.200s",
                 authorization.verification_uri);
        device_authorization_clear(&authorization);
    } else {
        snprintf(outcome->device_result, sizeof(outcome->device_result), "%s", result.reason);
        snprintf(outcome->device_message, sizeof(outcome->device_message), "%s", result.message);
    }
    exchange_result_clear(&result);
    capped_buffer_wipe(&form);
}

void provider_probe(const struct probe_request *request, struct probe_outcome *outcome)
{
    struct authorization authorization;

    memset(outcome, 0, sizeof(*outcome));
    memset(&authorization, 0, sizeof(authorization));
    if (request->device_only) {
        snprintf(outcome->authorize_result, sizeof(outcome->authorize_result), PROBE_NOT_USED);
        snprintf(outcome->authorize_message, sizeof(outcome->authorize_message),
                 "sign_in = device: no authorization endpoint is used");
    } else {
        probe_authorize(request, &authorization, outcome);
    }
    if (request->device_authorization_url != NULL)
        probe_device(request, outcome);
    probe_token(request, authorization.verifier, outcome);
    authorization_clear(&authorization);
}
