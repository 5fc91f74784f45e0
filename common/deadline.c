#include "config.h"

#include "common/deadline.h"

#include <time.h>

long long monotonic_now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

long long deadline_remaining_ms(long long deadline_ms)
{
    long long left = deadline_ms - monotonic_now_ms();

    return left > 0 ? left : 0;
}
