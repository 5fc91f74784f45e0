/* Wiping and bounded buffers for everything that may hold a secret.
 *
 * One set of helpers, used by the module and the helper alike, so that every code, verifier,
 * client secret, token and response buffer is cleared with explicit_bzero before its memory
 * goes back to the allocator. */
#ifndef POK_SECRET_MEMORY_H
#define POK_SECRET_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

/* Clears n bytes at p in a way the compiler may not optimise away. NULL is allowed. */
void secret_wipe(void *p, size_t n);

/* Clears memory a library owns but hands out as const (json-c strings): it is ours to clear
 * because we are about to release the object that owns it. */
void secret_wipe_borrowed(const void *p, size_t n);

/* Wipes the NUL-terminated string *s, frees it and sets *s to NULL. NULL and *s == NULL are
 * allowed. */
void secret_free_string(char **s);

/* Copies at most n bytes of s into a new NUL-terminated string; NULL on allocation failure. */
char *secret_strndup(const char *s, size_t n);

/* A growing byte buffer with a hard capacity fixed at creation: appends past the capacity fail
 * instead of reallocating, so no stale copy of a secret is ever left behind by realloc. The
 * content is always NUL-terminated. */
struct capped_buffer {
    char *data;
    size_t length;
    size_t capacity;
};

/* 0 on success, -1 when memory cannot be had. */
int capped_buffer_init(struct capped_buffer *buffer, size_t capacity);

/* 0 on success, -1 (buffer unchanged) when the bytes do not fit. */
int capped_buffer_append(struct capped_buffer *buffer, const void *bytes, size_t count);
int capped_buffer_append_string(struct capped_buffer *buffer, const char *text);

/* Wipes the whole capacity, frees it and leaves an empty buffer; safe to call twice. */
void capped_buffer_wipe(struct capped_buffer *buffer);

/* Compares two strings in time that depends only on their lengths, for state values. */
bool secret_strings_equal(const char *a, const char *b);

#endif
