/* Pause points for the crash tests: a test build of the helper stops itself (SIGSTOP) at the
 * named step of a refresh when $XDG_RUNTIME_DIR/pam_oauth_keyring/test-pause-at names it, so
 * a test can SIGKILL it exactly there. The installed helper compiles them to nothing.
 *
 * A clock a test can move: test_clock_offset_seconds() is the whole number of seconds in
 * $XDG_RUNTIME_DIR/pam_oauth_keyring/test-clock-offset (0 when absent or not a number), which
 * the lost-answer rule (refresh.c) adds to time(NULL), so a test sees the minute pass without
 * waiting for it. 0 in the installed helper.
 *
 * Draws a test can fix: test_fixed_draw() is the number in [0, 1) in
 * $XDG_RUNTIME_DIR/pam_oauth_keyring/test-draw, which the refresher then takes instead of each
 * random draw it hands the schedule (store/schedule.h), so a test knows the backoff and
 * jitter it will see. -1 (draw at random) when absent, and always in the installed helper.
 *
 * A kernel without sock_diag: test_no_sock_diag() is true while
 * $XDG_RUNTIME_DIR/pam_oauth_keyring/test-no-sock-diag exists; the sign-in's listener then
 * cannot tell who connects (refresher/peer_owner.h). false in the installed refresher. */
#ifndef POK_TEST_HOOKS_H
#define POK_TEST_HOOKS_H

#include <stdbool.h>

#ifdef POK_TEST_BUILD
void test_pause_point(const char *step);
long long test_clock_offset_seconds(void);
double test_fixed_draw(void);
/* Whether a test runs this helper dumpable on purpose (under valgrind, which must read it):
 * POK_TEST_DUMPABLE_START=1 in its environment. */
bool test_allows_dumpable_start(void);
bool test_no_sock_diag(void);
#else
static inline void test_pause_point(const char *step)
{
    (void)step;
}
static inline long long test_clock_offset_seconds(void)
{
    return 0;
}
static inline double test_fixed_draw(void)
{
    return -1.0;
}
static inline bool test_allows_dumpable_start(void)
{
    return false;
}
static inline bool test_no_sock_diag(void)
{
    return false;
}
#endif

#endif
