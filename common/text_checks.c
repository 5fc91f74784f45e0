#include "config.h"

#include "text_checks.h"

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
