/* The refresher's timing as one pure function: no I/O, no clock, no randomness of its own.
 *
 * schedule_next() takes the current time, the token's times, the outcome of the refresh just
 * made (or none) and two uniform draws, and says when to refresh next and when to look again.
 * The refresher calls it (refresher.c), so do the unit tests and the fleet simulation
 * (bench/fleet.c, docs/FLEET.md); there is no other copy of these rules.
 *
 * Two policies, side by side for the simulation; the refresher uses SCHEDULE_FLEET only:
 *   SCHEDULE_TODAY  what the refresher did up to issue 14: jitter drawn once per refresher
 *                   (up to a tenth of the margin), backoff 60 s doubling to 15 min without
 *                   jitter, Retry-After ignored.
 *   SCHEDULE_FLEET  jitter drawn afresh for every token, up to a tenth of its lifetime;
 *                   full-jitter backoff: a uniform draw below a ceiling that starts at the time
 *                   the token still had at the first failure (at least 60 s) and doubles to
 *                   15 min - a token that is still valid is not retried within the minute, so
 *                   an outage's backlog comes back spread (docs/FLEET.md); a 429/503 with
 *                   Retry-After waits that long plus such a draw, and no request goes out, on
 *                   schedule or on demand, while it holds.
 * Unchanged by either: a refresh is due refresh_margin (plus jitter) before expiry, never more
 * than half the lifetime (refresh_due_at), and the refresh itself runs once-only under the
 * lock (store/refresh.h). Only libc: the simulation links this file alone. */
#ifndef POK_SCHEDULE_H
#define POK_SCHEDULE_H

#include <stdbool.h>

#define SCHEDULE_TICK_MAX_SECONDS 60 /* look at the wall clock at least this often */
#define SCHEDULE_BACKOFF_FIRST_SECONDS 60
#define SCHEDULE_BACKOFF_MAX_SECONDS 900
/* The fleet policy's jitter: up to this share of the token's lifetime, in thousandths. */
#define SCHEDULE_JITTER_PER_MILLE 100
/* A provider's Retry-After is believed up to this long; beyond, this long. */
#define SCHEDULE_RETRY_AFTER_MAX_SECONDS 3600
/* After a refresh whose answer was lost, one more try with the same token, no sooner than
 * this; if that is lost too, the user authorizes again (store/refresh.c enforces it under the
 * lock; the refresher does not wake a child before it could pass). */
#define SCHEDULE_LOST_ANSWER_WAIT_SECONDS 60
#define SCHEDULE_LOST_ANSWER_MAX_ATTEMPTS 2

enum schedule_policy {
    SCHEDULE_TODAY,
    SCHEDULE_FLEET,
};

/* What came of the refresh just made; the refresher maps refresh.h's outcomes onto these. */
enum schedule_outcome {
    SCHEDULE_NO_ATTEMPT, /* only looking: a tick, the start */
    SCHEDULE_SUCCEEDED,  /* refreshed, or not due: the pair in the keyring is good */
    SCHEDULE_FAILED,     /* unreachable, refused, keyring or lock trouble: nothing spent */
    SCHEDULE_BUSY,       /* 429 or 503: nothing spent; retry_after_seconds when it said so */
    SCHEDULE_LOST,       /* sent, no usable answer: the lost-answer rule holds the token */
    SCHEDULE_STOP,       /* authorization needed: nothing left to refresh */
};

/* Carried by the caller from one call to the next; all zero at the start. */
struct schedule_state {
    long long not_before;      /* no scheduled refresh before this (backoff, lost answer) */
    long long retry_after_end; /* the provider's Retry-After: no request at all before this */
    int failures;              /* consecutive attempts that did not succeed */
    long backoff_base;         /* the first backoff's ceiling, set by the first failure */
    bool jitter_drawn;
    long jitter_seconds;
    long long jitter_expires_at; /* the token the jitter was drawn for (its expiry) */
};

struct schedule_input {
    enum schedule_policy policy;
    long long now; /* Unix seconds */
    long long obtained_at;
    long long access_expires_at; /* 0: no expiry, never due */
    bool holds_tokens;           /* false: nothing in the keyring to keep fresh */
    long margin_seconds;         /* refresh_margin as configured */
    enum schedule_outcome outcome;
    long retry_after_seconds; /* with SCHEDULE_BUSY: the provider's Retry-After; 0: none */
    double jitter_draw;       /* uniform in [0, 1), drawn by the caller for this call */
    double backoff_draw;      /* the same, a second one */
};

struct schedule_plan {
    bool stop;            /* nothing left to keep fresh: the refresher ends */
    long long refresh_at; /* the next refresh, Unix seconds; 0: never due */
    long long wake_at;    /* when to look again: refresh_at, but at most a tick away */
    long margin_seconds;  /* margin plus jitter, for the refresh child's own due check */
    long long hold_until; /* no request at all before this (Retry-After); 0: none */
};

/* Updates state with input's outcome and plans what comes next. */
void schedule_next(struct schedule_state *state, const struct schedule_input *input,
                   struct schedule_plan *plan);

/* Whether a request asked for now (a tool, through the refresher) may go to the provider:
 * not while a Retry-After holds (SCHEDULE_FLEET); always (SCHEDULE_TODAY). */
bool schedule_may_send_now(const struct schedule_state *state, enum schedule_policy policy,
                           long long now);

/* When a pair with these times is next due (Unix seconds); 0 when it never is (no expiry).
 * The refresh's own once-only check (store/refresh.c) and oauth-keyring use it too. */
long long refresh_due_at(long long obtained_at, long long access_expires_at, long margin_seconds);

#endif
