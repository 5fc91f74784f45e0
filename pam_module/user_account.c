#include "config.h"

#include "pam_module/user_account.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/text_checks.h"

#define ENVIRONMENT_VALUE_MAX 1024

static int list_groups(struct user_account *account)
{
    int count = 32;

    /* getgrouplist reports how many it needs when the array is too small. */
    for (int attempt = 0; attempt < 4; attempt++) {
        gid_t *groups = calloc((size_t)count, sizeof(gid_t));
        int wanted = count;
        if (groups == NULL)
            return -1;
        if (getgrouplist(account->name, account->gid, groups, &wanted) >= 0) {
            account->groups = groups;
            account->group_count = wanted;
            return 0;
        }
        free(groups);
        if (wanted <= count || wanted > NGROUPS_MAX)
            return -1;
        count = wanted;
    }
    return -1;
}

int user_account_lookup(const char *name, struct user_account *account)
{
    struct passwd entry, *found = NULL;
    long size_hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t size = size_hint > 0 ? (size_t)size_hint : 16384;
    char *buffer = malloc(size);
    int rv = -1;

    memset(account, 0, sizeof(*account));
    if (buffer == NULL || getpwnam_r(name, &entry, buffer, size, &found) != 0 || found == NULL)
        goto out;
    account->name = strdup(entry.pw_name);
    account->home = strdup(entry.pw_dir != NULL ? entry.pw_dir : "/");
    account->uid = entry.pw_uid;
    account->gid = entry.pw_gid;
    if (account->name == NULL || account->home == NULL || list_groups(account) != 0)
        goto out;
    rv = 0;
out:
    free(buffer);
    if (rv != 0)
        user_account_clear(account);
    return rv;
}

void user_account_clear(struct user_account *account)
{
    free(account->name);
    free(account->home);
    free(account->groups);
    memset(account, 0, sizeof(*account));
}

static bool is_safe_value(const char *value)
{
    size_t length = strnlen(value, ENVIRONMENT_VALUE_MAX + 1);

    return length <= ENVIRONMENT_VALUE_MAX && !text_has_control_byte(value, length);
}

static int add_variable(struct helper_environment *environment, const char *name, const char *value)
{
    char *entry = NULL;

    if (value == NULL)
        return 0;
    if (!is_safe_value(value) || environment->count >= HELPER_ENVIRONMENT_MAX ||
        asprintf(&entry, "%s=%s", name, value) < 0)
        return -1;
    environment->entries[environment->count++] = entry;
    environment->entries[environment->count] = NULL;
    return 0;
}

/* A variable from the PAM environment, else the process's own when that is the user's. */
static const char *session_variable(pam_handle_t *pamh, const struct user_account *account,
                                    const char *name)
{
    const char *value = pam_getenv(pamh, name);

    if (value == NULL && geteuid() == account->uid)
        value = getenv(name);
    return value;
}

int helper_environment_build(pam_handle_t *pamh, const struct user_account *account,
                             struct helper_environment *environment)
{
    const char *runtime_dir = session_variable(pamh, account, "XDG_RUNTIME_DIR");
    const char *bus = session_variable(pamh, account, "DBUS_SESSION_BUS_ADDRESS");
    char default_runtime_dir[64], default_bus[ENVIRONMENT_VALUE_MAX + 32];
    int rv = 0;

    memset(environment, 0, sizeof(*environment));
    if (runtime_dir == NULL) {
        snprintf(default_runtime_dir, sizeof(default_runtime_dir), "/run/user/%u",
                 (unsigned)account->uid);
        runtime_dir = default_runtime_dir;
    }
    if (bus == NULL && is_safe_value(runtime_dir)) {
        snprintf(default_bus, sizeof(default_bus), "unix:path=%s/bus", runtime_dir);
        bus = default_bus;
    }
    rv |= add_variable(environment, "HOME", account->home);
    rv |= add_variable(environment, "USER", account->name);
    rv |= add_variable(environment, "LOGNAME", account->name);
    rv |= add_variable(environment, "PATH", "/usr/bin:/bin");
    rv |= add_variable(environment, "LANG", session_variable(pamh, account, "LANG"));
    rv |= add_variable(environment, "XDG_RUNTIME_DIR", runtime_dir);
    rv |= add_variable(environment, "DBUS_SESSION_BUS_ADDRESS", bus);
    if (rv != 0)
        helper_environment_clear(environment);
    return rv == 0 ? 0 : -1;
}

void helper_environment_clear(struct helper_environment *environment)
{
    for (size_t i = 0; i < environment->count; i++)
        free(environment->entries[i]);
    memset(environment, 0, sizeof(*environment));
}
