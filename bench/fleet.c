/* A fleet of workstations against one token endpoint, simulated (issue 14, docs/FLEET.md).
 *
 * A discrete-event loop with a virtual clock (whole seconds over one day) runs N refreshers,
 * each calling the real store/schedule.c, once with today's policy and once with the
 * fleet policy, on the same day: the same logins, lunches, tools and outage (one seed).
 *
 *   logins    normal around 09:00 (sigma 20 min); the session's own refresh of yesterday's
 *             token, then the refresher starts; sessions end normal around 17:30 (45 min)
 *   lunch     half the machines sleep from about 12:00 for about 55 min; on waking the
 *             refresher looks within its tick (at most 60 s)
 *   tools     ask for the token (oauth-keyring token, min-valid 60) Poisson, 4 an hour; a token
 *             not valid for that asks the refresher, which refreshes at once (today) or unless a
 *             Retry-After holds (fleet)
 *   endpoint  capacity requests per second; above it 429 with Retry-After (fleet: a pause;
 *             today: Okta's body is no OAuth error, so a lost answer); 11:00-11:10 an outage:
 *             connections time out, nothing is sent
 *   child     the once-only refresh of store/refresh.c: sends only when due; the lost-answer
 *             rule (a second try after a minute, then the user signs in again); fleet: a
 *             429's Retry-After kept in SERVICE.status holds every process's request, the
 *             login's session hook and the refresher alike
 *
 * Prints a table, writes CSV (requests and 429s per minute for both) and, with --plot, a PNG
 * through gnuplot. --check runs the invariants (exit 1 when broken): no user forced to sign in
 * again and no request while a Retry-After holds, under the fleet policy. Deterministic for a
 * seed. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schedule.h"

#define DAY 86400
#define MINUTES (DAY / 60)
#define HOUR 3600
#define MARGIN 300
#define TOOL_MIN_VALID 60
#define TOOL_RATE_PER_HOUR 4.0
#define OUTAGE_START (11 * HOUR)
#define OUTAGE_END (11 * HOUR + 600)

struct options {
    int workstations;
    unsigned long long seed;
    long ttl;
    int capacity;
    long retry_after;
    long end; /* the simulated span: from midnight to this, seconds */
    const char *csv, *plot;
    bool check;
};

enum event_kind { LOGIN, TICK, TOOL, SLEEP, WAKE, LOGOUT };

struct event {
    long long at;
    unsigned long long order; /* ties: first scheduled, first run */
    int station;
    enum event_kind kind;
    unsigned generation; /* a TICK of an older timer is stale */
};

struct station {
    long long login_at, logout_at, sleep_at, wake_at;
    long long obtained_at, expires_at;
    int unknown_attempts;
    long long unknown_at;
    bool running, asleep, forced;
    bool on_demand; /* the refresh under way is a tool's, through the refresher */
    unsigned generation;
    long long hold_until;        /* the last 429's Retry-After, as the provider said it */
    long long status_hold_until; /* the same, as SERVICE.status keeps it (fleet only) */
    long retry_after;            /* what the last busy outcome carries to the schedule */
    struct schedule_state state;
    struct schedule_plan plan;
};

struct figures {
    long requests_per_minute[MINUTES], busy_per_minute[MINUTES], on_demand_per_minute[MINUTES];
    int arrivals[DAY];
    long busy, forced, sent_during_hold, tool_asks, tool_misses;
};

struct fleet {
    const struct options *options;
    enum schedule_policy policy;
    struct station *stations;
    struct event *heap;
    size_t heap_size, heap_capacity;
    unsigned long long order, random_state;
    struct figures *figures;
};

/* splitmix64: one stream per run, seeded alike for both policies. */
static double uniform(struct fleet *fleet)
{
    unsigned long long z = (fleet->random_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static double normal(struct fleet *fleet, double mean, double sigma)
{
    double u = uniform(fleet), v = uniform(fleet);

    return mean + sigma * sqrt(-2.0 * log(u > 0 ? u : 1e-12)) * cos(2.0 * M_PI * v);
}

static bool before(const struct event *a, const struct event *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void push(struct fleet *fleet, long long at, int station, enum event_kind kind)
{
    struct event event = {at, fleet->order++, station, kind, fleet->stations[station].generation};
    size_t i;

    if (at >= fleet->options->end)
        return;
    if (fleet->heap_size == fleet->heap_capacity) {
        fleet->heap_capacity = fleet->heap_capacity * 2 + 1024;
        fleet->heap = realloc(fleet->heap, fleet->heap_capacity * sizeof(*fleet->heap));
        if (fleet->heap == NULL)
            abort();
    }
    i = fleet->heap_size++;
    while (i > 0 && before(&event, &fleet->heap[(i - 1) / 2])) {
        fleet->heap[i] = fleet->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    fleet->heap[i] = event;
}

static struct event pop(struct fleet *fleet)
{
    struct event top = fleet->heap[0], last = fleet->heap[--fleet->heap_size];
    size_t i = 0;

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= fleet->heap_size)
            break;
        if (child + 1 < fleet->heap_size && before(&fleet->heap[child + 1], &fleet->heap[child]))
            child++;
        if (!before(&fleet->heap[child], &last))
            break;
        fleet->heap[i] = fleet->heap[child];
        i = child;
    }
    if (fleet->heap_size > 0)
        fleet->heap[i] = last;
    return top;
}

/* The endpoint: what one request sent at `at` gets. */
static enum schedule_outcome endpoint(struct fleet *fleet, struct station *station, long long at)
{
    struct figures *figures = fleet->figures;

    figures->requests_per_minute[at / 60]++;
    figures->on_demand_per_minute[at / 60] += station->on_demand;
    if (at < station->hold_until)
        figures->sent_during_hold++;
    if (at >= OUTAGE_START && at < OUTAGE_END)
        return SCHEDULE_FAILED; /* connect timeout: nothing sent, nothing spent */
    if (figures->arrivals[at]++ >= fleet->options->capacity) {
        figures->busy++;
        figures->busy_per_minute[at / 60]++;
        station->hold_until = at + fleet->options->retry_after;
        if (fleet->policy == SCHEDULE_TODAY)
            return SCHEDULE_LOST; /* a 429 whose body is no OAuth error was a lost answer */
        station->status_hold_until = station->hold_until;
        station->retry_after = fleet->options->retry_after;
        return SCHEDULE_BUSY;
    }
    station->obtained_at = at;
    station->expires_at = at + fleet->options->ttl;
    station->unknown_attempts = 0;
    return SCHEDULE_SUCCEEDED;
}

/* The refresh under the lock (store/refresh.c), whoever runs it (a login's session hook, the
 * refresher's child): only when due; the lost-answer rule; a Retry-After in SERVICE.status. */
static enum schedule_outcome refresh_once(struct fleet *fleet, struct station *station,
                                          long long at, long margin)
{
    enum schedule_outcome outcome;

    if (station->forced)
        return SCHEDULE_STOP;
    if (at < refresh_due_at(station->obtained_at, station->expires_at, margin))
        return SCHEDULE_SUCCEEDED;
    if (station->unknown_attempts >= SCHEDULE_LOST_ANSWER_MAX_ATTEMPTS) {
        station->forced = true;
        fleet->figures->forced++;
        return SCHEDULE_STOP;
    }
    if (station->unknown_attempts > 0 &&
        at - station->unknown_at < SCHEDULE_LOST_ANSWER_WAIT_SECONDS)
        return SCHEDULE_LOST;
    if (fleet->policy == SCHEDULE_FLEET && at < station->status_hold_until) {
        station->retry_after = (long)(station->status_hold_until - at);
        return SCHEDULE_BUSY; /* nothing sent; the time left goes back to the refresher */
    }
    outcome = endpoint(fleet, station, at);
    if (outcome == SCHEDULE_LOST) {
        station->unknown_attempts++;
        station->unknown_at = at;
    }
    return outcome;
}

static void plan(struct fleet *fleet, struct station *station, long long at,
                 enum schedule_outcome outcome)
{
    struct schedule_input input = {
        .policy = fleet->policy,
        .now = at,
        .obtained_at = station->obtained_at,
        .access_expires_at = station->expires_at,
        .holds_tokens = !station->forced,
        .margin_seconds = MARGIN,
        .outcome = outcome,
        .retry_after_seconds = outcome == SCHEDULE_BUSY ? station->retry_after : 0,
        .jitter_draw = uniform(fleet),
        .backoff_draw = uniform(fleet),
    };

    schedule_next(&station->state, &input, &station->plan);
}

static void arm(struct fleet *fleet, int index, long long at)
{
    struct station *station = &fleet->stations[index];

    if (station->plan.stop || !station->running)
        return;
    station->generation++;
    push(fleet, at, index, TICK);
}

static void on_tick(struct fleet *fleet, int index, long long at)
{
    struct station *station = &fleet->stations[index];

    plan(fleet, station, at, SCHEDULE_NO_ATTEMPT);
    if (!station->plan.stop && station->plan.refresh_at > 0 && at >= station->plan.refresh_at)
        plan(fleet, station, at, refresh_once(fleet, station, at, station->plan.margin_seconds));
    arm(fleet, index, station->plan.wake_at);
}

static void on_login(struct fleet *fleet, int index, long long at)
{
    struct station *station = &fleet->stations[index];

    refresh_once(fleet, station, at, MARGIN); /* the session's own, outside the refresher */
    station->running = true;                  /* the refresher starts, plans and sets its timer */
    plan(fleet, station, at, SCHEDULE_NO_ATTEMPT);
    arm(fleet, index, station->plan.wake_at);
    push(fleet, at + (long long)(-log(1.0 - uniform(fleet)) * HOUR / TOOL_RATE_PER_HOUR), index,
         TOOL);
}

/* A tool asking for a token valid for a minute: from the keyring, else through the refresher,
 * which plans anew and keeps its timer (refresher.c refresh_on_demand). */
static void on_tool(struct fleet *fleet, int index, long long at)
{
    struct station *station = &fleet->stations[index];
    bool outage = at >= OUTAGE_START && at < OUTAGE_END;
    bool usable;

    if (!station->running)
        return;
    push(fleet, at + 1 + (long long)(-log(1.0 - uniform(fleet)) * HOUR / TOOL_RATE_PER_HOUR), index,
         TOOL);
    if (station->asleep)
        return;
    usable = at < refresh_due_at(station->obtained_at, station->expires_at, TOOL_MIN_VALID);
    if (!usable && !station->forced && schedule_may_send_now(&station->state, fleet->policy, at)) {
        station->on_demand = true;
        plan(fleet, station, at, refresh_once(fleet, station, at, TOOL_MIN_VALID));
        station->on_demand = false;
        usable = at < station->expires_at && station->obtained_at <= at &&
                 at < refresh_due_at(station->obtained_at, station->expires_at, TOOL_MIN_VALID);
    }
    if (!outage) {
        fleet->figures->tool_asks++;
        fleet->figures->tool_misses += !usable;
    }
}

static void run_event(struct fleet *fleet, const struct event *event)
{
    struct station *station = &fleet->stations[event->station];

    switch (event->kind) {
    case LOGIN:
        on_login(fleet, event->station, event->at);
        break;
    case TICK:
        if (event->generation == station->generation && station->running && !station->asleep)
            on_tick(fleet, event->station, event->at);
        break;
    case TOOL:
        on_tool(fleet, event->station, event->at);
        break;
    case SLEEP:
        station->asleep = true;
        break;
    case WAKE:
        station->asleep = false;
        arm(fleet, event->station, event->at + (long long)(uniform(fleet) * 60));
        break;
    case LOGOUT:
        station->running = false;
        station->generation++;
        break;
    }
}

static long long clamp_time(double seconds, long long low, long long high)
{
    long long t = (long long)seconds;

    return t < low ? low : t > high ? high : t;
}

/* The day's people: drawn from the seed alone, so both policies see the same day. */
static void make_day(struct fleet *fleet)
{
    const struct options *options = fleet->options;

    for (int i = 0; i < options->workstations; i++) {
        struct station *station = &fleet->stations[i];
        station->login_at = clamp_time(normal(fleet, 9 * HOUR, 20 * 60), 6 * HOUR, 12 * HOUR);
        station->logout_at = clamp_time(normal(fleet, 17.5 * HOUR, 45 * 60), 14 * HOUR, DAY - 1);
        station->obtained_at = station->login_at - 16 * HOUR; /* yesterday's, expired */
        station->expires_at = station->obtained_at + options->ttl;
        push(fleet, station->login_at, i, LOGIN);
        push(fleet, station->logout_at, i, LOGOUT);
        if (uniform(fleet) < 0.5) {
            station->sleep_at =
                clamp_time(normal(fleet, 12 * HOUR, 15 * 60), 11.5 * HOUR, 12.75 * HOUR);
            station->wake_at =
                station->sleep_at + clamp_time(normal(fleet, 55 * 60, 10 * 60), 20 * 60, 90 * 60);
            push(fleet, station->sleep_at, i, SLEEP);
            push(fleet, station->wake_at, i, WAKE);
        }
    }
}

static void simulate(const struct options *options, enum schedule_policy policy,
                     struct figures *figures)
{
    struct fleet fleet = {.options = options, .policy = policy, .figures = figures};

    fleet.random_state = options->seed;
    fleet.stations = calloc((size_t)options->workstations, sizeof(*fleet.stations));
    if (fleet.stations == NULL)
        abort();
    make_day(&fleet);
    /* The draws of the run itself differ by policy; the day above does not. */
    fleet.random_state = options->seed * 7919 + (unsigned long long)policy;
    while (fleet.heap_size > 0) {
        struct event event = pop(&fleet);
        run_event(&fleet, &event);
    }
    free(fleet.heap);
    free(fleet.stations);
}

struct summary {
    double mean, peak, first_minute, worst_minute, recovery_seconds, miss_share;
    bool steady;       /* the run reached the steady hours */
    bool after_outage; /* the run went on past the outage: its figures mean something */
};

/* Outside the login wave: 10:30-17:00 without the outage's half hour, and only what was run
 * (a short run's window is shorter, or empty: then the ratios print n/a, never NaN). */
static bool steady_minute(long minute, long end)
{
    return minute >= 630 && minute < 1020 && minute < end / 60 && !(minute >= 660 && minute < 690);
}

static void summarize(const struct figures *figures, const struct options *options,
                      struct summary *summary)
{
    long total = 0, count = 0, peak = 0, worst = 0, last_over = -1;
    int capacity = options->capacity;

    summary->after_outage = options->end > OUTAGE_END + 60;
    for (long m = 0; m < MINUTES; m++) {
        if (!steady_minute(m, options->end))
            continue;
        total += figures->requests_per_minute[m];
        count++;
        peak = figures->requests_per_minute[m] > peak ? figures->requests_per_minute[m] : peak;
    }
    for (long m = OUTAGE_END / 60; m < OUTAGE_END / 60 + 60; m++)
        worst = figures->requests_per_minute[m] > worst ? figures->requests_per_minute[m] : worst;
    for (long s = OUTAGE_END; s < OUTAGE_END + HOUR; s++)
        last_over = figures->arrivals[s] > capacity ? s : last_over;
    summary->steady = count > 0;
    summary->mean = count > 0 ? (double)total / count / 60.0 : 0;
    summary->peak = peak / 60.0;
    summary->first_minute = figures->requests_per_minute[OUTAGE_END / 60] / 60.0;
    summary->worst_minute = worst / 60.0;
    summary->recovery_seconds = last_over < 0 ? 0 : (double)(last_over + 1 - OUTAGE_END);
    summary->miss_share =
        figures->tool_asks > 0 ? (double)figures->tool_misses / figures->tool_asks : 0;
}

/* A row of two ratios (value / base), n/a where the run has no figure for it. */
static void print_ratios(const char *label, const double value[2], const double base[2], bool known)
{
    char text[2][24];

    for (int p = 0; p < 2; p++) {
        if (known && base[p] > 0)
            snprintf(text[p], sizeof(text[p]), "%.2f", value[p] / base[p]);
        else
            snprintf(text[p], sizeof(text[p]), "n/a");
    }
    printf("%-46s %12s %12s\n", label, text[0], text[1]);
}

static void print_table(const struct options *options, const struct figures *figures)
{
    static const char *const names[2] = {"today", "fleet"};
    struct summary s[2];
    double mean[2], peak[2], first[2], worst[2], ones[2] = {1, 1};

    for (int p = 0; p < 2; p++) {
        summarize(&figures[p], options, &s[p]);
        mean[p] = s[p].mean, peak[p] = s[p].peak;
        first[p] = s[p].first_minute, worst[p] = s[p].worst_minute;
    }
    printf("%d workstations, %ld s tokens, capacity %d/s, Retry-After %ld s, seed %llu\n",
           options->workstations, options->ttl, options->capacity, options->retry_after,
           options->seed);
    printf("%-46s %12s %12s\n", "", names[0], names[1]);
    print_ratios("mean requests/s (10:30-17:00, not 11:00-11:30)", mean, ones, s[0].steady);
    print_ratios("peak requests/s (busiest minute, same hours)", peak, ones, s[0].steady);
    print_ratios("peak / mean", peak, mean, true);
    printf("%-46s %12ld %12ld\n", "429 answers", figures[0].busy, figures[1].busy);
    if (s[0].after_outage)
        printf("%-46s %12.0f %12.0f\n", "s after the outage until within capacity",
               s[0].recovery_seconds, s[1].recovery_seconds);
    else
        printf("%-46s %12s %12s\n", "s after the outage until within capacity", "n/a", "n/a");
    print_ratios("first minute after the outage / mean", first, mean, s[0].after_outage);
    print_ratios("busiest minute in the hour after / mean", worst, mean, s[0].after_outage);
    if (s[0].after_outage)
        printf("%-46s %5ld (%4ld) %5ld (%4ld)\n", "first minute after: requests (tools' own)",
               figures[0].requests_per_minute[OUTAGE_END / 60],
               figures[0].on_demand_per_minute[OUTAGE_END / 60],
               figures[1].requests_per_minute[OUTAGE_END / 60],
               figures[1].on_demand_per_minute[OUTAGE_END / 60]);
    printf("%-46s %11.3f%% %11.3f%%\n", "tool requests without a valid token",
           100 * s[0].miss_share, 100 * s[1].miss_share);
    printf("%-46s %12ld %12ld\n", "users forced to sign in again", figures[0].forced,
           figures[1].forced);
    printf("%-46s %12ld %12ld\n", "requests sent while a Retry-After held",
           figures[0].sent_during_hold, figures[1].sent_during_hold);
}

static int write_csv(const char *path, const struct figures *figures)
{
    FILE *file = fopen(path, "w");

    if (file == NULL)
        return -1;
    fprintf(file, "minute,time,today_requests,fleet_requests,today_429,fleet_429\n");
    for (long m = 0; m < MINUTES; m++)
        fprintf(file, "%ld,%02ld:%02ld,%ld,%ld,%ld,%ld\n", m, m / 60, m % 60,
                figures[0].requests_per_minute[m], figures[1].requests_per_minute[m],
                figures[0].busy_per_minute[m], figures[1].busy_per_minute[m]);
    return fclose(file) == 0 ? 0 : -1;
}

static int write_plot(const char *png, const char *csv, int capacity)
{
    char command[4096];
    FILE *gnuplot = popen("gnuplot", "w");

    if (gnuplot == NULL)
        return -1;
    snprintf(command, sizeof(command),
             "set terminal png size 1200,500\nset output '%s'\nset datafile separator ','\n"
             "set xdata time\nset timefmt '%%H:%%M'\nset format x '%%H:%%M'\n"
             "set xrange ['06:00':'19:00']\nset ylabel 'token requests per minute'\n"
             "set title 'token endpoint load, requests per minute (capacity %d/s = %d/min)'\n"
             "plot '%s' every ::1 using 2:3 with lines title 'today', "
             "'' every ::1 using 2:4 with lines title 'fleet (issue 14)', "
             "%d with lines dashtype 2 title 'capacity'\n",
             png, capacity, capacity * 60, csv, capacity * 60);
    fputs(command, gnuplot);
    return pclose(gnuplot) == 0 ? 0 : -1;
}

static int parse_options(int argc, char **argv, struct options *options)
{
    *options = (struct options){10000, 1, HOUR, 20, 20, DAY, NULL, NULL, false};
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--check") == 0) {
            options->check = true;
            continue;
        }
        if (value == NULL)
            return -1;
        if (strcmp(argv[i], "--workstations") == 0)
            options->workstations = atoi(value);
        else if (strcmp(argv[i], "--seed") == 0)
            options->seed = strtoull(value, NULL, 10);
        else if (strcmp(argv[i], "--ttl") == 0)
            options->ttl = atol(value);
        else if (strcmp(argv[i], "--capacity") == 0)
            options->capacity = atoi(value);
        else if (strcmp(argv[i], "--retry-after") == 0)
            options->retry_after = atol(value);
        else if (strcmp(argv[i], "--hours") == 0)
            options->end = atol(value) * HOUR;
        else if (strcmp(argv[i], "--csv") == 0)
            options->csv = value;
        else if (strcmp(argv[i], "--plot") == 0)
            options->plot = value;
        else
            return -1;
        i++;
    }
    return options->workstations > 0 && options->ttl > 60 && options->capacity > 0 &&
                   options->end > 0 && options->end <= DAY
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    static struct figures figures[2];
    struct options options;
    int rv = 0;

    if (parse_options(argc, argv, &options) != 0) {
        fprintf(stderr, "usage: fleet [--workstations N] [--seed S] [--ttl S] [--capacity R] "
                        "[--retry-after S] [--hours H] [--csv FILE] [--plot PNG] [--check]\n");
        return 2;
    }
    simulate(&options, SCHEDULE_TODAY, &figures[0]);
    simulate(&options, SCHEDULE_FLEET, &figures[1]);
    print_table(&options, figures);
    if (options.csv != NULL && write_csv(options.csv, figures) != 0)
        rv = 1;
    if (rv == 0 && options.plot != NULL && options.csv != NULL &&
        write_plot(options.plot, options.csv, options.capacity) != 0)
        rv = 1;
    if (options.check &&
        (figures[1].forced != 0 || figures[1].sent_during_hold != 0 || figures[1].busy == 0)) {
        fprintf(stderr,
                "fleet: invariant broken: %ld forced sign-ins, %ld requests during a "
                "Retry-After, %ld 429s (want 0, 0, more than 0)\n",
                figures[1].forced, figures[1].sent_during_hold, figures[1].busy);
        rv = 1;
    }
    return rv;
}
