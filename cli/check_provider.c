/* oauth-keyring check: the provider for real, and the redirect's loopback port.
 *
 * The check runs as root (it reads the configuration); nothing here touches the network as
 * root. The helper does it, started through the module's own code (pam_module/
 * helper_process.c: fork, setsid, drop to the account, a session keyring of its own,
 * PR_SET_NO_NEW_PRIVS, a minimal environment, one request on a socketpair, a bounded wait)
 * as the unprivileged "nobody", with the request "probe" (common/protocol_table.h): the client
 * secret crosses only that socketpair. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/check.h"
#include "common/protocol_table.h"
#include "oauth/provider_probe.h"
#include "pam_module/helper_process.h"
#include "pam_module/provider_config.h"

#define PROBE_ACCOUNT "nobody"
#define PROBE_GROUPS_MAX 64
/* Beyond the two requests' own bounds (the configured timeout each): the helper's start. */
#define PROBE_SLACK_MS 5000

/* helper_process.c runs the program this names: the installed helper (under --destdir). */
static const char *probe_helper_path = "";

const char *helper_program_path(void)
{
    return probe_helper_path;
}

bool helper_may_be_readable(void)
{
    return false;
}

/* The unprivileged account the probe runs as: looked up here, with its groups, before the
 * fork (user_account_lookup would bring libpam into this program for nothing). */
static int probe_account(struct user_account *account, gid_t *groups)
{
    static char root_directory[] = "/";
    struct passwd *entry = getpwnam(PROBE_ACCOUNT);
    int count = PROBE_GROUPS_MAX;

    memset(account, 0, sizeof(*account));
    if (entry == NULL || entry->pw_uid == 0 ||
        getgrouplist(entry->pw_name, entry->pw_gid, groups, &count) < 0)
        return -1;
    account->name = entry->pw_name;
    account->home = root_directory;
    account->uid = entry->pw_uid;
    account->gid = entry->pw_gid;
    account->groups = groups;
    account->group_count = count;
    return 0;
}

static int build_probe(struct protocol_message *request, const struct provider_config *config)
{
    char timeout[24];

    snprintf(timeout, sizeof(timeout), "%ld", config->timeout);
    return protocol_request_init(request, REQUEST_PROBE) |
           protocol_set(request, FIELD_AUTHORIZE_URL, config->authorize_url) |
           protocol_set(request, FIELD_TOKEN_URL, config->token_url) |
           protocol_set(request, FIELD_CLIENT_ID, config->client_id) |
           (config->client_secret != NULL
                ? protocol_set(request, FIELD_CLIENT_SECRET, config->client_secret)
                : 0) |
           protocol_set(request, FIELD_REDIRECT_URI, config->redirect_uri) |
           (config->ca_file != NULL ? protocol_set(request, FIELD_CA_FILE, config->ca_file) : 0) |
           protocol_set(request, FIELD_TIMEOUT, timeout) |
           protocol_set(request, FIELD_SCOPE, config->scope) |
           protocol_set(request, FIELD_GRANT, config->sign_in_text) |
           protocol_set(request, FIELD_DEVICE_AUTHORIZATION_URL, config->device_authorization_url) |
           (config->discover ? protocol_set(request, FIELD_DISCOVER, "1") |
                                   protocol_set(request, FIELD_ISSUER, config->issuer)
                             : 0);
}

/* The authorization endpoint: any answer over verified TLS passes; a 4xx is the provider
 * refusing this client or redirect_uri before anyone signs in. */
static void judge_authorize(struct check_report *report, const char *result, const char *message)
{
    long status = strncmp(result, "http-", 5) == 0 ? strtol(result + 5, NULL, 10) : 0;

    if (status >= 200 && status < 400)
        check_add(report, "provider.authorize", CHECK_PASS, NULL, "%s", message);
    else if (status >= 400 && status < 500)
        check_add(report, "provider.authorize", CHECK_WARN,
                  "check client_id, and that redirect_uri is registered for it at the provider",
                  "%s: it refused the authorization request a login would open", message);
    else if (status >= 500)
        check_add(report, "provider.authorize", CHECK_WARN,
                  "try again later; ask the provider if it lasts", "%s", message);
    else
        check_add(report, "provider.authorize", CHECK_FAIL,
                  "check authorize_url, ca_file, DNS and the firewall from this machine", "%s (%s)",
                  message, result);
}

/* The https transport's reasons for no answer at all (oauth/token_exchange.h). */
static bool is_transport_failure(const char *result)
{
    return strcmp(result, "network") == 0 || strcmp(result, "tls") == 0 ||
           strcmp(result, "timeout") == 0 || strcmp(result, "setup") == 0;
}

/* The device authorization endpoint (sign_in = device or both): a user code issued means
 * logins can show one; unauthorized_client is the provider not allowing this client the grant
 * (Keycloak, Okta and Entra ID each have a switch for it). */
static void judge_device(struct check_report *report, const char *result, const char *message)
{
    if (result == NULL)
        return;
    if (strcmp(result, PROBE_DEVICE_ANSWERED) == 0)
        check_add(report, "provider.device", CHECK_PASS, NULL, "%s", message);
    else if (strcmp(result, "unauthorized_client") == 0 || strcmp(result, "invalid_client") == 0)
        check_add(report, "provider.device", CHECK_FAIL,
                  "allow this client the device authorization grant at the provider, or set "
                  "sign_in = browser",
                  "the provider refused the device authorization: %s (%s)", message, result);
    else if (is_transport_failure(result))
        check_add(report, "provider.device", CHECK_FAIL,
                  "check device_authorization_url, ca_file, DNS and the firewall", "%s (%s)",
                  message, result);
    else
        check_add(report, "provider.device", CHECK_WARN,
                  "check the client's settings for the device grant at the provider", "%s (%s)",
                  message, result);
}

/* RFC 6749 5.2: a token endpoint authenticates the client before it looks at the grant. */
static void judge_token(struct check_report *report, const char *result, const char *message)
{
    if (strcmp(result, "invalid_grant") == 0)
        check_add(report, "provider.token", CHECK_PASS, NULL,
                  "the client id and secret are right: a deliberately invalid code got "
                  "invalid_grant (%s)",
                  message);
    else if (strcmp(result, "invalid_client") == 0 || strcmp(result, "unauthorized_client") == 0)
        check_add(report, "provider.token", CHECK_FAIL,
                  "correct client_id and client_secret (the provider's app settings)",
                  "the provider did not accept the client: %s (%s)", result, message);
    else if (strcmp(result, PROBE_TOKEN_ACCEPTED) == 0)
        check_add(report, "provider.token", CHECK_FAIL, "check token_url: it is no OAuth server",
                  "%s; they were dropped unread", message);
    else if (is_transport_failure(result))
        check_add(report, "provider.token", CHECK_FAIL,
                  "check token_url, ca_file, DNS and the firewall from this machine", "%s (%s)",
                  message, result);
    else
        check_add(report, "provider.token", CHECK_WARN,
                  "check token_url and the client's settings at the provider",
                  "no invalid_grant or invalid_client for a deliberately invalid code, so "
                  "whether the client authenticated is unknown: %s (%s)",
                  message, result);
}

void check_provider(struct check_report *report, const struct provider_config *config,
                    const char *helper_path)
{
    struct user_account account;
    gid_t groups[PROBE_GROUPS_MAX];
    static char path[] = "PATH=/usr/bin:/bin", home[] = "HOME=/", language[] = "LANG=C";
    struct helper_environment environment = {{path, home, language, NULL}, 3};
    struct protocol_message request, reply;
    char why[512];
    const char *error;

    memset(&request, 0, sizeof(request));
    memset(&reply, 0, sizeof(reply));
    probe_helper_path = helper_path;
    if (probe_account(&account, groups) != 0) {
        check_add(report, "provider", CHECK_FAIL, "create the account " PROBE_ACCOUNT,
                  "no unprivileged account '" PROBE_ACCOUNT "' to talk to the provider as");
        goto out;
    }
    if (build_probe(&request, config) != 0) {
        check_add(report, "provider", CHECK_FAIL, NULL, "the probe request does not fit");
        goto out;
    }
    /* Up to three requests, and with discovery the metadata first. */
    if (helper_run(&account, &environment, &request,
                   (int)config->timeout * (config->discover ? 4000 : 3000) + PROBE_SLACK_MS, &reply,
                   why, sizeof(why)) != 0 ||
        protocol_reply_check(protocol_request_find(CHANNEL_CHECK, "probe"), &reply, why,
                             sizeof(why)) != 0) {
        check_add(report, "provider", CHECK_FAIL,
                  "see install.helper; the helper must run as " PROBE_ACCOUNT, "%s", why);
        goto out;
    }
    error = strcmp(reply.command, "error") == 0 ? protocol_get(&reply, FIELD_MESSAGE) : NULL;
    if (error != NULL) {
        check_add(report, "provider", CHECK_FAIL, "correct the configuration", "%s", error);
        goto out;
    }
    if (strcmp(protocol_get(&reply, FIELD_AUTHORIZE_RESULT), PROBE_NOT_USED) != 0)
        judge_authorize(report, protocol_get(&reply, FIELD_AUTHORIZE_RESULT),
                        protocol_get(&reply, FIELD_AUTHORIZE_MESSAGE));
    judge_device(report, protocol_get(&reply, FIELD_DEVICE_RESULT),
                 protocol_get(&reply, FIELD_DEVICE_MESSAGE));
    judge_token(report, protocol_get(&reply, FIELD_GRANT_RESULT),
                protocol_get(&reply, FIELD_GRANT_MESSAGE));
out:
    protocol_message_clear(&request);
    protocol_message_clear(&reply);
}

/* --- the loopback port ---------------------------------------------------------------------- */

/* The inode of a socket listening on port in /proc/net/FILE (tcp or tcp6); 0 when none. */
static unsigned long listening_inode(const char *file, int port)
{
    char path[64], line[512];
    unsigned long inode = 0;
    FILE *table;

    snprintf(path, sizeof(path), "/proc/net/%s", file);
    table = fopen(path, "re");
    while (table != NULL && inode == 0 && fgets(line, sizeof(line), table) != NULL) {
        char local[64];
        unsigned local_port, state;
        unsigned long found;
        if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*u %lu", local,
                   &local_port, &state, &found) == 4 &&
            (int)local_port == port && state == 0x0A)
            inode = found;
    }
    if (table != NULL)
        fclose(table);
    return inode;
}

/* "pid 123 (python3, user alice)" for the process holding socket:[inode]; as a user only the
 * user's own processes can be looked into. */
static char *socket_holder(unsigned long inode)
{
    char wanted[64], *holder = NULL;
    DIR *processes = opendir("/proc");
    struct dirent *process;

    snprintf(wanted, sizeof(wanted), "socket:[%lu]", inode);
    while (processes != NULL && holder == NULL && (process = readdir(processes)) != NULL) {
        char fd_path[300], link[600], target[128];
        DIR *fds;
        struct dirent *fd;
        if (process->d_name[0] < '1' || process->d_name[0] > '9')
            continue;
        snprintf(fd_path, sizeof(fd_path), "/proc/%s/fd", process->d_name);
        fds = opendir(fd_path);
        while (fds != NULL && holder == NULL && (fd = readdir(fds)) != NULL) {
            ssize_t length;
            snprintf(link, sizeof(link), "%s/%s", fd_path, fd->d_name);
            length = readlink(link, target, sizeof(target) - 1);
            if (length <= 0)
                continue;
            target[length] = '\0';
            if (strcmp(target, wanted) == 0) {
                char comm_path[300], *comm = NULL;
                struct stat info;
                struct passwd *owner;
                snprintf(comm_path, sizeof(comm_path), "/proc/%s", process->d_name);
                owner = stat(comm_path, &info) == 0 ? getpwuid(info.st_uid) : NULL;
                snprintf(comm_path, sizeof(comm_path), "/proc/%s/comm", process->d_name);
                g_file_get_contents(comm_path, &comm, NULL, NULL);
                if (comm != NULL)
                    g_strchomp(comm);
                holder = g_strdup_printf("pid %s (%s, user %s)", process->d_name,
                                         comm != NULL ? comm : "?",
                                         owner != NULL ? owner->pw_name : "?");
                g_free(comm);
            }
        }
        if (fds != NULL)
            closedir(fds);
    }
    if (processes != NULL)
        closedir(processes);
    return holder;
}

void check_redirect_port(struct check_report *report, const char *redirect_uri)
{
    bool loopback;
    int port = redirect_loopback_port(redirect_uri, &loopback);
    unsigned long inode;
    char *holder;

    if (port == 0) {
        check_add(report, "port", CHECK_SKIP, NULL, "redirect_uri names no loopback port");
        return;
    }
    inode = listening_inode("tcp", port);
    if (inode == 0)
        inode = listening_inode("tcp6", port);
    if (inode == 0) {
        check_add(report, "port", CHECK_PASS, NULL, "port %d is free on this machine", port);
        return;
    }
    holder = socket_holder(inode);
    if (holder != NULL && strstr(holder, "(pam_oauth_keyr") != NULL)
        check_add(report, "port", CHECK_PASS, NULL, "port %d is held by a refresher's sign-in: %s",
                  port, holder);
    else
        check_add(report, "port", CHECK_FAIL,
                  "stop that program or choose another port (here and at the provider)",
                  "port %d is taken by %s: the sign-in cannot listen there, and that program "
                  "would receive the users' codes",
                  port, holder != NULL ? holder : "a process this user cannot see");
    g_free(holder);
}
