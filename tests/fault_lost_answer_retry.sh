#!/bin/bash
# A refresh whose answer was lost (docs/SECURITY.md 3.5, "lost answer"; store/refresh.c
# unknown_outcome_blocks): the request went out - the test IdP holds it without answering
# ("blackhole"), so the helper's request times out after sending - and then:
#   1. the same refresh token is not sent again within 60 s of the loss, by any login, even
#      when logins keep trying meanwhile; it IS sent, once, after the 60 s (the IdP had not
#      processed the lost request, so that second attempt refreshes: no reuse at the IdP);
#   2. a token whose first and second requests are both lost is never sent a third time: the
#      status says authorization-needed with 2 attempts, the session tells the user, the next
#      login asks and its new pair works.
# The minute passes on a clock the test moves: the test helper adds the seconds in
# $XDG_RUNTIME_DIR/pam_oauth_keyring/test-clock-offset to the lost-answer rule's clock
# (store/test_hooks.h); the installed helper has no such hook.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon secret-tool curl

make_workdir
stage_artifacts
HELPER="$WORK/bin/pam_oauth_keyring_helper_test" # with the test clock
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 10
SERVICE=pok-fault-lost-$$
# Due 5 s after each refresh (half of 10 s); a lost request costs 2 s (the timeout).
prepare_private_user refresher=no < <(printf 'refresh_margin = 8\ntimeout = 2\n')
sed 's/refresher=no/refresher=no prompt=never/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-never"
chmod a+r "$WORK/pam.d/pok-never"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
STATE_DIR="$XDG_RUNTIME_DIR/pam_oauth_keyring"
# (refresh_requests, keyring_token, works_at_idp, prompted and login NAME [PAM-SERVICE] are
# lib.sh's.)
# Moves the rule's clock to $2 seconds after $1 (a time on that clock, from the status file).
clock_at() {
    echo "$(($1 + $2 - $(date +%s)))" >"$STATE_DIR/test-clock-offset.new" &&
        mv "$STATE_DIR/test-clock-offset.new" "$STATE_DIR/test-clock-offset"
}
# One login while the token is held back: no request, the status as the loss left it.
held_back() { # held_back NAME REQUESTS ATTEMPTS
    login "$1"
    prompted "$1" && fail "$1: a user with tokens was asked"
    [ "$(refresh_requests)" = "$2" ] || fail "$1: the refresh token was sent again ($(refresh_requests) requests, want $2)"
    [ "$(status_field outcome)" = outcome-unknown ] || fail "$1: status outcome $(status_field outcome)"
    [ "$(status_field unknown_attempts)" = "$3" ] || fail "$1: $(status_field unknown_attempts) attempts recorded, want $3"
}
lose_next_answers() { # the IdP holds the next $1 token requests, unanswered, unprocessed
    idp_control "{\"fault\": \"blackhole\", \"fault_count\": $1}"
}

# --- 1 -----------------------------------------------------------------------------------------
login signin
prompted signin || fail "the first login did not ask"
first=$(keyring_token)
[ -n "$first" ] || fail "the first login stored nothing: $(cat "$WORK/out/signin.log")"
age_pair 6 # lifetime 10 s: due after 5 s
lose_next_answers 1
login lost
[ "$(refresh_requests)" = 1 ] || fail "the due token: $(refresh_requests) requests, want 1"
[ "$(status_field outcome)" = outcome-unknown ] || fail "after the lost answer: $(status_field outcome)"
[ "$(status_field unknown_attempts)" = 1 ] || fail "after the lost answer: $(status_field unknown_attempts) attempts"
[ "$(keyring_token)" = "$first" ] || fail "a lost answer changed the keyring"
lost_at=$(status_field time)
# Each held-back login tries too; the minute still runs from the lost request.
for after in 1 30 58; do
    clock_at "$lost_at" "$after"
    held_back "within-$after" 1 1
done
grep -q "one more try after 60 s" "$WORK/out/within-58.log" ||
    fail "the held-back login's log does not say why: $(cat "$WORK/out/within-58.log")"
[ "$(status_field time)" = "$lost_at" ] || fail "a held-back login moved the lost request's time"
step "1. lost answer: 1 request; logins at +1, +30, +58 s sent nothing"
clock_at "$lost_at" 61 # and 3 s after the last held-back login
login retry
[ "$(refresh_requests)" = 2 ] || fail "61 s after the lost answer: $(($(refresh_requests) - 1)) more requests, want 1 (status: $(status_field outcome) at lost+$(($(status_field time) - lost_at)) s: $(status_field message))"
[ "$(status_field outcome)" = refreshed ] || fail "the second attempt: $(status_field outcome): $(status_field message)"
second=$(keyring_token)
[ "$second" != "$first" ] && works_at_idp "$second" || fail "the second attempt stored no working token"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "the IdP saw a refresh token reused"
step "1. +61 s: sent once more, refreshed, the new token works, no reuse at the IdP"

# --- 2 -----------------------------------------------------------------------------------------
age_pair 6 # lifetime 10 s: due after 5 s
lose_next_answers 2
login lost-again
[ "$(refresh_requests)" = 3 ] || fail "the due token: $(($(refresh_requests) - 2)) requests, want 1"
[ "$(status_field unknown_attempts)" = 1 ] || fail "a new token's first loss: $(status_field unknown_attempts) attempts"
lost_at=$(status_field time)
clock_at "$lost_at" 58
held_back within-again 3 1
clock_at "$lost_at" 61
login second-loss
[ "$(refresh_requests)" = 4 ] || fail "61 s after the loss: $(($(refresh_requests) - 3)) more requests, want 1"
[ "$(status_field outcome)" = outcome-unknown ] && [ "$(status_field unknown_attempts)" = 2 ] ||
    fail "after the second loss: $(status_field outcome), $(status_field unknown_attempts) attempts"
step "2. a new token lost once: held back at +58 s, sent once at +61 s, lost again: 2 attempts recorded"
# Sessions that never ask (prompt=never: key logins, screen unlocks) keep finding the token.
lost_at=$(status_field time)
for later in 61 3600 86400; do
    clock_at "$lost_at" "$later"
    login "after-$later" pok-never
    prompted "after-$later" && fail "prompt=never asked"
    [ "$(refresh_requests)" = 4 ] || fail "+$later s after the second loss: the token was sent a third time"
    [ "$(status_field outcome)" = authorization-needed ] || fail "+$later s: status $(status_field outcome)"
    [ "$(status_field unknown_attempts)" = 2 ] || fail "+$later s: $(status_field unknown_attempts) attempts"
    grep -q "needs a new sign-in: you will be asked at the next login" "$WORK/out/after-$later.out" ||
        fail "+$later s: the user was not told: $(cat "$WORK/out/after-$later.out")"
done
"$CLI" status --service "$SERVICE" --json >"$WORK/out/status.json"
grep -q '"last_refresh_outcome": *"authorization-needed"' "$WORK/out/status.json" ||
    fail "oauth-keyring status: $(cat "$WORK/out/status.json")"
step "2. +61 s, +1 h, +1 d after the second loss: not sent again; authorization-needed, 2 attempts; the user told"
login asks
prompted asks || fail "after authorization-needed the next login did not ask"
works_at_idp "$(keyring_token)" || fail "the new sign-in stored no working token"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "the IdP saw a refresh token reused"
step "2. the next login asked; its new pair works; 4 refresh requests in all, no reuse at the IdP"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 240
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out
pass "a lost answer: not re-sent within 60 s, sent once after; a second loss: authorization needed"
