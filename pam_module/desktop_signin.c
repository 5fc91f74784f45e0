#include "config.h"

#include "pam_module/desktop_signin.h"

#include <security/pam_ext.h>
#include <string.h>
#include <syslog.h>

static bool item_is_set(pam_handle_t *pamh, int item_type)
{
    const void *item = NULL;

    return pam_get_item(pamh, item_type, &item) == PAM_SUCCESS && item != NULL &&
           ((const char *)item)[0] != '\0';
}

static bool service_of_display_manager(const char *service)
{
    static const char *const prefixes[] = {"gdm", "lightdm", "sddm", "lxdm", "xdm"};

    for (size_t i = 0; service != NULL && i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncmp(service, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    }
    return false;
}

bool pam_is_graphical_login(pam_handle_t *pamh)
{
    const void *tty = NULL, *service = NULL;
    const char *session_type = pam_getenv(pamh, "XDG_SESSION_TYPE");

    if (item_is_set(pamh, PAM_XDISPLAY))
        return true;
    if (pam_get_item(pamh, PAM_TTY, &tty) == PAM_SUCCESS && tty != NULL &&
        ((const char *)tty)[0] == ':')
        return true;
    if (session_type != NULL &&
        (strcmp(session_type, "x11") == 0 || strcmp(session_type, "wayland") == 0))
        return true;
    return pam_get_item(pamh, PAM_SERVICE, &service) == PAM_SUCCESS &&
           service_of_display_manager(service);
}

bool desktop_signin_offered(pam_handle_t *pamh, const struct module_options *options)
{
    /* The sign-in is the refresher's: without one nothing would open after login. */
    return options->desktop_signin && options->start_refresher && pam_is_graphical_login(pamh);
}

void desktop_signin_mark_session(pam_handle_t *pamh, const struct module_options *options)
{
    if (options->desktop_signin)
        return;
    if (pam_putenv(pamh, DESKTOP_SIGNIN_VARIABLE "=no") != PAM_SUCCESS)
        pam_syslog(pamh, LOG_WARNING, "cannot set %s=no in the session's environment",
                   DESKTOP_SIGNIN_VARIABLE);
}
