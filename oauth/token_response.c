#include "config.h"

#include "oauth/token_response.h"

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/secret_memory.h"
#include "common/text_checks.h"

#define JSON_MAX_DEPTH 8
/* Above any body the https transport lets through (64 KiB), and escaped text (at most three
 * times as long) still far below json-c's int lengths. */
#define JSON_BODY_MAX (16u * 1024 * 1024)
/* Ten years: longer lifetimes are nonsense and would overflow nothing but trust. */
#define LIFETIME_MAX_SECONDS (10LL * 366 * 24 * 3600)

void json_wipe_and_put(struct json_object *root)
{
    if (root != NULL && json_object_is_type(root, json_type_object)) {
        json_object_object_foreach(root, key, value)
        {
            (void)key;
            if (json_object_is_type(value, json_type_string))
                secret_wipe_borrowed(json_object_get_string(value),
                                     (size_t)json_object_get_string_len(value));
        }
    }
    json_object_put(root);
}

/* The bytes of one \uXXXX escape, or of a surrogate pair for a character above U+FFFF. */
static size_t escaped_size(gunichar character)
{
    return character > 0xFFFF ? 12 : 6;
}

static char *write_escaped(char *out, gunichar character)
{
    if (character > 0xFFFF) {
        character -= 0x10000;
        out += sprintf(out, "\\u%04x", 0xD800 + (unsigned)(character >> 10));
        return out + sprintf(out, "\\u%04x", 0xDC00 + (unsigned)(character & 0x3FF));
    }
    return out + sprintf(out, "\\u%04x", (unsigned)character);
}

/* Copies body, each non-ASCII character inside a string (a key or a value) as an escape;
 * body is valid UTF-8 (checked first). Returns the bytes the escaped text takes, and writes
 * it to out when out is not NULL. */
static size_t escape_pass(const char *body, size_t length, char *out)
{
    size_t size = 0;
    bool in_string = false;

    for (size_t i = 0; i < length;) {
        unsigned char byte = (unsigned char)body[i];
        size_t take = 1;
        gunichar character = in_string && byte >= 0x80
                                 ? g_utf8_get_char_validated(body + i, (gssize)(length - i))
                                 : (gunichar)-1;
        /* Only a whole, valid character is escaped; any other byte is copied as it is, for the
         * parser to refuse. */
        if (character <= 0x10FFFF) {
            take = (size_t)g_utf8_skip[byte];
            size += escaped_size(character);
            if (out != NULL)
                out = write_escaped(out, character);
            i += take;
            continue;
        }
        if (in_string && byte == '\\' && i + 1 < length)
            /* An escape: the backslash and the whole character after it (never the string's
             * end; one not ASCII makes the text invalid JSON, which the parser refuses). */
            take = 1 + (size_t)g_utf8_skip[(unsigned char)body[i + 1]];
        else if (byte == '"')
            in_string = !in_string;
        if (take > length - i)
            take = length - i; /* cannot happen in valid UTF-8; bounds the copy all the same */
        size += take;
        if (out != NULL) {
            memcpy(out, body + i, take);
            out += take;
        }
        i += take;
    }
    return size;
}

/* json-c 0.17 and later (Debian 13 has 0.18) refuse, in strict mode, any byte above 0x7f in a
 * string value ("invalid string sequence"), though JSON is UTF-8 (RFC 8259, section 8.1) and
 * a provider's error_description or its metadata may carry such text. So a body that holds
 * non-ASCII text reaches the strict parser with each such character inside a string written
 * as a \uXXXX escape, which every json-c reads the same. Invalid UTF-8 is refused (NULL with
 * *invalid). NULL without *invalid: nothing to escape, parse body itself. The copy may hold a
 * token: the caller wipes it (secret_free_sized). */
static char *escape_non_ascii(const char *body, size_t length, size_t *escaped_length,
                              bool *invalid)
{
    char *escaped;
    bool ascii = true;

    *invalid = false;
    for (size_t i = 0; i < length && ascii; i++)
        ascii = (unsigned char)body[i] < 0x80;
    if (ascii)
        return NULL;
    if (!g_utf8_validate_len(body, length, NULL)) {
        *invalid = true;
        return NULL;
    }
    *escaped_length = escape_pass(body, length, NULL);
    escaped = g_malloc(*escaped_length + 1);
    escape_pass(body, length, escaped);
    escaped[*escaped_length] = '\0';
    return escaped;
}

struct json_object *json_parse_strict_object(const char *body, size_t length)
{
    struct json_tokener *tokener = json_tokener_new_ex(JSON_MAX_DEPTH);
    struct json_object *root = NULL;
    size_t escaped_length = 0, end;
    bool invalid = false;
    char *escaped = NULL;

    if (tokener == NULL || length > JSON_BODY_MAX)
        goto out;
    escaped = escape_non_ascii(body, length, &escaped_length, &invalid);
    if (invalid)
        goto out;
    if (escaped != NULL) {
        body = escaped;
        length = escaped_length;
    }
    json_tokener_set_flags(tokener, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tokener, body, (int)length);
    if (root == NULL || json_tokener_get_error(tokener) != json_tokener_success ||
        !json_object_is_type(root, json_type_object)) {
        json_wipe_and_put(root);
        root = NULL;
        goto out;
    }
    for (end = json_tokener_get_parse_end(tokener); end < length; end++) {
        if (body[end] == '\0' || strchr(" \t\r\n", body[end]) == NULL) {
            json_wipe_and_put(root);
            root = NULL;
            break;
        }
    }
out:
    if (escaped != NULL) {
        secret_wipe(escaped, escaped_length);
        g_free(escaped);
    }
    if (tokener != NULL)
        json_tokener_free(tokener);
    return root;
}

static bool is_token_text(const char *text, size_t length)
{
    return length > 0 && length <= TOKEN_MAX_BYTES && strlen(text) == length &&
           text_is_visible(text, length);
}

/* Copies a string member; absent is fine unless required, any other type is not. */
static int take_string(struct json_object *root, const char *name, bool required,
                       bool (*valid)(const char *, size_t), char **target)
{
    struct json_object *value = NULL;

    if (!json_object_object_get_ex(root, name, &value) ||
        json_object_is_type(value, json_type_null))
        return required ? -1 : 0;
    if (!json_object_is_type(value, json_type_string) ||
        !valid(json_object_get_string(value), (size_t)json_object_get_string_len(value)))
        return -1;
    *target = secret_strndup(json_object_get_string(value), TOKEN_MAX_BYTES);
    return *target != NULL ? 0 : -1;
}

/* A lifetime in whole seconds; a JSON integer, never a string, a fraction or a negative. */
static int take_lifetime(struct json_object *root, const char *name, long long *target)
{
    struct json_object *value = NULL;
    long long seconds;

    *target = 0;
    if (!json_object_object_get_ex(root, name, &value) ||
        json_object_is_type(value, json_type_null))
        return 0;
    if (!json_object_is_type(value, json_type_int))
        return -1;
    seconds = (long long)json_object_get_int64(value);
    if (seconds < 0 || seconds > LIFETIME_MAX_SECONDS)
        return -1;
    *target = seconds;
    return 0;
}

static bool is_scope_text(const char *text, size_t length)
{
    return length <= 4096 && strlen(text) == length && text_is_printable(text, length);
}

static int check_bearer(struct json_object *root)
{
    struct json_object *value = NULL;

    if (!json_object_object_get_ex(root, "token_type", &value) ||
        !json_object_is_type(value, json_type_string))
        return -1;
    /* RFC 6749 section 5.1: the type is case-insensitive; Snyk sends "bearer". The length
     * check keeps an embedded U+0000 ("bearer\u0000mac") from passing as "bearer". */
    return json_object_get_string_len(value) == 6 &&
                   strcasecmp(json_object_get_string(value), "bearer") == 0
               ? 0
               : -1;
}

int token_response_parse(const char *body, size_t length, struct token_set *tokens, char *why,
                         size_t why_size)
{
    struct json_object *root = json_parse_strict_object(body, length);
    const char *problem = NULL;

    memset(tokens, 0, sizeof(*tokens));
    if (root == NULL)
        problem = "the token response is not a JSON object";
    else if (take_string(root, "access_token", true, is_token_text, &tokens->access_token) != 0)
        problem = "the token response has no valid access_token";
    else if (check_bearer(root) != 0)
        problem = "the token response's token_type is not bearer";
    else if (take_string(root, "refresh_token", false, is_token_text, &tokens->refresh_token) != 0)
        problem = "the token response has an invalid refresh_token";
    else if (take_string(root, "scope", false, is_scope_text, &tokens->scope) != 0)
        problem = "the token response has an invalid scope";
    else if (take_lifetime(root, "expires_in", &tokens->expires_in) != 0 ||
             take_lifetime(root, "refresh_expires_in", &tokens->refresh_expires_in) != 0)
        problem = "the token response has an invalid lifetime";
    json_wipe_and_put(root);
    if (problem != NULL) {
        text_set_why(why, why_size, "%s", problem);
        token_set_clear(tokens);
        return -1;
    }
    return 0;
}

int token_error_parse(const char *body, size_t length, char *code, size_t code_size, char *message,
                      size_t message_size)
{
    struct json_object *root = json_parse_strict_object(body, length);
    struct json_object *error = NULL, *description = NULL;
    char description_text[200] = "";
    int rv = -1;

    if (root != NULL && json_object_object_get_ex(root, "error", &error) &&
        json_object_is_type(error, json_type_string)) {
        text_copy_printable(code, code_size, json_object_get_string(error));
        if (json_object_object_get_ex(root, "error_description", &description) &&
            json_object_is_type(description, json_type_string))
            text_copy_printable(description_text, sizeof(description_text),
                                json_object_get_string(description));
        snprintf(message, message_size, "%s%s%s", code, description_text[0] != '\0' ? ": " : "",
                 description_text);
        rv = 0;
    }
    json_wipe_and_put(root);
    return rv;
}

void token_set_clear(struct token_set *tokens)
{
    secret_free_string(&tokens->access_token);
    secret_free_string(&tokens->refresh_token);
    secret_free_string(&tokens->scope);
    tokens->expires_in = 0;
    tokens->refresh_expires_in = 0;
}
