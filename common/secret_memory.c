#include "config.h"

#include "common/secret_memory.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void secret_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

void secret_wipe_borrowed(const void *p, size_t n)
{
    secret_wipe((void *)(uintptr_t)p, n);
}

void secret_free_string(char **s)
{
    if (s == NULL || *s == NULL)
        return;
    secret_wipe(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

char *secret_strndup(const char *s, size_t n)
{
    size_t length = strnlen(s, n);
    char *copy = malloc(length + 1);

    if (copy == NULL)
        return NULL;
    memcpy(copy, s, length);
    copy[length] = '\0';
    return copy;
}

int capped_buffer_init(struct capped_buffer *buffer, size_t capacity)
{
    buffer->length = 0;
    buffer->capacity = capacity;
    buffer->data = calloc(1, capacity + 1);
    return buffer->data == NULL ? -1 : 0;
}

int capped_buffer_append(struct capped_buffer *buffer, const void *bytes, size_t count)
{
    if (buffer->data == NULL || count > buffer->capacity - buffer->length)
        return -1;
    memcpy(buffer->data + buffer->length, bytes, count);
    buffer->length += count;
    buffer->data[buffer->length] = '\0';
    return 0;
}

int capped_buffer_append_string(struct capped_buffer *buffer, const char *text)
{
    return capped_buffer_append(buffer, text, strlen(text));
}

void capped_buffer_wipe(struct capped_buffer *buffer)
{
    if (buffer->data != NULL) {
        secret_wipe(buffer->data, buffer->capacity + 1);
        free(buffer->data);
    }
    buffer->data = NULL;
    buffer->length = 0;
    buffer->capacity = 0;
}

bool secret_strings_equal(const char *a, const char *b)
{
    size_t length_a = strlen(a);
    size_t length_b = strlen(b);
    unsigned char difference = length_a != length_b;

    /* Walk the expected value's full length whatever the other holds, so the time taken
     * tells nothing about where the first difference is. */
    for (size_t i = 0; i < length_a; i++)
        difference |= (unsigned char)(a[i] ^ (i < length_b ? b[i] : 0));
    return difference == 0;
}
