/* What the auth phase knows of the user's tokens without seeing the keyring: "user U holds a
 * refresh token valid until T", for prompt=missing.
 *
 * One small file per user and service in the state directory, written by the module alone
 * (login_flow.c, from the helper's replies) and only into a directory its own effective uid
 * owns that nobody else can write: root's, in every real installation, so the file is root's
 * and the user can neither change it nor make it grow. A module that runs as the user (a
 * screen locker) finds root's directory and writes nothing; it reads root's file.
 *
 *     refresh_expires_at=<Unix seconds, 0: none given>\n
 *     authorization_needed=<0|1>\n */
#ifndef POK_LOGIN_STATE_H
#define POK_LOGIN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* STATE_DIR/<uid>-<service with unsafe bytes as '_'>; -1 when it does not fit. */
int login_state_path(const char *state_dir, uid_t uid, const char *service, char *path,
                     size_t size);

/* Replaces the file at path (as login_state_path made it) with what is known now: written to
 * ".<name>.new" beside it (O_EXCL, O_NOFOLLOW), then renamed over whatever was there - an
 * older version's user-owned file or a symbolic link is replaced, never followed. Owner: the
 * module's effective uid (root), group: gid (the user's, who may read it), mode 0640. As
 * root, creates a missing directory 0755. 0: written; 1: not written because the module runs
 * as a user and the directory is root's (nothing to tell); -1: not written, why says. */
int login_state_write(const char *path, gid_t gid, long long refresh_expires_at,
                      bool authorization_needed, char *why, size_t why_size);

/* What the file says at now. Believed only when it is a regular file that neither group nor
 * others can write, owned by root - or by the user it describes when the module itself runs
 * as that user and so wrote it itself. */
struct login_state {
    bool believed;          /* such a file was there */
    bool has_refresh_token; /* it says a refresh token is held and not expired */
    long long written_at;   /* when the module wrote it (its mtime), Unix seconds */
};
void login_state_read(const char *path, uid_t uid, time_t now, struct login_state *state);

/* login_state_read's has_refresh_token. */
bool login_state_has_refresh_token(const char *path, uid_t uid, time_t now);

#endif
