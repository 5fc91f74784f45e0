#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "login_state.h"

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
    assert_false(login_state_has_refresh_token(path, me, now)); /* created, nothing known */
    write_state(path, "garbage");
    assert_false(login_state_has_refresh_token(path, me, now));
    /* Someone else's claim is not believed. */
    write_state(path, "refresh_expires_at=0\nauthorization_needed=0\n");
    assert_false(login_state_has_refresh_token(path, me + 1, now));
}

static void test_symlink_not_followed(void **state)
{
    char target[256], link_path[256];
    uid_t me = geteuid();

    (void)state;
    snprintf(target, sizeof(target), "%s/target", directory);
    snprintf(link_path, sizeof(link_path), "%s/link", directory);
    write_state(target, "refresh_expires_at=0\nauthorization_needed=0\n");
    assert_int_equal(symlink(target, link_path), 0);
    assert_true(login_state_has_refresh_token(target, me, 1));
    assert_false(login_state_has_refresh_token(link_path, me, 1));
}

static void test_prepare_creates_once(void **state)
{
    struct user_account account = {.uid = getuid(), .gid = getgid()};
    char path[256];
    struct stat info;

    (void)state;
    snprintf(path, sizeof(path), "%s/prepared", directory);
    assert_int_equal(login_state_prepare(directory, path, &account), 0);
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 07777, 0600);
    write_state(path, "refresh_expires_at=0\nauthorization_needed=0\n");
    /* A second login keeps what the user's helper wrote. */
    assert_int_equal(login_state_prepare(directory, path, &account), 0);
    assert_true(login_state_has_refresh_token(path, account.uid, 1));
}

static void test_prepare_gives_it_to_the_user(void **state)
{
    struct user_account account = {.uid = 65534, .gid = 65534};
    char path[256];
    struct stat info;

    (void)state;
    if (geteuid() != 0)
        skip();
    snprintf(path, sizeof(path), "%s/for-nobody", directory);
    assert_int_equal(login_state_prepare(directory, path, &account), 0);
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_uid, 65534);
    assert_int_equal(info.st_gid, 65534);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_is_safe),
        cmocka_unit_test(test_what_the_file_says),
        cmocka_unit_test(test_symlink_not_followed),
        cmocka_unit_test(test_prepare_creates_once),
        cmocka_unit_test(test_prepare_gives_it_to_the_user),
    };
    return cmocka_run_group_tests_name("test_login_state", tests, make_directory, remove_directory);
}
