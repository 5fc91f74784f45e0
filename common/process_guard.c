#include "config.h"

#include "common/process_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

bool process_started_protected(bool dumpable_allowed)
{
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

    return dumpable == 0 || dumpable == 2 || dumpable_allowed;
}

bool process_protect(void)
{
    char line[256];
    bool untraced = false;
    FILE *status;

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || getuid() == 0 || geteuid() == 0)
        return false;
    status = fopen("/proc/self/status", "re");
    if (status == NULL)
        return false;
    while (fgets(line, sizeof(line), status) != NULL) {
        if (strncmp(line, "TracerPid:", 10) == 0)
            untraced = strtol(line + 10, NULL, 10) == 0;
    }
    fclose(status);
    return untraced;
}
