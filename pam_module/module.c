/* The PAM entry points: each one line, the work is in login_flow.c. */
#include "config.h"

#include <security/pam_modules.h>

#include "pam_module/login_flow.h"

#define EXPORTED __attribute__((visibility("default")))

EXPORTED int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)flags;
    return login_collect_authorization(pamh, argc, argv);
}

EXPORTED int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    return login_exchange_at_unlock(pamh, flags, argc, argv);
}

EXPORTED int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)flags;
    return login_store_tokens(pamh, argc, argv);
}

EXPORTED int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)pamh, (void)flags, (void)argc, (void)argv;
    return PAM_SUCCESS;
}
