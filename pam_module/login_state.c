#include "config.h"

#include "login_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOGIN_STATE_MAX_BYTES 512

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

int login_state_prepare(const char *state_dir, const char *path, const struct user_account *account)
{
    bool as_root = geteuid() == 0;
    int fd;

    if (as_root && mkdir(state_dir, 0755) != 0 && errno != EEXIST)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    if (as_root && fchown(fd, account->uid, account->gid) != 0) {
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

static long long value_after(const char *text, const char *name)
{
    const char *found = strstr(text, name);

    return found != NULL ? strtoll(found + strlen(name), NULL, 10) : -1;
}

bool login_state_has_refresh_token(const char *path, uid_t uid, time_t now)
{
    char text[LOGIN_STATE_MAX_BYTES + 1];
    struct stat info;
    ssize_t length = -1;
    long long expires_at, needed;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd >= 0 && fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == uid)
        length = read(fd, text, LOGIN_STATE_MAX_BYTES);
    if (fd >= 0)
        close(fd);
    if (length <= 0)
        return false;
    text[length] = '\0';
    expires_at = value_after(text, "refresh_expires_at=");
    needed = value_after(text, "authorization_needed=");
    return needed == 0 && expires_at >= 0 && (expires_at == 0 || expires_at > (long long)now);
}
