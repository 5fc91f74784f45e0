/* libFuzzer harness: the user's answer at the login prompt (oauth/answer.c).
 *
 * The answer is whatever the user pastes: a bare code or the browser's redirect address, with
 * percent-encoding, duplicated parameters, error=, iss= and Snyk's instance=. The module has
 * refused answers over 4 KiB or with control bytes already, but answer_parse checks both again
 * and is fuzzed here without that filter.
 *
 * Each input is one C string (answer_parse takes one; an embedded NUL ends it, as it would in
 * the protocol) parsed under four fixed expectations - snyk_instances on and off, issuer set
 * and NULL - and passed to snyk_instance_token_url (common/text_checks.c) as an instance=
 * value. Checked:
 *   - on success: a code of 1 to 2048 visible-ASCII bytes, and no instance or, only with
 *     snyk_instances, one that snyk_instance_token_url turns into
 *     https://api.<host>/oauth2/token for a host under snyk.io or snykgov.io;
 *   - on refusal: no code and no URL left behind, a non-empty terminated message without a
 *     control byte (it is shown to the user and logged; provider text reaches it only through
 *     text_copy_printable). Not ASCII-only: GLib's own error texts, quoted in it, use
 *     U+2018/U+2019 quotes around the '=' of "Missing '=' and parameter value";
 *   - the checks only ever narrow: what is accepted with an issuer configured is accepted the
 *     same way without one, and what is accepted with snyk_instances is accepted the same way
 *     without (with no instance);
 *   - snyk_instance_token_url refuses, or gives a URL of the shape above.
 * Memory: ASan, UBSan, LeakSanitizer (GLib is told to use plain malloc, so a GError or a
 * GLib string left behind is a reported leak, not hidden in a GSlice magazine). */
#include "config.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/answer.h"
#include "fuzz_check.h"
#include "common/text_checks.h"

/* The state of "this login": seeds and the dictionary carry it so the fuzzer gets past the
 * state comparison and into the iss, code and instance checks. */
#define STATE "sTaTe-0123_abcXYZ"
#define ISSUER "https://app.snyk.io"
#define CODE_MAX_BYTES 2048

enum { PLAIN, WITH_ISSUER, SNYK, SNYK_WITH_ISSUER, EXPECTATION_COUNT };

static const struct answer_expectations expectations[EXPECTATION_COUNT] = {
    [PLAIN] = {.state = STATE, .issuer = NULL, .snyk_instances = false},
    [WITH_ISSUER] = {.state = STATE, .issuer = ISSUER, .snyk_instances = false},
    [SNYK] = {.state = STATE, .issuer = NULL, .snyk_instances = true},
    [SNYK_WITH_ISSUER] = {.state = STATE, .issuer = ISSUER, .snyk_instances = true},
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* GLib 2.74 serves GError and friends from GSlice, whose caches would hide a leak from
     * LeakSanitizer; plain malloc makes every leaked allocation visible. */
    setenv("G_SLICE", "always-malloc", 0);
    return 0;
}

static bool ends_with(const char *text, size_t length, const char *suffix)
{
    size_t suffix_length = strlen(suffix);

    return length >= suffix_length &&
           memcmp(text + length - suffix_length, suffix, suffix_length) == 0;
}

/* The only token URLs an instance= may lead to, restated independently of text_checks.c:
 * https://api.<lowercase host>/oauth2/token, the host under snyk.io or snykgov.io, made of
 * [a-z0-9.-] without an empty label, at most 253 bytes. */
static void check_instance_url(const char *url)
{
    static const char scheme[] = "https://", path[] = "/oauth2/token";
    const char *host = url + strlen(scheme);
    size_t host_length;

    CHECK(strncmp(url, scheme, strlen(scheme)) == 0);
    CHECK(ends_with(url, strlen(url), path));
    host_length = strlen(host) - strlen(path);
    CHECK(host_length <= 253);
    CHECK(strncmp(host, "api.", 4) == 0);
    CHECK(ends_with(host, host_length, ".snyk.io") || ends_with(host, host_length, ".snykgov.io"));
    for (size_t i = 0; i < host_length; i++) {
        char c = host[i];
        CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
        CHECK(!(c == '.' && i + 1 < host_length && host[i + 1] == '.'));
    }
}

static void check_accepted(const struct parsed_answer *parsed,
                           const struct answer_expectations *expect)
{
    char url[SNYK_TOKEN_URL_MAX];
    size_t length;

    CHECK(parsed->code != NULL);
    length = strlen(parsed->code);
    CHECK(length > 0 && length <= CODE_MAX_BYTES);
    CHECK(text_is_visible(parsed->code, length));
    if (parsed->instance != NULL) {
        CHECK(expect->snyk_instances);
        CHECK(snyk_instance_token_url(parsed->instance, url, sizeof(url)));
        check_instance_url(url);
    }
}

static void check_refused(const struct parsed_answer *parsed)
{
    size_t length = strnlen(parsed->message, sizeof(parsed->message));

    CHECK(parsed->code == NULL && parsed->instance == NULL);
    CHECK(length > 0 && length < sizeof(parsed->message));
    CHECK(!text_has_control_byte(parsed->message, length));
}

/* Whether two accepted answers agree: the same code, and the same instance unless the first
 * may take an instance= and the second may not (it has none). */
static void check_same(const struct parsed_answer *narrow, const struct parsed_answer *wide,
                       bool same_instance)
{
    CHECK(strcmp(narrow->code, wide->code) == 0);
    if (same_instance)
        CHECK((narrow->instance == NULL && wide->instance == NULL) ||
              (narrow->instance != NULL && wide->instance != NULL &&
               strcmp(narrow->instance, wide->instance) == 0));
    else
        CHECK(wide->instance == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *answer = malloc(size + 1);
    struct parsed_answer parsed[EXPECTATION_COUNT];
    int rv[EXPECTATION_COUNT];
    char url[SNYK_TOKEN_URL_MAX];

    if (answer == NULL)
        return 0;
    memcpy(answer, data, size);
    answer[size] = '\0';

    for (int i = 0; i < EXPECTATION_COUNT; i++) {
        /* Poisoned: answer_parse must set every field itself. */
        memset(&parsed[i], 0xa5, sizeof(parsed[i]));
        rv[i] = answer_parse(answer, &expectations[i], &parsed[i]);
        CHECK(rv[i] == 0 || rv[i] == -1);
        if (rv[i] == 0)
            check_accepted(&parsed[i], &expectations[i]);
        else
            check_refused(&parsed[i]);
    }
    /* An issuer check can only refuse more: accepted with it means accepted without it. */
    if (rv[WITH_ISSUER] == 0) {
        CHECK(rv[PLAIN] == 0);
        check_same(&parsed[WITH_ISSUER], &parsed[PLAIN], true);
    }
    if (rv[SNYK_WITH_ISSUER] == 0) {
        CHECK(rv[SNYK] == 0);
        check_same(&parsed[SNYK_WITH_ISSUER], &parsed[SNYK], true);
    }
    /* instance= can only refuse more or change the URL, never the code. */
    if (rv[SNYK] == 0) {
        CHECK(rv[PLAIN] == 0);
        check_same(&parsed[SNYK], &parsed[PLAIN], false);
    }
    if (rv[SNYK_WITH_ISSUER] == 0) {
        CHECK(rv[WITH_ISSUER] == 0);
        check_same(&parsed[SNYK_WITH_ISSUER], &parsed[WITH_ISSUER], false);
    }
    for (int i = 0; i < EXPECTATION_COUNT; i++) {
        parsed_answer_clear(&parsed[i]);
        CHECK(parsed[i].code == NULL && parsed[i].instance == NULL);
    }

    /* The same bytes as an instance= value (answer_parse hands it over percent-decoded). */
    if (snyk_instance_token_url(answer, url, sizeof(url)))
        check_instance_url(url);
    free(answer);
    return 0;
}
