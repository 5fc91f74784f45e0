#include "config.h"

#include "store/logout.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "oauth/token_exchange.h"
#include "oauth/token_forms.h"
#include "store/user_state.h"

/* True when the provider confirmed the revocation; note says which it was. */
static bool revoke_refresh_token(const struct refresh_request *request, const char *revoke_url,
                                 const char *refresh_token, char *note, size_t note_size)
{
    struct capped_buffer form = {0};
    struct exchange_result result;
    const struct oauth_client client = {request->client_id, request->client_secret};
    int rv = token_form_revoke(&form, &client, refresh_token);
    bool revoked;

    memset(&result, 0, sizeof(result));
    if (rv == 0)
        token_revoke(revoke_url, request->ca_file, request->timeout_ms, &form, &result);
    revoked = rv == 0 && result.outcome == EXCHANGE_OK;
    snprintf(note, note_size, "%s",
             revoked ? "revoked at the provider" : "not revoked at the provider");
    exchange_result_clear(&result);
    capped_buffer_wipe(&form);
    return revoked;
}

/* Only a logout that removed the items is one: it alone is recorded (SERVICE.status). A
 * failed one (a locked keyring: nothing could be read, revoked or deleted) says why - the
 * read's reason first, which names the lock. */
int logout_pair(struct keyring *keyring, const struct refresh_request *request,
                const char *revoke_url, char *message, size_t message_size)
{
    struct stored_pair pair;
    char note[64] = "nothing to revoke", read_why[512] = "", delete_why[512] = "";
    int lock =
        refresh_lock_acquire(request->names.service, request->timeout_ms + REFRESH_LOCK_SLACK_MS);
    bool readable, revoked = false;
    int rv = -1;

    if (lock < 0) {
        snprintf(message, message_size, "another refresh is still running; try again");
        return -1;
    }
    readable = keyring_read_pair(keyring, &request->names, &pair, read_why, sizeof(read_why)) == 0;
    if (readable && pair.refresh_token != NULL && revoke_url != NULL)
        revoked = revoke_refresh_token(request, revoke_url, pair.refresh_token, note, sizeof(note));
    stored_pair_clear(&pair);
    rv = keyring_delete_pair(keyring, &request->names, delete_why, sizeof(delete_why));
    if (rv == 0) {
        snprintf(message, message_size, "%s; tokens removed from the keyring", note);
        refresh_status_record_event(request->names.service, "logged-out", message);
    } else {
        snprintf(message, message_size, "%s%s", readable ? delete_why : read_why,
                 revoked ? " (the refresh token was revoked at the provider)" : "");
    }
    refresh_lock_release(lock);
    return rv;
}
