#!/bin/bash
# The whole desktop path (issue 13, item 4; its first test), through the real libpam in a
# private session of an unprivileged user (nobody when run as root), with a desktop
# notification server (tests/notification_server.py) on the session bus:
#   1. a login at a graphical greeter (XDG_SESSION_TYPE=x11): the module says Enter skips and
#      the sign-in opens in the browser after login; the user presses Enter; the session's
#      refresher waits for a sign-in;
#   2. the autostart entry's Exec= line, read from the shipped desktop/oauth-keyring-login.desktop,
#      runs as the desktop would (stdin /dev/null, the session's environment, DISPLAY set,
#      BROWSER a script that plays the user against the test IdP with browser.py and follows
#      the redirect to the refresher's listener with curl): it notifies, then opens the
#      browser; the listener takes the callback; exit 0, "Signed in";
#   3. the pair is in the keyring (secret-tool and Python keyring read the issued token),
#      exactly one code exchange, the notification was sent before the browser opened and
#      named the IdP's host, the browser ended on the listener's result page;
#   4. the entry run again (the next graphical login's autostart) does nothing: exit 0,
#      silent, no notification, no browser;
#   5. the next login asks nothing, and its session finds the pair and spends nothing.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon secret-tool curl
"$PYTHON" -c 'import jeepney' 2>/dev/null || skip "python3-jeepney is missing (the notification server)"

make_workdir
stage_artifacts
PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$PORT/callback"
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-desktop-signin-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=yes </dev/null
stage_autostart_entry

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
refresher_running() { refresher_count_is 1; }
greeter_login() { # greeter_login NAME: the user presses Enter at a graphical greeter
    driver_login "$1" --answer-command true --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS" \
        -- --setenv XDG_SESSION_TYPE=x11
    grep -q "pam_open_session: Success" "$WORK/out/$1.out" || fail "$1: no session: $(cat "$WORK/out/$1.out")"
}
start_notification_server

greeter_login greeter
grep -q '^\[info\] Or press Enter to skip: after you log in, the sign-in opens in your browser' "$WORK/out/greeter.out" ||
    fail "greeter: no word of the browser after login: $(cat "$WORK/out/greeter.out")"
wait_until 10 refresher_running || fail "no refresher after Enter: $(cat "$WORK/out/greeter.log")"
note "1. Enter at the greeter (promised: the sign-in opens after login); the refresher waits"

run_autostart_entry autostart greeter
[ "$(cat "$WORK/out/autostart.status")" = 0 ] ||
    fail "autostart: exit $(cat "$WORK/out/autostart.status"): $(cat "$WORK/out/autostart.out" "$WORK/out/autostart.err" "$WORK/out/browser.final" 2>&1)"
grep -q "^Signed in" "$WORK/out/autostart.out" || fail "autostart: $(cat "$WORK/out/autostart.out")"
note "2. '$(cat "$WORK/exec-line")': exit 0, '$(tail -1 "$WORK/out/autostart.out")'"

issued=$(idp_stat 's["issued"]["access_tokens"][-1]')
[ "$(secret-tool lookup service "$SERVICE" username "$RUN_AS")" = "$issued" ] ||
    fail "secret-tool does not read the issued access token"
[ "$("$PYTHON" "$WORK/bin/keyring_tool.py" keyring "$SERVICE" "$RUN_AS")" = "$issued" ] ||
    fail "Python keyring does not read the issued access token"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "not exactly one code exchange"
[ "$(browser_runs)" = 1 ] || fail "the browser ran $(browser_runs) times"
# Issue 19: the browser's argv holds the one-use start address, never the state.
grep -qx "${REDIRECT_URI%/callback}/start/[A-Za-z0-9_-]*" "$WORK/out/browser.runs" ||
    fail "the browser was given $(cat "$WORK/out/browser.runs"), not the start address"
[ "$(notifications_sent)" = 1 ] || fail "$(notifications_sent) notifications, not one"
[ -s "$WORK/out/notified-before-browser" ] || fail "the browser opened before the notification"
idp_host=${IDP_URL#https://}
idp_host=${idp_host%%:*}
"$PYTHON" - "$WORK/out/notifications.jsonl" "$SERVICE" "$idp_host" <<'CHECK' || fail "notification: $(cat "$WORK/out/notifications.jsonl")"
import json, sys
note = json.loads(open(sys.argv[1]).readline())
assert note["app"] == "oauth-keyring", note
assert sys.argv[2] in note["summary"], note
assert "browser opens " + sys.argv[3] in note["body"], note
assert "state=" not in json.dumps(note) and "code_challenge" not in json.dumps(note), note
CHECK
read -r code redirects final <"$WORK/out/browser.final"
[ "$code $redirects $final" = "200 1 $REDIRECT_URI" ] || fail "the browser ended on $(cat "$WORK/out/browser.final")"
grep -q "<h1>Signed in" "$WORK/out/browser.page" || fail "the browser's page: $(cat "$WORK/out/browser.page")"
note "3. stored once (secret-tool, keyring read it); notified first ('$(sed -n 's/.*"summary": "\([^"]*\)".*/\1/p' "$WORK/out/notifications.jsonl")'); the browser ended on $final: '$(grep -o '<h1>[^<]*' "$WORK/out/browser.page" | cut -c5-)'"

run_autostart_entry again greeter
[ "$(cat "$WORK/out/again.status")" = 0 ] || fail "again: exit $(cat "$WORK/out/again.status"): $(cat "$WORK/out/again.err")"
[ ! -s "$WORK/out/again.out" ] && [ ! -s "$WORK/out/again.err" ] ||
    fail "again: not silent: $(cat "$WORK/out/again.out" "$WORK/out/again.err")"
[ "$(notifications_sent)" = 1 ] || fail "again: notified although a token is stored"
[ "$(browser_runs)" = 1 ] || fail "again: the browser opened although a token is stored"
note "4. the entry again (--if-needed, a token stored): exit 0, silent, no notification, no browser"

greeter_login next
prompted greeter || fail "greeter: the first login did not ask"
prompted next && fail "next: asked again after the sign-in inside the session: $(cat "$WORK/out/next.out")"
grep -q "session refresh: not-due" "$WORK/out/next.log" ||
    fail "next: the session did not find the pair: $(cat "$WORK/out/next.out" "$WORK/out/next.log")"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "a second code exchange"
note "5. the next login asks nothing; its session finds the pair (not due); no second code exchange"
assert_no_secret_in "$WORK/out/autostart.out" "$WORK/out/autostart.err" "$WORK/out/greeter.log" \
    "$WORK/out/next.log" "$WORK/out/notifications.jsonl"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 90
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "Enter at the greeter, then the autostart entry: notified, browser, listener, stored once"
