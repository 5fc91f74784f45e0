#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/protocol.h"
#include "store/refresh.h"

/* Snyk's hour-long token with the default margin: due five minutes before expiry. */
static void test_margin_before_expiry(void **state)
{
    (void)state;
    assert_int_equal(refresh_due_at(1000, 1000 + 3599, 300), 1000 + 3599 - 300);
}

/* Never more than half the lifetime: a 10-minute token with a 1-hour margin is due after 5
 * minutes, not at once (which would refresh in a loop). */
static void test_margin_capped_at_half_lifetime(void **state)
{
    (void)state;
    assert_int_equal(refresh_due_at(1000, 1600, 3600), 1300);
    assert_int_equal(refresh_due_at(1000, 1005, 300), 1003);
}

static void test_no_expiry_never_due(void **state)
{
    (void)state;
    assert_int_equal(refresh_due_at(1000, 0, 300), 0);
}

static void test_margin_zero_means_at_expiry(void **state)
{
    (void)state;
    assert_int_equal(refresh_due_at(1000, 2000, 0), 2000);
}

static void test_outcome_names(void **state)
{
    (void)state;
    assert_string_equal(refresh_outcome_name(REFRESH_DONE), "refreshed");
    assert_string_equal(refresh_outcome_name(REFRESH_AUTHORIZATION_NEEDED), "authorization-needed");
    assert_string_equal(refresh_outcome_name(REFRESH_OUTCOME_UNKNOWN), "outcome-unknown");
}

/* The module takes a reply's outcome only by a name the protocol's list knows (protocol.c):
 * every refresh outcome the helper can report must be on it. */
static void test_outcome_names_known_to_protocol(void **state)
{
    (void)state;
    for (int outcome = REFRESH_NOT_DUE; outcome <= REFRESH_LOCK_TIMEOUT; outcome++) {
        const char *name = refresh_outcome_name((enum refresh_outcome)outcome);
        if (!protocol_outcome_is_known(name))
            fail_msg("refresh outcome '%s' is not in protocol.c's list", name);
        assert_int_equal(refresh_outcome_from_name(name), outcome);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_margin_before_expiry),
        cmocka_unit_test(test_margin_capped_at_half_lifetime),
        cmocka_unit_test(test_no_expiry_never_due),
        cmocka_unit_test(test_margin_zero_means_at_expiry),
        cmocka_unit_test(test_outcome_names),
        cmocka_unit_test(test_outcome_names_known_to_protocol),
    };
    return cmocka_run_group_tests_name("test_refresh_schedule", tests, NULL, NULL);
}
