#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/protocol_table.h"
#include "oauth/https_transport.h"
#include "oauth/retry_after.h"
#include "oauth/token_exchange.h"
#include "store/schedule.h"
#include "store/refresh.h"

/* A deterministic uniform draw in [0, 1) (splitmix64), so every run sees the same numbers. */
static double next_draw(unsigned long long *seed)
{
    unsigned long long z = (*seed += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

#define T0 1700000000LL
#define HOUR 3600

/* One call of the real schedule: a token obtained at obtained_at, an hour long, margin 300. */
static void plan_for(enum schedule_policy policy, struct schedule_state *state, long long now,
                     long long obtained_at, enum schedule_outcome outcome, long retry_after,
                     double draw, struct schedule_plan *plan)
{
    struct schedule_input input = {
        .policy = policy,
        .now = now,
        .obtained_at = obtained_at,
        .access_expires_at = obtained_at + HOUR,
        .holds_tokens = true,
        .margin_seconds = 300,
        .outcome = outcome,
        .retry_after_seconds = retry_after,
        .jitter_draw = draw,
        .backoff_draw = draw,
    };

    schedule_next(state, &input, plan);
}

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

/* The fleet's jitter is drawn from the token's lifetime: margin + [0, 10% of an hour]; it
 * never makes a refresh later than the margin, and the draws reach both ends. */
static void test_jitter_bounds(void **state)
{
    unsigned long long seed = 1;
    long least = 1000000, most = 0;

    (void)state;
    for (int i = 0; i < 10000; i++) {
        struct schedule_state schedule = {0};
        struct schedule_plan plan;
        plan_for(SCHEDULE_FLEET, &schedule, T0, T0, SCHEDULE_NO_ATTEMPT, 0, next_draw(&seed),
                 &plan);
        assert_in_range(plan.margin_seconds, 300, 300 + HOUR / 10);
        assert_int_equal(plan.refresh_at, T0 + HOUR - plan.margin_seconds);
        least = plan.margin_seconds < least ? plan.margin_seconds : least;
        most = plan.margin_seconds > most ? plan.margin_seconds : most;
    }
    assert_true(least <= 301 && most >= 300 + HOUR / 10 - 1);
}

/* Drawn afresh for every token (a new expiry), kept for the same token; today's once only. */
static void test_jitter_drawn_per_token(void **state)
{
    struct schedule_state fleet = {0}, today = {0};
    struct schedule_plan plan;
    long first;

    (void)state;
    plan_for(SCHEDULE_FLEET, &fleet, T0, T0, SCHEDULE_NO_ATTEMPT, 0, 0.9, &plan);
    first = plan.margin_seconds;
    plan_for(SCHEDULE_FLEET, &fleet, T0 + 60, T0, SCHEDULE_NO_ATTEMPT, 0, 0.1, &plan);
    assert_int_equal(plan.margin_seconds, first);
    plan_for(SCHEDULE_FLEET, &fleet, T0 + 3000, T0 + 3000, SCHEDULE_SUCCEEDED, 0, 0.1, &plan);
    assert_true(plan.margin_seconds < first);
    plan_for(SCHEDULE_TODAY, &today, T0, T0, SCHEDULE_NO_ATTEMPT, 0, 0.9, &plan);
    first = plan.margin_seconds;
    assert_in_range(first, 300, 330);
    plan_for(SCHEDULE_TODAY, &today, T0 + 3000, T0 + 3000, SCHEDULE_SUCCEEDED, 0, 0.1, &plan);
    assert_int_equal(plan.margin_seconds, first);
}

/* The wait after the n-th failure in a row, from an expired token (always due). */
static long wait_after_failures(enum schedule_policy policy, int failures, double draw)
{
    struct schedule_state schedule = {0};
    struct schedule_plan plan;
    long long now = T0 + 2 * HOUR;

    for (int i = 0; i < failures; i++)
        plan_for(policy, &schedule, now, T0, SCHEDULE_FAILED, 0, draw, &plan);
    return (long)(plan.refresh_at - now);
}

/* Full jitter: a draw between 0 (at least a second) and 60 s doubling to 15 min; today's is
 * the ceiling itself. */
static void test_backoff_growth_and_cap(void **state)
{
    static const long ceilings[] = {60, 120, 240, 480, 900, 900, 900};
    unsigned long long seed = 7;

    (void)state;
    for (int n = 1; n <= 7; n++) {
        long ceiling = ceilings[n - 1];
        assert_int_equal(wait_after_failures(SCHEDULE_TODAY, n, 0.5), ceiling);
        assert_int_equal(wait_after_failures(SCHEDULE_FLEET, n, 0.0), 1);
        assert_int_equal(wait_after_failures(SCHEDULE_FLEET, n, 0.9999999), ceiling);
        for (int i = 0; i < 200; i++)
            assert_in_range(wait_after_failures(SCHEDULE_FLEET, n, next_draw(&seed)), 1, ceiling);
    }
    assert_int_equal(wait_after_failures(SCHEDULE_FLEET, 200, 0.9999999), 900);
}

/* The fleet's first ceiling is the time the token still has - at least a minute, at most
 * 15 min - doubling from there: a still-valid token is not retried within the minute, and the
 * draws cover the whole window. Today's backoff ignores what is left. */
static void test_backoff_starts_at_time_left(void **state)
{
    static const long ceilings[] = {400, 800, 900, 900};
    struct schedule_state schedule = {0}, today = {0}, long_lived = {0};
    struct schedule_plan plan;
    long long now = T0 + HOUR - 400; /* due, 400 s left */
    unsigned long long seed = 11;
    long most = 0;

    (void)state;
    for (int n = 0; n < 4; n++) {
        plan_for(SCHEDULE_FLEET, &schedule, now, T0, SCHEDULE_FAILED, 0, 0.9999999, &plan);
        assert_int_equal(plan.refresh_at - now, ceilings[n]);
    }
    for (int i = 0; i < 1000; i++) {
        struct schedule_state fresh = {0};
        plan_for(SCHEDULE_FLEET, &fresh, now, T0, SCHEDULE_FAILED, 0, next_draw(&seed), &plan);
        assert_in_range(plan.refresh_at - now, 1, 400);
        most = plan.refresh_at - now > most ? plan.refresh_at - now : most;
    }
    assert_true(most > 360);
    plan_for(SCHEDULE_TODAY, &today, now, T0, SCHEDULE_FAILED, 0, 0.9999999, &plan);
    assert_int_equal(today.not_before - now, 60);
    /* A tool's on-demand refresh failing with 50 min left: the ceiling stops at 15 min. */
    plan_for(SCHEDULE_FLEET, &long_lived, T0 + 600, T0, SCHEDULE_FAILED, 0, 0.9999999, &plan);
    assert_int_equal(long_lived.not_before - (T0 + 600), 900);
}

/* A success ends the backoff: the next refresh is the new token's due time. */
static void test_success_resets_backoff(void **state)
{
    struct schedule_state schedule = {0};
    struct schedule_plan plan;

    (void)state;
    for (int i = 0; i < 5; i++)
        plan_for(SCHEDULE_FLEET, &schedule, T0 + 2 * HOUR, T0, SCHEDULE_FAILED, 0, 0.9, &plan);
    plan_for(SCHEDULE_FLEET, &schedule, T0 + 2 * HOUR, T0 + 2 * HOUR, SCHEDULE_SUCCEEDED, 0, 0.0,
             &plan);
    assert_int_equal(schedule.failures, 0);
    assert_int_equal(plan.refresh_at, T0 + 3 * HOUR - 300);
}

/* A 429 with Retry-After: 30 holds every request for 30 s (then plus the draw); the
 * refresher's on-demand path asks schedule_may_send_now. Today's ignores it. */
static void test_retry_after_seconds_honoured(void **state)
{
    struct schedule_state schedule = {0}, today = {0};
    struct schedule_plan plan;
    long long now = T0 + 2 * HOUR;

    (void)state;
    plan_for(SCHEDULE_FLEET, &schedule, now, T0, SCHEDULE_BUSY, 30, 0.0, &plan);
    assert_int_equal(plan.hold_until, now + 30);
    assert_int_equal(plan.refresh_at, now + 31);
    assert_false(schedule_may_send_now(&schedule, SCHEDULE_FLEET, now + 29));
    assert_true(schedule_may_send_now(&schedule, SCHEDULE_FLEET, now + 30));
    plan_for(SCHEDULE_FLEET, &schedule, now, T0, SCHEDULE_BUSY, 30, 0.5, &plan);
    assert_in_range(plan.refresh_at - now, 30 + 1, 30 + 120);
    /* Capped: a provider's "a week" is an hour here. */
    plan_for(SCHEDULE_FLEET, &schedule, now, T0, SCHEDULE_BUSY, 7 * 86400, 0.0, &plan);
    assert_int_equal(plan.hold_until, now + SCHEDULE_RETRY_AFTER_MAX_SECONDS);
    plan_for(SCHEDULE_TODAY, &today, now, T0, SCHEDULE_BUSY, 30, 0.0, &plan);
    assert_int_equal(plan.refresh_at, now + 60);
    assert_true(schedule_may_send_now(&today, SCHEDULE_TODAY, now + 1));
}

/* Retry-After as an HTTP-date, through the parser the token exchange uses, then the schedule:
 * "Sun, 06 Nov 1994 08:49:37 GMT" is 784111777. */
static void test_retry_after_http_date_honoured(void **state)
{
    const long long date = 784111777LL;
    struct schedule_state schedule = {0};
    struct schedule_plan plan;
    long seconds = -1;

    (void)state;
    assert_int_equal(retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", date - 45, &seconds), 0);
    assert_int_equal(seconds, 45);
    assert_int_equal(retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", date - 45, &seconds), 0);
    assert_int_equal(seconds, 45);
    assert_int_equal(retry_after_parse("Sun Nov  6 08:49:37 1994", date - 45, &seconds), 0);
    assert_int_equal(seconds, 45);
    assert_int_equal(retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", date + 5, &seconds), 0);
    assert_int_equal(seconds, 0);
    assert_int_equal(retry_after_parse("120", 0, &seconds), 0);
    assert_int_equal(seconds, 120);
    assert_int_equal(retry_after_parse("99999999999999999999", 0, &seconds), 0);
    assert_int_equal(seconds, RETRY_AFTER_PARSE_MAX_SECONDS);
    plan_for(SCHEDULE_FLEET, &schedule, date - 45, date - 2 * HOUR, SCHEDULE_BUSY, 45, 0.0, &plan);
    assert_int_equal(plan.hold_until, date);
}

/* Strictly: anything but the RFC 9110 forms is no Retry-After at all. */
static void test_retry_after_refused(void **state)
{
    static const char *const bad[] = {
        "",
        " 5",
        "5 ",
        "-5",
        "+5",
        "5.5",
        "0x10",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "1234567890123456789012345678901234567890123456789012345678901234567890",
    };
    long seconds = 17;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (retry_after_parse(bad[i], 0, &seconds) == 0)
            fail_msg("Retry-After '%s' was accepted", bad[i]);
    }
    assert_int_equal(seconds, 17);
}

/* A 429 (any body: Okta's is no OAuth error) and a 503 are "busy": a server error, never the
 * unknown or bad answer that the lost-answer rule counts; the Retry-After comes with it. */
static void test_429_never_a_lost_answer(void **state)
{
    static const char okta[] = "{\"errorCode\":\"E0000047\",\"errorSummary\":\"API call "
                               "exceeded rate limit due to too many requests.\"}";
    static const char oauth[] = "{\"error\":\"temporarily_unavailable\"}";
    const char *bodies[] = {okta, oauth, "<html>slow down</html>", ""};
    const long statuses[] = {429, 503};

    (void)state;
    for (size_t b = 0; b < 4; b++) {
        for (size_t s = 0; s < 2; s++) {
            struct https_answer answer = {.completed = true, .status = statuses[s]};
            struct exchange_result result;
            memset(&result, 0, sizeof(result));
            answer.json_content = bodies[b][0] == '{';
            char body[256];
            snprintf(body, sizeof(body), "%s", bodies[b]);
            answer.body.data = body;
            answer.body.length = strlen(bodies[b]);
            snprintf(answer.retry_after, sizeof(answer.retry_after), "5");
            token_answer_judge(&answer, T0, &result);
            assert_int_equal(result.outcome, EXCHANGE_SERVER_ERROR);
            assert_int_equal(result.retry_after_seconds, 5);
            exchange_result_clear(&result);
        }
    }
}

/* A 200 whose body is a device poll's OAuth error (GitHub's) is that error, a refusal naming its
 * code; a 200 that is neither tokens nor such an error stays a bad response (never stored,
 * counted by the lost-answer rule). */
static void judge_200(const char *text, struct exchange_result *result)
{
    struct https_answer answer = {.completed = true, .status = 200, .json_content = true};
    char body[256];

    snprintf(body, sizeof(body), "%s", text);
    answer.body.data = body;
    answer.body.length = strlen(body);
    memset(result, 0, sizeof(*result));
    token_answer_judge(&answer, T0, result);
}

static void test_200_with_an_oauth_error_is_a_refusal(void **state)
{
    struct exchange_result result;

    (void)state;
    judge_200("{\"error\":\"authorization_pending\",\"error_description\":\"The authorization "
              "request is still pending.\",\"error_uri\":\"https://docs.github.com\"}",
              &result);
    assert_int_equal(result.outcome, EXCHANGE_REFUSED);
    assert_string_equal(result.reason, "authorization_pending");
    assert_null(result.tokens.access_token);
    judge_200("{\"error\":\"slow_down\",\"interval\":10}", &result);
    assert_int_equal(result.outcome, EXCHANGE_REFUSED);
    assert_string_equal(result.reason, "slow_down");
    judge_200("{\"token_type\":\"bearer\"}", &result);
    assert_int_equal(result.outcome, EXCHANGE_BAD_RESPONSE);
    judge_200("{\"access_token\":\"a\",\"token_type\":\"bearer\"}", &result);
    assert_int_equal(result.outcome, EXCHANGE_OK);
    exchange_result_clear(&result);
}

/* After a lost answer the refresher does not wake a child before the rule's minute is over. */
static void test_lost_answer_waits_the_minute(void **state)
{
    struct schedule_state schedule = {0};
    struct schedule_plan plan;
    long long now = T0 + 2 * HOUR;

    (void)state;
    plan_for(SCHEDULE_FLEET, &schedule, now, T0, SCHEDULE_LOST, 0, 0.0, &plan);
    assert_true(plan.refresh_at >= now + SCHEDULE_LOST_ANSWER_WAIT_SECONDS);
}

/* Never asleep for more than a tick, never a busy loop; stop when nothing is left. */
static void test_tick_and_stop(void **state)
{
    struct schedule_state schedule = {0};
    struct schedule_plan plan;
    struct schedule_input empty = {.policy = SCHEDULE_FLEET, .now = T0, .holds_tokens = false};

    (void)state;
    plan_for(SCHEDULE_FLEET, &schedule, T0, T0, SCHEDULE_NO_ATTEMPT, 0, 0.5, &plan);
    assert_int_equal(plan.wake_at, T0 + SCHEDULE_TICK_MAX_SECONDS);
    plan_for(SCHEDULE_FLEET, &schedule, T0 + 2 * HOUR, T0, SCHEDULE_NO_ATTEMPT, 0, 0.5, &plan);
    assert_int_equal(plan.wake_at, T0 + 2 * HOUR + 1);
    plan_for(SCHEDULE_FLEET, &schedule, T0, T0, SCHEDULE_STOP, 0, 0.5, &plan);
    assert_true(plan.stop);
    schedule_next(&schedule, &empty, &plan);
    assert_true(plan.stop);
}

/* 1,000 tokens issued in the same second, each refreshed at its planned time three times:
 * how many share the busiest refresh second at the end, and how many seconds they use. */
static void cohort_after_three_refreshes(enum schedule_policy policy, int *busiest, int *seconds)
{
    static int per_second[4 * HOUR];
    unsigned long long seed = 42;

    memset(per_second, 0, sizeof(per_second));
    for (int token = 0; token < 1000; token++) {
        struct schedule_state schedule = {0};
        struct schedule_plan plan;
        long long obtained = T0;
        plan_for(policy, &schedule, T0, obtained, SCHEDULE_NO_ATTEMPT, 0, next_draw(&seed), &plan);
        for (int refresh = 0; refresh < 3; refresh++) {
            obtained = plan.refresh_at;
            plan_for(policy, &schedule, obtained, obtained, SCHEDULE_SUCCEEDED, 0, next_draw(&seed),
                     &plan);
        }
        per_second[obtained - T0]++;
    }
    *busiest = *seconds = 0;
    for (int i = 0; i < 4 * HOUR; i++) {
        *busiest = per_second[i] > *busiest ? per_second[i] : *busiest;
        *seconds += per_second[i] > 0;
    }
}

/* Drawn per refresh, the offsets add up: three refreshes spread the cohort over some 1,000 s
 * (a jitter drawn once would keep it on at most 361 distinct seconds, three apart). */
static void test_cohort_spreads(void **state)
{
    int busiest, seconds;

    (void)state;
    cohort_after_three_refreshes(SCHEDULE_FLEET, &busiest, &seconds);
    assert_in_range(busiest, 1, 8);
    assert_true(seconds >= 500);
    /* Today's, for contrast: a tenth of the margin, drawn once - in step all day. */
    cohort_after_three_refreshes(SCHEDULE_TODAY, &busiest, &seconds);
    assert_true(busiest >= 20 && seconds <= 31);
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
        cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_jitter_drawn_per_token),
        cmocka_unit_test(test_backoff_growth_and_cap),
        cmocka_unit_test(test_backoff_starts_at_time_left),
        cmocka_unit_test(test_success_resets_backoff),
        cmocka_unit_test(test_retry_after_seconds_honoured),
        cmocka_unit_test(test_retry_after_http_date_honoured),
        cmocka_unit_test(test_retry_after_refused),
        cmocka_unit_test(test_429_never_a_lost_answer),
        cmocka_unit_test(test_200_with_an_oauth_error_is_a_refusal),
        cmocka_unit_test(test_lost_answer_waits_the_minute),
        cmocka_unit_test(test_tick_and_stop),
        cmocka_unit_test(test_cohort_spreads),
    };
    return cmocka_run_group_tests_name("test_refresh_schedule", tests, NULL, NULL);
}
