/* Refreshing the pair once when it is due (RFC 6749 section 6), safe across processes.
 *
 * Refresh tokens are single-use and rotate. Every refresh in any of the user's processes runs
 * under one flock, re-reads the keyring after taking it, and sends a refresh token only if the
 * access token is still due - so a token that another process just renewed is never spent
 * twice - and stores the answer only while the keyring still holds the token it spent, so a
 * stale answer never overwrites a newer pair (a sign-in stored meanwhile). */
#ifndef POK_REFRESH_H
#define POK_REFRESH_H

#include <stdbool.h>

#include "store/schedule.h" /* refresh_due_at: the due rule, one for all */
#include "store/keyring.h"

#define REFRESH_DEFAULT_MARGIN 300
/* Whoever holds the refresh lock lets go within one request timeout and the store: a waiter
 * that has no deadline of its own waits that long plus this. */
#define REFRESH_LOCK_SLACK_MS 2000

struct refresh_request {
    struct token_item_names names;
    const char *token_url;      /* the configured one; the pair's own wins only as choose_token_url
                                 * allows: the same, or a Snyk region when token_url_from_preset.
                                 * NULL with issuer: the one the issuer's metadata names, fetched
                                 * when a refresh is due (oauth/discovery.h) */
    const char *issuer;         /* for discovery; NULL: none */
    bool token_url_from_preset; /* the Snyk preset chose token_url (no explicit one) */
    const char *client_id;
    const char *client_secret; /* NULL for public clients */
    const char *ca_file;
    long timeout_ms;        /* for one token request */
    long margin_seconds;    /* refresh when less than this is left (at most half the lifetime) */
    long min_valid_seconds; /* > 0: refresh when less than this is left, whatever the margin */
    long lock_wait_ms;      /* how long to wait for another process's refresh; 0: timeout + slack */
    long long deadline_ms;  /* CLOCK_MONOTONIC ms by which all must be done; 0: none */
};

enum refresh_outcome {
    REFRESH_NOT_DUE,              /* the access token is valid long enough: no request */
    REFRESH_DONE,                 /* a new pair is stored */
    REFRESH_AUTHORIZATION_NEEDED, /* no usable refresh token (items removed if dead) */
    REFRESH_PROVIDER_UNREACHABLE, /* not sent, or the provider failed (5xx): old pair kept */
    REFRESH_PROVIDER_ERROR,       /* the provider refused for another reason (client, scope) */
    REFRESH_OUTCOME_UNKNOWN,      /* sent, no usable answer: not re-sent in a loop */
    REFRESH_KEYRING_FAILED,       /* locked, unwritable or unreadable: nothing spent */
    REFRESH_LOCK_TIMEOUT,         /* another process held the lock too long: nothing spent */
};

struct refresh_report {
    enum refresh_outcome outcome;
    char message[320];
    long long access_expires_at; /* of the pair now in the keyring; 0: unknown or none */
    long long refresh_expires_at;
    long long obtained_at;
    bool holds_refresh_token; /* the pair now in the keyring has one (for the module's state) */
    long retry_after_seconds; /* a 429/503 said to wait this long (capped); 0: it did not */
};

/* The whole refresh, under the lock. Never prompts, never blocks past the request timeout
 * plus the lock wait. */
void refresh_if_due(struct keyring *keyring, const struct refresh_request *request,
                    struct refresh_report *report);

/* How long one token request may take: timeout_ms, but with a deadline (CLOCK_MONOTONIC ms,
 * a login waiting) ending early enough to store the answer - a request cut off after the
 * provider rotated would lose the grant. Below 500, do not send at all. */
long request_time_budget_ms(long timeout_ms, long long deadline_ms);

/* A short name for logs and status files. */
const char *refresh_outcome_name(enum refresh_outcome outcome);

/* The outcome a name stands for; an unknown name (or NULL) is REFRESH_OUTCOME_UNKNOWN. */
enum refresh_outcome refresh_outcome_from_name(const char *name);

/* Whether SERVICE.status (read, nothing created) records, as its latest event at or after
 * since (Unix seconds), a sign-in or a refresh that leaves a pair in the keyring (refreshed,
 * not due, provider unreachable) - not a logout, a failed exchange or a dead grant. The file
 * is the user's: what it says decides only whether the user's own login asks. */
bool refresh_status_signed_in_since(const char *service, long long since);

#endif
