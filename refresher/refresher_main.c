/* pam_oauth_keyring_refresher: the per-user refresher (refresher/refresher.h) and, started
 * afresh by it, its short-lived children. Runs as the user, never as root and never setuid,
 * installed beside the login helper (root:root 0711). It reads one request from stdin and
 * takes only the requests the protocol's table sends it (common/protocol_table.h):
 *   - "refresher", from a login helper: this process becomes the refresher;
 *   - "refresh", "logout", "exchange", from a refresher: one refresh, logout or a login's
 *     deferred exchange, done in this short-lived child, answered on stdout.
 * The module's requests (authorize, answer, session...) are refused here, as the login helper
 * refuses these. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common/process_guard.h"
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

static int (*const handlers[PROTOCOL_REQUEST_COUNT])(struct request_work *) = {
    [REQUEST_START_REFRESHER] = run_refresher,
    [REQUEST_CHILD_REFRESH] = work_refresh_for_refresher,
    [REQUEST_CHILD_LOGOUT] = work_logout_for_refresher,
    [REQUEST_CHILD_EXCHANGE] = exchange_for_refresher,
};

/* A request the table refuses here (the module's, an unknown field, a required one missing)
 * is answered "bad-request" with why, before any work. */
static int dispatch(struct request_work *work)
{
    const struct protocol_request_spec *spec = NULL;
    char why[256];

    if (protocol_request_accept(PROTOCOL_REFRESHER_READS, &work->request, &spec, why,
                                sizeof(why)) != 0 ||
        handlers[spec->request] == NULL)
        return work_reply_error(work, "bad-request", spec == NULL ? why : "not handled here");
    return handlers[spec->request](work);
}

int main(void)
{
    struct request_work work;
    int status = HELPER_EXIT_BAD_REQUEST;

    memset(&work, 0, sizeof(work));
    if (!process_started_protected(test_allows_dumpable_start()))
        return HELPER_EXIT_EXPOSED;
    if (!process_protect())
        return HELPER_EXIT_REFUSED;
    alarm(CHILD_MAX_SECONDS);
    signal(SIGPIPE, SIG_IGN);
    if (work_read_request(&work) != 0)
        goto out;
    status = dispatch(&work);
    if (work_write_reply(&work) != 0)
        status = HELPER_EXIT_FAILED;
out:
    protocol_message_clear(&work.request);
    protocol_message_clear(&work.reply);
    return status;
}
