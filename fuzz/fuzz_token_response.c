/* libFuzzer harness: the token endpoint's JSON (oauth/token_response.c).
 *
 * The body is the one input here that a remote party writes: the provider is trusted to issue
 * tokens, not to send well-formed data (docs/ARCHITECTURE.md, "What is trusted"). Both parsers
 * get the fuzzer's bytes the way token_exchange.c hands them over - a pointer and a length -
 * but here the bytes are NOT followed by a NUL (libFuzzer's buffer is exactly size bytes), so
 * a read past length is an ASan report instead of a silent read of the capped buffer's NUL.
 *
 * Beyond memory safety (ASan, UBSan, LeakSanitizer: every json-c object and every copied
 * string must be released), it checks what token_response.h promises:
 *   - token_response_parse: on success a non-empty visible-ASCII access_token of at most
 *     TOKEN_MAX_BYTES, the same for a refresh_token, a printable scope, lifetimes from 0 to
 *     ten years; on failure nothing kept (every pointer NULL) and a terminated reason;
 *   - token_error_parse: on success code and message terminated, printable ASCII (they reach
 *     the log and the user), and the message starts with the code. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "common/text_checks.h"
#include "oauth/token_response.h"

/* The limits token_response.c enforces, restated here so the harness checks them
 * independently of the code under test. */
#define LIFETIME_MAX_SECONDS (10LL * 366 * 24 * 3600)
#define SCOPE_MAX_BYTES 4096

/* A string the caller owns: terminated within size and printable ASCII throughout. */
static bool is_printable_string(const char *text, size_t size)
{
    size_t length = strnlen(text, size);

    return length < size && text_is_printable(text, length);
}

static void check_token(const char *token, bool required)
{
    size_t length;

    if (token == NULL) {
        CHECK(!required);
        return;
    }
    length = strlen(token);
    CHECK(length > 0 && length <= TOKEN_MAX_BYTES);
    CHECK(text_is_visible(token, length));
}

static void fuzz_token_response(const char *body, size_t length)
{
    struct token_set tokens;
    char why[128];
    int rv;

    /* Poisoned so that a reason left unterminated shows. */
    memset(why, 'X', sizeof(why));
    /* Poisoned too: the parser must set every field itself, on success and on failure. */
    memset(&tokens, 0xa5, sizeof(tokens));
    rv = token_response_parse(body, length, &tokens, why, sizeof(why));
    CHECK(rv == 0 || rv == -1);
    if (rv == 0) {
        check_token(tokens.access_token, true);
        check_token(tokens.refresh_token, false);
        if (tokens.scope != NULL) {
            CHECK(strlen(tokens.scope) <= SCOPE_MAX_BYTES);
            CHECK(text_is_printable(tokens.scope, strlen(tokens.scope)));
        }
        CHECK(tokens.expires_in >= 0 && tokens.expires_in <= LIFETIME_MAX_SECONDS);
        CHECK(tokens.refresh_expires_in >= 0 && tokens.refresh_expires_in <= LIFETIME_MAX_SECONDS);
    } else {
        /* "Nothing is kept on failure." */
        CHECK(tokens.access_token == NULL && tokens.refresh_token == NULL && tokens.scope == NULL);
        CHECK(tokens.expires_in == 0 && tokens.refresh_expires_in == 0);
        CHECK(why[0] != '\0' && is_printable_string(why, sizeof(why)));
    }
    token_set_clear(&tokens);
    CHECK(tokens.access_token == NULL && tokens.refresh_token == NULL && tokens.scope == NULL);
}

static void fuzz_token_error(const char *body, size_t length)
{
    /* The sizes token_exchange.c passes. */
    char code[48], message[256];

    memset(code, 'X', sizeof(code));
    memset(message, 'X', sizeof(message));
    if (token_error_parse(body, length, code, sizeof(code), message, sizeof(message)) != 0)
        return; /* the callers read neither buffer then */
    CHECK(is_printable_string(code, sizeof(code)));
    CHECK(is_printable_string(message, sizeof(message)));
    /* The code (at most 47 bytes) always fits in front of the 256-byte message. */
    CHECK(strncmp(message, code, strlen(code)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One body, both readings: the same response is parsed as tokens (HTTP 200) or as an
     * error (HTTP 4xx) depending on the status, which the provider also chooses. */
    fuzz_token_response((const char *)data, size);
    fuzz_token_error((const char *)data, size);
    return 0;
}
