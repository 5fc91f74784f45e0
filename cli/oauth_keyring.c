/* oauth-keyring: the token for developer tools, from the user's keyring.
 *
 * Runs as the user, never as root and never setuid. It reads the items pam_oauth_keyring
 * stored; when the access token is due it asks the user's refresher (which holds the client
 * secret) for a fresh one, under the same once-only lock as every other refresh. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <json-c/json.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/keyring.h"
#include "store/refresh.h"
#include "cli/check.h"
#include "cli/desktop_signin.h"
#include "cli/device_offer.h"
#include "cli/exec_command.h"
#include "cli/token_output.h"
#include "cli/login.h"
#include "cli/refresher_client.h"
#include "store/logout.h"
#include "common/secret_memory.h"
#include "store/user_state.h"

/* Documented in oauth-keyring --help and the README; scripts rely on them. */
enum exit_code {
    EXIT_OK = 0,
    EXIT_USAGE = 1,                /* bad arguments or an internal error */
    EXIT_AUTHORIZATION_NEEDED = 2, /* no usable tokens: sign in at the next login */
    EXIT_KEYRING = 3,              /* the keyring is locked or unreachable */
    EXIT_PROVIDER_UNREACHABLE = 4, /* no fresh token now: provider or refresher unavailable */
    EXIT_CHECK_WARNINGS = 5,       /* check: warnings and no failure (1: a failure) */
};
_Static_assert(EXIT_CHECK_WARNINGS == CHECK_EXIT_WARNINGS, "check's status is documented here");

#define DEFAULT_MIN_VALID 60
#define REFRESHER_WAIT_MS 35000
/* status asks the refresher what waits; it answers from memory at once unless it is busy with
 * a refresh (a hung provider holds it up to the timeout): then status goes on without. */
#define DEVICE_STATUS_WAIT_MS 500

struct cli {
    const char *command;
    const char *subcommand; /* git-credential's get|store|erase */
    const char *service;
    const char *git_username;
    char **exec_argv; /* exec's COMMAND and its arguments: what follows "--" */
    long min_valid;
    bool json;
    bool if_needed;             /* login: nothing to do when a usable token is stored */
    struct login_options login; /* login's --no-browser, --qr, --desktop, --device */
    struct check_options check; /* check's --provider, --config, --pam-dir, --destdir */
    char *username;
    struct keyring *keyring;
    struct stored_pair pair;
    struct token_item_names names;
};

static const char usage_text[] =
    "usage: oauth-keyring COMMAND [--service NAME] [options]\n"
    "  token [--min-valid SECONDS]   print the access token (fresh for at least SECONDS, 60)\n"
    "  status [--json]               what is stored, when it expires, the last event; no secret\n"
    "  env                           export SNYK_OAUTH_TOKEN=... (Snyk) or OAUTH_ACCESS_TOKEN=...\n"
    "  exec [--min-valid S] -- COMMAND [ARG...]\n"
    "                                run COMMAND with that variable in its environment only;\n"
    "                                the exit status is then COMMAND's\n"
    "  logout                        revoke the refresh token and delete both items\n"
    "  login [--no-browser] [--qr] [--if-needed] [--desktop] [--device]\n"
    "                                sign in through the session's refresher: opens its\n"
    "                                one-use start address in the browser (graphical\n"
    "                                sessions), or paste the address the browser ends on;\n"
    "                                --device: approve a code on your phone or another\n"
    "                                computer (RFC 8628; ssh, no browser needed);\n"
    "                                --desktop: the autostart entry's run (a notification;\n"
    "                                silent exit 0 when turned off or no refresher runs;\n"
    "                                without --service, each service that needs it in turn)\n"
    "  check [--provider NAME] [--config PATH] [--pam-dir DIR] [--destdir DIR] [--json]\n"
    "                                the admin's pre-flight, as root: the configuration, the\n"
    "                                installation, the PAM stacks (DIR, /etc/pam.d), the\n"
    "                                provider for real (as nobody) and the redirect's port;\n"
    "                                --destdir: the files of a `make install DESTDIR=DIR`;\n"
    "                                as a user: your keyring, refresher and status\n"
    "  git-credential get|store|erase [--username NAME]\n"
    "                                git's credential-helper protocol (username: oauth2)\n"
    "  --help                        print this and exit\n"
    "The service defaults to $OAUTH_KEYRING_SERVICE, else the only one in the keyring (for\n"
    "login: the only one whose refresher runs).\n"
    "Exit status: 0 success, 1 usage or internal error, 2 authorization needed (sign in with\n"
    "`oauth-keyring login` or at the next login), 3 keyring locked or unreachable, 4 provider or "
    "refresher unreachable; check: 0 all passed, 1 a failure, 5 warnings only.\n";

static void cli_cleanup(struct cli *cli)
{
    stored_pair_clear(&cli->pair);
    keyring_close(cli->keyring);
    g_free(cli->username);
}

/* What was wrong, in one line, then the usage: all on stderr. Returns -1 for the caller. */
static int usage_error(const char *format, ...) G_GNUC_PRINTF(1, 2);
static int usage_error(const char *format, ...)
{
    va_list arguments;

    fputs("oauth-keyring: ", stderr);
    va_start(arguments, format);
    vfprintf(stderr, format, arguments);
    va_end(arguments);
    fputc('\n', stderr);
    fputs(usage_text, stderr);
    return -1;
}

/* An option getopt_long refused (opterr is off: the message is ours). Only long options are
 * known, so a short one is unknown; optopt is 0 for an unknown long option, and the option's
 * letter for a known one given a value it does not take or missing the one it needs. */
static int option_error(int option, char **argv)
{
    const char *argument = optind > 0 ? argv[optind - 1] : "";
    int name_length = (int)strcspn(argument, "=");
    bool long_option = strncmp(argument, "--", 2) == 0;

    if (option == ':' && long_option)
        return usage_error("%.*s needs a value", name_length, argument);
    if (optopt == 0 && long_option)
        return usage_error("unknown option '%.*s'", name_length, argument);
    if (long_option && argument[name_length] == '=')
        return usage_error("%.*s takes no value", name_length, argument);
    return usage_error("unknown option '-%c'", optopt != 0 ? optopt : '?');
}

static int parse_min_valid(const char *text, long *seconds)
{
    char *end = NULL;

    *seconds = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || *seconds > 86400)
        return usage_error("--min-valid takes whole seconds from 0 to 86400, not '%s'", text);
    return 0;
}

/* 0 to go on, 1 for --help, -1 after a usage error (already printed). */
static int parse_arguments(int argc, char **argv, struct cli *cli)
{
    static const struct option options[] = {
        {"service", required_argument, NULL, 's'},
        {"min-valid", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},
        {"username", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {"no-browser", no_argument, NULL, 'b'},
        {"qr", no_argument, NULL, 'q'},
        {"if-needed", no_argument, NULL, 'i'},
        {"desktop", no_argument, NULL, 'd'},
        {"device", no_argument, NULL, 'v'},
        {"provider", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'},
        {"pam-dir", required_argument, NULL, 'P'},
        {"destdir", required_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    bool help = false;
    int option;

    /* exec's COMMAND is everything after the first "--", whatever options it has itself:
     * getopt never sees it. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            cli->exec_argv = &argv[i + 1];
            argc = i;
            break;
        }
    }
    cli->min_valid = DEFAULT_MIN_VALID;
    cli->git_username = "oauth2";
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        if (option == 's')
            cli->service = optarg;
        else if (option == 'j')
            cli->json = true;
        else if (option == 'u')
            cli->git_username = optarg;
        else if (option == 'h')
            help = true;
        else if (option == 'b')
            cli->login.no_browser = true;
        else if (option == 'q')
            cli->login.qr = true;
        else if (option == 'i')
            cli->if_needed = true;
        else if (option == 'd')
            cli->login.desktop = true;
        else if (option == 'v')
            cli->login.device = true;
        else if (option == 'p')
            cli->check.provider = optarg;
        else if (option == 'c')
            cli->check.config_path = optarg;
        else if (option == 'P')
            cli->check.pam_dir = optarg;
        else if (option == 'D')
            cli->check.destdir = optarg;
        else if (option != 'm')
            return option_error(option, argv);
        else if (parse_min_valid(optarg, &cli->min_valid) != 0)
            return -1;
    }
    if (help)
        return 1;
    if (optind >= argc)
        return usage_error("no command given");
    cli->command = argv[optind++];
    if (strcmp(cli->command, "token") != 0 && strcmp(cli->command, "status") != 0 &&
        strcmp(cli->command, "env") != 0 && strcmp(cli->command, "logout") != 0 &&
        strcmp(cli->command, "git-credential") != 0 && strcmp(cli->command, "exec") != 0 &&
        strcmp(cli->command, "login") != 0 && strcmp(cli->command, "check") != 0)
        return usage_error("unknown command '%s'", cli->command);
    cli->check.json = cli->json;
    if (strcmp(cli->command, "exec") == 0 && (cli->exec_argv == NULL || cli->exec_argv[0] == NULL))
        return usage_error("exec needs -- and then the command to run");
    if (strcmp(cli->command, "exec") != 0 && cli->exec_argv != NULL && cli->exec_argv[0] != NULL)
        return usage_error("only exec takes a command after --");
    if (strcmp(cli->command, "git-credential") == 0) {
        if (optind >= argc)
            return usage_error("git-credential needs get, store or erase (git adds it)");
        cli->subcommand = argv[optind++];
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

/* The session bus as GLib finds it: $DBUS_SESSION_BUS_ADDRESS, else systemd's
 * $XDG_RUNTIME_DIR/bus (a socket of ours). Without either GLib would try to autolaunch a bus
 * through X11 - never the user's, so never one with their keyring - and fail with "Cannot
 * autolaunch D-Bus without X11 $DISPLAY", which names neither. */
static bool session_bus_known(void)
{
    const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
    char *socket_path;
    struct stat info;
    bool found;

    if (getenv("DBUS_SESSION_BUS_ADDRESS") != NULL)
        return true;
    if (runtime_dir == NULL || runtime_dir[0] != '/')
        return false;
    socket_path = g_build_filename(runtime_dir, "bus", NULL);
    found = stat(socket_path, &info) == 0 && S_ISSOCK(info.st_mode) && info.st_uid == getuid();
    g_free(socket_path);
    return found;
}

static int open_keyring(struct cli *cli)
{
    char why[512];

    if (!session_bus_known()) {
        fprintf(stderr, "oauth-keyring: DBUS_SESSION_BUS_ADDRESS is unset (and there is no "
                        "$XDG_RUNTIME_DIR/bus): no session bus to find the keyring on; a shell "
                        "from su or sudo has none - run it in the user's own session\n");
        return EXIT_KEYRING;
    }
    if (keyring_open(&cli->keyring, KEYRING_FOR_TOOL, why, sizeof(why)) != KEYRING_READY) {
        fprintf(stderr, "oauth-keyring: %s\n", why);
        return EXIT_KEYRING;
    }
    return EXIT_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a, b, c", sorted (names is sorted in place). */
static char *joined(char **names)
{
    qsort(names, g_strv_length(names), sizeof(*names), compare_names);
    return g_strjoinv(", ", names);
}

/* A service with nothing in the keyring: exit 2, and which services it does hold, if any (a
 * mistyped --service). */
static int no_tokens(struct cli *cli)
{
    char **services = keyring_list_services(cli->keyring, cli->username);
    char *list = services != NULL && services[0] != NULL ? joined(services) : NULL;

    if (list != NULL)
        fprintf(stderr,
                "oauth-keyring: no tokens for service %s; the keyring holds tokens for %s\n",
                cli->service, list);
    else
        fprintf(stderr,
                "oauth-keyring: no tokens for service %s; sign in with `oauth-keyring login`, or "
                "at the next login\n",
                cli->service);
    g_free(list);
    g_strfreev(services);
    return EXIT_AUTHORIZATION_NEEDED;
}

/* The one name in services; else exit 2 (none) or 1 (several, listed). what: where from. */
static int only_service(struct cli *cli, char **services, const char *what)
{
    char *list;

    if (services == NULL || services[0] == NULL) {
        fprintf(stderr, "oauth-keyring: no tokens in the keyring; sign in with `oauth-keyring "
                        "login`, or at the next login\n");
        return EXIT_AUTHORIZATION_NEEDED;
    }
    if (services[1] != NULL) {
        list = joined(services);
        fprintf(stderr,
                "oauth-keyring: several services %s: %s; name one with --service or "
                "$OAUTH_KEYRING_SERVICE\n",
                what, list);
        g_free(list);
        return EXIT_USAGE;
    }
    cli->service = g_intern_string(services[0]);
    return EXIT_OK;
}

static int no_refresher_at_all(void)
{
    fprintf(stderr, "oauth-keyring: no refresher is running: sign in at your next login, or ask "
                    "your admin to enable the module for this service\n");
    return EXIT_PROVIDER_UNREACHABLE;
}

/* --service, else $OAUTH_KEYRING_SERVICE, else the one service the keyring holds for us - or,
 * for status when it holds none (after a logout), the one whose last event is recorded. */
static int choose_service(struct cli *cli)
{
    char **services;
    int rv;

    if (cli->service == NULL)
        cli->service = getenv("OAUTH_KEYRING_SERVICE");
    if (cli->service != NULL)
        return EXIT_OK;
    services = keyring_list_services(cli->keyring, cli->username);
    if (strcmp(cli->command, "login") == 0) {
        /* Before a first sign-in the keyring holds nothing: the running refresher tells. */
        g_strfreev(services);
        services = user_state_running_services();
        if (services[0] == NULL)
            rv = no_refresher_at_all();
        else if (services[1] != NULL && cli->login.desktop)
            rv = EXIT_OK; /* each of them, in turn: desktop_login_each */
        else
            rv = only_service(cli, services, "have a refresher running");
    } else if (services != NULL && services[0] == NULL && strcmp(cli->command, "status") == 0) {
        g_strfreev(services);
        services = user_state_recorded_services();
        rv = services[0] != NULL ? only_service(cli, services, "have a recorded event")
                                 : only_service(cli, NULL, NULL);
    } else {
        rv = only_service(cli, services, "in the keyring");
    }
    g_strfreev(services);
    return rv;
}

static int read_pair(struct cli *cli)
{
    char why[512];

    stored_pair_clear(&cli->pair);
    if (keyring_read_pair(cli->keyring, &cli->names, &cli->pair, why, sizeof(why)) != 0) {
        fprintf(stderr, "oauth-keyring: %s\n", why);
        return EXIT_KEYRING;
    }
    return EXIT_OK;
}

/* Valid for min_valid more seconds - or, for a provider whose tokens live shorter than twice
 * that, for the first half of the lifetime: the same rule the refresh follows. */
static bool access_token_usable(const struct cli *cli, long long now)
{
    return cli->pair.access_token != NULL &&
           (cli->pair.access_expires_at == 0 ||
            now <
                refresh_due_at(cli->pair.obtained_at, cli->pair.access_expires_at, cli->min_valid));
}

static int exit_for_outcome(const char *outcome)
{
    if (strcmp(outcome, "refreshed") == 0 || strcmp(outcome, "not-due") == 0)
        return EXIT_OK;
    if (strcmp(outcome, "authorization-needed") == 0)
        return EXIT_AUTHORIZATION_NEEDED;
    if (strcmp(outcome, "keyring-failed") == 0)
        return EXIT_KEYRING;
    return EXIT_PROVIDER_UNREACHABLE;
}

/* Asks the refresher for a token valid for min_valid seconds; re-reads the keyring after. */
static int refresh_through_refresher(struct cli *cli)
{
    struct refresher_answer answer;
    int rv;

    if (refresher_ask(cli->service, REQUEST_SOCKET_REFRESH, cli->min_valid, &answer,
                      REFRESHER_WAIT_MS) != 0) {
        fprintf(stderr,
                "oauth-keyring: the token is due and no refresher is running for %s; "
                "it starts at login\n",
                cli->service);
        return EXIT_PROVIDER_UNREACHABLE;
    }
    rv = exit_for_outcome(answer.outcome);
    if (rv != EXIT_OK)
        fprintf(stderr, "oauth-keyring: %s: %s\n", answer.outcome, answer.message);
    return rv == EXIT_OK ? read_pair(cli) : rv;
}

/* A token valid for at least min_valid seconds in cli->pair, or why not. */
static int fresh_token(struct cli *cli)
{
    int rv = read_pair(cli);

    if (rv != EXIT_OK || access_token_usable(cli, (long long)time(NULL)))
        return rv;
    if (cli->pair.access_token == NULL && cli->pair.refresh_token == NULL)
        return no_tokens(cli);
    rv = refresh_through_refresher(cli);
    if (rv == EXIT_OK && !access_token_usable(cli, (long long)time(NULL))) {
        /* Never print a token that will not last as long as asked. */
        fprintf(stderr, "oauth-keyring: no token valid for %ld s could be had\n", cli->min_valid);
        rv = EXIT_PROVIDER_UNREACHABLE;
    }
    return rv;
}

static int command_token(struct cli *cli)
{
    int rv = fresh_token(cli);

    if (rv == EXIT_OK)
        printf("%s\n", cli->pair.access_token);
    return rv;
}

static const char *token_variable(const struct cli *cli)
{
    return token_variable_for(cli->pair.preset);
}

static int command_env(struct cli *cli)
{
    int rv = fresh_token(cli);

    if (rv == EXIT_OK)
        print_export(token_variable(cli), cli->pair.access_token);
    return rv;
}

/* exec: COMMAND runs with the fresh token in its environment and nowhere else - not in ours
 * (/proc/OUR-PID/environ is the block we were started with), not in the shell's. Without a
 * token COMMAND is not run and the exit status is ours (2, 3, 4); else COMMAND's: 127 when it
 * was not found, 126 when it could not be run. */
static int command_exec(struct cli *cli)
{
    struct exec_run run;
    int rv = fresh_token(cli);

    memset(&run, 0, sizeof(run));
    if (rv == EXIT_OK)
        rv = exec_command_prepare(&run, token_variable(cli), cli->pair.access_token);
    if (rv != EXIT_OK)
        goto out;
    /* Our copies go now; and nothing of ours holds the keyring's bus while COMMAND runs. */
    stored_pair_clear(&cli->pair);
    keyring_close(cli->keyring);
    cli->keyring = NULL;
    rv = exec_command_run(&run, cli->exec_argv);
out:
    exec_run_cleanup(&run);
    return rv;
}

static void format_time(long long when, char *out, size_t size)
{
    time_t seconds = (time_t)when;
    struct tm utc;

    if (when <= 0 || gmtime_r(&seconds, &utc) == NULL)
        snprintf(out, size, "unknown");
    else
        strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

static void add_string(struct json_object *object, const char *name, const char *value)
{
    json_object_object_add(object, name, value != NULL ? json_object_new_string(value) : NULL);
}

/* The device sign-in the refresher polls for (NULL: none waits), on a line of its own after
 * the others (scripts read those as they were). */
static void print_device_text(const struct device_offer *device)
{
    char until[32];

    if (device == NULL)
        return;
    format_time(device->expires_at, until, sizeof(until));
    printf("device sign-in: waiting for approval at %s, code %s, until %s\n",
           device->verification_uri, device->user_code, until);
}

static void print_status_text(const struct cli *cli, const struct refresh_status *status,
                              bool running, const struct device_offer *device)
{
    char access[32], refresh[32], last[32];
    bool event = status->outcome[0] != '\0';

    format_time(cli->pair.access_expires_at, access, sizeof(access));
    format_time(cli->pair.refresh_expires_at, refresh, sizeof(refresh));
    format_time(status->time, last, sizeof(last));
    printf("service:        %s\nuser:           %s\naccess token:   %s, expires %s\n"
           "refresh token:  %s, expires %s\nrefresher:      %s\nlast event:     %s%s%s%s%s\n",
           cli->service, cli->username, cli->pair.access_token != NULL ? "present" : "absent",
           access, cli->pair.refresh_token != NULL ? "present" : "absent", refresh,
           running ? "running" : "not running", event ? status->outcome : "none", event ? " " : "",
           event ? last : "", status->message[0] != '\0' ? ": " : "", status->message);
    print_device_text(device);
}

/* The last event under three member names: outcome, time, message. */
static void add_last_event(struct json_object *object, const char *const names[3],
                           const struct refresh_status *status)
{
    add_string(object, names[0], status->outcome[0] != '\0' ? status->outcome : NULL);
    json_object_object_add(object, names[1], json_object_new_int64(status->time));
    add_string(object, names[2], status->message[0] != '\0' ? status->message : NULL);
}

/* The device sign-in that waits as an object, or null. */
static struct json_object *device_json(const struct device_offer *device)
{
    struct json_object *object;

    if (device == NULL)
        return NULL;
    object = json_object_new_object();
    add_string(object, "sign_in", device->name);
    add_string(object, "user_code", device->user_code);
    add_string(object, "verification_uri", device->verification_uri);
    add_string(object, "verification_uri_complete", device->verification_uri_complete);
    json_object_object_add(object, "expires_at", json_object_new_int64(device->expires_at));
    return object;
}

static void print_status_json(const struct cli *cli, const struct refresh_status *status,
                              bool running, const struct device_offer *device)
{
    static const char *const event_names[3] = {"last_event", "last_event_at", "last_event_message"};
    /* The names of before sign-ins and logouts were recorded too; scripts may read them. */
    static const char *const older_names[3] = {"last_refresh_outcome", "last_refresh_at",
                                               "last_refresh_message"};
    struct json_object *object = json_object_new_object();

    add_string(object, "service", cli->service);
    add_string(object, "user", cli->username);
    json_object_object_add(object, "access_token",
                           json_object_new_boolean(cli->pair.access_token != NULL));
    json_object_object_add(object, "access_expires_at",
                           json_object_new_int64(cli->pair.access_expires_at));
    json_object_object_add(object, "refresh_token",
                           json_object_new_boolean(cli->pair.refresh_token != NULL));
    json_object_object_add(object, "refresh_expires_at",
                           json_object_new_int64(cli->pair.refresh_expires_at));
    json_object_object_add(object, "refresher_running", json_object_new_boolean(running));
    add_last_event(object, event_names, status);
    add_last_event(object, older_names, status);
    json_object_object_add(object, "device_sign_in", device_json(device));
    printf("%s\n", json_object_to_json_string_ext(object, JSON_C_TO_STRING_PRETTY));
    json_object_put(object);
}

/* What the status shows, and the device sign-in the running refresher polls for, if any. */
static void print_status(const struct cli *cli, const struct refresh_status *status)
{
    struct device_offer device;
    bool running = refresher_is_running(cli->service), waiting = false;

    memset(&device, 0, sizeof(device));
    /* Asked only when the last event says a device sign-in started: status must answer at
     * once whatever the refresher is doing (tests/refresh_token_from_memory.sh). */
    if (running && strcmp(status->outcome, "device-waiting") == 0)
        waiting = device_offer_ask_waiting(cli->service, DEVICE_STATUS_WAIT_MS, &device) == 1;
    if (cli->json)
        print_status_json(cli, status, running, waiting ? &device : NULL);
    else
        print_status_text(cli, status, running, waiting ? &device : NULL);
    device_offer_clear(&device);
}

/* What is stored, and the last event of any kind (a sign-in, a refresh, a logout): after a
 * logout that is all there is to show. Nothing stored and nothing recorded: exit 2. */
static int command_status(struct cli *cli)
{
    struct refresh_status status;
    int rv = read_pair(cli);

    if (rv == EXIT_OK)
        refresh_status_read(cli->service, &status);
    if (rv == EXIT_OK && cli->pair.access_token == NULL && cli->pair.refresh_token == NULL &&
        status.outcome[0] == '\0')
        rv = no_tokens(cli);
    else if (rv == EXIT_OK)
        print_status(cli, &status);
    return rv;
}

/* The refresher's answer to "logout": only "logged-out" means the items are gone. */
static int logout_answer(const struct refresher_answer *answer)
{
    const char *message = answer->message;

    if (strcmp(answer->outcome, "logged-out") == 0) {
        printf("%s\n", message);
        return EXIT_OK;
    }
    if (strcmp(answer->outcome, "keyring-failed") == 0) {
        fprintf(stderr, "oauth-keyring: not logged out: %s; the tokens are still in the keyring\n",
                message);
        return EXIT_KEYRING;
    }
    fprintf(stderr, "oauth-keyring: the logout may not have happened: %s: %s\n", answer->outcome,
            message);
    return EXIT_PROVIDER_UNREACHABLE;
}

static int command_logout(struct cli *cli)
{
    struct refresh_request request = {.names = cli->names, .timeout_ms = 10000};
    struct refresher_answer answer;
    char message[512], why[512];

    if (refresher_ask(cli->service, REQUEST_SOCKET_LOGOUT, 0, &answer, REFRESHER_WAIT_MS) == 0)
        return logout_answer(&answer);
    /* No refresher (and so no client secret): delete here; the provider is not told. */
    if (keyring_read_pair(cli->keyring, &cli->names, &cli->pair, why, sizeof(why)) == 0 &&
        cli->pair.access_token == NULL && cli->pair.refresh_token == NULL)
        return no_tokens(cli);
    stored_pair_clear(&cli->pair);
    if (logout_pair(cli->keyring, &request, NULL, message, sizeof(message)) != 0) {
        fprintf(stderr, "oauth-keyring: not logged out: %s; the tokens are still in the keyring\n",
                message);
        return EXIT_KEYRING;
    }
    printf("%s (no refresher was running to revoke it)\n", message);
    return EXIT_OK;
}

/* git credential-helper protocol: attributes on stdin up to a blank line or EOF. */
static int command_git_credential(struct cli *cli)
{
    char line[4096];
    bool https = false;
    int rv;

    for (int count = 0; count < 64 && fgets(line, sizeof(line), stdin) != NULL; count++) {
        if (line[0] == '\n')
            break;
        if (strcmp(line, "protocol=https\n") == 0)
            https = true;
    }
    secret_wipe(line, sizeof(line));
    if (cli->subcommand == NULL || strcmp(cli->subcommand, "get") != 0)
        return EXIT_OK; /* store and erase: the keyring's items are ours, not git's */
    if (!https) {
        /* Configured too broadly, git could ask for plain http: never send a token there. */
        fprintf(stderr, "oauth-keyring: git-credential answers for https only\n");
        return EXIT_OK;
    }
    rv = fresh_token(cli);
    if (rv == EXIT_OK)
        printf("username=%s\npassword=%s\n", cli->git_username, cli->pair.access_token);
    /* Nothing printed lets git try its next helper or ask; the reason went to stderr. */
    return EXIT_OK;
}

/* A sign-in through the refresher; with --if-needed none when a usable token is stored (one
 * that is valid, or a refresh token the refresher renews it with). */
static int command_login(struct cli *cli)
{
    if (cli->if_needed && read_pair(cli) == EXIT_OK &&
        (cli->pair.refresh_token != NULL || access_token_usable(cli, (long long)time(NULL))))
        return EXIT_OK;
    stored_pair_clear(&cli->pair);
    return login_run(cli->service, &cli->login);
}

/* login --desktop with no service named and several refreshers running: the autostart entry
 * runs once per graphical login for every service the module serves (a fleet with Snyk and a
 * second provider), so it signs in to each that needs it, one after the other, in name order.
 * One that fails (a provider down, a denial) does not keep the others from their turn; an
 * interruption (Ctrl-C, the desktop session ending) ends them all. The first failure's status,
 * else 0. */
static int desktop_login_each(struct cli *cli)
{
    char **services = user_state_running_services();
    int rv = EXIT_OK;

    qsort(services, g_strv_length(services), sizeof(*services), compare_names);
    for (size_t i = 0; services[i] != NULL && !login_interrupted(); i++) {
        int status;
        cli->service = g_intern_string(services[i]);
        cli->names.service = cli->service;
        status = command_login(cli);
        if (rv == EXIT_OK)
            rv = status;
    }
    g_strfreev(services);
    return rv;
}

/* login --desktop is the XDG autostart entry's command, run at every graphical login: it must
 * never bother a user whose site turned the desktop sign-in off (the module's
 * desktop_signin=no) or whose login the module did not serve (no refresher runs). True when
 * it should exit 0 without a word, before the keyring is even looked at. */
static bool desktop_login_unwanted(const struct cli *cli)
{
    const char *service = cli->service != NULL ? cli->service : getenv("OAUTH_KEYRING_SERVICE");
    char **running;
    bool unwanted;

    if (cli->command == NULL || strcmp(cli->command, "login") != 0 || !cli->login.desktop)
        return false;
    if (desktop_signin_turned_off())
        return true;
    if (service != NULL)
        return !refresher_is_running(service);
    running = user_state_running_services();
    unwanted = running == NULL || running[0] == NULL;
    g_strfreev(running);
    return unwanted;
}

/* The command is one of these: parse_arguments checked. */
static int dispatch(struct cli *cli)
{
    if (strcmp(cli->command, "token") == 0)
        return command_token(cli);
    if (strcmp(cli->command, "env") == 0)
        return command_env(cli);
    if (strcmp(cli->command, "status") == 0)
        return command_status(cli);
    if (strcmp(cli->command, "logout") == 0)
        return command_logout(cli);
    if (strcmp(cli->command, "exec") == 0)
        return command_exec(cli);
    if (strcmp(cli->command, "login") == 0)
        return cli->service != NULL ? command_login(cli) : desktop_login_each(cli);
    return command_git_credential(cli);
}

int main(int argc, char **argv)
{
    struct cli cli;
    struct passwd *account;
    int rv;

    memset(&cli, 0, sizeof(cli));
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    rv = parse_arguments(argc, argv, &cli);
    if (rv != 0) {
        if (rv > 0)
            fputs(usage_text, stdout);
        return rv > 0 ? EXIT_OK : EXIT_USAGE;
    }
    /* The one command for root: it reads the root-only configuration. */
    if (cli.command != NULL && strcmp(cli.command, "check") == 0)
        return check_run(&cli.check);
    account = getpwuid(getuid());
    if (account == NULL || getuid() == 0) {
        fprintf(stderr, "oauth-keyring: run it as the user whose tokens these are, not root\n");
        return EXIT_USAGE;
    }
    cli.username = g_strdup(account->pw_name);
    if (desktop_login_unwanted(&cli)) {
        g_free(cli.username);
        return EXIT_OK;
    }
    rv = open_keyring(&cli);
    if (rv == EXIT_OK)
        rv = choose_service(&cli);
    if (rv == EXIT_OK) {
        cli.names.service = cli.service;
        cli.names.username = cli.username;
        rv = dispatch(&cli);
    }
    cli_cleanup(&cli);
    return rv;
}
