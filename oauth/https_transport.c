/* libcurl behind one function: an https POST of a form, the answer in a capped buffer.
 * Built as the loadable module pam_oauth_keyring_https.so (see https_transport.h). */
#include "config.h"

#include "oauth/https_transport.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/text_checks.h"

static void set_failure(struct https_answer *answer, enum exchange_outcome outcome,
                        const char *reason, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void set_failure(struct https_answer *answer, enum exchange_outcome outcome,
                        const char *reason, const char *format, ...)
{
    va_list arguments;

    answer->completed = false;
    answer->failure = outcome;
    snprintf(answer->failure_reason, sizeof(answer->failure_reason), "%s", reason);
    va_start(arguments, format);
    text_vset_why(answer->failure_message, sizeof(answer->failure_message), format, arguments);
    va_end(arguments);
}

/* libcurl's write callback: keeps at most the buffer's capacity, then aborts the transfer. */
static size_t collect_body(char *data, size_t size, size_t count, void *context)
{
    struct capped_buffer *body = context;
    size_t bytes = size * count;

    return capped_buffer_append(body, data, bytes) == 0 ? bytes : 0;
}

static int configure_transfer(CURL *curl, const struct https_request *request,
                              struct curl_slist *headers, struct capped_buffer *body)
{
    int rv = CURLE_OK;

    /* Each option is checked: an option this libcurl lacks must not silently weaken TLS. */
    rv |= curl_easy_setopt(curl, CURLOPT_URL, request->url);
    rv |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    rv |= curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    rv |= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    rv |= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    rv |= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (request->ca_file != NULL)
        rv |= curl_easy_setopt(curl, CURLOPT_CAINFO, request->ca_file);
    rv |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    rv |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, request->timeout_ms);
    rv |= curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request->timeout_ms);
    rv |= curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TOKEN_RESPONSE_MAX_BYTES);
    if (request->form != NULL) {
        rv |= curl_easy_setopt(curl, CURLOPT_POST, 1L);
        rv |= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->form->data);
        rv |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)request->form->length);
    } else {
        rv |= curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    rv |= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    rv |= curl_easy_setopt(curl, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
    rv |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    rv |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    return rv == (int)CURLE_OK ? 0 : -1;
}

static void classify_transfer_error(CURL *curl, CURLcode code, const char *endpoint,
                                    struct https_answer *answer)
{
    long request_bytes = 0;
    const char *text = curl_easy_strerror(code);

    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes);
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        set_failure(answer, EXCHANGE_NOT_SENT, "network", "cannot reach %s: %s", endpoint, text);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        set_failure(answer, EXCHANGE_NOT_SENT, "tls", "%s's TLS identity was not accepted: %s",
                    endpoint, text);
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        set_failure(answer, EXCHANGE_BAD_RESPONSE, "oversized",
                    "%s's answer is larger than %d bytes", endpoint, TOKEN_RESPONSE_MAX_BYTES);
        break;
    default:
        /* Past the handshake the request may have reached the provider. */
        set_failure(answer, request_bytes > 0 ? EXCHANGE_UNKNOWN : EXCHANGE_NOT_SENT,
                    code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network",
                    "the request to %s failed: %s", endpoint, text);
    }
}

static bool is_json_content(CURL *curl)
{
    const char *type = NULL;

    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    return type != NULL && strncasecmp(type, "application/json", 16) == 0 &&
           (type[16] == '\0' || type[16] == ';' || type[16] == ' ');
}

/* Kept only when the final answer has exactly one, short enough: a 429 or 503 may say how
 * long to wait (token_exchange.c), and anything doubtful is as good as none. */
static void keep_retry_after(CURL *curl, struct https_answer *answer)
{
    struct curl_header *header = NULL;

    if (curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &header) == CURLHE_OK &&
        header->amount == 1 && strlen(header->value) <= RETRY_AFTER_VALUE_MAX)
        snprintf(answer->retry_after, sizeof(answer->retry_after), "%s", header->value);
}

static void record_answer(CURL *curl, struct https_answer *answer)
{
    answer->completed = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer->status);
    answer->json_content = is_json_content(curl);
    keep_retry_after(curl, answer);
}

int pok_https_transport_abi(void)
{
    return HTTPS_TRANSPORT_ABI;
}

/* The body goes into answer->body (capacity TOKEN_RESPONSE_MAX_BYTES), which the caller
 * wipes with capped_buffer_wipe whatever the outcome. */
void pok_https_post_form(const struct https_request *request, struct https_answer *answer)
{
    struct curl_slist *headers = NULL, *more = NULL;
    CURL *curl = NULL;
    CURLcode code;

    memset(answer, 0, sizeof(*answer));
    /* Only this thread ever calls libcurl; after the first call this is a counter. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
        curl = curl_easy_init();
    headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    more = headers != NULL ? curl_slist_append(headers, "Accept: application/json") : NULL;
    if (curl == NULL || more == NULL ||
        capped_buffer_init(&answer->body, TOKEN_RESPONSE_MAX_BYTES) != 0 ||
        strncasecmp(request->url, "https://", 8) != 0 ||
        configure_transfer(curl, request, headers, &answer->body) != 0) {
        set_failure(answer, EXCHANGE_NOT_SENT, "setup", "cannot set up a safe https request");
        goto out;
    }
    code = curl_easy_perform(curl);
    if (code != CURLE_OK)
        classify_transfer_error(
            curl, code, request->endpoint != NULL ? request->endpoint : "the token endpoint",
            answer);
    else
        record_answer(curl, answer);
out:
    curl_slist_free_all(headers);
    if (curl != NULL)
        curl_easy_cleanup(curl);
}
