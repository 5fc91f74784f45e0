/* The account the module acts for, and the environment its helper gets. */
#ifndef POK_USER_ACCOUNT_H
#define POK_USER_ACCOUNT_H

#include <security/pam_modules.h>
#include <sys/types.h>

struct user_account {
    char *name;
    char *home;
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups, looked up before any fork */
    int group_count;
};

/* 0 when the user exists and its groups could be listed, -1 otherwise. */
int user_account_lookup(const char *name, struct user_account *account);
void user_account_clear(struct user_account *account);

#define HELPER_ENVIRONMENT_MAX 8

/* The whole environment of the helper: HOME, USER, LOGNAME, PATH, LANG, XDG_RUNTIME_DIR,
 * DBUS_SESSION_BUS_ADDRESS and nothing else. */
struct helper_environment {
    char *entries[HELPER_ENVIRONMENT_MAX + 1]; /* NULL-terminated, for execve */
    size_t count;
};

/* Takes the user's runtime dir and bus from the PAM environment (as pam_systemd sets them),
 * else from the process environment when the module already runs as the user, else the
 * systemd default /run/user/UID. -1 on a malformed value or no memory. */
int helper_environment_build(pam_handle_t *pamh, const struct user_account *account,
                             struct helper_environment *environment);
void helper_environment_clear(struct helper_environment *environment);

#endif
