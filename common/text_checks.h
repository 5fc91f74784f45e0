/* The byte-level checks every parser here needs, in one place: what is a control byte, what
 * is a token character, how provider text is made safe to show. */
#ifndef POK_TEXT_CHECKS_H
#define POK_TEXT_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

/* Any byte below 0x20, or 0x7f, among length bytes (UTF-8 bytes are not control bytes). */
bool text_has_control_byte(const char *text, size_t length);

/* Every one of length bytes is printable ASCII, 0x20 to 0x7e (space allowed). */
bool text_is_printable(const char *text, size_t length);

/* Every one of length bytes is visible ASCII, 0x21 to 0x7e: codes and tokens. */
bool text_is_visible(const char *text, size_t length);

/* Copies text (NULL: "") into out, bounded, with every byte that is not printable ASCII
 * replaced by '?': for provider messages shown to users and written to logs. */
void text_copy_printable(char *out, size_t size, const char *text);

/* A QR code as the helper draws it (helper/qr_text.h): lines of one width made only of the
 * half blocks U+2580, U+2584, U+2588 and spaces, joined by '\n', none empty, no '\n' at the
 * end. The only text other than printable ASCII that the module shows. */
bool text_is_block_drawing(const char *text, size_t length);

#endif
