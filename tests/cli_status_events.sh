#!/bin/bash
# oauth-keyring status shows the latest event of any kind (issue 11, item 2), in a private
# session of an unprivileged user (nobody when run as root):
#   1. right after a sign-in: "signed-in" with its time (text and --json);
#   2. after a logout, status without --service: the logged-out state with its time, exit 0
#      (not "no tokens", exit 2);
#   3. a new sign-in after the logout: "signed-in" again, not "logged-out" beside a present
#      access token;
#   4. a sign-in the refresher finished (the keyring came up after the session opened):
#      "signed-in" too;
# and the status files hold no secret.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-cli-status-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=yes </dev/null
sed 's/refresher=yes/refresher=yes prompt=always/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-always"
chmod a+r "$WORK/pam.d/pok-always"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
stop_ours() { # the late bus and its keyring daemon end with the scenario
    local pid
    kill $(cat "$WORK/out/late-bus.pid" 2>/dev/null) 2>/dev/null
    for pid in $(pgrep -u "$(id -u)" gnome-keyring-d); do
        grep -qz "^XDG_RUNTIME_DIR=$WORK/runtime/late" "/proc/$pid/environ" 2>/dev/null && kill "$pid"
    done
}
trap stop_ours EXIT
keyring_token() { secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
status() { # status NAME [args]: output and exit status in $WORK/out/status-NAME.{out,status}
    local name=$1
    shift
    "$CLI" status "$@" >"$WORK/out/status-$name.out" 2>&1
    echo $? >"$WORK/out/status-$name.status"
}
shows() { echo "exit $(cat "$WORK/out/status-$1.status"): $(cat "$WORK/out/status-$1.out")"; }
json_member() { # json_member NAME MEMBER: from status-NAME.out
    "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
        "$WORK/out/status-$1.out" "$2"
}
# The event's time in the text output, as Unix seconds.
event_time() {
    date -u -d "$(sed -nE 's/^last event: +[a-z-]+ ([0-9-]+T[0-9:]+Z).*/\1/p' "$WORK/out/status-$1.out")" +%s
}
assert_event() { # assert_event NAME OUTCOME NOT-BEFORE: the text output's last event
    grep -Eq "^last event: +$2 " "$WORK/out/status-$1.out" || fail "$1: not $2: $(shows "$1")"
    [ "$(event_time "$1")" -ge "$3" ] && [ "$(event_time "$1")" -le "$(date +%s)" ] ||
        fail "$1: the event's time is not the $2's: $(shows "$1")"
}
login() { # login NAME [PAM-SERVICE]
    driver_login "$1" --service "${2:-pok-private}" \
        --session "${LOGIN_RUNTIME:-$XDG_RUNTIME_DIR}" "${LOGIN_BUS:-$DBUS_SESSION_BUS_ADDRESS}"
    grep -q "pam_open_session: Success" "$WORK/out/$1.out" || fail "$1: no session: $(cat "$WORK/out/$1.out")"
}

# --- 1 -----------------------------------------------------------------------------------------
before=$(date +%s)
login first
grep -q "is now in your keyring" "$WORK/out/first.out" || fail "first login: $(cat "$WORK/out/first.out")"
status first --service "$SERVICE"
[ "$(cat "$WORK/out/status-first.status")" = 0 ] || fail "status after the sign-in: $(shows first)"
grep -Eq "^access token: +present" "$WORK/out/status-first.out" || fail "status: $(shows first)"
assert_event first signed-in "$before"
status first-json --service "$SERVICE" --json
[ "$(json_member first-json last_event)" = signed-in ] || fail "--json: $(shows first-json)"
[ "$(json_member first-json last_event_at)" -ge "$before" ] || fail "--json: $(shows first-json)"
step "1. right after the sign-in: $(grep '^last event' "$WORK/out/status-first.out")"

# --- 2 -----------------------------------------------------------------------------------------
before=$(date +%s)
"$CLI" logout --service "$SERVICE" >"$WORK/out/logout.out" 2>&1 || fail "logout: $(cat "$WORK/out/logout.out")"
[ -z "$(keyring_token)" ] || fail "the logout left the access item"
status after-logout # no --service: the keyring holds no tokens now
[ "$(cat "$WORK/out/status-after-logout.status")" = 0 ] || fail "status after the logout: $(shows after-logout)"
grep -Eq "^service: +$SERVICE\$" "$WORK/out/status-after-logout.out" || fail "status: $(shows after-logout)"
grep -Eq "^access token: +absent" "$WORK/out/status-after-logout.out" || fail "status: $(shows after-logout)"
assert_event after-logout logged-out "$before"
status after-logout-json --json
[ "$(json_member after-logout-json last_event)" = logged-out ] || fail "--json: $(shows after-logout-json)"
[ "$(json_member after-logout-json access_token)" = False ] || fail "--json: $(shows after-logout-json)"
step "2. after the logout, status without --service: exit 0, $(grep '^last event' "$WORK/out/status-after-logout.out")"

# --- 3 -----------------------------------------------------------------------------------------
login after-logout # its session learns of the logout (the module's state); the next one asks
before=$(date +%s)
login signs-in-again
grep -q "is now in your keyring" "$WORK/out/signs-in-again.out" ||
    fail "the login after the logout did not sign in: $(cat "$WORK/out/signs-in-again.out")"
status again
grep -Eq "^access token: +present" "$WORK/out/status-again.out" || fail "status: $(shows again)"
assert_event again signed-in "$before"
step "3. a new sign-in after the logout: $(grep '^last event' "$WORK/out/status-again.out")"

# --- 4 -----------------------------------------------------------------------------------------
# A bus with no keyring yet (helper_main.c defer_to_refresher): the refresher exchanges.
mkdir -m 700 "$WORK/runtime/late"
LOGIN_RUNTIME="$WORK/runtime/late"
LOGIN_BUS="unix:path=$LOGIN_RUNTIME/bus"
XDG_RUNTIME_DIR="$LOGIN_RUNTIME" dbus-daemon --session --address="$LOGIN_BUS" --fork \
    --print-pid >"$WORK/out/late-bus.pid" || fail "cannot start the late bus"
before=$(date +%s)
exchanges=$(idp_stat 's["requests"]["token_authorization_code"]')
login late pok-always
grep -q "will be in your keyring once it is unlocked" "$WORK/out/late.out" ||
    fail "the late login was not deferred: $(cat "$WORK/out/late.out")"
printf '%s' "$KEYRING_PASSWORD" | env DBUS_SESSION_BUS_ADDRESS="$LOGIN_BUS" \
    XDG_RUNTIME_DIR="$LOGIN_RUNTIME" gnome-keyring-daemon --daemonize --login >/dev/null ||
    fail "cannot start gnome-keyring as pam_gnome_keyring does"
# (Both keyring daemons read this HOME's login keyring: the item of step 3 shows on either.)
late_exchange_stored() {
    [ "$(idp_stat 's["requests"]["token_authorization_code"]')" -gt "$exchanges" ] &&
        [ "$(DBUS_SESSION_BUS_ADDRESS="$LOGIN_BUS" secret-tool lookup service "$SERVICE" \
            username "$RUN_AS")" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ]
}
wait_until 45 late_exchange_stored || fail "the refresher did not store the late sign-in"
DBUS_SESSION_BUS_ADDRESS="$LOGIN_BUS" XDG_RUNTIME_DIR="$LOGIN_RUNTIME" \
    "$CLI" status --service "$SERVICE" >"$WORK/out/status-late.out" 2>&1
echo $? >"$WORK/out/status-late.status"
assert_event late signed-in "$before"
step "4. a sign-in the refresher finished: $(grep '^last event' "$WORK/out/status-late.out")"
cp "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.status" "$WORK/out/main.status.json"
cp "$LOGIN_RUNTIME/pam_oauth_keyring/$SERVICE.status" "$WORK/out/late.status.json"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 150
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out "$WORK"/out/*.json
pass "status shows the latest event: signed-in, logged-out (exit 0), signed-in again, a deferred sign-in"
