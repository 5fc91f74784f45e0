/* Pause points for the crash tests: a test build of the helper stops itself (SIGSTOP) at the
 * named step of a refresh when $XDG_RUNTIME_DIR/pam_oauth_keyring/test-pause-at names it, so
 * a test can SIGKILL it exactly there. The installed helper compiles them to nothing. */
#ifndef POK_TEST_HOOKS_H
#define POK_TEST_HOOKS_H

#ifdef POK_TEST_BUILD
void test_pause_point(const char *step);
#else
static inline void test_pause_point(const char *step)
{
    (void)step;
}
#endif

#endif
