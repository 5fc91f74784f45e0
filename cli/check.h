/* oauth-keyring check: the admin's pre-flight before a rollout, and when a user calls. One
 * line (or one JSON object) per check, each saying what was checked, the result and, for a
 * failure or a warning, what to do. The configuration, the installation, the PAM stacks, the
 * provider for real (as an unprivileged uid, through the helper: check_provider.c) and the
 * redirect's loopback port. */
#ifndef POK_CHECK_H
#define POK_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses of check: 0 all passed, 1 a failure (or a usage error), this one when the
 * worst was a warning. Documented in --help and oauth-keyring(1). */
#define CHECK_EXIT_WARNINGS 5

struct check_options {
    const char *provider;    /* --provider: one group; NULL: every group of the file */
    const char *config_path; /* --config; NULL: the compiled-in default */
    const char *pam_dir;     /* --pam-dir; NULL: /etc/pam.d */
    const char *destdir;     /* --destdir: the installed files under a `make install DESTDIR` */
    bool json;
};

enum check_result { CHECK_PASS, CHECK_WARN, CHECK_FAIL, CHECK_SKIP };

/* Every result so far, for the summary and the exit status; the JSON list when --json. */
struct check_report {
    bool json;
    struct json_object *list;
    const char *scope; /* the provider group being checked, or "system" */
    size_t counts[4];  /* by enum check_result */
};

/* One check's line: name ("config.file"), result, what to do (NULL for a pass), then the
 * message. Printed at once (text) or kept for the JSON list. */
void check_add(struct check_report *report, const char *name, enum check_result result,
               const char *fix, const char *format, ...) __attribute__((format(printf, 5, 6)));

/* What the PAM stacks say (check_pam.c), also for the autostart check. */
struct pam_findings {
    bool module_found;      /* some service reaches the module */
    bool desktop_signin_no; /* and every line of it says desktop_signin=no */
    char *config_path;      /* the config= every line names; NULL: none, or several differ */
    bool config_paths_differ;
};

/* Reads every file under pam_dir, follows @include, include and substack, and reports which
 * services reach the module, in which phases and order, and what is wrong with it. */
void check_pam_stacks(struct check_report *report, const char *pam_dir,
                      struct pam_findings *findings);

struct provider_config;

/* The provider for real: runs the helper at helper_path as an unprivileged uid ("nobody")
 * with the "probe" request, the client secret crossing only the socketpair. Root only. */
void check_provider(struct check_report *report, const struct provider_config *config,
                    const char *helper_path);

/* The loopback port of redirect_uri: free, or who holds it. */
void check_redirect_port(struct check_report *report, const char *redirect_uri);

/* The loopback port in redirect_uri ("http://127.0.0.1:PORT/..."); 0 when it names none, or
 * no loopback host (is_loopback false). */
int redirect_loopback_port(const char *redirect_uri, bool *is_loopback);

/* The whole check; returns the exit status. */
int check_run(const struct check_options *options);

#endif
