/* pam_oauth_keyring_refresher: the per-user refresher (refresher/refresher.h) and, started
 * afresh by it, its short-lived children. Runs as the user, never as root and never setuid,
 * installed beside the login helper (root:root 0711). It reads one request from stdin and
 * takes only the requests the protocol's table sends it (common/protocol_table.h):
 *   - "refresher", from a login helper: this process becomes the refresher;
 *   - "refresh", "logout", "exchange", "discover", from a refresher: one refresh, logout, a
 *     login's deferred exchange or a fetch of the issuer's metadata, done in this
 *     short-lived child, answered on stdout.
 * The module's requests (authorize, answer, session...) are refused here, as the login helper
 * refuses these. */
#include "config.h"

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
                   protocol_set(&work->reply, FIELD_REVOKE_URL, work_field(work, FIELD_REVOKE_URL))
               ? work_reply_error(work, "internal", "the reply does not fit")
               : HELPER_EXIT_OK;
}

static work_handler *const handlers[PROTOCOL_REQUEST_COUNT] = {
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
