/* pam_oauth_keyring_refresher: the per-user refresher (refresher/refresher.h) and, started
 * afresh by it, its short-lived children. Runs as the user, never as root and never setuid,
 * installed beside the login helper (root:root 0711). It reads one request from stdin and
 * takes only the requests the protocol's table sends it (common/protocol_table.h):
 *   - "refresher", from a login helper: this process becomes the refresher;
 *   - "refresh", "logout", "exchange", "discover", "device-authorize", "device-poll", from a
 *     refresher: one refresh, logout, a login's deferred exchange, a fetch of the issuer's
 *     metadata, a device sign-in's start or one poll of it, done in this short-lived child,
 *     answered on stdout.
 * The module's requests (authorize, answer, session...) are refused here, as the login helper
 * refuses these. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/protocol.h"
#include "common/protocol_table.h"
#include "refresher/refresher.h"
#include "store/request_work.h"
#include "store/test_hooks.h"

/* An absolute bound on a child, beyond the longest configurable exchange; the refresher
 * itself lifts it. */
#define CHILD_MAX_SECONDS 150

/* "refresher": this process becomes the long-lived refresher. */
static int run_refresher(struct request_work *work)
{
    struct refresh_request request;

    alarm(0); /* the per-run bound does not apply to a session-long process */
    work_refresh_settings(work, &request);
    refresher_run(&work->request, &request);
    return work_reply_error(work, "exited", "the refresher has exited");
}

/* "exchange": a login's code, left to the refresher because the keyring was not up yet. */
static int exchange_for_refresher(struct request_work *work)
{
    enum work_exchange_result result;

    return work_exchange_code(work, false, &result);
}

/* "discover": the issuer's metadata, for a refresher that never touches the network itself;
 * the endpoints as this child would use them (explicit ones stand). */
static int discover_for_refresher(struct request_work *work)
{
    char why[512];

    if (work_discover_endpoints(work, work_time_budget_ms(work), why, sizeof(why)) != 0)
        return work_reply_error(work, "discovery", why);
    if (work_field(work, FIELD_TOKEN_URL) == NULL)
        return work_reply_error(work, "discovery", "no token endpoint: nothing to discover from");
    protocol_reply_init(&work->reply, true);
    return protocol_set(&work->reply, FIELD_AUTHORIZE_URL, work_field(work, FIELD_AUTHORIZE_URL)) |
                   protocol_set(&work->reply, FIELD_TOKEN_URL, work_field(work, FIELD_TOKEN_URL)) |
                   protocol_set(&work->reply, FIELD_REVOKE_URL,
                                work_field(work, FIELD_REVOKE_URL)) |
                   protocol_set(&work->reply, FIELD_DEVICE_AUTHORIZATION_URL,
                                work_field(work, FIELD_DEVICE_AUTHORIZATION_URL))
               ? work_reply_error(work, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

/* "device-poll": one poll of a device sign-in; every verdict is an "ok" that names it (the
 * refresher decides what comes next), with a 429's Retry-After. */
static int poll_device_for_refresher(struct request_work *work)
{
    enum work_exchange_result result;
    struct work_device_poll poll;
    char retry_after[24];
    int status;

    work_poll_device(work, false, &result, &poll);
    if (result == WORK_EXCHANGE_NOT_SENT || result == WORK_EXCHANGE_NOT_STORED) {
        /* The keyring, not the provider: the reply's message says which. */
        const char *message = protocol_get(&work->reply, FIELD_MESSAGE);
        snprintf(poll.message, sizeof(poll.message), "%s",
                 message != NULL ? message : "the keyring cannot take the tokens");
    }
    status =
        work_reply_outcome(work,
                           result == WORK_EXCHANGE_NOT_SENT || result == WORK_EXCHANGE_NOT_STORED
                               ? "keyring-failed"
                               : device_poll_verdict_name(poll.verdict),
                           poll.message);
    snprintf(retry_after, sizeof(retry_after), "%ld", poll.retry_after_seconds);
    if (status == HELPER_EXIT_OK && poll.retry_after_seconds > 0 &&
        protocol_set(&work->reply, FIELD_RETRY_AFTER, retry_after) != 0)
        status = work_reply_error(work, "internal", "the reply does not fit");
    return status;
}

static work_handler *const handlers[PROTOCOL_REQUEST_COUNT] = {
    [REQUEST_CHILD_DEVICE_AUTHORIZE] = work_device_authorize,
    [REQUEST_CHILD_DEVICE_POLL] = poll_device_for_refresher,
    [REQUEST_START_REFRESHER] = run_refresher,
    [REQUEST_CHILD_REFRESH] = work_refresh_for_refresher,
    [REQUEST_CHILD_LOGOUT] = work_logout_for_refresher,
    [REQUEST_CHILD_EXCHANGE] = exchange_for_refresher,
    [REQUEST_CHILD_DISCOVER] = discover_for_refresher,
};

int main(void)
{
    return work_serve_one_request(PROTOCOL_REFRESHER_READS, handlers, CHILD_MAX_SECONDS);
}
