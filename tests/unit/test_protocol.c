#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/protocol.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"
#include "common/text_checks.h"

/* Decodes a NUL-terminated text (the NUL is not part of the message). */
static int decode_text(const char *text, struct protocol_message *message)
{
    return protocol_decode(text, strlen(text), message);
}

/* Expects text to be refused, and the message to be clearable afterwards. */
static void assert_decode_fails(const char *data, size_t length)
{
    struct protocol_message message;

    assert_int_equal(protocol_decode(data, length, &message), -1);
    protocol_message_clear(&message);
    assert_int_equal(message.field_count, 0);
}

static void assert_decode_text_fails(const char *text)
{
    assert_decode_fails(text, strlen(text));
}

static void test_round_trip(void **state)
{
    struct protocol_message message, decoded;
    struct capped_buffer buffer;
    char *big = malloc(PROTOCOL_MAX_VALUE + 1);
    const char *spaced = "line one\nline two with  spaces \n\nend\n";

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < PROTOCOL_MAX_VALUE; i++)
        big[i] = (char)('a' + i % 26);
    big[PROTOCOL_MAX_VALUE] = '\0';

    assert_int_equal(protocol_message_init(&message, "login"), 0);
    assert_int_equal(protocol_message_add(&message, "user", "alice"), 0);
    assert_int_equal(protocol_message_add(&message, "multi_line", spaced), 0);
    assert_int_equal(protocol_message_add(&message, "empty", ""), 0);
    assert_int_equal(protocol_message_add(&message, "big-value", big), 0);
    assert_int_equal(message.field_count, 4);

    assert_int_equal(capped_buffer_init(&buffer, PROTOCOL_MAX_MESSAGE), 0);
    assert_int_equal(protocol_encode(&message, &buffer), 0);
    assert_true(strncmp(buffer.data, "POK/1 login\nuser 5\nalice\n", 25) == 0);
    assert_true(buffer.length > PROTOCOL_MAX_VALUE);
    assert_string_equal(buffer.data + buffer.length - 4, "end\n");

    assert_int_equal(protocol_decode(buffer.data, buffer.length, &decoded), 0);
    assert_string_equal(decoded.command, "login");
    assert_int_equal(decoded.field_count, 4);
    assert_string_equal(protocol_message_get(&decoded, "user"), "alice");
    assert_string_equal(protocol_message_get(&decoded, "multi_line"), spaced);
    assert_string_equal(protocol_message_get(&decoded, "empty"), "");
    assert_string_equal(protocol_message_get(&decoded, "big-value"), big);
    assert_int_equal(decoded.fields[3].length, PROTOCOL_MAX_VALUE);
    assert_null(protocol_message_get(&decoded, "absent"));

    protocol_message_clear(&decoded);
    protocol_message_clear(&message);
    capped_buffer_wipe(&buffer);
    free(big);
}

static void test_encode_exact_bytes(void **state)
{
    struct protocol_message message;
    struct capped_buffer buffer;

    (void)state;
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    assert_int_equal(protocol_message_add(&message, "a", "x y\nz"), 0);
    assert_int_equal(capped_buffer_init(&buffer, 1024), 0);
    assert_int_equal(protocol_encode(&message, &buffer), 0);
    assert_string_equal(buffer.data, "POK/1 ok\na 5\nx y\nz\nend\n");
    capped_buffer_wipe(&buffer);
    protocol_message_clear(&message);
}

static void test_encode_fails_when_buffer_too_small(void **state)
{
    struct protocol_message message;
    struct capped_buffer buffer;

    (void)state;
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    assert_int_equal(protocol_message_add(&message, "a", "0123456789"), 0);
    assert_int_equal(capped_buffer_init(&buffer, 16), 0);
    assert_int_equal(protocol_encode(&message, &buffer), -1);
    capped_buffer_wipe(&buffer);
    protocol_message_clear(&message);
}

static void test_decode_valid_minimal(void **state)
{
    struct protocol_message message;

    (void)state;
    assert_int_equal(decode_text("POK/1 error\nreason 4\nnope\nmessage 0\n\nend\n", &message), 0);
    assert_string_equal(message.command, "error");
    assert_int_equal(message.field_count, 2);
    assert_string_equal(protocol_message_get(&message, "reason"), "nope");
    assert_string_equal(protocol_message_get(&message, "message"), "");
    protocol_message_clear(&message);

    assert_int_equal(decode_text("POK/1 ok\nend\n", &message), 0);
    assert_string_equal(message.command, "ok");
    assert_int_equal(message.field_count, 0);
    protocol_message_clear(&message);
}

static void test_decode_rejects_wrong_version(void **state)
{
    (void)state;
    assert_decode_text_fails("POK/2 ok\nend\n");
    assert_decode_text_fails("POK/10 ok\nend\n");
    assert_decode_text_fails("pok/1 ok\nend\n");
    assert_decode_text_fails("POK/1\nend\n");
}

static void test_decode_rejects_trailing_bytes(void **state)
{
    (void)state;
    assert_decode_text_fails("POK/1 ok\nend\nx");
    assert_decode_text_fails("POK/1 ok\nend\n\n");
    assert_decode_text_fails("POK/1 ok\nend\nend\n");
    /* An embedded NUL after the end marker is a trailing byte too. */
    assert_decode_fails("POK/1 ok\nend\n\0", 14);
}

static void test_decode_rejects_missing_end(void **state)
{
    (void)state;
    assert_decode_text_fails("POK/1 ok\n");
    assert_decode_text_fails("POK/1 ok\na 1\nx\n");
    assert_decode_text_fails("POK/1 ok\na 1\nx\nend");
    assert_decode_text_fails("POK/1 ok\na 1\nx\nen\n");
    assert_decode_fails("", 0);
}

static void test_decode_rejects_duplicate_name(void **state)
{
    (void)state;
    assert_decode_text_fails("POK/1 ok\na 1\nx\na 1\ny\nend\n");
}

static void test_decode_rejects_length_mismatch(void **state)
{
    (void)state;
    /* Declared longer than the value. */
    assert_decode_text_fails("POK/1 ok\na 3\nxy\nend\n");
    /* Declared shorter than the value. */
    assert_decode_text_fails("POK/1 ok\na 1\nxy\nend\n");
    /* Declared beyond the end of the data. */
    assert_decode_text_fails("POK/1 ok\na 100\nxy\nend\n");
    /* Not digits. */
    assert_decode_text_fails("POK/1 ok\na -1\nx\nend\n");
    assert_decode_text_fails("POK/1 ok\na 1x\nx\nend\n");
    assert_decode_text_fails("POK/1 ok\na \nx\nend\n");
    /* More than the value limit. */
    assert_decode_text_fails("POK/1 ok\na 16385\nx\nend\n");
}

static void test_decode_rejects_leading_zero(void **state)
{
    struct protocol_message message;

    (void)state;
    assert_decode_text_fails("POK/1 ok\na 01\nx\nend\n");
    assert_decode_text_fails("POK/1 ok\na 00\n\nend\n");
    /* A lone zero is the valid way to say empty. */
    assert_int_equal(decode_text("POK/1 ok\na 0\n\nend\n", &message), 0);
    assert_string_equal(protocol_message_get(&message, "a"), "");
    protocol_message_clear(&message);
}

static void test_decode_rejects_bad_names(void **state)
{
    struct protocol_message message;

    (void)state;
    assert_decode_text_fails("POK/1 ok\nName 1\nx\nend\n");
    assert_decode_text_fails("POK/1 OK\nend\n");
    assert_decode_text_fails("POK/1 ok\na.b 1\nx\nend\n");
    /* 32 characters: one over the limit. */
    assert_decode_text_fails("POK/1 ok\nabcdefghijklmnopqrstuvwxyz012345 1\nx\nend\n");
    assert_decode_text_fails("POK/1 abcdefghijklmnopqrstuvwxyz012345\nend\n");
    /* 31 characters is fine. */
    assert_int_equal(decode_text("POK/1 ok\nabcdefghijklmnopqrstuvwxyz01234 1\nx\nend\n", &message),
                     0);
    assert_string_equal(protocol_message_get(&message, "abcdefghijklmnopqrstuvwxyz01234"), "x");
    protocol_message_clear(&message);
}

/* Builds "POK/1 ok\n" + count fields "fN 1\nx\n" + "end\n". */
static char *message_with_fields(size_t count)
{
    size_t size = 16 + count * 16;
    char *text = malloc(size);
    size_t used;

    assert_non_null(text);
    used = (size_t)snprintf(text, size, "POK/1 ok\n");
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(text + used, size - used, "f%zu 1\nx\n", i);
    snprintf(text + used, size - used, "end\n");
    return text;
}

static void test_decode_field_count_limit(void **state)
{
    struct protocol_message message;
    char *text;

    (void)state;
    text = message_with_fields(PROTOCOL_MAX_FIELDS);
    assert_int_equal(decode_text(text, &message), 0);
    assert_int_equal(message.field_count, PROTOCOL_MAX_FIELDS);
    protocol_message_clear(&message);
    free(text);

    text = message_with_fields(PROTOCOL_MAX_FIELDS + 1);
    assert_decode_text_fails(text);
    free(text);
}

static void test_decode_rejects_nul_in_value(void **state)
{
    static const char data[] = "POK/1 ok\na 3\nx\0y\nend\n";

    (void)state;
    assert_decode_fails(data, sizeof(data) - 1);
}

static void test_decode_rejects_oversized_message(void **state)
{
    /* Four maximal values: each one valid, the whole over 64 KiB. */
    struct protocol_message message;
    struct capped_buffer buffer;
    char *big = malloc(PROTOCOL_MAX_VALUE + 1);

    (void)state;
    assert_non_null(big);
    memset(big, 'v', PROTOCOL_MAX_VALUE);
    big[PROTOCOL_MAX_VALUE] = '\0';
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    assert_int_equal(protocol_message_add(&message, "a", big), 0);
    assert_int_equal(protocol_message_add(&message, "b", big), 0);
    assert_int_equal(protocol_message_add(&message, "c", big), 0);
    assert_int_equal(protocol_message_add(&message, "d", big), 0);
    assert_int_equal(capped_buffer_init(&buffer, 2 * PROTOCOL_MAX_MESSAGE), 0);
    assert_int_equal(protocol_encode(&message, &buffer), 0);
    assert_true(buffer.length > PROTOCOL_MAX_MESSAGE);
    assert_decode_fails(buffer.data, buffer.length);

    /* Three of them fit: the limit, not the values, made the difference. */
    protocol_message_clear(&message);
    capped_buffer_wipe(&buffer);
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    assert_int_equal(protocol_message_add(&message, "a", big), 0);
    assert_int_equal(protocol_message_add(&message, "b", big), 0);
    assert_int_equal(protocol_message_add(&message, "c", big), 0);
    assert_int_equal(capped_buffer_init(&buffer, 2 * PROTOCOL_MAX_MESSAGE), 0);
    assert_int_equal(protocol_encode(&message, &buffer), 0);
    protocol_message_clear(&message);
    assert_int_equal(protocol_decode(buffer.data, buffer.length, &message), 0);
    assert_int_equal(message.field_count, 3);
    protocol_message_clear(&message);
    capped_buffer_wipe(&buffer);
    free(big);
}

static void test_init_rejects_bad_command(void **state)
{
    struct protocol_message message;

    (void)state;
    assert_int_equal(protocol_message_init(&message, ""), -1);
    assert_int_equal(protocol_message_init(&message, "Login"), -1);
    assert_int_equal(protocol_message_init(&message, "a b"), -1);
    assert_int_equal(protocol_message_init(&message, "abcdefghijklmnopqrstuvwxyz012345"), -1);
    assert_int_equal(protocol_message_init(&message, "refresh-token_2"), 0);
    assert_string_equal(message.command, "refresh-token_2");
}

static void test_add_rejects_oversized_value(void **state)
{
    struct protocol_message message;
    char *big = malloc(PROTOCOL_MAX_VALUE + 2);

    (void)state;
    assert_non_null(big);
    memset(big, 'v', PROTOCOL_MAX_VALUE + 1);
    big[PROTOCOL_MAX_VALUE + 1] = '\0';
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    assert_int_equal(protocol_message_add(&message, "big", big), -1);
    assert_int_equal(message.field_count, 0);
    assert_null(protocol_message_get(&message, "big"));
    big[PROTOCOL_MAX_VALUE] = '\0';
    assert_int_equal(protocol_message_add(&message, "big", big), 0);
    assert_int_equal(message.field_count, 1);
    protocol_message_clear(&message);
    free(big);
}

static void test_add_rejects_duplicates_and_bad_names(void **state)
{
    struct protocol_message message;

    (void)state;
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    assert_int_equal(protocol_message_add(&message, "code", "one"), 0);
    assert_int_equal(protocol_message_add(&message, "code", "two"), -1);
    assert_int_equal(message.field_count, 1);
    assert_string_equal(protocol_message_get(&message, "code"), "one");
    assert_int_equal(protocol_message_add(&message, "Code", "x"), -1);
    assert_int_equal(protocol_message_add(&message, "", "x"), -1);
    assert_int_equal(protocol_message_add(&message, "a b", "x"), -1);
    assert_int_equal(message.field_count, 1);
    protocol_message_clear(&message);
}

static void test_add_rejects_too_many_fields(void **state)
{
    struct protocol_message message;
    char name[16];

    (void)state;
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    for (int i = 0; i < PROTOCOL_MAX_FIELDS; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        assert_int_equal(protocol_message_add(&message, name, "x"), 0);
    }
    assert_int_equal(protocol_message_add(&message, "one-more", "x"), -1);
    assert_int_equal(message.field_count, PROTOCOL_MAX_FIELDS);
    protocol_message_clear(&message);
}

static void test_add_null_value_is_noop(void **state)
{
    struct protocol_message message;

    (void)state;
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    assert_int_equal(protocol_message_add(&message, "optional", NULL), 0);
    assert_int_equal(message.field_count, 0);
    assert_null(protocol_message_get(&message, "optional"));
    /* The name is still free for a real value. */
    assert_int_equal(protocol_message_add(&message, "optional", "v"), 0);
    assert_string_equal(protocol_message_get(&message, "optional"), "v");
    protocol_message_clear(&message);
}

static void test_clear_empties_message(void **state)
{
    struct protocol_message message;

    (void)state;
    assert_int_equal(protocol_message_init(&message, "ok"), 0);
    assert_int_equal(protocol_message_add(&message, "a", "1"), 0);
    assert_int_equal(protocol_message_add(&message, "b", "2"), 0);
    protocol_message_clear(&message);
    assert_int_equal(message.field_count, 0);
    assert_null(message.fields[0].value);
    assert_null(message.fields[1].value);
    assert_null(protocol_message_get(&message, "a"));
    /* Twice is safe. */
    protocol_message_clear(&message);
    assert_int_equal(message.field_count, 0);
}

static void test_capped_buffer(void **state)
{
    struct capped_buffer buffer;

    (void)state;
    assert_int_equal(capped_buffer_init(&buffer, 8), 0);
    assert_int_equal(capped_buffer_append_string(&buffer, "abcde"), 0);
    assert_int_equal(capped_buffer_append_string(&buffer, "fghi"), -1);
    assert_int_equal(buffer.length, 5);
    assert_string_equal(buffer.data, "abcde");
    assert_int_equal(capped_buffer_append(&buffer, "fgh", 3), 0);
    assert_int_equal(buffer.length, 8);
    assert_string_equal(buffer.data, "abcdefgh");
    assert_int_equal(capped_buffer_append(&buffer, "i", 1), -1);
    assert_int_equal(buffer.length, 8);
    assert_string_equal(buffer.data, "abcdefgh");
    assert_int_equal(capped_buffer_append(&buffer, "", 0), 0);
    capped_buffer_wipe(&buffer);
    assert_null(buffer.data);
    assert_int_equal(buffer.length, 0);
    capped_buffer_wipe(&buffer);
    assert_int_equal(capped_buffer_append(&buffer, "x", 1), -1);
}

static void test_secret_strings_equal(void **state)
{
    (void)state;
    assert_true(secret_strings_equal("state-123", "state-123"));
    assert_true(secret_strings_equal("", ""));
    assert_false(secret_strings_equal("state-123", "state-124"));
    assert_false(secret_strings_equal("Xtate-123", "state-123"));
    assert_false(secret_strings_equal("state", "state-123"));
    assert_false(secret_strings_equal("state-123", "state"));
    assert_false(secret_strings_equal("abc", "abcd"));
    assert_false(secret_strings_equal("", "a"));
    assert_false(secret_strings_equal("a", ""));
}

/* One complete "ok" reply per request, as the helper writes it; each test takes one field
 * away, empties one, or adds one. */
struct reply_case {
    const char *request;
    const char *command;
    const char *fields[6][2]; /* name, value; ends at a NULL name */
    size_t required;          /* the first this many fields are required, the rest optional */
};

static const struct reply_case complete_replies[] = {
    {"authorize",
     "ok",
     {{"url", "https://idp/a?x=1"}, {"verifier", "v"}, {"state", "s"}, {"qr", "\xe2\x96\x88"}},
     3},
    {"answer", "ok", {{"code", "c"}, {"instance", "api.eu.snyk.io"}}, 1},
    {"exchange",
     "ok",
     {{"message", "tokens stored"}, {"outcome", "deferred"}, {"refresh_expires_at", "1798761600"}},
     1},
    {"session",
     "ok",
     {{"outcome", "not-due"}, {"message", "still valid"}, {"refresh_expires_at", "0"}},
     2},
    {"refresh", "ok", {{"outcome", "refreshed"}, {"message", "refreshed"}}, 2},
    {"logout", "ok", {{"outcome", "logged-out"}, {"message", "revoked"}}, 2},
    {"authorize", "error", {{"reason", "bad-request"}, {"message", "no URL"}}, 2},
    {"answer", "error", {{"reason", "bad-answer"}, {"message", "state does not match"}}, 2},
    {"exchange", "error", {{"reason", "keyring-locked"}, {"message", "locked"}}, 2},
    {"session", "error", {{"reason", "authorization-needed"}, {"message", "expired"}}, 2},
};

/* The reply of a case, without the field named skip and with the one named empty empty. */
static void build_reply(const struct reply_case *reply_case, const char *skip, const char *empty,
                        struct protocol_message *reply)
{
    assert_int_equal(protocol_message_init(reply, reply_case->command), 0);
    for (size_t i = 0; reply_case->fields[i][0] != NULL; i++) {
        const char *name = reply_case->fields[i][0];
        if (skip != NULL && strcmp(name, skip) == 0)
            continue;
        assert_int_equal(protocol_message_add(reply, name,
                                              empty != NULL && strcmp(name, empty) == 0
                                                  ? ""
                                                  : reply_case->fields[i][1]),
                         0);
    }
}

/* Checks the reply; when needle is not NULL it must be refused with needle in why. */
static void check_reply(const char *request, struct protocol_message *reply, const char *needle)
{
    char why[256] = "";
    /* A reply to the module or to the refresher (its children share "refresh", "logout"). */
    int rv = protocol_reply_check(
        protocol_request_find(CHANNEL_LOGIN | CHANNEL_START | CHANNEL_CHILD, request), reply, why,
        sizeof(why));

    if (needle == NULL && rv != 0)
        fail_msg("a reply to '%s' refused: %s", request, why);
    if (needle != NULL && (rv != -1 || strstr(why, needle) == NULL))
        fail_msg("a reply to '%s': %d '%s', expected a refusal with '%s'", request, rv, why,
                 needle);
    protocol_message_clear(reply);
}

static void test_reply_check_complete_and_minimal(void **state)
{
    struct protocol_message reply;

    (void)state;
    for (size_t i = 0; i < sizeof(complete_replies) / sizeof(complete_replies[0]); i++) {
        const struct reply_case *reply_case = &complete_replies[i];
        build_reply(reply_case, NULL, NULL, &reply);
        check_reply(reply_case->request, &reply, NULL);
        /* Without its optional fields, too. */
        assert_int_equal(protocol_message_init(&reply, reply_case->command), 0);
        for (size_t j = 0; j < reply_case->required; j++)
            assert_int_equal(
                protocol_message_add(&reply, reply_case->fields[j][0], reply_case->fields[j][1]),
                0);
        check_reply(reply_case->request, &reply, NULL);
    }
}

/* The lie of issue 10: "POK/1 ok\nend\n" to any request, and every required field missing in
 * turn, or empty; an optional field empty too. */
static void test_reply_check_missing_and_empty_fields(void **state)
{
    struct protocol_message reply;
    char needle[64];

    (void)state;
    for (size_t i = 0; i < sizeof(complete_replies) / sizeof(complete_replies[0]); i++) {
        const struct reply_case *reply_case = &complete_replies[i];
        assert_int_equal(protocol_message_init(&reply, reply_case->command), 0);
        check_reply(reply_case->request, &reply, "lacks");
        for (size_t j = 0; reply_case->fields[j][0] != NULL; j++) {
            const char *name = reply_case->fields[j][0];
            if (j < reply_case->required) {
                snprintf(needle, sizeof(needle), "reply to '%s' lacks '%s'", reply_case->request,
                         name);
                build_reply(reply_case, name, NULL, &reply);
                check_reply(reply_case->request, &reply, needle);
            }
            snprintf(needle, sizeof(needle), "has an empty '%s'", name);
            build_reply(reply_case, NULL, name, &reply);
            check_reply(reply_case->request, &reply, needle);
        }
    }
}

static void test_reply_check_unexpected_fields(void **state)
{
    struct protocol_message reply;

    (void)state;
    /* The token URL the helper used to name: the module derives it now. */
    build_reply(&complete_replies[1], NULL, NULL, &reply);
    assert_int_equal(protocol_message_add(&reply, "token_url", "https://evil.example/t"), 0);
    check_reply("answer", &reply, "carries an unexpected 'token_url'");
    /* An error reply carries a reason and a message, nothing else. */
    build_reply(&complete_replies[6], NULL, NULL, &reply);
    assert_int_equal(protocol_message_add(&reply, "code", "c"), 0);
    check_reply("authorize", &reply, "unexpected 'code'");
    /* A field of another request's reply. */
    build_reply(&complete_replies[3], NULL, NULL, &reply);
    assert_int_equal(protocol_message_add(&reply, "code", "c"), 0);
    check_reply("session", &reply, "unexpected 'code'");
}

static void test_reply_check_outcomes(void **state)
{
    static const char *const refused[] = {"done",    "deferred\x1b[2J", "not-due ",
                                          "NOT-DUE", "refreshed\n",     "\xff"};
    static const char *const known[] = {
        "not-due",        "refreshed",       "authorization-needed", "provider-unreachable",
        "provider-error", "outcome-unknown", "keyring-failed",       "lock-timeout",
        "deferred",       "logged-out",
    };
    struct protocol_message reply;

    (void)state;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        assert_true(protocol_outcome_is_known(known[i]));
        assert_int_equal(protocol_message_init(&reply, "ok"), 0);
        assert_int_equal(protocol_message_add(&reply, "outcome", known[i]), 0);
        assert_int_equal(protocol_message_add(&reply, "message", "m"), 0);
        check_reply("session", &reply, NULL);
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_false(protocol_outcome_is_known(refused[i]));
        assert_int_equal(protocol_message_init(&reply, "ok"), 0);
        assert_int_equal(protocol_message_add(&reply, "outcome", refused[i]), 0);
        assert_int_equal(protocol_message_add(&reply, "message", "m"), 0);
        check_reply("session", &reply, "unknown outcome");
    }
    assert_false(protocol_outcome_is_known(NULL));
}

/* The module writes the login state from refresh_expires_at: Unix seconds as plain digits,
 * in the replies to exchange and session only. */
static void test_reply_check_refresh_expiry(void **state)
{
    static const char *const refused[] = {
        "-1", "+5", "12a", " 1", "1 ", "1e9", "0x10", "1234567890123456789", "\xff", "1\n2", "9.5"};
    static const char *const accepted[] = {"0", "1798761600", "999999999999999999"};
    static const char *const without[] = {"answer", "refresh", "logout"};
    struct protocol_message reply;

    (void)state;
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        build_reply(&complete_replies[3], "refresh_expires_at", NULL, &reply);
        assert_int_equal(protocol_message_add(&reply, "refresh_expires_at", accepted[i]), 0);
        check_reply("session", &reply, NULL);
        build_reply(&complete_replies[2], "refresh_expires_at", NULL, &reply);
        assert_int_equal(protocol_message_add(&reply, "refresh_expires_at", accepted[i]), 0);
        check_reply("exchange", &reply, NULL);
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        build_reply(&complete_replies[3], "refresh_expires_at", NULL, &reply);
        assert_int_equal(protocol_message_add(&reply, "refresh_expires_at", refused[i]), 0);
        check_reply("session", &reply,
                    "the helper's reply to 'session' has a refresh_expires_at that is not Unix "
                    "seconds");
        build_reply(&complete_replies[2], "refresh_expires_at", NULL, &reply);
        assert_int_equal(protocol_message_add(&reply, "refresh_expires_at", refused[i]), 0);
        check_reply("exchange", &reply, "not Unix seconds");
    }
    for (size_t i = 0; i < sizeof(without) / sizeof(without[0]); i++) {
        build_reply(&complete_replies[i == 0 ? 1 : 3 + i], NULL, NULL, &reply);
        assert_int_equal(protocol_message_add(&reply, "refresh_expires_at", "0"), 0);
        check_reply(without[i], &reply, "carries an unexpected 'refresh_expires_at'");
    }
}

static void test_reply_check_unknown_request_or_command(void **state)
{
    struct protocol_message reply;

    (void)state;
    build_reply(&complete_replies[3], NULL, NULL, &reply);
    check_reply("refresher", &reply, "not one the protocol has");
    assert_int_equal(protocol_message_init(&reply, "maybe"), 0);
    check_reply("session", &reply, "not one the protocol has");
}

/* snyk_instance_host: the one check of Snyk's instance=, for the helper and the module. */
static void test_snyk_instance_token_url(void **state)
{
    static const struct {
        const char *instance;
        const char *token_url;
    } cases[] = {
        {"api.snyk.io", "https://api.snyk.io/oauth2/token"},
        {"api.eu.snyk.io", "https://api.eu.snyk.io/oauth2/token"},
        {"api.au.snyk.io", "https://api.au.snyk.io/oauth2/token"},
        {"API.US.SNYK.IO", "https://api.us.snyk.io/oauth2/token"},
        {"https://api.snykgov.io", "https://api.snykgov.io/oauth2/token"},
        {"HTTPS://API.EU.SNYK.IO/", "https://api.eu.snyk.io/oauth2/token"},
        {"https://api.eu.snyk.io/", "https://api.eu.snyk.io/oauth2/token"},
        /* The hostile values of test_answer's test_snyk_instance_refused, decoded. */
        {"evil.com", NULL},
        {"evil.example", NULL},
        {"api.snyk.io.evil.com", NULL},
        {"api.evil.snyk.io.example.com", NULL},
        {"app.snyk.io", NULL},
        {"api.evil.com/snyk.io", NULL},
        {"api..snyk.io", NULL},
        {"api.snyk.io:8443", NULL},
        {"https://api.snyk.io/x", NULL},
        {"https://api.snyk.io//", NULL},
        {"http://api.snyk.io", NULL},
        {"api.evilsnyk.io", NULL},
        {"api.snyk.io.", NULL},
        {"snyk.io", NULL},
        {".snyk.io", NULL},
        {"api.snyk.io@evil.com", NULL},
        {"api.snyk io", NULL},
        {" api.snyk.io", NULL},
        {"api.snyk.io\n", NULL},
        {"api.\xc5\xbfnyk.io", NULL},
        {"", NULL},
    };
    char url[SNYK_TOKEN_URL_MAX], host[SNYK_HOST_MAX + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool allowed = snyk_instance_token_url(cases[i].instance, url, sizeof(url));

        assert_int_equal(snyk_instance_host(cases[i].instance, host, sizeof(host)), allowed);
        if (cases[i].token_url == NULL) {
            if (allowed)
                fail_msg("'%s' gave '%s'", cases[i].instance, url);
            assert_string_equal(host, "");
        } else {
            if (!allowed)
                fail_msg("'%s' refused", cases[i].instance);
            assert_string_equal(url, cases[i].token_url);
            assert_int_equal(strncmp(url + strlen("https://"), host, strlen(host)), 0);
        }
    }
    assert_false(snyk_instance_host(NULL, host, sizeof(host)));
}

/* The longest host DNS allows, and no longer; the caller's buffer bounds what is accepted. */
static void test_snyk_instance_lengths(void **state)
{
    char instance[400], url[SNYK_TOKEN_URL_MAX], host[SNYK_HOST_MAX + 1];
    size_t fill = SNYK_HOST_MAX - strlen("api.") - strlen(".snyk.io");

    (void)state;
    snprintf(instance, sizeof(instance), "api.%0*d.snyk.io", (int)fill, 0);
    assert_int_equal(strlen(instance), SNYK_HOST_MAX);
    assert_true(snyk_instance_token_url(instance, url, sizeof(url)));
    assert_true(snyk_instance_host(instance, host, sizeof(host)));
    assert_false(snyk_instance_host(instance, host, SNYK_HOST_MAX));
    assert_false(snyk_instance_token_url(instance, url, 40));
    assert_string_equal(url, "");
    snprintf(instance, sizeof(instance), "https://api.%0*d.snyk.io/", (int)fill, 0);
    assert_true(snyk_instance_host(instance, host, sizeof(host)));
    snprintf(instance, sizeof(instance), "api.%0*d.snyk.io", (int)fill + 1, 0);
    assert_false(snyk_instance_host(instance, host, sizeof(host)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encode_exact_bytes),
        cmocka_unit_test(test_encode_fails_when_buffer_too_small),
        cmocka_unit_test(test_decode_valid_minimal),
        cmocka_unit_test(test_decode_rejects_wrong_version),
        cmocka_unit_test(test_decode_rejects_trailing_bytes),
        cmocka_unit_test(test_decode_rejects_missing_end),
        cmocka_unit_test(test_decode_rejects_duplicate_name),
        cmocka_unit_test(test_decode_rejects_length_mismatch),
        cmocka_unit_test(test_decode_rejects_leading_zero),
        cmocka_unit_test(test_decode_rejects_bad_names),
        cmocka_unit_test(test_decode_field_count_limit),
        cmocka_unit_test(test_decode_rejects_nul_in_value),
        cmocka_unit_test(test_decode_rejects_oversized_message),
        cmocka_unit_test(test_init_rejects_bad_command),
        cmocka_unit_test(test_add_rejects_oversized_value),
        cmocka_unit_test(test_add_rejects_duplicates_and_bad_names),
        cmocka_unit_test(test_add_rejects_too_many_fields),
        cmocka_unit_test(test_add_null_value_is_noop),
        cmocka_unit_test(test_clear_empties_message),
        cmocka_unit_test(test_capped_buffer),
        cmocka_unit_test(test_secret_strings_equal),
        cmocka_unit_test(test_reply_check_complete_and_minimal),
        cmocka_unit_test(test_reply_check_missing_and_empty_fields),
        cmocka_unit_test(test_reply_check_unexpected_fields),
        cmocka_unit_test(test_reply_check_outcomes),
        cmocka_unit_test(test_reply_check_refresh_expiry),
        cmocka_unit_test(test_reply_check_unknown_request_or_command),
        cmocka_unit_test(test_snyk_instance_token_url),
        cmocka_unit_test(test_snyk_instance_lengths),
    };

    return cmocka_run_group_tests_name("test_protocol", tests, NULL, NULL);
}
