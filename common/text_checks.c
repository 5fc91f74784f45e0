#include "config.h"

#include "common/text_checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool in_range(const char *text, size_t length, unsigned char low, unsigned char high)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < low || c > high)
            return false;
    }
    return true;
}

bool text_has_control_byte(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

bool text_is_printable(const char *text, size_t length)
{
    return in_range(text, length, 0x20, 0x7e);
}

bool text_is_visible(const char *text, size_t length)
{
    return in_range(text, length, 0x21, 0x7e);
}

void text_copy_printable(char *out, size_t size, const char *text)
{
    size_t used = 0;

    if (size == 0)
        return;
    for (; text != NULL && *text != '\0' && used + 1 < size; text++)
        out[used++] = in_range(text, 1, 0x20, 0x7e) ? *text : '?';
    out[used] = '\0';
}

/* The bytes of one glyph of a block drawing at text, or 0 when it is not one. */
static size_t block_glyph_length(const char *text, size_t remaining)
{
    const unsigned char *bytes = (const unsigned char *)text;

    if (remaining >= 1 && bytes[0] == ' ')
        return 1;
    if (remaining >= 3 && bytes[0] == 0xe2 && bytes[1] == 0x96 &&
        (bytes[2] == 0x80 || bytes[2] == 0x84 || bytes[2] == 0x88))
        return 3;
    return 0;
}

bool text_is_block_drawing(const char *text, size_t length)
{
    size_t width = 0, line_width = 0, i = 0;
    bool valid = length > 0;

    while (valid && i < length) {
        size_t glyph = text[i] == '\n' ? 1 : block_glyph_length(text + i, length - i);
        if (glyph == 0) {
            valid = false;
        } else if (text[i] == '\n') {
            /* Every line as wide as the first, and something after each newline. */
            valid = line_width > 0 && (width == 0 || line_width == width) && i + 1 < length;
            width = line_width;
            line_width = 0;
        } else {
            line_width++;
        }
        i += glyph;
    }
    return valid && line_width > 0 && (width == 0 || line_width == width);
}

static bool ends_with(const char *text, size_t length, const char *suffix)
{
    size_t suffix_length = strlen(suffix);

    return length >= suffix_length &&
           memcmp(text + length - suffix_length, suffix, suffix_length) == 0;
}

/* Lower-case letters, digits, '-' and '.', and no empty label ("..") inside. */
static bool is_lower_host_text(const char *host, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') ||
            (c == '.' && i > 0 && host[i - 1] == '.'))
            return false;
    }
    return true;
}

bool snyk_instance_host(const char *instance, char *host, size_t host_size)
{
    /* "https://", the longest host, one '/' and the NUL: anything longer is refused. */
    char lowered[sizeof("https://") + SNYK_HOST_MAX + 1];
    const char *start = lowered;
    size_t end = instance != NULL ? strnlen(instance, sizeof(lowered)) : sizeof(lowered);
    size_t offset = 0, length = 0;
    bool allowed = false;

    if (host_size > 0)
        host[0] = '\0';
    if (end < sizeof(lowered)) {
        for (size_t i = 0; i <= end; i++)
            lowered[i] =
                instance[i] >= 'A' && instance[i] <= 'Z' ? (char)(instance[i] + 32) : instance[i];
        if (strncmp(lowered, "https://", 8) == 0)
            offset = 8;
        /* end counts the characters copied above: lowered[end - 1] is one of them. */
        if (end > offset && lowered[end - 1] == '/')
            end--;
        start = lowered + offset;
        length = end - offset;
        /* Snyk's CLI trusts only api. hosts of its own two domains; so do we. */
        allowed = length <= SNYK_HOST_MAX && length < host_size && strncmp(start, "api.", 4) == 0 &&
                  is_lower_host_text(start, length) &&
                  (ends_with(start, length, ".snyk.io") || ends_with(start, length, ".snykgov.io"));
    }
    if (allowed) {
        memcpy(host, start, length);
        host[length] = '\0';
    }
    return allowed;
}

bool snyk_instance_token_url(const char *instance, char *url, size_t url_size)
{
    char host[SNYK_HOST_MAX + 1];
    bool allowed = snyk_instance_host(instance, host, sizeof(host));
    int written = allowed ? snprintf(url, url_size, "https://%s/oauth2/token", host) : -1;

    if (written < 0 || (size_t)written >= url_size) {
        allowed = false;
        if (url_size > 0)
            url[0] = '\0';
    }
    return allowed;
}

int text_vset_why(char *why, size_t why_size, const char *format, va_list arguments)
{
    if (why != NULL && why_size > 0 && vsnprintf(why, why_size, format, arguments) < 0)
        why[0] = '\0';
    return -1;
}

int text_set_why(char *why, size_t why_size, const char *format, ...)
{
    va_list arguments;

    va_start(arguments, format);
    text_vset_why(why, why_size, format, arguments);
    va_end(arguments);
    return -1;
}

/* The host of an https URL (a token_url the configuration accepted), lower-cased, without
 * port; cut to fit. */
static void url_host(const char *url, char *host, size_t host_size)
{
    const char *start = url + strlen("https://");
    size_t length = strcspn(start, "/?#");
    const char *port = *start == '[' ? NULL : memchr(start, ':', length);

    if (port != NULL)
        length = (size_t)(port - start);
    if (length >= host_size)
        length = host_size - 1;
    for (size_t i = 0; i < length; i++)
        host[i] = start[i] >= 'A' && start[i] <= 'Z' ? (char)(start[i] + 32) : start[i];
    host[length] = '\0';
}

int snyk_token_url_for_instance(const char *token_url, bool token_url_from_preset,
                                const char *instance, char *chosen, size_t chosen_size, char *why,
                                size_t why_size)
{
    /* Longer than any host snyk_instance_host accepts: a cut host never compares equal. */
    char instance_host[SNYK_HOST_MAX + 1], configured_host[SNYK_HOST_MAX + 3];
    int rv = 0;

    if (!snyk_instance_host(instance, instance_host, sizeof(instance_host)) ||
        !snyk_instance_token_url(instance, chosen, chosen_size)) {
        rv = text_set_why(why, why_size, "That address names a Snyk instance that is not allowed.");
    } else if (!token_url_from_preset) {
        url_host(token_url, configured_host, sizeof(configured_host));
        if (strcmp(instance_host, configured_host) != 0)
            rv = text_set_why(why, why_size,
                              "That address names the Snyk instance %s, but the configured "
                              "token_url is on %s; the code was not kept.",
                              instance_host, configured_host);
        chosen[0] = '\0'; /* the configured URL itself, path and port included */
    }
    return rv;
}
