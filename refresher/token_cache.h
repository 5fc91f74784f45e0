/* The refresher's copy of the access token, so `oauth-keyring token` costs one socket round
 * trip instead of a GLib/libsecret start and a Secret Service read (issue 23).
 *
 * Filled lazily from the keyring (the same keyring_read_pair every reader uses), so what it
 * hands out is what any of the user's processes can read there. It is never newer or older
 * than the keyring: every signal the Secret Service sends on the session bus (an item
 * created, changed or deleted - a logout by secret-tool, a sign-in by a login's helper, our
 * own refresh children - or the keyring restarting) drops it, counted by a GDBus filter in
 * the bus's worker thread as the signal arrives. Before each answer one round trip to the
 * bus daemon flushes what it queued for us: a change the keyring announced before it
 * answered the writer is counted before we answer, so a token deleted by a command that has
 * returned is never handed out. gnome-keyring sends no signal for Item.SetSecret (an edit in
 * place, which neither we nor libsecret's store make): for such a writer a copy is trusted
 * for 2 s at most, then read again. The token lives in its own locked page (mlock, excluded from
 * core dumps) and is wiped when dropped and at exit. */
#ifndef POK_TOKEN_CACHE_H
#define POK_TOKEN_CACHE_H

#include <gio/gio.h>
#include <stdbool.h>

#include "common/protocol.h"
#include "store/keyring.h"

struct token_cache;

/* Watches the Secret Service's signals on bus. NULL when the watch cannot be set up: then
 * the refresher answers no token request and every caller reads the keyring itself. */
struct token_cache *token_cache_new(GDBusConnection *bus);

/* Wipes the token; the next request reads the keyring again. NULL allowed. */
void token_cache_drop(struct token_cache *cache);

/* Wipes and frees. NULL allowed. */
void token_cache_free(struct token_cache *cache);

/* The answer to a "token" request: "ok" with the access token valid for min_valid seconds
 * (the refresh rule, refresh_due_at) when the keyring holds one; else "error" with reason
 * "no-token" (none stored, due, the keyring unreadable): the caller then does what it did
 * before the cache. */
void token_cache_answer(struct token_cache *cache, struct keyring *keyring,
                        const struct token_item_names *names, long min_valid,
                        struct protocol_message *reply);

#endif
