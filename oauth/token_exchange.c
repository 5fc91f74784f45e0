#include "config.h"

#include "oauth/token_exchange.h"

#include <dlfcn.h>
#include <glib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/text_checks.h"
#include "oauth/https_transport.h"

static void set_result(struct exchange_result *result, enum exchange_outcome outcome,
                       const char *reason, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void set_result(struct exchange_result *result, enum exchange_outcome outcome,
                       const char *reason, const char *format, ...)
{
    va_list arguments;

    result->outcome = outcome;
    snprintf(result->reason, sizeof(result->reason), "%s", reason);
    va_start(arguments, format);
    text_vset_why(result->message, sizeof(result->message), format, arguments);
    va_end(arguments);
}

/* The transport module lives beside the running program, as $ORIGIN would find it: the
 * installed helper's directory, or a test's staging directory. */
static int transport_module_path(char *path, size_t path_size)
{
    char program[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", program, sizeof(program) - 1);
    char *slash;

    if (length <= 0)
        return -1;
    program[length] = '\0';
    slash = strrchr(program, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    return snprintf(path, path_size, "%s/%s", program, HTTPS_TRANSPORT_MODULE) < (int)path_size
               ? 0
               : -1;
}

/* Loaded on the first request and kept: only processes that use the network map libcurl. */
static https_post_form_function *load_transport(char *why, size_t why_size)
{
    static https_post_form_function *post_form_entry;
    char module[PATH_MAX];
    void *handle = NULL;
    https_transport_abi_function *abi;

    if (post_form_entry != NULL)
        goto out;
    if (transport_module_path(module, sizeof(module)) != 0) {
        text_set_why(why, why_size, "cannot find the helper's own directory");
        goto out;
    }
    handle = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        text_set_why(why, why_size, "cannot load the https module: %s", dlerror());
        goto out;
    }
    abi = (https_transport_abi_function *)dlsym(handle, HTTPS_TRANSPORT_ABI_SYMBOL);
    if (abi != NULL && abi() == HTTPS_TRANSPORT_ABI)
        post_form_entry = (https_post_form_function *)dlsym(handle, HTTPS_POST_FORM_SYMBOL);
    if (post_form_entry == NULL) {
        text_set_why(why, why_size, "%.200s does not belong to this helper's version", module);
        dlclose(handle);
    }
out:
    return post_form_entry;
}

/* 429 (RFC 6585) or 503: the provider did not take the request up, whatever the body says
 * (a rate limiter's body is rarely an OAuth error): nothing spent, so never a lost answer.
 * Its Retry-After, when it has a valid one, says how long to wait. */
static void judge_busy(const struct https_answer *answer, long long now,
                       struct exchange_result *result)
{
    long seconds = 0;

    if (answer->retry_after[0] != '\0' &&
        retry_after_parse(answer->retry_after, now, &seconds) == 0)
        result->retry_after_seconds = seconds;
    if (result->retry_after_seconds > 0)
        set_result(result, EXCHANGE_SERVER_ERROR, "busy",
                   "the token endpoint is busy (HTTP %ld) and asked to wait %ld s; nothing was "
                   "changed",
                   answer->status, result->retry_after_seconds);
    else
        set_result(result, EXCHANGE_SERVER_ERROR, "busy",
                   "the token endpoint is busy (HTTP %ld); nothing was changed", answer->status);
}

/* A 200 without tokens is a bad response (the lost-answer rule counts it), but for an answer to
 * a device code poll (RFC 8628 3.5): GitHub sends authorization_pending, slow_down,
 * access_denied and expired_token with HTTP 200 ("Until the user enters the code, GitHub will
 * respond with a 200 status and an error response"), which read as a bad response would end
 * every device sign-in at its first poll. Only these four are read so: no refresh or code
 * exchange is answered with them, so what a 200 means there does not change. */
static void judge_200_without_tokens(const struct capped_buffer *body, const char *why,
                                     struct exchange_result *result)
{
    static const char *const device_poll_errors[] = {"authorization_pending", "slow_down",
                                                     "access_denied", "expired_token"};
    char code[48] = "", message[256] = "";

    if (token_error_parse(body->data, body->length, code, sizeof(code), message, sizeof(message)) ==
        0) {
        for (size_t i = 0; i < sizeof(device_poll_errors) / sizeof(device_poll_errors[0]); i++) {
            if (strcmp(code, device_poll_errors[i]) == 0) {
                set_result(result, EXCHANGE_REFUSED, code, "the provider refused: %s", message);
                return;
            }
        }
    }
    set_result(result, EXCHANGE_BAD_RESPONSE, "bad-response", "%s", why);
}

void token_answer_judge(const struct https_answer *answer, long long now,
                        struct exchange_result *result)
{
    char code[48] = "", message[256] = "", why[128] = "";
    const struct capped_buffer *body = &answer->body;
    long status = answer->status;

    if (status == 200 && !answer->json_content)
        set_result(result, EXCHANGE_BAD_RESPONSE, "bad-response",
                   "the token endpoint did not answer with JSON");
    else if (status == 200 &&
             token_response_parse(body->data, body->length, &result->tokens, why, sizeof(why)) != 0)
        judge_200_without_tokens(body, why, result);
    else if (status == 200)
        set_result(result, EXCHANGE_OK, "ok", "tokens received");
    else if (status >= 300 && status < 400)
        set_result(result, EXCHANGE_BAD_RESPONSE, "redirect",
                   "the token endpoint answered with a redirect (HTTP %ld), which is not followed",
                   status);
    else if (status == 429 || status == 503)
        judge_busy(answer, now, result);
    else if (status >= 500)
        set_result(result, EXCHANGE_SERVER_ERROR, "server-error",
                   "the token endpoint failed (HTTP %ld); nothing was changed", status);
    else if (token_error_parse(body->data, body->length, code, sizeof(code), message,
                               sizeof(message)) == 0)
        set_result(result, EXCHANGE_REFUSED, code, "the provider refused: %s", message);
    else
        set_result(result, EXCHANGE_BAD_RESPONSE, "http-error",
                   "the token endpoint answered HTTP %ld", status);
}

/* One https POST of form to url through the transport module; judge sees the answer. Every
 * endpoint (token, revoke) goes through here, so none of them can miss a TLS or size check. */
static void post_form(const char *url, const char *ca_file, long timeout_ms,
                      const struct capped_buffer *form, struct exchange_result *result,
                      void (*judge)(const struct https_answer *, long long,
                                    struct exchange_result *))
{
    const struct https_request request = {url, ca_file, timeout_ms, form, NULL};
    struct https_answer answer;
    char why[sizeof(result->message)] = "";
    https_post_form_function *post = load_transport(why, sizeof(why));

    memset(result, 0, sizeof(*result));
    memset(&answer, 0, sizeof(answer));
    if (post == NULL) {
        set_result(result, EXCHANGE_NOT_SENT, "setup", "%s", why);
        goto out;
    }
    post(&request, &answer);
    result->http_status = answer.completed ? answer.status : 0;
    if (answer.completed)
        judge(&answer, (long long)time(NULL), result);
    else
        set_result(result, answer.failure, answer.failure_reason, "%s", answer.failure_message);
out:
    capped_buffer_wipe(&answer.body);
}

void token_exchange(const char *token_url, const char *ca_file, long timeout_ms,
                    const struct capped_buffer *form, struct exchange_result *result)
{
    post_form(token_url, ca_file, timeout_ms, form, result, token_answer_judge);
}

/* RFC 7009 section 2.2: 200 whether or not the token was still valid. */
static void judge_revocation(const struct https_answer *answer, long long now,
                             struct exchange_result *result)
{
    char code[48] = "", message[256] = "";
    const struct capped_buffer *body = &answer->body;
    long status = answer->status;

    (void)now;
    if (status == 200)
        set_result(result, EXCHANGE_OK, "ok", "revoked");
    else if (token_error_parse(body->data, body->length, code, sizeof(code), message,
                               sizeof(message)) == 0)
        set_result(result, EXCHANGE_REFUSED, code, "the provider refused: %s", message);
    else
        set_result(result, status >= 500 ? EXCHANGE_SERVER_ERROR : EXCHANGE_BAD_RESPONSE,
                   "http-error", "the revocation endpoint answered HTTP %ld", status);
}

void token_revoke(const char *revoke_url, const char *ca_file, long timeout_ms,
                  const struct capped_buffer *form, struct exchange_result *result)
{
    post_form(revoke_url, ca_file, timeout_ms, form, result, judge_revocation);
}

void https_get_answer(const char *url, const char *ca_file, long timeout_ms, const char *endpoint,
                      struct exchange_result *result)
{
    const struct https_request request = {url, ca_file, timeout_ms, NULL, endpoint};
    struct https_answer answer;
    char why[sizeof(result->message)] = "";
    https_post_form_function *get = load_transport(why, sizeof(why));

    memset(result, 0, sizeof(*result));
    memset(&answer, 0, sizeof(answer));
    if (get == NULL) {
        set_result(result, EXCHANGE_NOT_SENT, "setup", "%s", why);
        goto out;
    }
    get(&request, &answer);
    if (answer.completed) {
        result->http_status = answer.status;
        set_result(result, EXCHANGE_OK, "answered", "%s answered HTTP %ld over verified TLS",
                   endpoint, answer.status);
    } else {
        set_result(result, answer.failure, answer.failure_reason, "%s", answer.failure_message);
    }
out:
    capped_buffer_wipe(&answer.body);
}

void https_get_document(const char *url, const char *ca_file, long timeout_ms, const char *endpoint,
                        struct https_answer *answer)
{
    const struct https_request request = {url, ca_file, timeout_ms, NULL, endpoint};
    char why[sizeof(answer->failure_message)] = "";
    https_post_form_function *get = load_transport(why, sizeof(why));

    memset(answer, 0, sizeof(*answer));
    if (get != NULL) {
        get(&request, answer);
        return;
    }
    answer->failure = EXCHANGE_NOT_SENT;
    snprintf(answer->failure_reason, sizeof(answer->failure_reason), "setup");
    snprintf(answer->failure_message, sizeof(answer->failure_message), "%s", why);
}

void https_post_document(const char *url, const char *ca_file, long timeout_ms,
                         const struct capped_buffer *form, const char *endpoint,
                         struct https_answer *answer)
{
    const struct https_request request = {url, ca_file, timeout_ms, form, endpoint};
    char why[sizeof(answer->failure_message)] = "";
    https_post_form_function *post = load_transport(why, sizeof(why));

    memset(answer, 0, sizeof(*answer));
    if (post != NULL) {
        post(&request, answer);
        return;
    }
    answer->failure = EXCHANGE_NOT_SENT;
    snprintf(answer->failure_reason, sizeof(answer->failure_reason), "setup");
    snprintf(answer->failure_message, sizeof(answer->failure_message), "%s", why);
}

void exchange_result_clear(struct exchange_result *result)
{
    token_set_clear(&result->tokens);
}
