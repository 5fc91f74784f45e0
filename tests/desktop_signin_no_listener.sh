#!/bin/bash
# The autostart entry (issue 13, item 4) when nothing can listen for the browser's return
# (issue 19, finding 1): the redirect's port is taken (here by another process, started before
# the session). Without a listener the browser could only be started with the authorize URL in
# its argv - state and PKCE challenge, for every local user to read, the squatter included -
# and nobody can paste into an autostart entry. So the entry's run, in the session after Enter
# at the greeter: notifies that the sign-in works from a terminal, starts no browser, cancels
# the sign-in at once (exit 2, within seconds, not the sign-in's 300 s), spends nothing; the
# squatter never hears from us.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon curl
"$PYTHON" -c 'import jeepney' 2>/dev/null || skip "python3-jeepney is missing (the notification server)"

make_workdir
stage_artifacts
PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$PORT/callback"
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-desktop-no-listener-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=yes </dev/null
stage_autostart_entry

# The squatter: listens on the port and counts the connections it accepts.
"$PYTHON" -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
open(sys.argv[2], "w").write("listening\n")
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("connection\n"); c.close()
' "$PORT" "$WORK/squatter.log" &
squatter=$!
on_exit "kill $squatter"
wait_until 5 grep -qs listening "$WORK/squatter.log" || fail "the squatter did not start"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
start_notification_server
driver_login greeter --answer-command true --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS" \
    -- --setenv XDG_SESSION_TYPE=x11
grep -q "pam_open_session: Success" "$WORK/out/greeter.out" || fail "greeter: no session: $(cat "$WORK/out/greeter.out")"
wait_until 10 refresher_count_is 1 || fail "no refresher after Enter: $(cat "$WORK/out/greeter.log")"
note "1. Enter at the greeter; the session's refresher waits for a sign-in"

started=$(date +%s)
run_autostart_entry autostart greeter 30
took=$(($(date +%s) - started))
[ "$(cat "$WORK/out/autostart.status")" = 2 ] ||
    fail "autostart: exit $(cat "$WORK/out/autostart.status") after ${took}s: $(cat "$WORK/out/autostart.out" "$WORK/out/autostart.err")"
[ "$took" -le 10 ] || fail "autostart: took ${took}s"
grep -q "no browser is started for you" "$WORK/out/autostart.err" ||
    fail "autostart: no word of the browser: $(cat "$WORK/out/autostart.err")"
[ "$(browser_runs)" = 0 ] || fail "a browser was started with $(cat "$WORK/out/browser.runs")"
[ "$(notifications_sent)" = 1 ] || fail "$(notifications_sent) notifications, not one"
"$PYTHON" - "$WORK/out/notifications.jsonl" "$SERVICE" <<'CHECK' || fail "notification: $(cat "$WORK/out/notifications.jsonl")"
import json, sys
note = json.loads(open(sys.argv[1]).readline())
assert sys.argv[2] in note["summary"], note
assert "Run oauth-keyring login in a terminal" in note["body"], note
assert "state=" not in json.dumps(note) and "code_challenge" not in json.dumps(note), note
CHECK
[ "$(idp_stat 's["requests"]["token"]')" = 0 ] || fail "a token request reached the IdP"
note "2. the autostart entry: exit 2 in ${took}s, no browser, one notification ('$(sed -n 's/.*"body": "\([^"]*\)".*/\1/p' "$WORK/out/notifications.jsonl")')"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 90
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
! grep -q connection "$WORK/squatter.log" || fail "something connected to the squatter's port"
pass "no listener at the autostart: no browser (no URL in any argv), a notification pointing to a terminal, cancelled at once"
