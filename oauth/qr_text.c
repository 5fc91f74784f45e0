#include "config.h"

#include "oauth/qr_text.h"

#include <stdbool.h>
#include <stddef.h>

#include "common/secret_memory.h"

#define UPPER_HALF "\xe2\x96\x80" /* U+2580 */
#define LOWER_HALF "\xe2\x96\x84" /* U+2584 */
#define FULL_BLOCK "\xe2\x96\x88" /* U+2588 */

QRcode *qr_text_encode(const char *text)
{
    /* 8-bit mode with case kept: libqrencode still puts runs of digits or upper-case
     * letters in the denser modes where that is shorter. */
    return QRcode_encodeString(text, 0, QR_TEXT_LEVEL, QR_MODE_8, 1);
}

void qr_text_code_free(QRcode *code)
{
    if (code == NULL)
        return;
    secret_wipe(code->data, (size_t)code->width * (size_t)code->width);
    QRcode_free(code);
}

/* Whether the module at (row, column) of the drawing, quiet zone included, is light. Outside
 * the drawing (the half line under an odd last row) nothing is drawn: dark, the background. */
static bool is_light(const QRcode *code, int row, int column)
{
    int size = code->width + 2 * QR_TEXT_QUIET_ZONE;
    int code_row = row - QR_TEXT_QUIET_ZONE, code_column = column - QR_TEXT_QUIET_ZONE;

    if (row >= size)
        return false;
    if (code_row < 0 || code_row >= code->width || code_column < 0 || code_column >= code->width)
        return true; /* quiet zone */
    return (code->data[code_row * code->width + code_column] & 1) == 0;
}

static const char *half_block(bool top_light, bool bottom_light)
{
    if (top_light && bottom_light)
        return FULL_BLOCK;
    if (top_light)
        return UPPER_HALF;
    if (bottom_light)
        return LOWER_HALF;
    return " ";
}

/* One text line: rows row and row + 1 of the drawing. */
static int draw_line(const QRcode *code, int row, struct capped_buffer *out)
{
    int size = code->width + 2 * QR_TEXT_QUIET_ZONE;
    int rv = 0;

    for (int column = 0; column < size && rv == 0; column++)
        rv = capped_buffer_append_string(
            out, half_block(is_light(code, row, column), is_light(code, row + 1, column)));
    return rv;
}

char *qr_text_draw(const QRcode *code, size_t max_bytes)
{
    struct capped_buffer out = {0};
    char *drawing = NULL;
    int size, rv;

    if (code == NULL || code->width <= 0 || capped_buffer_init(&out, max_bytes) != 0)
        goto out;
    size = code->width + 2 * QR_TEXT_QUIET_ZONE;
    rv = 0;
    for (int row = 0; row < size && rv == 0; row += 2) {
        if (row > 0)
            rv = capped_buffer_append(&out, "\n", 1);
        if (rv == 0)
            rv = draw_line(code, row, &out);
    }
    if (rv == 0)
        drawing = secret_strndup(out.data, out.length);
out:
    capped_buffer_wipe(&out);
    return drawing;
}

char *qr_text_render(const char *text, size_t max_bytes)
{
    QRcode *code = qr_text_encode(text);
    char *drawing = code != NULL ? qr_text_draw(code, max_bytes) : NULL;

    qr_text_code_free(code);
    return drawing;
}
