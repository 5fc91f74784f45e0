#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pam_module/login_state.h"

/* A user other than root for the tests that need one (run as root). */
#define OTHER_UID 65534
#define OTHER_GID 65534

static char directory[] = "/tmp/pok-login-state.XXXXXX";

static int make_directory(void **state)
{
    (void)state;
    return mkdtemp(directory) != NULL ? 0 : -1;
}

static int remove_directory(void **state)
{
    char command[128];

    (void)state;
    snprintf(command, sizeof(command), "rm -rf '%s'", directory);
    return system(command) == 0 ? 0 : -1;
}

static void write_state(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");

    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void assert_file_holds(const char *path, const char *expected)
{
    char text[256] = "";
    FILE *file = fopen(path, "r");

    assert_non_null(file);
    assert_true(fread(text, 1, sizeof(text) - 1, file) > 0);
    fclose(file);
    assert_string_equal(text, expected);
}

/* Runs login_state_write in a child that is OTHER_UID (the module in a screen locker, or
 * the user at a shell), or opens path for appending there; the child's exit status. */
static int as_other_user(const char *path, bool append)
{
    char why[256];
    int status = -1;
    pid_t pid = fork();

    if (pid == 0) {
        if (setresgid(OTHER_GID, OTHER_GID, OTHER_GID) != 0 ||
            setresuid(OTHER_UID, OTHER_UID, OTHER_UID) != 0)
            _exit(100);
        if (append)
            _exit(open(path, O_WRONLY | O_APPEND) >= 0 ? 0 : errno == EACCES ? 13 : 101);
        _exit(login_state_write(path, OTHER_GID, 0, false, why, sizeof(why)) + 10);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_path_is_safe(void **state)
{
    char path[256];

    (void)state;
    assert_int_equal(login_state_path("/var/lib/x", 1001, "snyk", path, sizeof(path)), 0);
    assert_string_equal(path, "/var/lib/x/1001-snyk");
    assert_int_equal(login_state_path("/d", 5, "../a b/c", path, sizeof(path)), 0);
    assert_string_equal(path, "/d/5-.._a_b_c");
    assert_int_equal(login_state_path("/d", 5, "long-service-name", path, 10), -1);
}

/* What a believed file says (one of this process's own: root's when run as root). */
static void test_what_the_file_says(void **state)
{
    char path[256];
    uid_t me = geteuid();
    time_t now = 1000000;

    (void)state;
    snprintf(path, sizeof(path), "%s/%u-says", directory, (unsigned)me);
    assert_false(login_state_has_refresh_token(path, me, now)); /* no file: ask */
    write_state(path, "refresh_expires_at=1000100\nauthorization_needed=0\n");
    assert_true(login_state_has_refresh_token(path, me, now));
    assert_false(login_state_has_refresh_token(path, me, 1000100)); /* expired */
    write_state(path, "refresh_expires_at=0\nauthorization_needed=0\n");
    assert_true(login_state_has_refresh_token(path, me, now)); /* no expiry given */
    write_state(path, "refresh_expires_at=1000100\nauthorization_needed=1\n");
    assert_false(login_state_has_refresh_token(path, me, now));
    write_state(path, "");
    assert_false(login_state_has_refresh_token(path, me, now)); /* nothing known */
    write_state(path, "garbage");
    assert_false(login_state_has_refresh_token(path, me, now));
}

/* Whose file is believed: root's, or the user's own only by a module running as that user. */
static void test_who_is_believed(void **state)
{
    const char *says_yes = "refresh_expires_at=0\nauthorization_needed=0\n";
    char path[256];
    uid_t me = geteuid();

    (void)state;
    snprintf(path, sizeof(path), "%s/believed", directory);
    write_state(path, says_yes);
    assert_int_equal(chmod(path, 0620), 0); /* the group could have written it */
    assert_false(login_state_has_refresh_token(path, me, 1));
    assert_int_equal(chmod(path, 0602), 0);
    assert_false(login_state_has_refresh_token(path, me, 1));
    assert_int_equal(chmod(path, 0644), 0);
    assert_true(login_state_has_refresh_token(path, me, 1));
    if (me != 0) {
        /* A file of ours says nothing about another user. */
        assert_false(login_state_has_refresh_token(path, me + 1, 1));
        return;
    }
    /* Root's file speaks for the user it is named after. */
    assert_true(login_state_has_refresh_token(path, OTHER_UID, 1));
    /* The user's own file (an older version's, which the user could rewrite and grow) is not
     * believed by a module running as root. */
    assert_int_equal(chown(path, OTHER_UID, OTHER_GID), 0);
    assert_false(login_state_has_refresh_token(path, OTHER_UID, 1));
}

/* The module's write: a whole new file of its own, mode 0640, group the user's; again and
 * again, with nothing left beside it. */
static void test_write_creates_own_file(void **state)
{
    char path[256], temporary[256], why[256] = "";
    struct stat info;
    uid_t me = geteuid();

    (void)state;
    snprintf(path, sizeof(path), "%s/%u-written", directory, (unsigned)me);
    snprintf(temporary, sizeof(temporary), "%s/.%u-written.new", directory, (unsigned)me);
    umask(077); /* the PAM application's umask does not decide the mode */
    assert_int_equal(login_state_write(path, getegid(), 2000000, false, why, sizeof(why)), 0);
    umask(022);
    assert_int_equal(lstat(path, &info), 0);
    assert_true(S_ISREG(info.st_mode));
    assert_int_equal(info.st_uid, me);
    assert_int_equal(info.st_gid, getegid());
    assert_int_equal(info.st_mode & 07777, 0640);
    assert_file_holds(path, "refresh_expires_at=2000000\nauthorization_needed=0\n");
    assert_true(login_state_has_refresh_token(path, me, 1999999));
    assert_int_equal(login_state_write(path, getegid(), 0, true, why, sizeof(why)), 0);
    assert_file_holds(path, "refresh_expires_at=0\nauthorization_needed=1\n");
    assert_false(login_state_has_refresh_token(path, me, 1));
    assert_int_equal(lstat(temporary, &info), -1);
    /* A temporary file a crash left behind is no obstacle. */
    write_state(temporary, "half");
    assert_int_equal(login_state_write(path, getegid(), 0, false, why, sizeof(why)), 0);
    assert_file_holds(path, "refresh_expires_at=0\nauthorization_needed=0\n");
    assert_int_equal(lstat(temporary, &info), -1);
}

/* Run as root: the file is root's, the user may read it and cannot append to it; the user's
 * own file from an older version is replaced by root's. */
static void test_write_as_root_replaces_user_file(void **state)
{
    char path[256], why[256] = "";
    struct stat info;

    (void)state;
    if (geteuid() != 0)
        skip();
    assert_int_equal(chmod(directory, 0755), 0);
    snprintf(path, sizeof(path), "%s/%u-older", directory, (unsigned)OTHER_UID);
    write_state(path, "refresh_expires_at=0\nauthorization_needed=0\n");
    assert_int_equal(chown(path, OTHER_UID, OTHER_GID), 0);
    assert_int_equal(chmod(path, 0600), 0);
    assert_false(login_state_has_refresh_token(path, OTHER_UID, 1));
    assert_int_equal(as_other_user(path, true), 0); /* the older file: the user can grow it */
    assert_int_equal(login_state_write(path, OTHER_GID, 3000000, false, why, sizeof(why)), 0);
    assert_int_equal(lstat(path, &info), 0);
    assert_int_equal(info.st_uid, 0);
    assert_int_equal(info.st_gid, OTHER_GID);
    assert_int_equal(info.st_mode & 07777, 0640);
    assert_true(login_state_has_refresh_token(path, OTHER_UID, 1));
    assert_int_equal(as_other_user(path, true), 13); /* EACCES: no more growing it */
    assert_file_holds(path, "refresh_expires_at=3000000\nauthorization_needed=0\n");
    /* A module running as the user writes nothing into root's directory, and says so. */
    assert_int_equal(as_other_user(path, false), 11);
    assert_file_holds(path, "refresh_expires_at=3000000\nauthorization_needed=0\n");
    assert_int_equal(chmod(directory, 0700), 0);
}

/* A symbolic link at the file's name or at the temporary name is replaced, never followed. */
static void test_write_does_not_follow_links(void **state)
{
    char path[256], temporary[256], victim[256], why[256] = "";
    struct stat info;

    (void)state;
    snprintf(victim, sizeof(victim), "%s/victim", directory);
    snprintf(path, sizeof(path), "%s/%u-linked", directory, (unsigned)geteuid());
    snprintf(temporary, sizeof(temporary), "%s/.%u-linked.new", directory, (unsigned)geteuid());
    write_state(victim, "keep\n");
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(symlink(victim, temporary), 0);
    assert_int_equal(login_state_write(path, getegid(), 0, false, why, sizeof(why)), 0);
    assert_int_equal(lstat(path, &info), 0);
    assert_true(S_ISREG(info.st_mode));
    assert_file_holds(path, "refresh_expires_at=0\nauthorization_needed=0\n");
    assert_file_holds(victim, "keep\n");
    assert_int_equal(lstat(temporary, &info), -1);
    assert_true(login_state_has_refresh_token(path, geteuid(), 1));
    /* The reader does not follow one either. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(victim, path), 0);
    write_state(victim, "refresh_expires_at=0\nauthorization_needed=0\n");
    assert_true(login_state_has_refresh_token(victim, geteuid(), 1));
    assert_false(login_state_has_refresh_token(path, geteuid(), 1));
}

/* A directory others can write, or someone else's, gets no file. */
static void test_write_refuses_unsafe_directory(void **state)
{
    char open_directory[128], path[256], why[256] = "";
    struct stat info;

    (void)state;
    snprintf(open_directory, sizeof(open_directory), "%s/open", directory);
    assert_int_equal(mkdir(open_directory, 0700), 0);
    assert_int_equal(chmod(open_directory, 0777), 0);
    snprintf(path, sizeof(path), "%s/1-x", open_directory);
    assert_int_equal(login_state_write(path, getegid(), 0, false, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "mode 777"));
    assert_int_equal(lstat(path, &info), -1);
    assert_int_equal(chmod(open_directory, 0775), 0);
    assert_int_equal(login_state_write(path, getegid(), 0, false, why, sizeof(why)), -1);
    assert_int_equal(lstat(path, &info), -1);
    if (geteuid() == 0) {
        assert_int_equal(chmod(open_directory, 0755), 0);
        assert_int_equal(chown(open_directory, OTHER_UID, OTHER_GID), 0);
        assert_int_equal(login_state_write(path, getegid(), 0, false, why, sizeof(why)), -1);
        assert_non_null(strstr(why, "owner uid 65534"));
        assert_int_equal(lstat(path, &info), -1);
    }
    /* Not a path login_state_path makes. */
    assert_int_equal(login_state_write("no-slash", getegid(), 0, false, why, sizeof(why)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_is_safe),
        cmocka_unit_test(test_what_the_file_says),
        cmocka_unit_test(test_who_is_believed),
        cmocka_unit_test(test_write_creates_own_file),
        cmocka_unit_test(test_write_as_root_replaces_user_file),
        cmocka_unit_test(test_write_does_not_follow_links),
        cmocka_unit_test(test_write_refuses_unsafe_directory),
    };
    return cmocka_run_group_tests_name("test_login_state", tests, make_directory, remove_directory);
}
