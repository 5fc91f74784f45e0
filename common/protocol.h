/* The framing of every message between the module, the helper, the refresher, its children
 * and oauth-keyring: one request, then one reply.
 *
 * Version 1, length-prefixed so that no value needs escaping:
 *
 *     POK/1 <command>\n
 *     <name> <length>\n<length bytes of value>\n      (repeated, at most PROTOCOL_MAX_FIELDS)
 *     end\n
 *
 * command and name are [a-z0-9_-], at most 31 bytes; a value holds no NUL byte and at most
 * PROTOCOL_MAX_VALUE bytes; the whole message at most PROTOCOL_MAX_MESSAGE bytes. A name may
 * appear once. Anything else - another version, trailing bytes, a short value - is rejected.
 * Replies use the commands "ok" and "error". Values may be secrets: every copy is wiped.
 * Which commands and fields a message may hold, and who sends it, is common/protocol_table.h. */
#ifndef POK_PROTOCOL_H
#define POK_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/secret_memory.h"

#define PROTOCOL_VERSION_TAG "POK/1"
#define PROTOCOL_MAX_MESSAGE (64 * 1024)
#define PROTOCOL_MAX_VALUE (16 * 1024)
#define PROTOCOL_MAX_FIELDS 32
#define PROTOCOL_MAX_NAME 31

/* The helper's exit status agrees with its reply; the module needs both to call it a success. */
enum helper_exit_status {
    HELPER_EXIT_OK = 0,            /* reply "ok" */
    HELPER_EXIT_FAILED = 1,        /* reply "error" with reason and message */
    HELPER_EXIT_BAD_REQUEST = 2,   /* the request did not parse; no reply */
    HELPER_EXIT_REFUSED = 3,       /* traced, or could not make itself non-dumpable */
    HELPER_EXIT_EXPOSED = 4,       /* dumpable at start: its file is readable by the user */
    HELPER_EXIT_CHILD_SETUP = 120, /* the module's child could not set up fds or signals */
    HELPER_EXIT_PRIVILEGES = 121,  /* the module's child could not become the user */
    HELPER_EXIT_EXEC = 127,        /* execve failed */
};

struct protocol_field {
    char name[PROTOCOL_MAX_NAME + 1];
    char *value;
    size_t length;
};

struct protocol_message {
    char command[PROTOCOL_MAX_NAME + 1];
    size_t field_count;
    struct protocol_field fields[PROTOCOL_MAX_FIELDS];
};

/* Starts an empty message; -1 if the command is not a valid name. */
int protocol_message_init(struct protocol_message *message, const char *command);

/* Adds a copy of value; -1 on an invalid or repeated name, an oversized value, too many
 * fields or no memory. A NULL value adds nothing and succeeds (optional fields). */
int protocol_message_add(struct protocol_message *message, const char *name, const char *value);

/* The value of a field, or NULL when absent. */
const char *protocol_message_get(const struct protocol_message *message, const char *name);

/* Wipes, frees and takes out the field called name, if there is one. */
void protocol_message_remove(struct protocol_message *message, const char *name);

/* Wipes and frees every value; the message is empty afterwards. */
void protocol_message_clear(struct protocol_message *message);

/* Appends the encoded message to out (created by the caller with capped_buffer_init). */
int protocol_encode(const struct protocol_message *message, struct capped_buffer *out);

/* Parses exactly length bytes into message (which must be cleared by the caller afterwards
 * even on failure). 0 on success, -1 on any deviation from the format. */
int protocol_decode(const char *data, size_t length, struct protocol_message *message);

#endif
