#include "config.h"

#include <stdlib.h>

#include "pam_module/helper_process.h"

#ifndef POK_HELPER_PATH
#error "POK_HELPER_PATH must be defined by the build"
#endif

const char *helper_program_path(void)
{
#ifdef POK_TEST_BUILD
    /* Only the never-installed test build of the module reads this, so that tests can run
     * the helper from the build tree (or a copy the test user can reach). */
    const char *override = getenv("PAM_OAUTH_KEYRING_TEST_HELPER");
    if (override != NULL)
        return override;
#endif
    return POK_HELPER_PATH;
}

bool helper_may_be_readable(void)
{
#ifdef POK_TEST_BUILD
    /* Stand-in helpers in the tests are scripts, which their interpreter must read. */
    return getenv("PAM_OAUTH_KEYRING_TEST_READABLE_HELPER") != NULL;
#else
    return false;
#endif
}
