/* oauth-keyring, the front end: a token from the refresher's memory in one socket round trip
 * (issue 23), else the full CLI.
 *
 * token, env, exec and git-credential get ... ask the user's running refresher for its copy
 * of the access token (refresher/token_cache.h: the keyring's own, dropped on every change
 * there) and print it; this program is plain libc, so that costs a process start and one
 * request on SERVICE.sock - no GLib, no D-Bus, no libsecret. Everything else, and every case
 * the answer does not settle (no refresher, no answer within FRONT_WAIT_MS, no token valid
 * that long, an argument this simple reader does not take, no session bus), is the full CLI's
 * (pkglibexecdir/oauth-keyring-full, run with our own argv), which does exactly what
 * oauth-keyring always did, messages and exit statuses included: this program prints nothing
 * of its own but a token. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/exec_command.h"
#include "cli/token_output.h"
#include "common/deadline.h"
#include "common/message_socket.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"

/* The refresher answers from memory in well under a millisecond, or reads the keyring once
 * (tens of ms); a refresher that takes longer is busy (a refresh of its own against a slow
 * provider) or stuck, and the keyring is then the faster way. */
#define FRONT_WAIT_MS 1000
#define DEFAULT_MIN_VALID 60
#define FULL_CLI_NAME "oauth-keyring-full"
/* git-credential's input, read as the full CLI reads it (command_git_credential). */
#define CREDENTIAL_LINE_MAX 4096
#define CREDENTIAL_LINES_MAX 64

struct front {
    char **argv;            /* ours: the full CLI gets it unchanged */
    const char *command;    /* token, env, exec or git-credential */
    const char *subcommand; /* git-credential's */
    const char *service;    /* --service or $OAUTH_KEYRING_SERVICE; NULL: the only refresher */
    const char *git_username;
    char **exec_argv;
    long min_valid;
    bool credential_read; /* git-credential get: its request was read here */
    bool https;           /* and git asked for https */
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct protocol_message reply; /* holds the token: cleared on every way out */
    struct exec_run run;
};

static void front_cleanup(struct front *front)
{
    protocol_message_clear(&front->reply);
    exec_run_cleanup(&front->run);
}

/* An option's value, given as --name=VALUE or --name VALUE; NULL when it is not this option
 * or has no value. *index moves past what was taken. */
static const char *option_value(char **argv, int argc, int *index, const char *name)
{
    size_t length = strlen(name);
    const char *argument = argv[*index];

    if (argument == NULL || strncmp(argument, name, length) != 0)
        return NULL;
    if (argument[length] == '=')
        return argument + length + 1;
    if (argument[length] != '\0' || *index + 1 >= argc || argv[*index + 1] == NULL)
        return NULL; /* *index stays: nothing was taken */
    return argv[++*index];
}

/* --min-valid as the full CLI takes it; false for anything it would refuse. */
static bool take_min_valid(const char *text, long *seconds)
{
    char *end = NULL;

    if (text == NULL || text[0] < '0' || text[0] > '9')
        return false;
    *seconds = strtol(text, &end, 10);
    return *end == '\0' && *seconds <= 86400;
}

static bool take_word(struct front *front, const char *word)
{
    if (front->command == NULL)
        front->command = word;
    else if (strcmp(front->command, "git-credential") == 0 && front->subcommand == NULL)
        front->subcommand = word;
    else
        return false;
    return true;
}

/* Arguments this reader is sure of: the command and the options the four commands take, in
 * any order (getopt_long permutes). Anything else - --help, an abbreviation, a mistake - is
 * the full CLI's to answer or refuse. */
static bool parse_simple(int argc, char **argv, struct front *front)
{
    bool ok = getenv("POSIXLY_CORRECT") == NULL;
    const char *value;

    front->min_valid = DEFAULT_MIN_VALID;
    front->git_username = "oauth2";
    /* argv[i] != NULL: argc says so already; scan-build cannot know it. */
    for (int i = 1; ok && i < argc && argv[i] != NULL; i++) {
        if (strcmp(argv[i], "--") == 0) {
            front->exec_argv = &argv[i + 1];
            break;
        }
        if ((value = option_value(argv, argc, &i, "--service")) != NULL)
            front->service = value;
        else if ((value = option_value(argv, argc, &i, "--username")) != NULL)
            front->git_username = value;
        else if (strncmp(argv[i], "--min-valid", 11) == 0)
            ok = take_min_valid(option_value(argv, argc, &i, "--min-valid"), &front->min_valid);
        else
            ok = argv[i][0] != '-' && take_word(front, argv[i]);
    }
    return ok;
}

static bool command_is(const struct front *front, const char *name)
{
    return front->command != NULL && strcmp(front->command, name) == 0;
}

/* Only what the full CLI would answer with a token: the four commands, well formed. */
static bool fast_command(const struct front *front)
{
    bool has_command = front->exec_argv != NULL && front->exec_argv[0] != NULL;

    if (command_is(front, "exec"))
        return has_command;
    if (has_command)
        return false;
    if (command_is(front, "git-credential"))
        return front->subcommand != NULL && strcmp(front->subcommand, "get") == 0;
    return front->subcommand == NULL && (command_is(front, "token") || command_is(front, "env"));
}

/* The full CLI refuses to run without a session bus to find the keyring on (its
 * session_bus_known): so does this, by handing such a run to it. */
static bool session_bus_known(void)
{
    const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
    char path[512];
    struct stat info;

    if (getenv("DBUS_SESSION_BUS_ADDRESS") != NULL)
        return true;
    return runtime_dir != NULL && runtime_dir[0] == '/' &&
           (size_t)snprintf(path, sizeof(path), "%s/bus", runtime_dir) < sizeof(path) &&
           stat(path, &info) == 0 && S_ISSOCK(info.st_mode) && info.st_uid == getuid();
}

/* $XDG_RUNTIME_DIR/pam_oauth_keyring, only when it is ours and no one else's to enter (as
 * store/user_state.c's state_directory checks). */
static bool state_directory(char *path, size_t size)
{
    const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
    struct stat info;

    return runtime_dir != NULL && runtime_dir[0] == '/' &&
           (size_t)snprintf(path, size, "%s/pam_oauth_keyring", runtime_dir) < size &&
           lstat(path, &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == getuid() &&
           (info.st_mode & 0077) == 0;
}

/* SERVICE.sock with the name encoded as store/user_state.c encodes it. */
static bool named_socket(const char *directory, const char *service, char *path, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    char name[200 * 3 + 1];
    size_t length = 0;

    for (const char *p = service; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || (c == '.' && p != service);
        if (length + 4 > sizeof(name))
            return false;
        if (plain) {
            name[length++] = (char)c;
        } else {
            name[length++] = '%';
            name[length++] = hex[c >> 4];
            name[length++] = hex[c & 15];
        }
    }
    name[length] = '\0';
    return length > 0 && length < 200 &&
           (size_t)snprintf(path, size, "%s/%s.sock", directory, name) < size;
}

/* No service named: the one refresher's socket, when exactly one is there (the answer must
 * then say its service is the only one the keyring holds, as the full CLI would pick it). */
static bool only_socket(const char *directory, char *path, size_t size)
{
    DIR *entries = opendir(directory);
    struct dirent *entry;
    int found = 0;

    while (entries != NULL && (entry = readdir(entries)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (length > 5 && strcmp(entry->d_name + length - 5, ".sock") == 0 &&
            (size_t)snprintf(path, size, "%s/%s", directory, entry->d_name) < size)
            found++;
    }
    if (entries != NULL)
        closedir(entries);
    return found == 1;
}

static bool find_socket(struct front *front)
{
    char directory[sizeof(front->socket_path)];

    if (!state_directory(directory, sizeof(directory)))
        return false;
    if (front->service != NULL)
        return named_socket(directory, front->service, front->socket_path,
                            sizeof(front->socket_path));
    return only_socket(directory, front->socket_path, sizeof(front->socket_path));
}

/* git-credential get's attributes up to a blank line or end of input, as the full CLI reads
 * them: only protocol=https matters (a token never goes to plain http). */
static void read_credential_request(struct front *front)
{
    char line[CREDENTIAL_LINE_MAX];

    front->credential_read = true;
    for (int count = 0; count < CREDENTIAL_LINES_MAX && fgets(line, sizeof(line), stdin) != NULL;
         count++) {
        if (line[0] == '\n')
            break;
        if (strcmp(line, "protocol=https\n") == 0)
            front->https = true;
    }
    secret_wipe(line, sizeof(line));
}

/* One "token" request and its checked answer. true with the token in front->reply. */
static bool ask_refresher(struct front *front)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    struct protocol_message request;
    long long deadline_ms = monotonic_now_ms() + FRONT_WAIT_MS;
    char seconds[24], why[256];
    bool ok = false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&request, 0, sizeof(request));
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", front->socket_path);
    snprintf(seconds, sizeof(seconds), "%ld", front->min_valid);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0 &&
        protocol_request_init(&request, REQUEST_SOCKET_TOKEN) == 0 &&
        protocol_set(&request, FIELD_MIN_VALID, seconds) == 0 &&
        message_socket_send(fd, &request, deadline_ms) == 0 &&
        message_socket_receive(fd, deadline_ms, &front->reply) == 0 &&
        protocol_reply_check(protocol_request_spec(REQUEST_SOCKET_TOKEN), &front->reply, why,
                             sizeof(why)) == 0)
        ok = strcmp(front->reply.command, "ok") == 0 &&
             (front->service != NULL || protocol_get(&front->reply, FIELD_SOLE_SERVICE) != NULL);
    if (fd >= 0)
        close(fd);
    protocol_message_clear(&request);
    return ok;
}

/* The token to the tool, as the full CLI gives it. Our exit status. */
static int hand_out(struct front *front)
{
    const char *token = protocol_get(&front->reply, FIELD_ACCESS_TOKEN);
    const char *variable = token_variable_for(protocol_get(&front->reply, FIELD_PRESET));
    int rv = 0;

    if (command_is(front, "token"))
        printf("%s\n", token);
    else if (command_is(front, "env"))
        print_export(variable, token);
    else if (command_is(front, "git-credential"))
        printf("username=%s\npassword=%s\n", front->git_username, token);
    else
        rv = exec_command_prepare(&front->run, variable, token);
    protocol_message_clear(&front->reply); /* exec: COMMAND's copy is the only one left */
    if (rv == 0 && command_is(front, "exec"))
        rv = exec_command_run(&front->run, front->exec_argv);
    return rv;
}

/* Gives git-credential's request back to the full CLI on a pipe: it has been read here. */
static void refeed_credential_request(const struct front *front)
{
    static const char https[] = "protocol=https\n";
    int fds[2];

    if (pipe(fds) != 0)
        return;
    if (front->https && write(fds[1], https, sizeof(https) - 1) != (ssize_t)sizeof(https) - 1)
        fds[0] = -1; /* left as it was: the full CLI then reads an empty request */
    close(fds[1]);
    if (fds[0] >= 0 && dup2(fds[0], STDIN_FILENO) == STDIN_FILENO)
        close(fds[0]);
}

/* Runs path if it is there; returns when it is not (or cannot be run). */
static void try_full_cli(const char *path, char **argv)
{
    if (access(path, X_OK) == 0)
        execv(path, argv);
}

/* The full CLI: beside this program (a build or test tree); under the same DESTDIR when this
 * program runs from a staged `make install DESTDIR=DIR` (its directory ends in the bindir
 * compiled in: `oauth-keyring check --destdir` is run from such a tree); else where it is
 * installed. */
static void run_full_cli(char **argv)
{
    char self[4096], path[8192];
    ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
    size_t bindir_length = strlen(POK_BINDIR);
    char *slash = NULL;

    if (length > 0) {
        self[length] = '\0';
        slash = strrchr(self, '/');
    }
    if (slash != NULL) {
        *slash = '\0';
        snprintf(path, sizeof(path), "%s/%s", self, FULL_CLI_NAME);
        try_full_cli(path, argv);
        length = (ssize_t)strlen(self);
        if ((size_t)length > bindir_length &&
            strcmp(self + length - bindir_length, POK_BINDIR) == 0) {
            snprintf(path, sizeof(path), "%.*s%s", (int)(length - (ssize_t)bindir_length), self,
                     POK_FULL_CLI_PATH);
            try_full_cli(path, argv);
        }
    }
    execv(POK_FULL_CLI_PATH, argv);
    fprintf(stderr, "oauth-keyring: cannot run %s: %s\n", POK_FULL_CLI_PATH, strerror(errno));
}

int main(int argc, char **argv)
{
    struct front front;
    bool fast;
    int rv = 1;

    memset(&front, 0, sizeof(front));
    front.argv = argv;
    /* The token will be in our memory: out of reach of the user's other processes. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    fast = parse_simple(argc, argv, &front) && fast_command(&front) && getuid() != 0 &&
           session_bus_known();
    if (fast && front.service == NULL)
        front.service = getenv("OAUTH_KEYRING_SERVICE");
    fast = fast && find_socket(&front);
    if (fast && command_is(&front, "git-credential"))
        read_credential_request(&front);
    fast = fast && (!command_is(&front, "git-credential") || front.https) && ask_refresher(&front);
    if (fast) {
        rv = hand_out(&front);
        goto out;
    }
    protocol_message_clear(&front.reply);
    if (front.credential_read)
        refeed_credential_request(&front);
    fflush(stdout);
    run_full_cli(argv);
out:
    front_cleanup(&front);
    return rv;
}
