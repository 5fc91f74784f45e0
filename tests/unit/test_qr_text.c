#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/protocol.h"
#include "oauth/qr_text.h"
#include "common/text_checks.h"

/* A URL of the length the module shows in practice: a provider's endpoint, a client id, a
 * redirect URI, scopes, a 43-character state and challenge. */
#define TYPICAL_URL                                                                                \
    "https://login.example.com/oauth2/v2.0/authorize?response_type=code"                           \
    "&client_id=0f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0"                                              \
    "&redirect_uri=https%3A%2F%2Flogin.example.com%2Fcommon%2Foauth2%2Fnativeclient"               \
    "&scope=openid%20offline_access%20profile"                                                     \
    "&state=mF3kP0qZ8vR2sT6uW1xY4zA7bC9dE5gH2jK8nL0oQ3r"                                           \
    "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"

/* The drawing read back as a terminal shows it: light[row][column] for each module of the
 * drawing (quiet zone included) plus the half row under an odd last row. */
struct picture {
    int columns, rows; /* rows is even: two per text line */
    bool *light;
};

static void picture_free(struct picture *picture)
{
    free(picture->light);
    picture->light = NULL;
}

static bool picture_at(const struct picture *picture, int row, int column)
{
    return picture->light[row * picture->columns + column];
}

/* Parses the glyphs back into modules; fails the test on anything but the four glyphs. */
static struct picture read_drawing(const char *drawing)
{
    struct picture picture = {0};
    const char *line = drawing;
    int row = 0;

    picture.columns = 0;
    for (const char *p = drawing; *p != '\0' && *p != '\n'; p += (*p == ' ') ? 1 : 3)
        picture.columns++;
    /* Rows: at most two per byte of the drawing; one spare column keeps the size above 0. */
    picture.light =
        calloc(1, sizeof(bool) * (size_t)(picture.columns + 1) * (2 * strlen(drawing) + 2));
    assert_non_null(picture.light);
    while (line != NULL) {
        int column = 0;
        const char *p = line;
        for (; *p != '\0' && *p != '\n'; column++) {
            bool top, bottom;
            if (*p == ' ') {
                top = bottom = false;
                p += 1;
            } else {
                assert_memory_equal(p, "\xe2\x96", 2);
                assert_true(p[2] == '\x80' || p[2] == '\x84' || p[2] == '\x88');
                top = p[2] != '\x84';
                bottom = p[2] != '\x80';
                p += 3;
            }
            picture.light[row * picture.columns + column] = top;
            picture.light[(row + 1) * picture.columns + column] = bottom;
        }
        assert_int_equal(column, picture.columns); /* every line as wide as the first */
        row += 2;
        line = *p == '\n' ? p + 1 : NULL;
    }
    picture.rows = row;
    return picture;
}

static void test_version_follows_length_at_level_l(void **state)
{
    /* Version 1 at level L holds 17 bytes in 8-bit mode; at M only 14. */
    QRcode *seventeen = qr_text_encode("abcdefghijklmnopq");
    QRcode *eighteen = qr_text_encode("abcdefghijklmnopqr");

    (void)state;
    assert_non_null(seventeen);
    assert_non_null(eighteen);
    assert_int_equal(seventeen->version, 1);
    assert_int_equal(seventeen->width, 21);
    assert_int_equal(eighteen->version, 2);
    assert_int_equal(eighteen->width, 25);
    qr_text_code_free(seventeen);
    qr_text_code_free(eighteen);
}

static void test_drawing_size(void **state)
{
    QRcode *code = qr_text_encode(TYPICAL_URL);
    char *drawing;
    struct picture picture;
    int size;

    (void)state;
    assert_non_null(code);
    size = code->width + 2 * QR_TEXT_QUIET_ZONE;
    drawing = qr_text_draw(code, PROTOCOL_MAX_VALUE);
    assert_non_null(drawing);
    picture = read_drawing(drawing);
    /* width + 8 columns, (width + 8 + 1) / 2 lines, no newline at the end */
    assert_int_equal(picture.columns, size);
    assert_int_equal(picture.rows, size + 1);
    assert_true(drawing[strlen(drawing) - 1] != '\n');
    /* A typical URL fits an 80-column terminal. */
    assert_true(size <= 80);
    picture_free(&picture);
    free(drawing);
    qr_text_code_free(code);
}

static void test_quiet_zone_is_light(void **state)
{
    QRcode *code = qr_text_encode(TYPICAL_URL);
    char *drawing = qr_text_draw(code, PROTOCOL_MAX_VALUE);
    struct picture picture = read_drawing(drawing);
    int size = code->width + 2 * QR_TEXT_QUIET_ZONE;

    (void)state;
    for (int row = 0; row < size; row++) {
        for (int column = 0; column < size; column++) {
            bool in_zone = row < QR_TEXT_QUIET_ZONE || row >= size - QR_TEXT_QUIET_ZONE ||
                           column < QR_TEXT_QUIET_ZONE || column >= size - QR_TEXT_QUIET_ZONE;
            if (in_zone)
                assert_true(picture_at(&picture, row, column));
        }
    }
    /* The first two lines are full blocks; the last line is the last quiet row over the
     * background: upper halves only. */
    assert_memory_equal(drawing, "\xe2\x96\x88\xe2\x96\x88", 6);
    assert_memory_equal(strrchr(drawing, '\n') + 1, "\xe2\x96\x80\xe2\x96\x80", 6);
    for (int column = 0; column < size; column++)
        assert_false(picture_at(&picture, size, column));
    picture_free(&picture);
    free(drawing);
    qr_text_code_free(code);
}

/* Every module of the drawing is light exactly where qrencode's matrix says white. */
static void test_half_blocks_match_the_matrix(void **state)
{
    QRcode *code = qr_text_encode(TYPICAL_URL);
    char *drawing = qr_text_draw(code, PROTOCOL_MAX_VALUE);
    struct picture picture = read_drawing(drawing);
    int dark = 0;

    (void)state;
    for (int row = 0; row < code->width; row++) {
        for (int column = 0; column < code->width; column++) {
            bool black = (code->data[row * code->width + column] & 1) != 0;
            assert_int_equal(
                picture_at(&picture, row + QR_TEXT_QUIET_ZONE, column + QR_TEXT_QUIET_ZONE),
                !black);
            dark += black;
        }
    }
    /* Not a trivially blank or full code: a real code is roughly half dark. */
    assert_true(dark > code->width * code->width / 3);
    assert_true(dark < code->width * code->width * 2 / 3);
    picture_free(&picture);
    free(drawing);
    qr_text_code_free(code);
}

static void test_too_long_input_fails(void **state)
{
    /* Version 40 at level L holds 2953 bytes in 8-bit mode. */
    char *text = malloc(3001);

    (void)state;
    assert_non_null(text);
    memset(text, 'x', 3000);
    text[3000] = '\0';
    errno = 0;
    assert_null(qr_text_encode(text));
    assert_int_equal(errno, ERANGE);
    assert_null(qr_text_render(text, PROTOCOL_MAX_VALUE));
    free(text);
}

/* A drawing longer than the reply value may hold is refused, to the byte. */
static void test_drawing_over_the_cap_fails(void **state)
{
    char *text = malloc(1501), *drawing, *again;
    size_t length;

    (void)state;
    assert_non_null(text);
    memset(text, 'y', 1500);
    text[1500] = '\0';
    /* Version 28: 137 columns by 69 lines of mostly 3-byte glyphs, over 16 KiB. */
    assert_null(qr_text_render(text, PROTOCOL_MAX_VALUE));
    drawing = qr_text_render(TYPICAL_URL, PROTOCOL_MAX_VALUE);
    assert_non_null(drawing);
    length = strlen(drawing);
    again = qr_text_render(TYPICAL_URL, length);
    assert_non_null(again);
    assert_string_equal(again, drawing);
    assert_null(qr_text_render(TYPICAL_URL, length - 1));
    free(again);
    free(drawing);
    free(text);
}

/* The module's check (common/text_checks.c) passes what the helper draws and nothing else. */
static void test_module_check_accepts_drawings(void **state)
{
    char *drawing = qr_text_render(TYPICAL_URL, PROTOCOL_MAX_VALUE);
    char *small = qr_text_render("x", PROTOCOL_MAX_VALUE);

    (void)state;
    assert_true(text_is_block_drawing(drawing, strlen(drawing)));
    assert_true(text_is_block_drawing(small, strlen(small)));
    assert_true(text_is_block_drawing(" \xe2\x96\x80\n\xe2\x96\x84\xe2\x96\x88", 11));
    free(drawing);
    free(small);
}

static void test_module_check_refuses_the_rest(void **state)
{
    static const char *const refused[] = {
        "",
        "\n",
        "abc",
        "\xe2\x96\x88\x1b[2J",          /* an escape sequence */
        "\xe2\x96\x88\x1b]0;title\x07", /* a window title */
        "\xe2\x96\x88\xc2\x9b"
        "2J",                                     /* C1 CSI in UTF-8 */
        "\xe2\x96\x88\r",                         /* carriage return */
        "\xe2\x96\x88\t",                         /* tab */
        "\xe2\x96\x8c",                           /* left half block: not ours */
        "\xe2\x80\xae\xe2\x96\x88",               /* right-to-left override */
        "\xe2\x96",                               /* cut UTF-8 */
        "\xe2\x96\x88\n",                         /* newline at the end */
        "\xe2\x96\x88\n\n\xe2\x96\x88",           /* empty line */
        "\xe2\x96\x88\xe2\x96\x88\n\xe2\x96\x88", /* ragged */
        "\xe2\x96\x88\n\xe2\x96\x88\xe2\x96\x88", /* ragged the other way */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (text_is_block_drawing(refused[i], strlen(refused[i])))
            fail_msg("accepted refused[%zu]", i);
    }
    /* A NUL inside the length counted. */
    assert_false(text_is_block_drawing("\xe2\x96\x88\0\xe2\x96\x88", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_follows_length_at_level_l),
        cmocka_unit_test(test_drawing_size),
        cmocka_unit_test(test_quiet_zone_is_light),
        cmocka_unit_test(test_half_blocks_match_the_matrix),
        cmocka_unit_test(test_too_long_input_fails),
        cmocka_unit_test(test_drawing_over_the_cap_fails),
        cmocka_unit_test(test_module_check_accepts_drawings),
        cmocka_unit_test(test_module_check_refuses_the_rest),
    };

    return cmocka_run_group_tests_name("test_qr_text", tests, NULL, NULL);
}
