#include "config.h"

#include "pam_module/login_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/text_checks.h"

#define LOGIN_STATE_MAX_BYTES 512
#define LOGIN_STATE_PATH_MAX 512

int login_state_path(const char *state_dir, uid_t uid, const char *service, char *path, size_t size)
{
    int length = snprintf(path, size, "%s/%u-", state_dir, (unsigned)uid);
    size_t used;

    if (length < 0 || (size_t)length >= size)
        return -1;
    used = (size_t)length;
    for (const char *p = service; *p != '\0'; p++) {
        char c = *p;
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
        if (used + 1 >= size)
            return -1;
        path[used++] = safe ? c : '_';
    }
    path[used] = '\0';
    return 0;
}

/* The directory part of path and its last component (login_state_path made path). */
static int split_path(const char *path, char *directory, size_t size, const char **name)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL || slash == path || slash[1] == '\0' || (size_t)(slash - path) >= size)
        return -1;
    memcpy(directory, path, (size_t)(slash - path));
    directory[slash - path] = '\0';
    *name = slash + 1;
    return 0;
}

static int fail_with(char *why, size_t why_size, const char *what, const char *where, int error)
{
    text_set_why(why, why_size, "%s %s: %s", what, where, strerror(error));
    return -1;
}

/* The directory, opened without following a link, when it is the module's own (root's) and
 * nobody else can write it: 1 (as login_state_write) when the module runs as a user and the
 * directory is root's. */
static int open_own_directory(const char *directory, int *directory_fd, char *why, size_t why_size)
{
    uid_t me = geteuid();
    struct stat info;

    if (me == 0 && mkdir(directory, 0755) != 0 && errno != EEXIST)
        return fail_with(why, why_size, "cannot create", directory, errno);
    *directory_fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*directory_fd < 0 || fstat(*directory_fd, &info) != 0)
        return fail_with(why, why_size, "cannot open", directory, errno);
    if (me != 0 && info.st_uid == 0)
        return 1;
    if (info.st_uid != me || (info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        text_set_why(why, why_size, "%s is not %s's alone (owner uid %u, mode %03o): not written",
                     directory, me == 0 ? "root" : "this process", (unsigned)info.st_uid,
                     (unsigned)(info.st_mode & 07777));
        return -1;
    }
    return 0;
}

/* A new file of ours: a stale one a crash left behind (nobody else can create files in the
 * directory) is removed once. Two sessions of one user opening at the same moment: one of
 * them may find its temporary file taken away and log that it could not rename it; the file
 * holds what the other wrote. */
static int create_temporary(int directory_fd, const char *temporary)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
    int fd = openat(directory_fd, temporary, flags, 0640);

    if (fd < 0 && errno == EEXIST && unlinkat(directory_fd, temporary, 0) == 0)
        fd = openat(directory_fd, temporary, flags, 0640);
    return fd;
}

/* text into the new file temporary, then renamed over name: a reader sees the old file or the
 * new one, whole. The mode is 0640 whatever the umask, the group the user's (gid) so that a
 * screen locker running as the user can read it. */
static int replace_file(int directory_fd, const char *temporary, const char *name, gid_t gid,
                        const char *text, char *why, size_t why_size)
{
    size_t length = strlen(text);
    int fd = create_temporary(directory_fd, temporary);
    int rv = -1;

    if (fd < 0 || fchmod(fd, 0640) != 0 || (geteuid() == 0 && fchown(fd, 0, gid) != 0))
        fail_with(why, why_size, "cannot create", temporary, errno);
    else if (write(fd, text, length) != (ssize_t)length)
        fail_with(why, why_size, "cannot write", temporary, errno != 0 ? errno : EIO);
    else if (renameat(directory_fd, temporary, directory_fd, name) != 0)
        fail_with(why, why_size, "cannot rename it to", name, errno);
    else
        rv = 0;
    if (fd >= 0)
        close(fd);
    if (rv != 0 && fd >= 0)
        unlinkat(directory_fd, temporary, 0);
    return rv;
}

int login_state_write(const char *path, gid_t gid, long long refresh_expires_at,
                      bool authorization_needed, char *why, size_t why_size)
{
    char directory[LOGIN_STATE_PATH_MAX], temporary[LOGIN_STATE_PATH_MAX], text[96];
    const char *name = NULL;
    int directory_fd = -1, rv = -1;

    if (split_path(path, directory, sizeof(directory), &name) != 0 ||
        (size_t)snprintf(temporary, sizeof(temporary), ".%s.new", name) >= sizeof(temporary)) {
        text_set_why(why, why_size, "unusable login state path %s", path);
        goto out;
    }
    rv = open_own_directory(directory, &directory_fd, why, why_size);
    if (rv != 0)
        goto out;
    snprintf(text, sizeof(text), "refresh_expires_at=%lld\nauthorization_needed=%d\n",
             refresh_expires_at, authorization_needed ? 1 : 0);
    rv = replace_file(directory_fd, temporary, name, gid, text, why, why_size);
out:
    if (directory_fd >= 0)
        close(directory_fd);
    return rv;
}

static long long value_after(const char *text, const char *name)
{
    const char *found = strstr(text, name);

    return found != NULL ? strtoll(found + strlen(name), NULL, 10) : -1;
}

/* Root's (the module wrote it), or the user's own when the module runs as that user (it
 * wrote it itself, into a state_dir of the user's). Not a file the user could have left
 * behind for a root module - an older version's, which the next write replaces. */
static bool is_believed(const struct stat *info, uid_t uid)
{
    bool own = info->st_uid == uid && uid == geteuid();

    return S_ISREG(info->st_mode) && (info->st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
           (info->st_uid == 0 || own);
}

void login_state_read(const char *path, uid_t uid, time_t now, struct login_state *state)
{
    char text[LOGIN_STATE_MAX_BYTES + 1];
    struct stat info;
    ssize_t length = -1;
    long long expires_at, needed;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    memset(state, 0, sizeof(*state));
    if (fd >= 0 && fstat(fd, &info) == 0 && is_believed(&info, uid))
        length = read(fd, text, LOGIN_STATE_MAX_BYTES);
    if (fd >= 0)
        close(fd);
    if (length <= 0)
        return;
    text[length] = '\0';
    expires_at = value_after(text, "refresh_expires_at=");
    needed = value_after(text, "authorization_needed=");
    state->believed = true;
    state->written_at = (long long)info.st_mtime;
    state->has_refresh_token =
        needed == 0 && expires_at >= 0 && (expires_at == 0 || expires_at > (long long)now);
}

bool login_state_has_refresh_token(const char *path, uid_t uid, time_t now)
{
    struct login_state state;

    login_state_read(path, uid, now, &state);
    return state.has_refresh_token;
}
