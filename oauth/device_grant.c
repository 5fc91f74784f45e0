#include "config.h"

#include "oauth/device_grant.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/text_checks.h"
#include "oauth/discovery.h"
#include "oauth/https_transport.h"
#include "oauth/token_response.h"

static const struct {
    enum device_poll_verdict verdict;
    const char *name;
} verdict_names[] = {
    {DEVICE_POLL_TOKENS, "signed-in"},      {DEVICE_POLL_PENDING, "authorization-pending"},
    {DEVICE_POLL_SLOW_DOWN, "slow-down"},   {DEVICE_POLL_DENIED, "denied"},
    {DEVICE_POLL_EXPIRED, "expired"},       {DEVICE_POLL_UNREACHABLE, "provider-unreachable"},
    {DEVICE_POLL_FAILED, "provider-error"},
};

/* A string member of visible ASCII: a code, or an https URL (an address). An address is shown
 * to the user, at the login prompt too, and typed on another device: a URI is ASCII (RFC 3986),
 * and a non-ASCII one could show a host that is not the one it opens (a homograph) or carry
 * bidirectional or C1 controls to the prompt. */
static int take_text(struct json_object *root, const char *name, size_t max, bool url,
                     char **target)
{
    struct json_object *value = NULL;
    const char *text;
    size_t length;

    *target = NULL;
    if (!json_object_object_get_ex(root, name, &value) ||
        json_object_is_type(value, json_type_null))
        return 0;
    if (!json_object_is_type(value, json_type_string))
        return -1;
    text = json_object_get_string(value);
    length = (size_t)json_object_get_string_len(value);
    if (length == 0 || length > max || strlen(text) != length || !text_is_visible(text, length) ||
        (url && !discovery_url_is_https(text, length, true)))
        return -1;
    *target = secret_strndup(text, max);
    return *target != NULL ? 0 : -1;
}

/* A whole number of seconds in [1, max]; absent gives fallback (0: required). */
static int take_seconds(struct json_object *root, const char *name, long long fallback,
                        long long max, long long *target)
{
    struct json_object *value = NULL;
    long long seconds;

    *target = fallback;
    if (!json_object_object_get_ex(root, name, &value) ||
        json_object_is_type(value, json_type_null))
        return fallback > 0 ? 0 : -1;
    if (!json_object_is_type(value, json_type_int))
        return -1;
    seconds = (long long)json_object_get_int64(value);
    if (seconds < 0)
        return -1;
    /* A provider may ask for longer than we wait; we then stop at our bound. interval 0
     * would be a busy loop: at least a second. */
    *target = seconds < 1 ? 1 : seconds > max ? max : seconds;
    return 0;
}

static const char *check_authorization(struct json_object *root, struct device_authorization *out)
{
    long long interval = 0;

    if (root == NULL)
        return "the device authorization answer is not one JSON object";
    if (take_text(root, "device_code", DEVICE_CODE_MAX, false, &out->device_code) != 0 ||
        out->device_code == NULL)
        return "the device authorization answer has no valid device_code";
    if (take_text(root, "user_code", USER_CODE_MAX, false, &out->user_code) != 0 ||
        out->user_code == NULL)
        return "the device authorization answer has no valid user_code";
    if (take_text(root, "verification_uri", DISCOVERY_URL_MAX, true, &out->verification_uri) != 0)
        return "the device authorization answer's verification_uri is not an https URL";
    /* Google's device endpoint says verification_url (its documentation's name). */
    if (out->verification_uri == NULL &&
        take_text(root, "verification_url", DISCOVERY_URL_MAX, true, &out->verification_uri) != 0)
        return "the device authorization answer's verification_url is not an https URL";
    if (out->verification_uri == NULL)
        return "the device authorization answer has no verification_uri";
    if (take_text(root, "verification_uri_complete", DISCOVERY_URL_MAX, true,
                  &out->verification_uri_complete) != 0)
        return "the device authorization answer's verification_uri_complete is not an https URL";
    if (take_seconds(root, "expires_in", 0, DEVICE_MAX_LIFETIME, &out->expires_in) != 0)
        return "the device authorization answer has no valid expires_in";
    if (take_seconds(root, "interval", DEVICE_DEFAULT_INTERVAL, DEVICE_MAX_INTERVAL, &interval) !=
        0)
        return "the device authorization answer has an invalid interval";
    out->interval = (long)interval;
    return NULL;
}

int device_authorization_parse(const char *body, size_t length,
                               struct device_authorization *authorization, char *why,
                               size_t why_size)
{
    struct json_object *root = json_parse_strict_object(body, length);
    const char *problem;

    memset(authorization, 0, sizeof(*authorization));
    problem = check_authorization(root, authorization);
    json_wipe_and_put(root);
    if (problem == NULL)
        return 0;
    device_authorization_clear(authorization);
    return text_set_why(why, why_size, "%s", problem);
}

/* The answer's meaning, as token_answer_judge gives it for the token endpoint (an OAuth
 * error's code as reason, 429/503 with Retry-After), but a 200 is a device authorization. */
static int judge_authorization(const struct https_answer *answer,
                               struct device_authorization *authorization,
                               struct exchange_result *result)
{
    char why[200];

    if (answer->status == 200 && answer->json_content &&
        device_authorization_parse(answer->body.data, answer->body.length, authorization, why,
                                   sizeof(why)) == 0)
        return 0;
    if (answer->status == 200) {
        result->outcome = EXCHANGE_BAD_RESPONSE;
        snprintf(result->reason, sizeof(result->reason), "bad-response");
        snprintf(result->message, sizeof(result->message), "%s",
                 answer->json_content ? why
                                      : "the device authorization endpoint did not answer "
                                        "with JSON");
        return -1;
    }
    /* An error answer reads as the token endpoint's would (RFC 8628 3.2: RFC 6749 5.2). */
    token_answer_judge(answer, (long long)time(NULL), result);
    return -1;
}

int device_authorization_request(const char *url, const char *ca_file, long timeout_ms,
                                 const struct capped_buffer *form,
                                 struct device_authorization *authorization,
                                 struct exchange_result *result)
{
    struct https_answer answer;
    int rv = -1;

    memset(result, 0, sizeof(*result));
    memset(authorization, 0, sizeof(*authorization));
    https_post_document(url, ca_file, timeout_ms, form, "the device authorization endpoint",
                        &answer);
    if (answer.completed) {
        result->http_status = answer.status;
        rv = judge_authorization(&answer, authorization, result);
    } else {
        result->outcome = answer.failure;
        snprintf(result->reason, sizeof(result->reason), "%s", answer.failure_reason);
        snprintf(result->message, sizeof(result->message), "%s", answer.failure_message);
    }
    /* token_answer_judge read no tokens out of an error: nothing to clear but the body. */
    capped_buffer_wipe(&answer.body);
    return rv;
}

void device_authorization_clear(struct device_authorization *authorization)
{
    secret_free_string(&authorization->device_code);
    secret_free_string(&authorization->user_code);
    secret_free_string(&authorization->verification_uri);
    secret_free_string(&authorization->verification_uri_complete);
    authorization->expires_in = 0;
    authorization->interval = 0;
}

enum device_poll_verdict device_poll_judge(const struct exchange_result *result)
{
    switch (result->outcome) {
    case EXCHANGE_OK:
        return DEVICE_POLL_TOKENS;
    case EXCHANGE_NOT_SENT:
    case EXCHANGE_UNKNOWN:
    case EXCHANGE_SERVER_ERROR:
        return DEVICE_POLL_UNREACHABLE;
    case EXCHANGE_REFUSED:
        if (strcmp(result->reason, "authorization_pending") == 0)
            return DEVICE_POLL_PENDING;
        if (strcmp(result->reason, "slow_down") == 0)
            return DEVICE_POLL_SLOW_DOWN;
        if (strcmp(result->reason, "access_denied") == 0)
            return DEVICE_POLL_DENIED;
        if (strcmp(result->reason, "expired_token") == 0)
            return DEVICE_POLL_EXPIRED;
        return DEVICE_POLL_FAILED;
    default:
        return DEVICE_POLL_FAILED;
    }
}

bool device_poll_continues(enum device_poll_verdict verdict)
{
    return verdict == DEVICE_POLL_PENDING || verdict == DEVICE_POLL_SLOW_DOWN ||
           verdict == DEVICE_POLL_UNREACHABLE;
}

long device_poll_next_wait(long *interval, enum device_poll_verdict verdict, long retry_after)
{
    long wait;

    if (*interval < 1)
        *interval = DEVICE_DEFAULT_INTERVAL;
    if (verdict == DEVICE_POLL_SLOW_DOWN)
        *interval += DEVICE_SLOW_DOWN_STEP;
    else if (verdict == DEVICE_POLL_UNREACHABLE && retry_after <= 0)
        *interval *= 2;
    if (*interval > DEVICE_MAX_INTERVAL)
        *interval = DEVICE_MAX_INTERVAL;
    wait = *interval;
    if (verdict == DEVICE_POLL_UNREACHABLE && retry_after > wait)
        wait = retry_after;
    return wait;
}

const char *device_poll_verdict_name(enum device_poll_verdict verdict)
{
    for (size_t i = 0; i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++) {
        if (verdict_names[i].verdict == verdict)
            return verdict_names[i].name;
    }
    return "provider-error";
}

bool device_poll_verdict_from_name(const char *name, enum device_poll_verdict *verdict)
{
    for (size_t i = 0; name != NULL && i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++) {
        if (strcmp(verdict_names[i].name, name) == 0) {
            *verdict = verdict_names[i].verdict;
            return true;
        }
    }
    return false;
}
