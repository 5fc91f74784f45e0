#include "config.h"

#include "common/protocol.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_valid_name(const char *name, size_t length)
{
    if (length == 0 || length > PROTOCOL_MAX_NAME)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int protocol_message_init(struct protocol_message *message, const char *command)
{
    memset(message, 0, sizeof(*message));
    if (!is_valid_name(command, strlen(command)))
        return -1;
    memcpy(message->command, command, strlen(command) + 1);
    return 0;
}

static int add_field(struct protocol_message *message, const char *name, size_t name_length,
                     const char *value, size_t value_length)
{
    struct protocol_field *field;
    char name_copy[PROTOCOL_MAX_NAME + 1];

    if (!is_valid_name(name, name_length) || value_length > PROTOCOL_MAX_VALUE ||
        message->field_count >= PROTOCOL_MAX_FIELDS || memchr(value, '\0', value_length) != NULL)
        return -1;
    memcpy(name_copy, name, name_length);
    name_copy[name_length] = '\0';
    if (protocol_message_get(message, name_copy) != NULL)
        return -1;
    field = &message->fields[message->field_count];
    field->value = secret_strndup(value, value_length);
    if (field->value == NULL)
        return -1;
    memcpy(field->name, name_copy, name_length + 1);
    field->length = value_length;
    message->field_count++;
    return 0;
}

int protocol_message_add(struct protocol_message *message, const char *name, const char *value)
{
    if (value == NULL)
        return 0;
    return add_field(message, name, strlen(name), value, strlen(value));
}

const char *protocol_message_get(const struct protocol_message *message, const char *name)
{
    for (size_t i = 0; i < message->field_count; i++) {
        if (strcmp(message->fields[i].name, name) == 0)
            return message->fields[i].value;
    }
    return NULL;
}

void protocol_message_remove(struct protocol_message *message, const char *name)
{
    for (size_t i = 0; i < message->field_count; i++) {
        if (strcmp(message->fields[i].name, name) != 0)
            continue;
        secret_free_string(&message->fields[i].value);
        memmove(&message->fields[i], &message->fields[i + 1],
                (message->field_count - i - 1) * sizeof(message->fields[0]));
        message->field_count--;
        memset(&message->fields[message->field_count], 0, sizeof(message->fields[0]));
        return;
    }
}

void protocol_message_clear(struct protocol_message *message)
{
    for (size_t i = 0; i < message->field_count; i++)
        secret_free_string(&message->fields[i].value);
    message->field_count = 0;
}

int protocol_encode(const struct protocol_message *message, struct capped_buffer *out)
{
    char header[PROTOCOL_MAX_NAME + 32];
    int rv = 0;

    snprintf(header, sizeof(header), "%s %s\n", PROTOCOL_VERSION_TAG, message->command);
    rv |= capped_buffer_append_string(out, header);
    for (size_t i = 0; i < message->field_count && rv == 0; i++) {
        const struct protocol_field *field = &message->fields[i];
        snprintf(header, sizeof(header), "%s %zu\n", field->name, field->length);
        rv |= capped_buffer_append_string(out, header);
        rv |= capped_buffer_append(out, field->value, field->length);
        rv |= capped_buffer_append(out, "\n", 1);
    }
    rv |= capped_buffer_append_string(out, "end\n");
    return rv == 0 ? 0 : -1;
}

/* A cursor over the encoded bytes; every read is bounded by the end. */
struct reader {
    const char *position;
    const char *end;
};

/* Reads one header line "<word> <word>\n" without copying; both words must be non-empty. */
static int read_header_line(struct reader *reader, const char **first, size_t *first_length,
                            const char **second, size_t *second_length)
{
    size_t available = (size_t)(reader->end - reader->position);
    const char *newline = memchr(reader->position, '\n', available < 64 ? available : 64);
    const char *space;

    if (newline == NULL)
        return -1;
    space = memchr(reader->position, ' ', (size_t)(newline - reader->position));
    if (space == NULL)
        return -1;
    *first = reader->position;
    *first_length = (size_t)(space - reader->position);
    *second = space + 1;
    *second_length = (size_t)(newline - space - 1);
    reader->position = newline + 1;
    return (*first_length > 0 && *second_length > 0) ? 0 : -1;
}

static int parse_length(const char *digits, size_t count, size_t *length)
{
    size_t value = 0;

    if (count == 0 || count > 5 || (digits[0] == '0' && count > 1))
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return -1;
        value = value * 10 + (size_t)(digits[i] - '0');
    }
    *length = value;
    return value <= PROTOCOL_MAX_VALUE ? 0 : -1;
}

static bool at_end_marker(const struct reader *reader)
{
    return (size_t)(reader->end - reader->position) == 4 &&
           memcmp(reader->position, "end\n", 4) == 0;
}

static int read_field(struct reader *reader, struct protocol_message *message)
{
    const char *name, *digits;
    size_t name_length, digit_count, value_length;

    if (read_header_line(reader, &name, &name_length, &digits, &digit_count) != 0 ||
        parse_length(digits, digit_count, &value_length) != 0)
        return -1;
    if ((size_t)(reader->end - reader->position) < value_length + 1 ||
        reader->position[value_length] != '\n')
        return -1;
    if (add_field(message, name, name_length, reader->position, value_length) != 0)
        return -1;
    reader->position += value_length + 1;
    return 0;
}

int protocol_decode(const char *data, size_t length, struct protocol_message *message)
{
    struct reader reader = {data, data + length};
    const char *tag, *command;
    size_t tag_length, command_length;

    memset(message, 0, sizeof(*message));
    if (length > PROTOCOL_MAX_MESSAGE ||
        read_header_line(&reader, &tag, &tag_length, &command, &command_length) != 0 ||
        tag_length != strlen(PROTOCOL_VERSION_TAG) ||
        memcmp(tag, PROTOCOL_VERSION_TAG, tag_length) != 0 ||
        !is_valid_name(command, command_length))
        return -1;
    memcpy(message->command, command, command_length);
    message->command[command_length] = '\0';
    while (!at_end_marker(&reader)) {
        if (read_field(&reader, message) != 0)
            return -1;
    }
    return 0;
}
