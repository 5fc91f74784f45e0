#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "secret_memory.h"

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
    };

    return cmocka_run_group_tests_name("test_protocol", tests, NULL, NULL);
}
