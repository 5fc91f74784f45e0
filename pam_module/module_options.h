/* The module arguments from the /etc/pam.d line. */
#ifndef POK_MODULE_OPTIONS_H
#define POK_MODULE_OPTIONS_H

#include <security/pam_modules.h>
#include <stdbool.h>
#include <sys/types.h>

#define OPTIONS_DEFAULT_MINIMUM_UID 1000

enum prompt_policy {
    PROMPT_MISSING, /* ask only when the user holds no usable refresh token */
    PROMPT_ALWAYS,
    PROMPT_NEVER,
};

struct module_options {
    const char *config_path; /* points into argv or at the compiled-in default */
    const char *provider;    /* NULL: the only group of the file */
    const char *only_if;     /* comma-separated service names, NULL: every service */
    const char *state_dir;   /* where the per-user login state files are */
    uid_t minimum_uid;
    enum prompt_policy prompt;
    bool start_refresher; /* refresher=no leaves refreshing to the next login */
    bool show_qr;         /* qr: a QR code of the URL under it, drawn by the helper */
    bool desktop_signin;  /* desktop_signin=no: no sign-in after a graphical login (the
                           * autostart entry stands down; the greeter does not promise it) */
    bool debug;
};

/* Fills options from argv; logs every unknown or malformed argument and goes on. */
void module_options_parse(pam_handle_t *pamh, int argc, const char **argv,
                          struct module_options *options);

/* Whether service is named in the only_if= list (always true without the argument). */
bool module_options_serves(const struct module_options *options, const char *service);

#endif
