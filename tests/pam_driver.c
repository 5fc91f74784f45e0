/* A small PAM application for the tests and the demo: runs auth and session through the real
 * libpam with a service file from a directory of ours (pam_start_confdir), answers prompts
 * from a script, and captures every syslog line the modules write.
 *
 *   pam_driver --confdir DIR --service NAME --user USER [--answer-command CMD]
 *              [--setenv NAME=VALUE]... [--log FILE]
 *
 * Afterwards it reports what a long-running login process would care about: how many children
 * of ours are left (zombies included), whether the fd count changed, and whether the SIGCHLD
 * handler it installed before the PAM calls is still the one in place.
 *
 * With --cycles N, N logins run one after another in one process; --threads T runs T such
 * loops at once, each in its own thread with its own PAM handles (as a display manager with
 * several seats may). --sigchld count|reap|ignore chooses the application's SIGCHLD handling:
 * a handler that only counts (default), one that reaps every child (waitpid(-1)), or SIG_IGN.
 *
 * Echo-off prompts (passwords) are answered from the environment variable TEST_PASSWORD.
 * Echo-on prompts run CMD with `sh -c`, the text shown so far on its stdin; its first output
 * line is the answer. Without CMD the answer is empty. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

struct driver {
    const char *confdir, *service, *user, *answer_command, *log_path;
    const char *environment[16];
    int environment_count;
    char transcript[65536];
    size_t transcript_length;
    long cycles;         /* --cycles N: N whole logins in this one process */
    long threads;        /* --threads T: T threads doing --cycles each */
    const char *sigchld; /* --sigchld count|reap|ignore */
    bool unlock;         /* --mode unlock: a screen unlock (pam_setcred REINITIALIZE, no session) */
};

static FILE *log_file;

/* --- syslog capture: these definitions interpose on libc's for libpam's pam_syslog ------- */

static void write_log_line(int priority, const char *format, va_list arguments)
{
    FILE *out = log_file != NULL ? log_file : stderr;

    fprintf(out, "<%d> ", priority & LOG_PRIMASK);
    vfprintf(out, format, arguments);
    fputc('\n', out);
    fflush(out);
}

void vsyslog(int priority, const char *format, va_list arguments)
{
    write_log_line(priority, format, arguments);
}

void __vsyslog_chk(int priority, int flag, const char *format, va_list arguments);
void __vsyslog_chk(int priority, int flag, const char *format, va_list arguments)
{
    (void)flag;
    write_log_line(priority, format, arguments);
}

void syslog(int priority, const char *format, ...)
{
    va_list arguments;

    va_start(arguments, format);
    write_log_line(priority, format, arguments);
    va_end(arguments);
}

void __syslog_chk(int priority, int flag, const char *format, ...);
void __syslog_chk(int priority, int flag, const char *format, ...)
{
    va_list arguments;

    (void)flag;
    va_start(arguments, format);
    write_log_line(priority, format, arguments);
    va_end(arguments);
}

/* --- conversation ------------------------------------------------------------------------- */

static void remember(struct driver *driver, const char *text)
{
    size_t length = strlen(text);

    if (driver->transcript_length + length + 2 < sizeof(driver->transcript)) {
        memcpy(driver->transcript + driver->transcript_length, text, length);
        driver->transcript_length += length;
        driver->transcript[driver->transcript_length++] = '\n';
        driver->transcript[driver->transcript_length] = '\0';
    }
}

#define ANSWER_MAX_BYTES (2 * 1024 * 1024) /* room for the 1 MB hostile answer */

/* An answer command that does not read its stdin (`echo code`) may be gone before this write:
 * the SIGPIPE that raises is the driver's own doing, not the module's, so it is blocked for
 * this one write and taken back, leaving SIGPIPE otherwise as an application has it. */
static void write_to_answer_command(int fd, const char *data, size_t length)
{
    sigset_t pipe_signal, saved;
    struct timespec no_wait = {0, 0};

    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &saved);
    if (write(fd, data, length) < 0 && errno != EPIPE)
        perror("pam_driver: write to answer command");
    while (sigtimedwait(&pipe_signal, NULL, &no_wait) == SIGPIPE)
        ;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/* Runs the answer command with the transcript on stdin; its first line is the answer. */
static char *run_answer_command(struct driver *driver)
{
    int to_child[2], from_child[2];
    char *buffer;
    size_t used = 0;
    ssize_t got;
    pid_t pid;
    int status;

    if (driver->answer_command == NULL)
        return strdup("");
    buffer = malloc(ANSWER_MAX_BYTES + 1);
    if (buffer == NULL || pipe(to_child) != 0 || pipe(from_child) != 0) {
        free(buffer);
        return NULL;
    }
    pid = fork();
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[1]);
        close(from_child[0]);
        execl("/bin/sh", "sh", "-c", driver->answer_command, (char *)NULL);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    write_to_answer_command(to_child[1], driver->transcript, driver->transcript_length);
    close(to_child[1]);
    while (used < ANSWER_MAX_BYTES) {
        got = read(from_child[0], buffer + used, ANSWER_MAX_BYTES - used);
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    close(from_child[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    buffer[used] = '\0';
    /* The answer is the first line; bytes after a NUL are cut off, as any PAM application's
     * conversation would cut them. */
    buffer[strcspn(buffer, "\n")] = '\0';
    return buffer;
}

static int converse(int count, const struct pam_message **messages, struct pam_response **responses,
                    void *data)
{
    struct driver *driver = data;
    struct pam_response *replies = calloc((size_t)count, sizeof(*replies));
    const char *password = getenv("TEST_PASSWORD");

    if (replies == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < count; i++) {
        const char *text = messages[i]->msg != NULL ? messages[i]->msg : "";
        switch (messages[i]->msg_style) {
        case PAM_TEXT_INFO:
        case PAM_ERROR_MSG:
            printf("[%s] %s\n", messages[i]->msg_style == PAM_TEXT_INFO ? "info" : "error", text);
            remember(driver, text);
            break;
        case PAM_PROMPT_ECHO_OFF:
            printf("[password prompt] %s\n", text);
            replies[i].resp = strdup(password != NULL ? password : "");
            break;
        case PAM_PROMPT_ECHO_ON:
            printf("[prompt] %s\n", text);
            remember(driver, text);
            replies[i].resp = run_answer_command(driver);
            printf("[answered] %zu characters\n",
                   replies[i].resp != NULL ? strlen(replies[i].resp) : 0);
            break;
        default:
            break;
        }
    }
    fflush(stdout);
    *responses = replies;
    return PAM_SUCCESS;
}

/* --- process hygiene --------------------------------------------------------------------- */

static volatile sig_atomic_t sigchld_count;

static void count_sigchld(int signal_number)
{
    (void)signal_number;
    sigchld_count++;
}

/* Like an application that reaps every child from its handler: it takes the module's helper's
 * exit status before the module can. */
static void reap_every_child(int signal_number)
{
    int saved_errno = errno;

    (void)signal_number;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        sigchld_count++;
    errno = saved_errno;
}

static void (*chosen_sigchld_handler(const char *choice))(int)
{
    if (choice != NULL && strcmp(choice, "reap") == 0)
        return reap_every_child;
    if (choice != NULL && strcmp(choice, "ignore") == 0)
        return SIG_IGN;
    return count_sigchld;
}

static int count_entries(const char *path)
{
    DIR *directory = opendir(path);
    struct dirent *entry;
    int count = 0;

    if (directory == NULL)
        return -1;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] != '.')
            count++;
    }
    closedir(directory);
    return count - 1; /* the directory stream's own fd */
}

/* Our children, alive or zombie, from /proc/<pid>/stat's ppid field. */
static int count_children(void)
{
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    int children = 0;

    if (proc == NULL)
        return -1;
    while ((entry = readdir(proc)) != NULL) {
        char path[300], stat_line[512];
        FILE *stat_file;
        const char *after_name;
        int parent = 0;
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", entry->d_name);
        stat_file = fopen(path, "re");
        if (stat_file == NULL)
            continue;
        if (fgets(stat_line, sizeof(stat_line), stat_file) != NULL) {
            after_name = strrchr(stat_line, ')');
            if (after_name != NULL && sscanf(after_name + 2, "%*c %d", &parent) == 1 &&
                parent == getpid())
                children++;
        }
        fclose(stat_file);
    }
    closedir(proc);
    return children;
}

static void report_hygiene(const struct driver *driver, int fds_before)
{
    struct sigaction current;

    sigaction(SIGCHLD, NULL, &current);
    printf("hygiene: children left %d, fds before %d after %d, sigchld handler %s\n",
           count_children(), fds_before, count_entries("/proc/self/fd"),
           current.sa_handler == chosen_sigchld_handler(driver->sigchld) ? "preserved" : "changed");
}

static long long now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* --- main ----------------------------------------------------------------------------------- */

static int parse_arguments(int argc, char **argv, struct driver *driver)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *name = argv[i], *value = argv[i + 1];
        if (strcmp(name, "--confdir") == 0)
            driver->confdir = value;
        else if (strcmp(name, "--service") == 0)
            driver->service = value;
        else if (strcmp(name, "--user") == 0)
            driver->user = value;
        else if (strcmp(name, "--answer-command") == 0)
            driver->answer_command = value;
        else if (strcmp(name, "--log") == 0)
            driver->log_path = value;
        else if (strcmp(name, "--cycles") == 0)
            driver->cycles = strtol(value, NULL, 10);
        else if (strcmp(name, "--threads") == 0)
            driver->threads = strtol(value, NULL, 10);
        else if (strcmp(name, "--sigchld") == 0)
            driver->sigchld = value;
        else if (strcmp(name, "--mode") == 0 && strcmp(value, "unlock") == 0)
            driver->unlock = true;
        else if (strcmp(name, "--mode") == 0 && strcmp(value, "login") == 0)
            driver->unlock = false;
        else if (strcmp(name, "--setenv") == 0 && driver->environment_count < 16)
            driver->environment[driver->environment_count++] = value;
        else
            return -1;
    }
    return (argc % 2 == 1 && driver->confdir && driver->service && driver->user) ? 0 : -1;
}

/* A screen unlock as GNOME's does it: authenticate, then reinitialize the credentials; no
 * session. 0 when both succeeded. */
static int one_unlock(struct driver *driver, pam_handle_t *pamh)
{
    long long started = now_ms();
    int auth = pam_authenticate(pamh, 0), setcred;

    printf("pam_authenticate: %s\n", pam_strerror(pamh, auth));
    printf("timing: pam_authenticate %lld ms\n", now_ms() - started);
    started = now_ms();
    setcred = auth == PAM_SUCCESS ? pam_setcred(pamh, PAM_REINITIALIZE_CRED) : auth;
    printf("pam_setcred: %s\n", pam_strerror(pamh, setcred));
    printf("timing: pam_setcred %lld ms\n", now_ms() - started);
    pam_end(pamh, setcred);
    driver->transcript_length = 0;
    return auth == PAM_SUCCESS && setcred == PAM_SUCCESS ? 0 : 1;
}

/* What the module put into the session's environment (OAUTH_KEYRING_*): a display manager
 * hands the PAM environment to the session. */
static void print_module_environment(pam_handle_t *pamh)
{
    char **environment = pam_getenvlist(pamh);

    for (size_t i = 0; environment != NULL && environment[i] != NULL; i++) {
        if (strncmp(environment[i], "OAUTH_KEYRING_", 14) == 0)
            printf("pam_env: %s\n", environment[i]);
        free(environment[i]);
    }
    free(environment);
}

/* One whole login: pam_start ... pam_end. 0 when auth and session succeeded. */
static int one_login(struct driver *driver, struct pam_conv *conversation, bool verbose)
{
    pam_handle_t *pamh = NULL;
    int auth, session, rv;
    long long started;

    rv = pam_start_confdir(driver->service, driver->user, conversation, driver->confdir, &pamh);
    if (rv != PAM_SUCCESS) {
        fprintf(stderr, "pam_start_confdir: %s\n", pam_strerror(pamh, rv));
        return 1;
    }
    for (int i = 0; i < driver->environment_count; i++)
        pam_putenv(pamh, driver->environment[i]);
    if (driver->unlock)
        return one_unlock(driver, pamh);
    started = now_ms();
    auth = pam_authenticate(pamh, 0);
    if (verbose) {
        printf("pam_authenticate: %s\n", pam_strerror(pamh, auth));
        printf("timing: pam_authenticate %lld ms\n", now_ms() - started);
    }
    if (auth == PAM_SUCCESS)
        pam_setcred(pamh, PAM_ESTABLISH_CRED);
    started = now_ms();
    session = auth == PAM_SUCCESS ? pam_open_session(pamh, 0) : auth;
    if (verbose) {
        printf("pam_open_session: %s\n", pam_strerror(pamh, session));
        printf("timing: pam_open_session %lld ms\n", now_ms() - started);
    }
    if (session == PAM_SUCCESS && verbose)
        print_module_environment(pamh);
    if (session == PAM_SUCCESS) {
        pam_close_session(pamh, 0);
        pam_setcred(pamh, PAM_DELETE_CRED);
    }
    pam_end(pamh, session);
    driver->transcript_length = 0;
    return auth == PAM_SUCCESS && session == PAM_SUCCESS ? 0 : 1;
}

static long resident_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *status = fopen("/proc/self/status", "re");

    while (status != NULL && fgets(line, sizeof(line), status) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    }
    if (status != NULL)
        fclose(status);
    return kib;
}

/* Many logins in one process, as gdm does over months: fds and RSS after cycles 1, 10, 100
 * and then every 100, and how many logins failed. */
static int many_logins(struct driver *driver, struct pam_conv *conversation)
{
    int failures = 0;

    for (long cycle = 1; cycle <= driver->cycles; cycle++) {
        failures += one_login(driver, conversation, false) != 0;
        if (cycle == 1 || cycle == 10 || cycle % 100 == 0 || cycle == driver->cycles)
            printf("cycle %ld: fds %d, rss_kib %ld, failed logins %d\n", cycle,
                   count_entries("/proc/self/fd"), resident_kib(), failures);
    }
    return failures == 0 ? 0 : 1;
}

#define THREADS_MAX 8

struct login_thread {
    pthread_t thread;
    struct driver driver; /* a copy: its own transcript */
    int rv;
};

static void *login_thread_main(void *data)
{
    struct login_thread *login = data;
    struct pam_conv conversation = {converse, &login->driver};

    login->rv = many_logins(&login->driver, &conversation);
    return NULL;
}

/* --threads T: T loops of --cycles logins at once. */
static int logins_in_threads(const struct driver *driver)
{
    static struct login_thread threads[THREADS_MAX];
    long count = driver->threads > THREADS_MAX ? THREADS_MAX : driver->threads;
    int rv = 0;

    for (long i = 0; i < count; i++) {
        threads[i].driver = *driver;
        if (pthread_create(&threads[i].thread, NULL, login_thread_main, &threads[i]) != 0)
            return 1;
    }
    for (long i = 0; i < count; i++) {
        pthread_join(threads[i].thread, NULL);
        rv |= threads[i].rv;
    }
    return rv;
}

int main(int argc, char **argv)
{
    static struct driver driver;
    struct pam_conv conversation = {converse, &driver};
    struct sigaction on_sigchld;
    int rv, fds_before;

    if (parse_arguments(argc, argv, &driver) != 0) {
        fprintf(stderr,
                "usage: %s --confdir DIR --service NAME --user USER [--answer-command CMD] "
                "[--setenv NAME=VALUE]... [--log FILE] [--cycles N [--threads T]] "
                "[--mode login|unlock] [--sigchld count|reap|ignore]\n",
                argv[0]);
        return 2;
    }
    if (driver.log_path != NULL)
        log_file = fopen(driver.log_path, "a");
    memset(&on_sigchld, 0, sizeof(on_sigchld));
    on_sigchld.sa_handler = chosen_sigchld_handler(driver.sigchld);
    sigaction(SIGCHLD, &on_sigchld, NULL);
    fds_before = count_entries("/proc/self/fd");
    if (driver.cycles > 0 && driver.threads > 1)
        rv = logins_in_threads(&driver);
    else if (driver.cycles > 0)
        rv = many_logins(&driver, &conversation);
    else
        rv = one_login(&driver, &conversation, true);
    report_hygiene(&driver, fds_before);
    if (log_file != NULL)
        fclose(log_file);
    return rv;
}
