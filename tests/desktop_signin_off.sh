#!/bin/bash
# The autostart entry (issue 13, item 4) never bothers a user it has nothing for: its Exec=
# line, read from the shipped desktop/oauth-keyring-login.desktop, run as the desktop would
# (DISPLAY set, BROWSER a script that records being started, a notification server recording
# every Notify), in a private session of an unprivileged user (nobody when run as root):
#   1. no refresher runs (the module did not serve this login): exit 0, not a word, no
#      notification, no browser;
#   2. a greeter login through desktop_signin=no, the user pressing Enter (a refresher runs and
#      waits, no token is stored): the session has OAUTH_KEYRING_DESKTOP_SIGNIN=no, and the
#      entry run in it exits 0 the same way.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon curl
"$PYTHON" -c 'import jeepney' 2>/dev/null || skip "python3-jeepney is missing (the notification server)"

make_workdir
stage_artifacts
PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$PORT/callback"
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-desktop-off-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=yes desktop_signin=no </dev/null
stage_autostart_entry

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
quiet() { # quiet NAME: the entry's run NAME ended at once, silent, having shown nothing
    [ "$(cat "$WORK/out/$1.status")" = 0 ] || fail "$1: exit $(cat "$WORK/out/$1.status"): $(cat "$WORK/out/$1.err")"
    [ ! -s "$WORK/out/$1.out" ] && [ ! -s "$WORK/out/$1.err" ] ||
        fail "$1: not silent: $(cat "$WORK/out/$1.out" "$WORK/out/$1.err")"
    [ "$(notifications_sent)" = 0 ] || fail "$1: a notification: $(cat "$WORK/out/notifications.jsonl")"
    [ "$(browser_runs)" = 0 ] || fail "$1: the browser opened"
}
start_notification_server

run_autostart_entry unserved none 10
quiet unserved
note "1. no refresher runs: exit 0, silent, no notification, no browser"

driver_login greeter --answer-command true --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS" \
    -- --setenv XDG_SESSION_TYPE=x11
grep -q "pam_open_session: Success" "$WORK/out/greeter.out" || fail "greeter: no session: $(cat "$WORK/out/greeter.out")"
grep -qx "pam_env: OAUTH_KEYRING_DESKTOP_SIGNIN=no" "$WORK/out/greeter.out" ||
    fail "greeter: the session is not told: $(cat "$WORK/out/greeter.out")"
wait_until 10 refresher_count_is 1 || fail "no refresher: $(cat "$WORK/out/greeter.log")"
run_autostart_entry off greeter 10
quiet off
note "2. desktop_signin=no (refresher waiting, nothing stored): exit 0, silent, no notification, no browser"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "the autostart entry stays silent with no refresher and with desktop_signin=no"
