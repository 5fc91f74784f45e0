/* Pause points for the crash tests: a test build of the helper stops itself (SIGSTOP) at the
 * named step of a refresh when $XDG_RUNTIME_DIR/pam_oauth_keyring/test-pause-at names it, so
 * a test can SIGKILL it exactly there. The installed helper compiles them to nothing. */
#ifndef POK_TEST_HOOKS_H
#define POK_TEST_HOOKS_H

#include <stdbool.h>

#ifdef POK_TEST_BUILD
void test_pause_point(const char *step);
/* Whether a test runs this helper dumpable on purpose (under valgrind, which must read it):
 * POK_TEST_DUMPABLE_START=1 in its environment. */
bool test_allows_dumpable_start(void);
#else
static inline void test_pause_point(const char *step)
{
    (void)step;
}
static inline bool test_allows_dumpable_start(void)
{
    return false;
}
#endif

#endif
