#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/text_checks.h"

/* A setter of its own, as refresh.c and the others have: a thin use of text_vset_why. */
static int own_setter(char *why, size_t why_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int own_setter(char *why, size_t why_size, const char *format, ...)
{
    va_list arguments;
    int rv;

    va_start(arguments, format);
    rv = text_vset_why(why, why_size, format, arguments);
    va_end(arguments);
    return rv;
}

static void test_formats_and_fails(void **state)
{
    char why[64];

    (void)state;
    assert_int_equal(text_set_why(why, sizeof(why), "the %s exited with %d", "helper", 3), -1);
    assert_string_equal(why, "the helper exited with 3");
    assert_int_equal(own_setter(why, sizeof(why), "%s: %u", "uid", 1000U), -1);
    assert_string_equal(why, "uid: 1000");
}

static void test_cut_and_terminated(void **state)
{
    char why[8];

    (void)state;
    memset(why, 'x', sizeof(why));
    text_set_why(why, sizeof(why), "%s", "a message longer than eight bytes");
    assert_string_equal(why, "a messa");
    own_setter(why, sizeof(why), "%s", "0123456789");
    assert_string_equal(why, "0123456");
}

static void test_no_room_writes_nothing(void **state)
{
    char why[4] = "abc";

    (void)state;
    assert_int_equal(text_set_why(NULL, 10, "%s", "ignored"), -1);
    assert_int_equal(text_set_why(why, 0, "%s", "ignored"), -1);
    assert_string_equal(why, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_and_fails),
        cmocka_unit_test(test_cut_and_terminated),
        cmocka_unit_test(test_no_room_writes_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
