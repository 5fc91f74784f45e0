/* A QR code of the authorization URL drawn as text, for a phone to read off a console, an ssh
 * terminal or a greeter: the `qr` module argument (docs/ARCHITECTURE.md).
 *
 * Each text line holds two rows of modules with the half blocks U+2580 (upper), U+2584 (lower)
 * and U+2588 (full), and a space; lines end with '\n' except the last. A quiet zone of
 * QR_TEXT_QUIET_ZONE modules surrounds the code.
 *
 * The blocks draw the LIGHT modules and the quiet zone; spaces are the dark modules. A
 * terminal draws text in its foreground colour, so on the usual light-on-dark terminal (the
 * Linux console, gdm, most ssh clients) the code shows as dark modules on a light ground, as
 * printed codes are. On a dark-on-light terminal it shows inverted, which many phone scanners
 * read too, and some do not. No colour escape can force it: the module lets none through.
 * The glyphs must be one cell wide: a terminal that draws East Asian ambiguous-width
 * characters double-wide breaks the drawing. */
#ifndef POK_QR_TEXT_H
#define POK_QR_TEXT_H

#include <qrencode.h>
#include <stddef.h>

#define QR_TEXT_QUIET_ZONE 4
/* Level L, the largest capacity: a screen has no stains or tears to recover from, and each
 * step up costs a version (4 columns) for a typical 300-byte URL. */
#define QR_TEXT_LEVEL QR_ECLEVEL_L

/* The code for text at QR_TEXT_LEVEL, in the smallest version that holds it (free it with
 * qr_text_code_free); NULL when it does not fit in version 40 (errno ERANGE) or on failure. */
QRcode *qr_text_encode(const char *text);

/* Clears the module matrix (it spells out the URL, state included) and frees the code. */
void qr_text_code_free(QRcode *code);

/* The drawing of code as a new NUL-terminated string of at most max_bytes bytes (free it with
 * secret_free_string); NULL when it would be longer or memory cannot be had. */
char *qr_text_draw(const QRcode *code, size_t max_bytes);

/* qr_text_encode and qr_text_draw in one; NULL when either fails. */
char *qr_text_render(const char *text, size_t max_bytes);

#endif
