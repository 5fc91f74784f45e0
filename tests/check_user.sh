#!/bin/bash
# oauth-keyring check as a user (issue 22): it says the configuration needs root and checks
# what a user can - in a private session of an unprivileged user (nobody when run as root)
# with a real unlocked keyring, after a real sign-in through the module: the keyring (tokens
# for the service), the refresher (running, then not after it is stopped), the last event.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-check-user-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=yes </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
check() { # check NAME: the text output in $WORK/out/check-NAME.out
    "$CLI" check --pam-dir "$WORK/pam.d" >"$WORK/out/check-$1.out" 2>&1
    echo $? >"$WORK/out/check-$1.status"
}
line() { grep -E "^$2 +[^ ]+ +$3 " "$WORK/out/check-$1.out"; }
session_login url first || fail "the sign-in failed: $(cat "$WORK/out/first.out")"
wait_until 10 refresher_count_is 1 || fail "no refresher after the sign-in"

check signed-in
line signed-in SKIP config | grep -q "needs root" || fail "no 'needs root': $(cat "$WORK/out/check-signed-in.out")"
line signed-in PASS user.keyring | grep -q "tokens for 1 service" ||
    fail "the keyring: $(cat "$WORK/out/check-signed-in.out")"
line signed-in PASS user.refresher | grep -q "$SERVICE is running" ||
    fail "the refresher: $(cat "$WORK/out/check-signed-in.out")"
line signed-in PASS user.status | grep -q "signed-in" ||
    fail "the last event: $(cat "$WORK/out/check-signed-in.out")"
step "1. signed in: $(line signed-in PASS user.refresher | sed 's/  */ /g')"

kill $(refresher_pids) 2>/dev/null
wait_until 10 refresher_count_is 0 || fail "the refresher did not stop"
check stopped
line stopped WARN user.refresher | grep -q "$SERVICE is not running" ||
    fail "a stopped refresher not warned about: $(cat "$WORK/out/check-stopped.out")"
[ "$(cat "$WORK/out/check-stopped.status")" != 0 ] || fail "check exited 0 with a warning"
step "2. refresher stopped: $(line stopped WARN user.refresher | sed 's/  */ /g')"
SCENARIO
run_private_session "$WORK/scenario.sh" 90 || fail "the scenario failed"
pass "check as a user: the configuration needs root; the keyring, the refresher and the last event checked"
