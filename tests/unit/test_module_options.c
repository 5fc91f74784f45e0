#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <security/pam_ext.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "pam_module/module_options.h"

/* The module logs only through pam_syslog: this one, linked before libpam's, keeps the lines
 * of one module_options_parse call for the tests to read. */
static char logged[8][256];
static size_t logged_count;

void pam_syslog(const pam_handle_t *pamh, int priority, const char *format, ...)
{
    va_list arguments;

    (void)pamh;
    (void)priority;
    if (logged_count >= sizeof(logged) / sizeof(logged[0]))
        return;
    va_start(arguments, format);
    vsnprintf(logged[logged_count++], sizeof(logged[0]), format, arguments);
    va_end(arguments);
}

/* Parses the NULL-terminated arguments into options; returns the number of lines logged. */
static size_t parse_arguments(struct module_options *options, ...)
{
    const char *argv[16];
    int argc = 0;
    va_list arguments;

    logged_count = 0;
    va_start(arguments, options);
    while ((argv[argc] = va_arg(arguments, const char *)) != NULL)
        argc++;
    va_end(arguments);
    module_options_parse(NULL, argc, argv, options);
    return logged_count;
}

static void test_defaults(void **state)
{
    struct module_options options;

    (void)state;
    assert_int_equal(parse_arguments(&options, NULL), 0);
    assert_true(options.start_refresher);
    assert_false(options.show_qr);
    assert_false(options.debug);
    assert_int_equal(options.prompt, PROMPT_MISSING);
    assert_int_equal(options.minimum_uid, OPTIONS_DEFAULT_MINIMUM_UID);
    assert_null(options.provider);
}

/* Issue 11, item 7: refresher=off, false and 0 meant yes. */
static void test_refresher_values(void **state)
{
    static const char *const no[] = {"refresher=no",  "refresher=false", "refresher=off",
                                     "refresher=0",   "refresher=NO",    "refresher=False",
                                     "refresher=OFF", "refresher=oFf"};
    static const char *const yes[] = {"refresher=yes", "refresher=true", "refresher=on",
                                      "refresher=1",   "refresher=YES",  "refresher=True",
                                      "refresher"};
    struct module_options options;

    (void)state;
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        assert_int_equal(parse_arguments(&options, no[i], NULL), 0);
        if (options.start_refresher)
            fail_msg("%s means yes", no[i]);
    }
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        assert_int_equal(parse_arguments(&options, "refresher=no", yes[i], NULL), 0);
        if (!options.start_refresher)
            fail_msg("%s means no", yes[i]);
    }
}

/* Every boolean argument takes the same values; debug and qr alone still mean yes. */
static void test_every_boolean(void **state)
{
    struct module_options options;

    (void)state;
    assert_int_equal(parse_arguments(&options, "debug", "qr", NULL), 0);
    assert_true(options.debug);
    assert_true(options.show_qr);
    assert_int_equal(parse_arguments(&options, "debug=on", "qr=TRUE", NULL), 0);
    assert_true(options.debug);
    assert_true(options.show_qr);
    assert_int_equal(parse_arguments(&options, "debug", "qr", "debug=off", "qr=0", NULL), 0);
    assert_false(options.debug);
    assert_false(options.show_qr);
}

/* An invalid value is logged, naming the argument, its value and what is kept. */
static void test_invalid_boolean_logged_and_kept(void **state)
{
    struct module_options options;

    (void)state;
    assert_int_equal(parse_arguments(&options, "refresher=maybe", NULL), 1);
    assert_true(options.start_refresher);
    assert_string_equal(
        logged[0], "invalid refresher=maybe (yes, no, true, false, on, off, 1 or 0), keeping yes");
    assert_int_equal(parse_arguments(&options, "refresher=", "qr=2", "debug=yess", NULL), 3);
    assert_true(options.start_refresher);
    assert_false(options.show_qr);
    assert_false(options.debug);
    assert_non_null(strstr(logged[0], "invalid refresher= ("));
    assert_non_null(strstr(logged[1], "invalid qr=2 ("));
    assert_non_null(strstr(logged[1], "keeping no"));
    assert_non_null(strstr(logged[2], "invalid debug=yess ("));
    /* The value in force is kept, not the default. */
    assert_int_equal(parse_arguments(&options, "refresher=no", "refresher=nope", NULL), 1);
    assert_false(options.start_refresher);
    assert_non_null(strstr(logged[0], "keeping no"));
}

/* Names that only begin like a boolean argument are unknown arguments. */
static void test_near_names_unknown(void **state)
{
    struct module_options options;

    (void)state;
    assert_int_equal(parse_arguments(&options, "debugging", "qrcode=yes", "refreshers=no", NULL),
                     3);
    assert_false(options.debug);
    assert_false(options.show_qr);
    assert_true(options.start_refresher);
    assert_string_equal(logged[0], "unknown module argument: debugging");
}

/* prompt= logged the default as kept even when an earlier prompt= was in force. */
static void test_invalid_prompt_names_the_kept_value(void **state)
{
    struct module_options options;

    (void)state;
    assert_int_equal(parse_arguments(&options, "prompt=sometimes", NULL), 1);
    assert_int_equal(options.prompt, PROMPT_MISSING);
    assert_string_equal(logged[0],
                        "invalid prompt=sometimes (missing, always or never), keeping missing");
    assert_int_equal(parse_arguments(&options, "prompt=always", "prompt=sometimes", NULL), 1);
    assert_int_equal(options.prompt, PROMPT_ALWAYS);
    assert_string_equal(logged[0],
                        "invalid prompt=sometimes (missing, always or never), keeping always");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_refresher_values),
        cmocka_unit_test(test_every_boolean),
        cmocka_unit_test(test_invalid_boolean_logged_and_kept),
        cmocka_unit_test(test_near_names_unknown),
        cmocka_unit_test(test_invalid_prompt_names_the_kept_value),
    };

    return cmocka_run_group_tests_name("test_module_options", tests, NULL, NULL);
}
