/* oauth-keyring check: the report, the configuration and installation checks, and the order
 * of the whole run (check.h). Runs as root to read the configuration; as a user it says so
 * and checks what a user can. */
#include "config.h"

#include "cli/check.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_memory.h"
#include "pam_module/provider_config.h"
#include "store/keyring.h"
#include "store/user_state.h"

#if !defined(POK_DEFAULT_CONFIG) || !defined(POK_HELPER_PATH) || !defined(POK_AUTOSTART_PATH) ||   \
    !defined(POK_MODULE_PATH)
#error "the build defines the installed paths for oauth-keyring check"
#endif

#define REFRESHER_PROGRAM "pam_oauth_keyring_refresher"
#define HTTPS_MODULE_FILE "pam_oauth_keyring_https.so"
#define MAX_GROUPS 32

static const char *const result_names[] = {"pass", "warn", "fail", "skip"};
static const char *const result_labels[] = {"PASS", "WARN", "FAIL", "SKIP"};

/* Provider texts (an error_description) may hold anything: the terminal gets printable ASCII. */
static void make_printable(char *text)
{
    for (; *text != '\0'; text++) {
        if ((unsigned char)*text < 0x20 || (unsigned char)*text > 0x7e)
            *text = '?';
    }
}

void check_add(struct check_report *report, const char *name, enum check_result result,
               const char *fix, const char *format, ...)
{
    char message[1024];
    va_list arguments;
    struct json_object *entry;

    va_start(arguments, format);
    vsnprintf(message, sizeof(message), format, arguments);
    va_end(arguments);
    make_printable(message);
    report->counts[result]++;
    if (!report->json) {
        printf("%s  %-8s %-24s %s\n", result_labels[result], report->scope, name, message);
        if (fix != NULL && result != CHECK_PASS)
            printf("      fix: %s\n", fix);
        fflush(stdout);
        return;
    }
    entry = json_object_new_object();
    json_object_object_add(entry, "scope", json_object_new_string(report->scope));
    json_object_object_add(entry, "check", json_object_new_string(name));
    json_object_object_add(entry, "result", json_object_new_string(result_names[result]));
    json_object_object_add(entry, "message", json_object_new_string(message));
    json_object_object_add(
        entry, "fix", fix != NULL && result != CHECK_PASS ? json_object_new_string(fix) : NULL);
    json_object_array_add(report->list, entry);
}

/* --- the configuration -------------------------------------------------------------------- */

/* Owner and mode: the file holds the client secret (the module refuses one others can
 * write, and warns when others can read it). */
static void check_config_file(struct check_report *report, const char *path, struct stat *info)
{
    mode_t mode = info->st_mode & 07777;

    if (!S_ISREG(info->st_mode))
        check_add(report, "config.file", CHECK_FAIL, "make it a regular file",
                  "%s is not a regular file", path);
    else if (info->st_uid != 0)
        check_add(report, "config.file", CHECK_FAIL, "chown root:root on it",
                  "%s is owned by uid %u; the module refuses a configuration not root's", path,
                  (unsigned)info->st_uid);
    else if ((mode & (S_IWGRP | S_IWOTH)) != 0)
        check_add(report, "config.file", CHECK_FAIL, "chmod 0600 on it",
                  "%s is writable by group or others (mode %04o): the module refuses it", path,
                  (unsigned)mode);
    else if ((mode & (S_IRGRP | S_IROTH)) != 0)
        check_add(report, "config.file", CHECK_WARN, "chmod 0600 on it",
                  "%s is readable by group or others (mode %04o): it holds the client secret", path,
                  (unsigned)mode);
    else
        check_add(report, "config.file", CHECK_PASS, NULL, "%s is root's, mode %04o", path,
                  (unsigned)mode);
}

/* What to do about a parse error, from the parser's own sentence. */
static const char *parse_fix(const char *message)
{
    if (strstr(message, "unknown key") != NULL)
        return "remove the key or correct its spelling (pam_oauth_keyring.conf(5) lists the keys)";
    if (strstr(message, "required key") != NULL)
        return "add the key to the group (pam_oauth_keyring.conf(5))";
    if (strstr(message, "https") != NULL)
        return "endpoints must be https:// URLs with a host";
    if (strstr(message, "ca_file") != NULL)
        return "ca_file must name a root-owned file nobody else can write";
    if (strstr(message, "group") != NULL)
        return "name the group with --provider (and provider= on the PAM lines)";
    return "correct the line named (pam_oauth_keyring.conf(5))";
}

int redirect_loopback_port(const char *redirect_uri, bool *is_loopback)
{
    static const char *const hosts[] = {"http://127.0.0.1:", "http://[::1]:", "http://localhost:"};
    const char *rest = NULL;
    char *end = NULL;
    long port;

    *is_loopback = false;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]) && rest == NULL; i++) {
        if (strncmp(redirect_uri, hosts[i], strlen(hosts[i])) == 0)
            rest = redirect_uri + strlen(hosts[i]);
    }
    if (rest == NULL) {
        *is_loopback = strncmp(redirect_uri, "http://127.0.0.1/", 17) == 0 ||
                       strncmp(redirect_uri, "http://[::1]/", 13) == 0 ||
                       strncmp(redirect_uri, "http://localhost/", 17) == 0;
        return 0;
    }
    *is_loopback = true;
    port = strtol(rest, &end, 10);
    if (rest[0] < '0' || rest[0] > '9' || port < 1 || port > 65535 || (*end != '/' && *end != '\0'))
        return 0;
    return (int)port;
}

static void check_redirect_uri(struct check_report *report, const char *redirect_uri)
{
    bool loopback;
    int port = redirect_loopback_port(redirect_uri, &loopback);

    if (port > 0 && strncmp(redirect_uri, "http://localhost:", 17) == 0)
        check_add(report, "config.redirect_uri", CHECK_WARN,
                  "use http://127.0.0.1:PORT/... (RFC 8252 8.3) and register that at the provider",
                  "%s: localhost may resolve elsewhere; the listener binds an address",
                  redirect_uri);
    else if (port > 0)
        check_add(report, "config.redirect_uri", CHECK_PASS, NULL,
                  "%s: loopback, port %d (the sign-in inside the session listens there)",
                  redirect_uri, port);
    else if (loopback)
        check_add(report, "config.redirect_uri", CHECK_WARN,
                  "add a fixed port (http://127.0.0.1:PORT/callback) here and at the provider",
                  "%s: loopback without a port: no listener can catch the redirect; users paste",
                  redirect_uri);
    else
        check_add(report, "config.redirect_uri", CHECK_WARN,
                  "use http://127.0.0.1:PORT/callback (RFC 8252) here and at the provider",
                  "%s is not a loopback address with a port: the sign-in inside the session "
                  "cannot catch the redirect, users must paste the address",
                  redirect_uri);
}

/* Whether every user can read path: others may read it and search every directory above. */
static bool readable_by_all(const char *path, char *why, size_t why_size)
{
    char *copy = g_strdup(path), *slash;
    struct stat info;
    bool readable = false;

    if (stat(path, &info) != 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        goto out;
    }
    if ((info.st_mode & S_IROTH) == 0) {
        snprintf(why, why_size, "mode %04o: others cannot read it", info.st_mode & 07777);
        goto out;
    }
    while ((slash = strrchr(copy, '/')) != NULL && slash != copy) {
        *slash = '\0';
        if (stat(copy, &info) != 0 || (info.st_mode & S_IXOTH) == 0) {
            snprintf(why, why_size, "others cannot enter %s", copy);
            goto out;
        }
    }
    readable = true;
out:
    g_free(copy);
    return readable;
}

static void check_ca_file(struct check_report *report, const char *ca_file)
{
    char why[PATH_MAX + 64];

    if (ca_file == NULL)
        check_add(report, "config.ca_file", CHECK_PASS, NULL,
                  "not set: the system's CA store verifies the provider");
    else if (readable_by_all(ca_file, why, sizeof(why)))
        check_add(report, "config.ca_file", CHECK_PASS, NULL, "%s: readable by every user",
                  ca_file);
    else
        check_add(
            report, "config.ca_file", CHECK_FAIL, "chmod 0644 on it (and a+x on its directories)",
            "%s: %s; the helper runs as the user and would fail after the sign-in", ca_file, why);
}

/* An endpoint the configuration leaves out comes from the issuer's metadata (discover): the
 * probe fetches it as the helper would. */
static bool endpoint_is_https(const struct provider_config *config, const char *url)
{
    return url != NULL ? provider_url_is_https(url) : config->discover;
}

static void check_urls(struct check_report *report, const struct provider_config *config)
{
    /* The parser made sure each endpoint the sign-in needs is there or discovered. */
    bool https = (config->authorize_url == NULL || provider_url_is_https(config->authorize_url)) &&
                 endpoint_is_https(config, config->token_url) &&
                 (config->device_authorization_url == NULL ||
                  provider_url_is_https(config->device_authorization_url)) &&
                 (config->revoke_url == NULL || provider_url_is_https(config->revoke_url));

    if (https && config->discover)
        check_add(report, "config.urls", CHECK_PASS, NULL,
                  "the endpoints not configured come from the metadata of the issuer %s",
                  config->issuer);
    else if (https)
        check_add(report, "config.urls", CHECK_PASS, NULL, "%stoken_url%s%s are https with a host",
                  config->authorize_url != NULL ? "authorize_url, " : "",
                  config->revoke_url != NULL ? ", revoke_url" : "",
                  config->device_authorization_url != NULL ? ", device_authorization_url" : "");
    else
        check_add(report, "config.urls", CHECK_FAIL, "use https:// endpoints",
                  "an endpoint is not an https URL");
}

/* --- the installation --------------------------------------------------------------------- */

static char *installed_path(const struct check_options *options, const char *path)
{
    return g_strconcat(options->destdir != NULL ? options->destdir : "", path, NULL);
}

/* root:root 0711, never setuid: the kernel then starts it non-dumpable (the module refuses a
 * helper the user can read). */
static void check_program_file(struct check_report *report, const char *name, const char *path)
{
    struct stat info;
    mode_t mode;

    if (stat(path, &info) != 0) {
        check_add(report, name, CHECK_FAIL, "make install (or install the package)", "%s: %s", path,
                  strerror(errno));
        return;
    }
    mode = info.st_mode & 07777;
    if (!S_ISREG(info.st_mode) || (mode & (S_ISUID | S_ISGID)) != 0)
        check_add(report, name, CHECK_FAIL, "chmod 0711 on it (never setuid or setgid)",
                  "%s: not a regular file, or setuid/setgid (mode %04o)", path, (unsigned)mode);
    else if (info.st_uid != 0 || info.st_gid != 0)
        check_add(report, name, CHECK_FAIL, "chown root:root on it",
                  "%s: owned by %u:%u, not root:root", path, (unsigned)info.st_uid,
                  (unsigned)info.st_gid);
    else if (mode != 0711)
        check_add(report, name, CHECK_FAIL, "chmod 0711 on it", "%s: mode %04o, not 0711: %s", path,
                  (unsigned)mode,
                  (mode & (S_IRGRP | S_IROTH)) != 0
                      ? "users can read it, so it starts dumpable and the module refuses it"
                      : "it must be executable by all and readable by root alone");
    else
        check_add(report, name, CHECK_PASS, NULL, "%s: root:root 0711", path);
}

/* The helper path compiled into the installed module: a NUL-terminated string in it ending
 * in the helper's name. NULL when the module is not there or holds none. */
static char *module_helper_path(const char *module_path)
{
    static const char suffix[] = "/pam_oauth_keyring_helper";
    char *contents = NULL, *found = NULL;
    gsize length = 0;

    if (!g_file_get_contents(module_path, &contents, &length, NULL))
        return NULL;
    for (gsize start = 0; start < length && found == NULL; start += strlen(contents + start) + 1) {
        const char *text = contents + start;
        size_t text_length = strnlen(text, length - start);
        if (text[0] == '/' && text_length > sizeof(suffix) - 1 &&
            strcmp(text + text_length - (sizeof(suffix) - 1), suffix) == 0)
            found = g_strdup(text);
    }
    g_free(contents);
    return found;
}

static void check_module_helper(struct check_report *report, const struct check_options *options)
{
    char *module = installed_path(options, POK_MODULE_PATH);
    char *compiled = module_helper_path(module);
    char *helper = compiled != NULL ? installed_path(options, compiled) : NULL;

    if (compiled == NULL)
        check_add(report, "install.module", CHECK_FAIL, "make install (or install the package)",
                  "%s: missing, or it names no helper", module);
    else if (access(helper, X_OK) != 0)
        check_add(report, "install.module", CHECK_FAIL,
                  "install the helper where the module looks, or rebuild both with one prefix",
                  "%s runs the helper %s, which is missing (%s)", module, compiled,
                  strerror(errno));
    else
        check_add(report, "install.module", CHECK_PASS, NULL, "%s runs the helper %s, present",
                  module, compiled);
    g_free(helper);
    g_free(compiled);
    g_free(module);
}

/* The desktop sign-in after a graphical login: the entry present, or turned off on purpose
 * (Hidden=true, X-GNOME-Autostart-enabled=false, or desktop_signin=no on every module line). */
static void check_autostart(struct check_report *report, const struct check_options *options,
                            const struct pam_findings *pam)
{
    char *path = installed_path(options, POK_AUTOSTART_PATH);
    GKeyFile *entry = g_key_file_new();
    bool loaded = g_key_file_load_from_file(entry, path, G_KEY_FILE_NONE, NULL);
    bool hidden = loaded && g_key_file_get_boolean(entry, "Desktop Entry", "Hidden", NULL);
    char *enabled =
        loaded ? g_key_file_get_value(entry, "Desktop Entry", "X-GNOME-Autostart-enabled", NULL)
               : NULL;

    if (loaded && (hidden || (enabled != NULL && strcmp(enabled, "false") == 0)))
        check_add(report, "install.autostart", CHECK_PASS, NULL, "%s: turned off on purpose (%s)",
                  path, hidden ? "Hidden=true" : "X-GNOME-Autostart-enabled=false");
    else if (loaded)
        check_add(report, "install.autostart", CHECK_PASS, NULL,
                  "%s: present (the sign-in after a graphical login)", path);
    else if (pam->module_found && pam->desktop_signin_no)
        check_add(report, "install.autostart", CHECK_PASS, NULL,
                  "%s absent, and every module line says desktop_signin=no", path);
    else
        check_add(report, "install.autostart", CHECK_WARN,
                  "make install puts it there; to turn the desktop sign-in off, add "
                  "desktop_signin=no to the module's lines",
                  "%s: missing: users of graphical logins get no sign-in offered", path);
    g_free(enabled);
    g_key_file_free(entry);
    g_free(path);
}

static void check_installation(struct check_report *report, const struct check_options *options,
                               const struct pam_findings *pam)
{
    char *helper = installed_path(options, POK_HELPER_PATH);
    char *directory = g_path_get_dirname(helper);
    char *refresher = g_build_filename(directory, REFRESHER_PROGRAM, NULL);
    char *https_module = g_build_filename(directory, HTTPS_MODULE_FILE, NULL);

    check_program_file(report, "install.helper", helper);
    check_program_file(report, "install.refresher", refresher);
    if (access(https_module, R_OK) == 0)
        check_add(report, "install.https_module", CHECK_PASS, NULL, "%s: present", https_module);
    else
        check_add(report, "install.https_module", CHECK_FAIL,
                  "make install (the helper loads it from its own directory)", "%s: %s",
                  https_module, strerror(errno));
    check_module_helper(report, options);
    check_autostart(report, options, pam);
    g_free(https_module);
    g_free(refresher);
    g_free(directory);
    g_free(helper);
}

/* --- one provider group ------------------------------------------------------------------- */

static void check_group(struct check_report *report, const struct check_options *options,
                        const char *path, const char *group)
{
    struct provider_config config;
    struct config_error error;
    char *helper = installed_path(options, POK_HELPER_PATH);

    report->scope = group;
    if (provider_config_load(path, group, &config, &error) != 0) {
        check_add(report, "config.parse", CHECK_FAIL, parse_fix(error.message), "%s",
                  error.message);
        check_add(report, "provider", CHECK_SKIP, NULL, "not checked: the group does not parse");
        goto out;
    }
    check_add(report, "config.parse", CHECK_PASS, NULL,
              "[%s] parses; required keys present; no unknown key", group);
    if (error.warning[0] != '\0')
        check_add(report, "config.warning", CHECK_WARN, "see pam_oauth_keyring.conf(5)", "%s",
                  error.warning);
    check_urls(report, &config);
    /* The device grant alone redirects nowhere: no redirect_uri, no port to hold. */
    if (config.redirect_uri != NULL)
        check_redirect_uri(report, config.redirect_uri);
    check_ca_file(report, config.ca_file);
    check_provider(report, &config, helper);
    if (config.redirect_uri != NULL)
        check_redirect_port(report, config.redirect_uri);
    else
        check_add(report, "port", CHECK_SKIP, NULL, "sign_in = device: no redirect, no port");
out:
    provider_config_clear(&config);
    g_free(helper);
}

/* The groups to check: --provider's, else every group of the file. */
static size_t config_groups(const struct check_options *options, const char *path, char **groups)
{
    struct config_error error;
    char *text = NULL;
    gsize length = 0;
    size_t count = 0;

    if (options->provider != NULL) {
        groups[0] = g_strdup(options->provider);
        return 1;
    }
    if (!g_file_get_contents(path, &text, &length, NULL) ||
        provider_config_group_names(path, text, length, groups, MAX_GROUPS, &count, &error) != 0)
        count = 0;
    if (text != NULL)
        secret_wipe(text, length);
    g_free(text);
    if (count == 0)
        groups[count++] = NULL; /* the parser says what is wrong */
    return count;
}

static void check_configuration(struct check_report *report, const struct check_options *options)
{
    const char *path = options->config_path != NULL ? options->config_path : POK_DEFAULT_CONFIG;
    char *groups[MAX_GROUPS] = {NULL};
    struct stat info;
    size_t count;

    report->scope = "config";
    /* stat, as the module's open() follows a link; only a regular file is read below (a FIFO
     * would block the reading of its groups). */
    if (stat(path, &info) != 0) {
        check_add(report, "config.file", CHECK_FAIL,
                  "write it (pam_oauth_keyring.conf(5)), or name it with --config", "%s: %s", path,
                  strerror(errno));
        return;
    }
    check_config_file(report, path, &info);
    if (!S_ISREG(info.st_mode))
        return;
    count = config_groups(options, path, groups);
    for (size_t i = 0; i < count; i++) {
        check_group(report, options, path, groups[i]);
        free(groups[i]);
    }
}

/* --- as a user ---------------------------------------------------------------------------- */

static void check_user_service(struct check_report *report, const char *service)
{
    struct refresh_status status;
    bool running = refresher_is_running(service);

    report->scope = service;
    check_add(report, "user.refresher", running ? CHECK_PASS : CHECK_WARN,
              "log in again through a service the module serves (it starts the refresher)",
              "the refresher for %s is %s", service, running ? "running" : "not running");
    refresh_status_read(service, &status);
    if (status.outcome[0] == '\0')
        check_add(report, "user.status", CHECK_PASS, NULL, "no event recorded yet");
    else
        check_add(report, "user.status",
                  strcmp(status.outcome, "refreshed") == 0 ||
                          strcmp(status.outcome, "not-due") == 0 ||
                          strcmp(status.outcome, "signed-in") == 0
                      ? CHECK_PASS
                      : CHECK_WARN,
                  "oauth-keyring status says more; oauth-keyring login signs in again",
                  "last event: %s%s%s", status.outcome, status.message[0] != '\0' ? ": " : "",
                  status.message);
}

/* What a user can check: their keyring, and for each service in it or with a refresher, the
 * refresher and the last event. */
static void check_as_user(struct check_report *report)
{
    struct passwd *account = getpwuid(getuid());
    struct keyring *keyring = NULL;
    char **services = NULL, **running = user_state_running_services();
    char why[512];

    report->scope = "user";
    if (keyring_open(&keyring, KEYRING_FOR_TOOL, why, sizeof(why)) != KEYRING_READY) {
        check_add(report, "user.keyring", CHECK_FAIL,
                  "run it in your own graphical or ssh session, with the keyring unlocked", "%s",
                  why);
    } else {
        services = keyring_list_services(keyring, account != NULL ? account->pw_name : "");
        check_add(report, "user.keyring", CHECK_PASS, NULL, "unlocked; tokens for %u service(s)",
                  services != NULL ? g_strv_length(services) : 0);
    }
    for (size_t i = 0; services != NULL && services[i] != NULL; i++)
        check_user_service(report, services[i]);
    for (size_t i = 0; running != NULL && running[i] != NULL; i++) {
        if (services == NULL || !g_strv_contains((const char *const *)services, running[i]))
            check_user_service(report, running[i]);
    }
    g_strfreev(running);
    g_strfreev(services);
    keyring_close(keyring);
}

/* --- the run ------------------------------------------------------------------------------ */

static int finish(struct check_report *report)
{
    int rv = report->counts[CHECK_FAIL] > 0   ? 1
             : report->counts[CHECK_WARN] > 0 ? CHECK_EXIT_WARNINGS
                                              : 0;

    if (report->json)
        printf("%s\n", json_object_to_json_string_ext(
                           report->list, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        printf("%zu passed, %zu warnings, %zu failures, %zu skipped: exit %d\n",
               report->counts[CHECK_PASS], report->counts[CHECK_WARN], report->counts[CHECK_FAIL],
               report->counts[CHECK_SKIP], rv);
    return rv;
}

int check_run(const struct check_options *options)
{
    struct check_report report = {.json = options->json, .scope = "pam"};
    struct pam_findings pam = {false, false, NULL, false};
    struct check_options effective = *options;
    int rv;

    report.list = json_object_new_array();
    /* The stacks first: without --config, the configuration their lines name is checked. */
    check_pam_stacks(&report, options->pam_dir != NULL ? options->pam_dir : "/etc/pam.d", &pam);
    if (effective.config_path == NULL)
        effective.config_path = pam.config_path;
    report.scope = "config";
    if (geteuid() == 0)
        check_configuration(&report, &effective);
    else
        check_add(&report, "config", CHECK_SKIP, "run `sudo oauth-keyring check`",
                  "needs root: the configuration is root's (it holds the client secret), and "
                  "the provider is checked with it; checking what a user can");
    report.scope = "install";
    check_installation(&report, options, &pam);
    if (geteuid() != 0)
        check_as_user(&report);
    rv = finish(&report);
    json_object_put(report.list);
    g_free(pam.config_path);
    return rv;
}
