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

long long test_clock_offset_seconds(void)
{
    char path[STATE_PATH_MAX], text[32] = "", *end = NULL;
    long long offset;
    FILE *file;

    if (user_state_path("test-clock-offset", "", path, sizeof(path)) != 0)
        return 0;
    file = fopen(path, "re");
    if (file == NULL)
        return 0;
    if (fgets(text, sizeof(text), file) == NULL)
        text[0] = '\0';
    fclose(file);
    offset = strtoll(text, &end, 10);
    return end != text && (*end == '\0' || *end == '\n') ? offset : 0;
}

bool test_allows_dumpable_start(void)
{
    const char *allowed = getenv("POK_TEST_DUMPABLE_START");

    return allowed != NULL && strcmp(allowed, "1") == 0;
}
