/* One clock for the module and its helper: CLOCK_MONOTONIC is system-wide, so a deadline the
 * module sets before fork means the same instant to the helper, however long exec took. */
#ifndef POK_DEADLINE_H
#define POK_DEADLINE_H

long long monotonic_now_ms(void);

/* Milliseconds until deadline_ms (CLOCK_MONOTONIC), 0 when it has passed. */
long long deadline_remaining_ms(long long deadline_ms);

#endif
