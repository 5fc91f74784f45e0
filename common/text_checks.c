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
