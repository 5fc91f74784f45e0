/* libFuzzer harness: the device authorization answer (oauth/device_grant.c,
 * device_authorization_parse).
 *
 * The answer is written by whoever answers at the device authorization endpoint (RFC 8628
 * 3.2), and its user code and verification address are shown to the user at the login prompt,
 * in a QR code and in status lines: the provider is trusted to issue codes, not to send
 * well-formed data. The bytes are handed over as the helper hands them (a pointer and a
 * length), with no NUL after them, so a read past length is an ASan report.
 *
 * Beyond memory safety (ASan, UBSan, LeakSanitizer: every json-c object and every copied
 * string released), it checks what device_grant.h promises, with the harness's own code rather
 * than the parser's helpers:
 *   - on success: device_code and user_code present, 1 to DEVICE_CODE_MAX and USER_CODE_MAX
 *     bytes of visible ASCII (0x21-0x7e); verification_uri present and verification_uri_complete
 *     absent or, both, https URLs of at most DISCOVERY_URL_MAX bytes with a non-empty host and
 *     no userinfo, fragment, space or control byte; expires_in within 1..DEVICE_MAX_LIFETIME
 *     and interval within 1..DEVICE_MAX_INTERVAL;
 *   - on failure: nothing kept (every pointer NULL, both numbers 0) and a terminated,
 *     non-empty, printable reason;
 *   - what is kept is accepted again: the kept values written back as a plain answer parse to
 *     the same values (nothing is kept that the parser itself would refuse);
 *   - device_authorization_clear leaves nothing behind either way. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_check.h"
#include "oauth/device_grant.h"
#include "oauth/discovery.h"
#include "oauth/https_transport.h"
#include "oauth/token_exchange.h"

/* Not reached from device_authorization_parse: the network side is stubbed out so that the
 * harness links without the https module or libcurl, and aborts if it ever is reached. */
void https_get_document(const char *url, const char *ca_file, long timeout_ms, const char *endpoint,
                        struct https_answer *answer)
{
    (void)url, (void)ca_file, (void)timeout_ms, (void)endpoint, (void)answer;
    abort();
}

void https_post_document(const char *url, const char *ca_file, long timeout_ms,
                         const struct capped_buffer *form, const char *endpoint,
                         struct https_answer *answer)
{
    (void)url, (void)ca_file, (void)timeout_ms, (void)form, (void)endpoint, (void)answer;
    abort();
}

void token_answer_judge(const struct https_answer *answer, long long now,
                        struct exchange_result *result)
{
    (void)answer, (void)now, (void)result;
    abort();
}

static bool is_visible(const char *text)
{
    for (const char *c = text; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
            return false;
    }
    return true;
}

static void check_code(const char *code, size_t max)
{
    size_t length;

    CHECK(code != NULL);
    length = strlen(code);
    CHECK(length >= 1 && length <= max);
    CHECK(is_visible(code));
}

/* What the user is shown and may type on another device: https, a host, nothing that could
 * show one host and open another. */
static void check_address(const char *url, bool required)
{
    size_t authority;

    if (url == NULL) {
        CHECK(!required);
        return;
    }
    CHECK(strlen(url) > 8 && strlen(url) <= DISCOVERY_URL_MAX);
    CHECK(strncasecmp(url, "https://", 8) == 0);
    CHECK(is_visible(url));
    CHECK(strchr(url, '#') == NULL);
    authority = strcspn(url + 8, "/?");
    CHECK(authority > 0);
    CHECK(memchr(url + 8, '@', authority) == NULL);
}

/* Appends text as a JSON string's contents: visible ASCII needs only '"' and '\\' escaped. */
static size_t append_json_text(char *out, size_t used, const char *text)
{
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\')
            out[used++] = '\\';
        out[used++] = *c;
    }
    return used;
}

static size_t append_member(char *out, size_t used, const char *name, const char *value)
{
    if (value == NULL)
        return used;
    used += (size_t)sprintf(out + used, "%s\"%s\":\"", used > 1 ? "," : "", name);
    used = append_json_text(out, used, value);
    out[used++] = '"';
    return used;
}

/* The kept values as a plain RFC 8628 answer, parsed again: the same values come back. */
static void check_accepted_again(const struct device_authorization *kept)
{
    /* Each value escaped may double; the numbers and names take the rest. */
    size_t size = 2 * (DEVICE_CODE_MAX + USER_CODE_MAX + 2 * DISCOVERY_URL_MAX) + 256;
    struct device_authorization again;
    char *body = malloc(size), why[256];
    size_t used = 0;

    CHECK(body != NULL);
    body[used++] = '{';
    used = append_member(body, used, "device_code", kept->device_code);
    used = append_member(body, used, "user_code", kept->user_code);
    used = append_member(body, used, "verification_uri", kept->verification_uri);
    used = append_member(body, used, "verification_uri_complete", kept->verification_uri_complete);
    used += (size_t)sprintf(body + used, ",\"expires_in\":%lld,\"interval\":%ld}", kept->expires_in,
                            kept->interval);
    CHECK(used < size);
    CHECK(device_authorization_parse(body, used, &again, why, sizeof(why)) == 0);
    CHECK(strcmp(again.device_code, kept->device_code) == 0);
    CHECK(strcmp(again.user_code, kept->user_code) == 0);
    CHECK(strcmp(again.verification_uri, kept->verification_uri) == 0);
    CHECK((again.verification_uri_complete == NULL) == (kept->verification_uri_complete == NULL));
    CHECK(kept->verification_uri_complete == NULL ||
          strcmp(again.verification_uri_complete, kept->verification_uri_complete) == 0);
    CHECK(again.expires_in == kept->expires_in && again.interval == kept->interval);
    device_authorization_clear(&again);
    free(body);
}

static void check_nothing_kept(const struct device_authorization *authorization)
{
    CHECK(authorization->device_code == NULL && authorization->user_code == NULL &&
          authorization->verification_uri == NULL &&
          authorization->verification_uri_complete == NULL);
    CHECK(authorization->expires_in == 0 && authorization->interval == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct device_authorization authorization;
    char why[256];
    size_t why_length;
    int rv;

    /* Poisoned: a reason left unterminated, or a field the parser forgets to set, shows. */
    memset(why, 'X', sizeof(why));
    memset(&authorization, 0xa5, sizeof(authorization));
    rv = device_authorization_parse((const char *)data, size, &authorization, why, sizeof(why));
    CHECK(rv == 0 || rv == -1);
    if (rv == 0) {
        check_code(authorization.device_code, DEVICE_CODE_MAX);
        check_code(authorization.user_code, USER_CODE_MAX);
        check_address(authorization.verification_uri, true);
        check_address(authorization.verification_uri_complete, false);
        CHECK(authorization.expires_in >= 1 && authorization.expires_in <= DEVICE_MAX_LIFETIME);
        CHECK(authorization.interval >= 1 && authorization.interval <= DEVICE_MAX_INTERVAL);
        check_accepted_again(&authorization);
    } else {
        check_nothing_kept(&authorization);
        why_length = strnlen(why, sizeof(why));
        CHECK(why_length > 0 && why_length < sizeof(why));
        for (size_t i = 0; i < why_length; i++)
            CHECK((unsigned char)why[i] >= 0x20 && (unsigned char)why[i] < 0x7f);
    }
    device_authorization_clear(&authorization);
    check_nothing_kept(&authorization);
    return 0;
}
