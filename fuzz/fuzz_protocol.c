/* libFuzzer harness: the module <-> helper protocol (common/protocol.c).
 *
 * The module (as root, inside the PAM application) decodes what the helper (as the user)
 * writes back, and the helper decodes the module's request; whichever side is compromised or
 * buggy, the other must reject a malformed message cleanly. protocol_decode gets the bytes as
 * read from the socket - a pointer and a length, no terminating NUL.
 *
 * Checked:
 *   - a decoded message is well formed by protocol.h's rules: command and names
 *     [a-z0-9_-]{1,31}, at most PROTOCOL_MAX_FIELDS fields, each name once, each value as
 *     long as its length (no NUL) and at most PROTOCOL_MAX_VALUE bytes, found by
 *     protocol_message_get;
 *   - round trip: the format has exactly one spelling of each message (no optional spaces,
 *     no leading zeros, no trailing bytes), so protocol_encode of a decoded message must give
 *     back the input byte for byte - anything decode accepts beyond the grammar, or anything
 *     it drops, shows up as a difference. The output buffer holds exactly size bytes, so
 *     encoding more than the input also fails;
 *   - the other direction, for the messages the module and the helper build: the same bytes,
 *     split at NUL into a command and name/value pairs, go through protocol_message_init and
 *     protocol_message_add (a refused field must leave the message as it was), and what
 *     protocol_encode makes of that message must decode to the same command and fields;
 *   - the table (common/protocol_table.h): a decoded message that a program's reader accepts
 *     (protocol_request_accept) names a request read there, lists only that request's fields
 *     and every required one; a refusal leaves no request; a reply that protocol_reply_check
 *     accepts as an "ok" to any request carries that request's required ok fields, none
 *     empty;
 *   - the message is cleared after every attempt, success or not (protocol.h: "must be
 *     cleared by the caller afterwards even on failure"); LeakSanitizer reports any value
 *     that decode allocated and did not hand over. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "common/protocol.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What an encoding adds to the bytes of command and values: "POK/1 " and a newline, per field
 * a name of at most 31 bytes, a space, at most 5 digits and two newlines, then "end\n". */
#define ENCODING_OVERHEAD                                                                          \
    (sizeof(PROTOCOL_VERSION_TAG) + 1 + PROTOCOL_MAX_FIELDS * (PROTOCOL_MAX_NAME + 8) + 4)

static bool is_name(const char *name)
{
    size_t length = strnlen(name, PROTOCOL_MAX_NAME + 1);

    if (length == 0 || length > PROTOCOL_MAX_NAME)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void check_well_formed(const struct protocol_message *message)
{
    CHECK(is_name(message->command));
    CHECK(message->field_count <= PROTOCOL_MAX_FIELDS);
    for (size_t i = 0; i < message->field_count; i++) {
        const struct protocol_field *field = &message->fields[i];
        CHECK(is_name(field->name));
        CHECK(field->value != NULL);
        CHECK(field->length <= PROTOCOL_MAX_VALUE);
        CHECK(strlen(field->value) == field->length);
        CHECK(protocol_message_get(message, field->name) == field->value);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(message->fields[j].name, field->name) != 0);
    }
}

static void check_round_trip(const struct protocol_message *message, const uint8_t *data,
                             size_t size)
{
    struct capped_buffer encoded = {0};

    /* Exactly the input's size: an encoding that is longer cannot be appended. */
    if (capped_buffer_init(&encoded, size) != 0)
        return;
    CHECK(protocol_encode(message, &encoded) == 0);
    CHECK(encoded.length == size);
    CHECK(memcmp(encoded.data, data, size) == 0);
    capped_buffer_wipe(&encoded);
}

static void check_same_message(const struct protocol_message *a, const struct protocol_message *b)
{
    CHECK(strcmp(a->command, b->command) == 0);
    CHECK(a->field_count == b->field_count);
    for (size_t i = 0; i < a->field_count; i++) {
        CHECK(strcmp(a->fields[i].name, b->fields[i].name) == 0);
        CHECK(a->fields[i].length == b->fields[i].length);
        CHECK(memcmp(a->fields[i].value, b->fields[i].value, a->fields[i].length) == 0);
    }
}

/* The next NUL-terminated piece of data (the last one may lack its NUL), as a new string in
 * *piece; false when nothing is left. */
static bool next_piece(const uint8_t *data, size_t size, size_t *offset, char **piece)
{
    const uint8_t *start = data + *offset, *nul;
    size_t length;

    if (*offset >= size)
        return false;
    nul = memchr(start, '\0', size - *offset);
    length = nul != NULL ? (size_t)(nul - start) : size - *offset;
    *piece = malloc(length + 1);
    CHECK(*piece != NULL);
    memcpy(*piece, start, length);
    (*piece)[length] = '\0';
    *offset += length + 1;
    return true;
}

/* Builds a message the way the module and the helper do, encodes it, decodes the encoding. */
static void check_build_round_trip(const uint8_t *data, size_t size)
{
    struct protocol_message built, decoded;
    struct capped_buffer encoded = {0};
    char *command = NULL, *name = NULL, *value = NULL;
    size_t offset = 0;

    if (!next_piece(data, size, &offset, &command))
        return;
    if (protocol_message_init(&built, command) == 0) {
        while (next_piece(data, size, &offset, &name)) {
            size_t before = built.field_count;
            if (!next_piece(data, size, &offset, &value))
                value = NULL; /* an optional field: adds nothing */
            if (protocol_message_add(&built, name, value) != 0 || value == NULL)
                CHECK(built.field_count == before);
            else
                CHECK(built.field_count == before + 1 &&
                      strcmp(protocol_message_get(&built, name), value) == 0);
            free(name);
            free(value);
            name = value = NULL;
        }
        check_well_formed(&built);
        /* Room for the longest encoding these pieces can give (cheaper than zeroing and
         * wiping a full PROTOCOL_MAX_MESSAGE buffer on every run): encoding must succeed,
         * and an encoding the protocol allows must decode. */
        if (capped_buffer_init(&encoded, size + ENCODING_OVERHEAD) == 0) {
            CHECK(protocol_encode(&built, &encoded) == 0);
            if (encoded.length <= PROTOCOL_MAX_MESSAGE) {
                CHECK(protocol_decode(encoded.data, encoded.length, &decoded) == 0);
                check_same_message(&built, &decoded);
                protocol_message_clear(&decoded);
            }
            capped_buffer_wipe(&encoded);
        }
        protocol_message_clear(&built);
    }
    free(command);
}

static bool lists(const struct protocol_field_rule *rules, size_t count, const char *name,
                  bool required)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(protocol_field_name(rules[i].field), name) == 0)
            return !required || rules[i].presence == PROTOCOL_REQUIRED;
    }
    return false;
}

static void check_accepted_request(unsigned channels, const struct protocol_message *message)
{
    const struct protocol_request_spec *spec = NULL;
    char why[256];

    if (protocol_request_accept(channels, message, &spec, why, sizeof(why)) != 0) {
        CHECK(spec == NULL && why[0] != '\0');
        return;
    }
    CHECK(spec != NULL && (spec->channel & channels) != 0);
    CHECK(strcmp(spec->command, message->command) == 0);
    for (size_t i = 0; i < message->field_count; i++)
        CHECK(lists(spec->fields, spec->field_count, message->fields[i].name, false));
    for (size_t i = 0; i < spec->field_count; i++) {
        if (spec->fields[i].presence == PROTOCOL_REQUIRED)
            CHECK(protocol_get(message, spec->fields[i].field) != NULL);
    }
}

static void check_accepted_reply(const struct protocol_message *message)
{
    char why[256];

    for (size_t r = 0; r < PROTOCOL_REQUEST_COUNT; r++) {
        const struct protocol_request_spec *spec = protocol_request_spec(r);
        if (protocol_reply_check(spec, message, why, sizeof(why)) != 0 ||
            strcmp(message->command, "ok") != 0)
            continue;
        for (size_t i = 0; i < message->field_count; i++) {
            CHECK(lists(spec->ok_fields, spec->ok_field_count, message->fields[i].name, false));
            CHECK(message->fields[i].length > 0);
        }
        for (size_t i = 0; i < spec->ok_field_count; i++) {
            if (spec->ok_fields[i].presence == PROTOCOL_REQUIRED)
                CHECK(protocol_get(message, spec->ok_fields[i].field) != NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct protocol_message message;

    /* Poisoned: decode must start from an empty message itself. */
    memset(&message, 0xa5, sizeof(message));
    if (protocol_decode((const char *)data, size, &message) == 0) {
        check_well_formed(&message);
        check_round_trip(&message, data, size);
        check_accepted_request(PROTOCOL_LOGIN_HELPER_READS, &message);
        check_accepted_request(PROTOCOL_REFRESHER_READS, &message);
        check_accepted_request(PROTOCOL_REFRESHER_SOCKET_READS, &message);
        check_accepted_reply(&message);
    }
    CHECK(message.field_count <= PROTOCOL_MAX_FIELDS);
    protocol_message_clear(&message);
    CHECK(message.field_count == 0);

    check_build_round_trip(data, size);
    return 0;
}
