#!/bin/bash
# A screen unlock as GNOME's lock screen does it through gdm-password: pam_authenticate, then
# pam_setcred(PAM_REINITIALIZE_CRED), and no session. A user who must sign in again is asked
# at the unlock screen, and the code they paste is exchanged in pam_setcred (nothing else
# would spend it); a user with a valid token is asked nothing; a login (PAM_ESTABLISH_CRED,
# then open_session) still exchanges its code exactly once, in the session.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon secret-tool openssl curl

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-unlock-test-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=no </dev/null
sed 's/refresher=no/refresher=no prompt=always/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-always"
chmod a+r "$WORK/pam.d/pok-always"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
run() { # run NAME MODE SERVICE
    driver_login "$1" --service "$3" --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS" -- --mode "$2"
}
exchanges() { idp_stat 's["requests"]["token_authorization_code"]'; }
token_requests() { idp_stat 's["requests"]["token"]'; }
prompted() { grep -q '^\[prompt\]' "$WORK/out/$1.out"; }
keyring_token() { secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
clean_hygiene() {
    grep -Eq "^hygiene: children left 0, fds before ([0-9]+) after \1, sigchld handler preserved$" \
        "$WORK/out/$1.out" || fail "$1: $(grep hygiene "$WORK/out/$1.out")"
}

run first unlock pok-private
grep -q "pam_setcred: Success" "$WORK/out/first.out" || fail "first unlock: $(cat "$WORK/out/first.out")"
prompted first || fail "the unlock did not ask a user who has no tokens"
grep -q "is now in your keyring" "$WORK/out/first.out" || fail "the unlock did not store: $(cat "$WORK/out/first.log")"
[ "$(exchanges)" = 1 ] || fail "$(exchanges) code exchanges for one unlock"
[ "$(keyring_token)" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "the keyring does not hold the issued token after the unlock"
clean_hygiene first
echo "--- 1. unlock without tokens: asked, setcred exchanged the code, the pair is in the keyring ($(sed -n 's/^timing: pam_setcred //p' "$WORK/out/first.out"))"

before=$(token_requests)
run second unlock pok-private
grep -q "pam_setcred: Success" "$WORK/out/second.out" || fail "second unlock: $(cat "$WORK/out/second.out")"
prompted second && fail "a user with a valid token was asked at the unlock screen"
[ "$(token_requests)" = "$before" ] || fail "an unlock with a valid token sent a token request"
echo "--- 2. unlock with a valid token: nothing asked, nothing sent"

before=$(exchanges)
run login login pok-always
grep -q "pam_open_session: Success" "$WORK/out/login.out" || fail "login: $(cat "$WORK/out/login.out")"
grep -q "is now in your keyring" "$WORK/out/login.out" || fail "the login did not store"
[ "$(exchanges)" = $((before + 1)) ] || fail "a login exchanged $(($(exchanges) - before)) codes, not 1"
clean_hygiene login
echo "--- 3. a login (setcred ESTABLISH, then the session): exactly one exchange"
echo done >"$WORK/out/scenario.done"
SCENARIO
run_private_session "$WORK/scenario.sh" 120
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out
pass "screen unlock: asked only when needed, code exchanged in pam_setcred; a login exchanges once"
