/* The token endpoint's JSON (RFC 6749 sections 5.1 and 5.2), parsed strictly. */
#ifndef POK_TOKEN_RESPONSE_H
#define POK_TOKEN_RESPONSE_H

#include <stddef.h>

#define TOKEN_MAX_BYTES (16 * 1024)

struct token_set {
    char *access_token;           /* required */
    char *refresh_token;          /* NULL when the provider issued none */
    char *scope;                  /* NULL when absent */
    long long expires_in;         /* seconds; 0 when absent */
    long long refresh_expires_in; /* seconds; 0 when absent (Snyk's name for it) */
};

/* 0 with every field checked; -1 with why (no secret in it). Nothing is kept on failure. */
int token_response_parse(const char *body, size_t length, struct token_set *tokens, char *why,
                         size_t why_size);

/* From an error body, "error: error_description" (printable ASCII, bounded) into message and
 * the bare error code into code; -1 when the body is not an OAuth error object. */
int token_error_parse(const char *body, size_t length, char *code, size_t code_size, char *message,
                      size_t message_size);

struct json_object;

/* The whole body as one JSON object (json-c's strict mode, depth 8), with nothing but
 * whitespace after it; NULL otherwise. Put it with json_wipe_and_put. */
struct json_object *json_parse_strict_object(const char *body, size_t length);

/* Wipes every string value of a top-level object (and its serialization, if any) before
 * json-c frees it: json-c itself never clears memory. NULL is allowed. */
void json_wipe_and_put(struct json_object *root);

/* Wipes and frees every string. */
void token_set_clear(struct token_set *tokens);

#endif
