#include "config.h"

#include "token_exchange.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
    vsnprintf(result->message, sizeof(result->message), format, arguments);
    va_end(arguments);
}

static int append_escaped(struct capped_buffer *form, const char *text)
{
    char *escaped = curl_easy_escape(NULL, text, 0);
    int rv;

    if (escaped == NULL)
        return -1;
    rv = capped_buffer_append_string(form, escaped);
    secret_wipe(escaped, strlen(escaped));
    curl_free(escaped);
    return rv;
}

int form_append(struct capped_buffer *form, const char *name, const char *value)
{
    int rv = 0;

    if (form->length > 0)
        rv |= capped_buffer_append_string(form, "&");
    rv |= append_escaped(form, name);
    rv |= capped_buffer_append_string(form, "=");
    rv |= append_escaped(form, value);
    return rv == 0 ? 0 : -1;
}

/* libcurl's write callback: keeps at most the buffer's capacity, then aborts the transfer. */
static size_t collect_body(char *data, size_t size, size_t count, void *context)
{
    struct capped_buffer *body = context;
    size_t bytes = size * count;

    return capped_buffer_append(body, data, bytes) == 0 ? bytes : 0;
}

static int configure_transfer(CURL *curl, const char *token_url, const char *ca_file,
                              long timeout_ms, const struct capped_buffer *form,
                              struct curl_slist *headers, struct capped_buffer *body)
{
    int rv = CURLE_OK;

    /* Each option is checked: an option this libcurl lacks must not silently weaken TLS. */
    rv |= curl_easy_setopt(curl, CURLOPT_URL, token_url);
    rv |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    rv |= curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    rv |= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    rv |= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    rv |= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file != NULL)
        rv |= curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    rv |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    rv |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    rv |= curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    rv |= curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TOKEN_RESPONSE_MAX_BYTES);
    rv |= curl_easy_setopt(curl, CURLOPT_POST, 1L);
    rv |= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form->data);
    rv |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)form->length);
    rv |= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    rv |= curl_easy_setopt(curl, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
    rv |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    rv |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    return rv == (int)CURLE_OK ? 0 : -1;
}

static void classify_transfer_error(CURL *curl, CURLcode code, struct exchange_result *result)
{
    long request_bytes = 0;
    const char *text = curl_easy_strerror(code);

    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes);
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        set_result(result, EXCHANGE_NOT_SENT, "network", "cannot reach the token endpoint: %s",
                   text);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        set_result(result, EXCHANGE_NOT_SENT, "tls",
                   "the token endpoint's TLS identity was not accepted: %s", text);
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        set_result(result, EXCHANGE_BAD_RESPONSE, "oversized",
                   "the token endpoint's answer is larger than %d bytes", TOKEN_RESPONSE_MAX_BYTES);
        break;
    default:
        /* Past the handshake the request may have reached the provider. */
        set_result(result, request_bytes > 0 ? EXCHANGE_UNKNOWN : EXCHANGE_NOT_SENT,
                   code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network",
                   "the token request failed: %s", text);
    }
}

static bool is_json_content(CURL *curl)
{
    const char *type = NULL;

    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    return type != NULL && strncasecmp(type, "application/json", 16) == 0 &&
           (type[16] == '\0' || type[16] == ';' || type[16] == ' ');
}

static void judge_answer(CURL *curl, const struct capped_buffer *body,
                         struct exchange_result *result)
{
    char code[48] = "", message[256] = "", why[128] = "";
    long status = 0;

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && !is_json_content(curl))
        set_result(result, EXCHANGE_BAD_RESPONSE, "bad-response",
                   "the token endpoint did not answer with JSON");
    else if (status == 200 &&
             token_response_parse(body->data, body->length, &result->tokens, why, sizeof(why)) != 0)
        set_result(result, EXCHANGE_BAD_RESPONSE, "bad-response", "%s", why);
    else if (status == 200)
        set_result(result, EXCHANGE_OK, "ok", "tokens received");
    else if (status >= 300 && status < 400)
        set_result(result, EXCHANGE_BAD_RESPONSE, "redirect",
                   "the token endpoint answered with a redirect (HTTP %ld), which is not followed",
                   status);
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

/* One https POST of form to url; judge sees the finished transfer. Every endpoint (token,
 * revoke) goes through here, so none of them can miss a TLS or size setting. */
static void post_form(const char *url, const char *ca_file, long timeout_ms,
                      const struct capped_buffer *form, struct exchange_result *result,
                      void (*judge)(CURL *, const struct capped_buffer *, struct exchange_result *))
{
    struct capped_buffer body = {0};
    struct curl_slist *headers = NULL, *more;
    CURL *curl = curl_easy_init();
    CURLcode code;

    memset(result, 0, sizeof(*result));
    headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    more = headers != NULL ? curl_slist_append(headers, "Accept: application/json") : NULL;
    if (curl == NULL || more == NULL || capped_buffer_init(&body, TOKEN_RESPONSE_MAX_BYTES) != 0 ||
        strncasecmp(url, "https://", 8) != 0 ||
        configure_transfer(curl, url, ca_file, timeout_ms, form, headers, &body) != 0) {
        set_result(result, EXCHANGE_NOT_SENT, "setup", "cannot set up a safe https request");
        goto out;
    }
    code = curl_easy_perform(curl);
    if (code != CURLE_OK)
        classify_transfer_error(curl, code, result);
    else
        judge(curl, &body, result);
out:
    capped_buffer_wipe(&body);
    curl_slist_free_all(headers);
    if (curl != NULL)
        curl_easy_cleanup(curl);
}

void token_exchange(const char *token_url, const char *ca_file, long timeout_ms,
                    const struct capped_buffer *form, struct exchange_result *result)
{
    post_form(token_url, ca_file, timeout_ms, form, result, judge_answer);
}

/* RFC 7009 section 2.2: 200 whether or not the token was still valid. */
static void judge_revocation(CURL *curl, const struct capped_buffer *body,
                             struct exchange_result *result)
{
    char code[48] = "", message[256] = "";
    long status = 0;

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
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

void exchange_result_clear(struct exchange_result *result)
{
    token_set_clear(&result->tokens);
}
