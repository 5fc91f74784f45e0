/* The refresher's timing (see schedule.h): pure, so the refresher, the unit tests and the
 * fleet simulation run the same rules. */
#include "config.h"

#include "store/schedule.h"

long long refresh_due_at(long long obtained_at, long long access_expires_at, long margin_seconds)
{
    long long lifetime = access_expires_at - obtained_at;
    long long margin = margin_seconds;

    if (access_expires_at <= 0)
        return 0;
    /* Never more than half the lifetime, so short-lived tokens do not refresh in a loop. */
    if (lifetime > 0 && margin > lifetime / 2)
        margin = lifetime / 2;
    return access_expires_at - margin;
}

/* A whole number of seconds uniformly in [0, span], from a draw in [0, 1). */
static long draw_seconds(double draw, long long span)
{
    long long seconds;

    if (span <= 0 || !(draw > 0.0))
        return 0;
    seconds = (long long)(draw * (double)(span + 1));
    return (long)(seconds > span ? span : seconds);
}

/* Today's jitter: once per refresher, up to a tenth of the margin. The fleet's: for every token
 * afresh, up to SCHEDULE_JITTER_PER_MILLE of its lifetime (a tenth of the margin when the
 * lifetime is unknown), so tokens issued in one second drift apart with every refresh. */
static void draw_jitter(struct schedule_state *state, const struct schedule_input *input)
{
    long long lifetime = input->access_expires_at - input->obtained_at;
    long long span = input->margin_seconds / 10;

    if (input->policy == SCHEDULE_TODAY) {
        if (!state->jitter_drawn)
            state->jitter_seconds = draw_seconds(input->jitter_draw, span);
    } else if (!state->jitter_drawn || state->jitter_expires_at != input->access_expires_at) {
        if (input->access_expires_at > 0 && lifetime > 0)
            span = lifetime * SCHEDULE_JITTER_PER_MILLE / 1000;
        state->jitter_seconds = draw_seconds(input->jitter_draw, span);
    }
    state->jitter_drawn = true;
    state->jitter_expires_at = input->access_expires_at;
}

/* The fleet's first ceiling: the time the token still has, at least a minute, at most the cap.
 * Retrying a valid token within a minute buys nothing - tools still find it valid - and costs a
 * fleet dearly: after an outage every workstation whose refresh failed in its last minutes
 * would come back within a minute of its end (4.4 times the mean load, docs/FLEET.md). */
static long first_ceiling(const struct schedule_input *input)
{
    long long left = input->access_expires_at - input->now;

    if (input->access_expires_at <= 0 || left < SCHEDULE_BACKOFF_FIRST_SECONDS)
        return SCHEDULE_BACKOFF_FIRST_SECONDS;
    return left > SCHEDULE_BACKOFF_MAX_SECONDS ? SCHEDULE_BACKOFF_MAX_SECONDS : (long)left;
}

/* The wait after the failures-th failure in a row: today 60 s doubling to 15 min exactly; the
 * fleet a uniform draw ("full jitter"), at least a second, below a ceiling that starts at
 * first_ceiling and doubles to 15 min. */
static long backoff_seconds(struct schedule_state *state, const struct schedule_input *input)
{
    long ceiling = SCHEDULE_BACKOFF_FIRST_SECONDS;
    long wait;

    if (input->policy == SCHEDULE_FLEET && state->failures == 1)
        state->backoff_base = first_ceiling(input);
    if (input->policy == SCHEDULE_FLEET && state->backoff_base > ceiling)
        ceiling = state->backoff_base;
    for (int i = 1; i < state->failures && ceiling < SCHEDULE_BACKOFF_MAX_SECONDS; i++)
        ceiling *= 2;
    if (ceiling > SCHEDULE_BACKOFF_MAX_SECONDS)
        ceiling = SCHEDULE_BACKOFF_MAX_SECONDS;
    if (input->policy == SCHEDULE_TODAY)
        return ceiling;
    wait = draw_seconds(input->backoff_draw, ceiling);
    return wait < 1 ? 1 : wait;
}

static long retry_after_seconds(const struct schedule_input *input)
{
    if (input->retry_after_seconds <= 0)
        return 0;
    return input->retry_after_seconds > SCHEDULE_RETRY_AFTER_MAX_SECONDS
               ? SCHEDULE_RETRY_AFTER_MAX_SECONDS
               : input->retry_after_seconds;
}

/* A failure of any kind: nothing spent, the old pair kept; when to try again. Today every kind
 * backs off alike; the fleet waits out a Retry-After (plus the draw) and the lost-answer
 * minute (plus the draw) first. */
static void after_failure(struct schedule_state *state, const struct schedule_input *input)
{
    long long now = input->now;
    long wait, first = 0;

    state->failures++;
    wait = backoff_seconds(state, input);
    if (input->policy == SCHEDULE_FLEET && input->outcome == SCHEDULE_BUSY) {
        first = retry_after_seconds(input);
        if (first > 0 && now + first > state->retry_after_end)
            state->retry_after_end = now + first;
    } else if (input->policy == SCHEDULE_FLEET && input->outcome == SCHEDULE_LOST) {
        first = SCHEDULE_LOST_ANSWER_WAIT_SECONDS;
    }
    state->not_before = now + first + wait;
}

static void take_outcome(struct schedule_state *state, const struct schedule_input *input)
{
    switch (input->outcome) {
    case SCHEDULE_NO_ATTEMPT:
    case SCHEDULE_STOP:
        break;
    case SCHEDULE_SUCCEEDED:
        state->failures = 0;
        state->not_before = 0;
        break;
    case SCHEDULE_FAILED:
    case SCHEDULE_BUSY:
    case SCHEDULE_LOST:
        after_failure(state, input);
        break;
    }
}

static long long later(long long a, long long b)
{
    return a > b ? a : b;
}

void schedule_next(struct schedule_state *state, const struct schedule_input *input,
                   struct schedule_plan *plan)
{
    long long now = input->now, due;

    *plan = (struct schedule_plan){0};
    take_outcome(state, input);
    draw_jitter(state, input);
    plan->margin_seconds = input->margin_seconds + state->jitter_seconds;
    plan->hold_until = state->retry_after_end > now ? state->retry_after_end : 0;
    plan->stop = input->outcome == SCHEDULE_STOP || !input->holds_tokens;
    due = refresh_due_at(input->obtained_at, input->access_expires_at, plan->margin_seconds);
    if (due > 0)
        plan->refresh_at = later(later(due, state->not_before), plan->hold_until);
    plan->wake_at = now + SCHEDULE_TICK_MAX_SECONDS;
    if (plan->refresh_at > 0 && plan->refresh_at < plan->wake_at)
        plan->wake_at = later(plan->refresh_at, now + 1);
}

bool schedule_may_send_now(const struct schedule_state *state, enum schedule_policy policy,
                           long long now)
{
    return policy == SCHEDULE_TODAY || now >= state->retry_after_end;
}
