#!/bin/bash
# Issue 19, finding 2: a refresh stores its answer only while the keyring still holds the
# refresh token it spent. A slow provider (the test IdP's hold_refresh knob) holds the answer of
# a refresh of grant A - A already rotated at the IdP, the refresher's child holding the lock,
# its timeout 20 s - past the whole of a login (timeout 3 s) that signs in again as another
# account (grant B): that exchange waits for the lock until its deadline, then stores B all the
# same. When A's answer A' arrives, the keyring no longer holds A: A' is dropped, B is kept, and
# the status says so without a secret. Before: A' was stored over B - B's refresh token lost,
# the account switch silently undone.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10
# The refresher takes its settings from the first login: its refreshes may wait 20 s. The
# second login (PAM service pok-short) has 3 s.
sed 's/^timeout = .*/timeout = 3/' "$WORK/pam.conf" >"$WORK/pam-short.conf"
sed -i 's/^timeout = .*/timeout = 20/' "$WORK/pam.conf"
chmod 600 "$WORK/pam-short.conf" && chown --reference="$WORK/pam.conf" "$WORK/pam-short.conf"
sed "s|config=$WORK/pam.conf|config=$WORK/pam-short.conf|" "$WORK/pam.d/pok-always" >"$WORK/pam.d/pok-short"
chmod a+r "$WORK/pam.d/pok-short"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first pok-refresher # grant A (the IdP's default account) and the refresher
prompted first || fail "the first login did not ask"
[ "$(token_account "$(keyring_token)")" = test-user ] || fail "the first sign-in is not test-user's"
idp_control '{"hold_refresh": true}'
age_pair 6 # lifetime 10 s: due after 5 s
timeout 60 "$CLI" token --service "$SERVICE" >"$WORK/out/asker.token" 2>"$WORK/out/asker.err" &
wait_until 20 refresh_answer_held || fail "no refresh of A reached the IdP"
note "A's refresh is at the IdP (A rotated), its answer held; the child holds the lock"
login_as_account second pok-short bob # signs in again as bob: grant B, stored by the deadline
[ "$(cat "$WORK/out/second.status")" = 0 ] && grep -q "pam_open_session: Success" "$WORK/out/second.out" ||
    fail "the second login failed: $(cat "$WORK/out/second.out")"
prompted second || fail "the second login did not ask"
[ "$(token_account "$(keyring_token)")" = bob ] || fail "the second login did not store bob's grant"
refresh_answer_held || fail "A's answer was not held through the second login"
note "the second login ended with bob's grant stored; A's refresh still waits for its answer"
idp_control '{"hold_refresh": false}' # A's answer (A') arrives
wait
account=$(token_account "$(keyring_token)")
[ "$account" = bob ] || fail "the keyring holds '$account''s grant: A's late answer undid the sign-in as bob"
"$CLI" status --service "$SERVICE" >"$WORK/out/status.out" 2>&1
grep -q "discarded" "$WORK/out/status.out" || fail "the status does not say A's answer was dropped: $(cat "$WORK/out/status.out")"
age_pair 6 # B's refresh token must be the keyring's, and live
cli_token after
[ "$(cat "$WORK/out/after.status")" = 0 ] || fail "refreshing B: $(cat "$WORK/out/after.err")"
[ "$(token_account "$(cat "$WORK/out/after.token")")" = bob ] || fail "the refreshed token is not bob's"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "a refresh token was used twice"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 120
pass "a refresh answered after a newer sign-in was stored is dropped; the newer grant stays and refreshes"
