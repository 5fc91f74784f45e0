#!/bin/bash
# Issue 19, finding 2: a sign-in is not undone by the late answer of an older grant's refresh.
# A slow provider (the test IdP's hold_refresh knob) holds the answer of a refresh of grant A
# that the refresher's child sent - A is already rotated at the IdP, the child holds the
# refresh lock - while the user signs in again, as another account (grant B). The login's
# exchange sends its code at once but waits for the lock before it stores (within its deadline):
# A's refresh stores A' first, B lands over it. The keyring holds B's pair, whose refresh token
# works. Before: the exchange went ahead after 1 s without the lock and stored B, then A's
# answer A' was stored over it - B's refresh token lost, the account switch silently undone.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10
# Room for the wait: the held answer comes 2 s after B's code was answered, well inside both
# the refresh's and the login's 10 s.
sed -i 's/^timeout = .*/timeout = 10/' "$WORK/pam.conf"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
b_was_answered() { [ "$(idp_stat 's["exchanges_by_account"].get("bob", 0)')" = 1 ]; }
login_running() { [ ! -e "$WORK/out/second.status" ]; }
login first pok-refresher # grant A (the IdP's default account) and the refresher
prompted first || fail "the first login did not ask"
[ "$(token_account "$(keyring_token)")" = test-user ] || fail "the first sign-in is not test-user's"
idp_control '{"hold_refresh": true}'
age_pair 6 # lifetime 10 s: due after 5 s
timeout 60 "$CLI" token --service "$SERVICE" >/dev/null 2>&1 & # the refresher's child refreshes A
asker=$!
wait_until 20 refresh_answer_held || fail "no refresh of A reached the IdP"
note "A's refresh is at the IdP (A rotated), its answer held; the child holds the lock"
login_as_account second pok-always bob & # signs in again as bob: grant B
wait_until 20 b_was_answered || fail "the second sign-in's code was not exchanged"
waited=no
holds_for 2 login_running && waited=yes
note "B's code answered; the login still waiting for the lock 2 s later: $waited"
idp_control '{"hold_refresh": false}' # A's answer (A') arrives
wait
[ "$(cat "$WORK/out/second.status")" = 0 ] && grep -q "pam_open_session: Success" "$WORK/out/second.out" ||
    fail "the second login failed: $(cat "$WORK/out/second.out")"
prompted second || fail "the second login did not ask"
account=$(token_account "$(keyring_token)")
[ "$account" = bob ] || fail "the keyring holds '$account''s grant: the sign-in as bob was undone by A's late refresh"
[ "$waited" = yes ] || fail "the exchange stored without waiting for the refresh lock"
age_pair 6 # B's refresh token must be the keyring's, and live
cli_token after
[ "$(cat "$WORK/out/after.status")" = 0 ] || fail "refreshing B: $(cat "$WORK/out/after.err")"
[ "$(token_account "$(cat "$WORK/out/after.token")")" = bob ] || fail "the refreshed token is not bob's"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "a refresh token was used twice"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 120
pass "a sign-in during a slow refresh of the older grant waits for the lock and is kept; its refresh token works"
