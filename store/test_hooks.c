/* Built into the test helper only (see test_hooks.h). */
#include "config.h"

#include "store/test_hooks.h"

#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/user_state.h"

void test_pause_point(const char *step)
{
    char path[STATE_PATH_MAX], wanted[64] = "";
    FILE *file;

    if (user_state_path("test-pause-at", "", path, sizeof(path)) != 0)
        return;
    file = fopen(path, "re");
    if (file == NULL)
        return;
    if (fgets(wanted, sizeof(wanted), file) != NULL)
        wanted[strcspn(wanted, "\n")] = '\0';
    fclose(file);
    if (strcmp(wanted, step) != 0)
        return;
    /* Tell the test who stopped where, then stop until it kills us. */
    if (user_state_path("test-paused", "", path, sizeof(path)) == 0) {
        file = fopen(path, "we");
        if (file != NULL) {
            fprintf(file, "%ld %s\n", (long)getpid(), step);
            fclose(file);
        }
    }
    raise(SIGSTOP);
}

/* The first line of $XDG_RUNTIME_DIR/pam_oauth_keyring/NAME into text; false when absent. */
static bool read_hook_file(const char *name, char *text, size_t text_size)
{
    char path[STATE_PATH_MAX];
    FILE *file;

    text[0] = '\0';
    if (user_state_path(name, "", path, sizeof(path)) != 0)
        return false;
    file = fopen(path, "re");
    if (file == NULL)
        return false;
    if (fgets(text, (int)text_size, file) == NULL)
        text[0] = '\0';
    fclose(file);
    return true;
}

long long test_clock_offset_seconds(void)
{
    char text[32], *end = NULL;
    long long offset;

    if (!read_hook_file("test-clock-offset", text, sizeof(text)))
        return 0;
    offset = strtoll(text, &end, 10);
    return end != text && (*end == '\0' || *end == '\n') ? offset : 0;
}

double test_fixed_draw(void)
{
    char text[32], *end = NULL;
    double draw;

    if (!read_hook_file("test-draw", text, sizeof(text)))
        return -1.0;
    draw = strtod(text, &end);
    return end != text && (*end == '\0' || *end == '\n') && draw >= 0.0 && draw < 1.0 ? draw : -1.0;
}

bool test_allows_dumpable_start(void)
{
    const char *allowed = getenv("POK_TEST_DUMPABLE_START");

    return allowed != NULL && strcmp(allowed, "1") == 0;
}

bool test_no_sock_diag(void)
{
    char text[8];

    return read_hook_file("test-no-sock-diag", text, sizeof(text));
}
