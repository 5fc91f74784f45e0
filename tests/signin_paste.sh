#!/bin/bash
# Issue 13, items 1-3: a login whose user skips the prompt (Enter) still gets a refresher,
# which waits for a sign-in; `oauth-keyring login --no-browser` inside the session prints the
# URL, the user (browser.py) opens it and pastes the redirect address on stdin: the refresher
# checks it, a child exchanges the code once, the pair is stored (secret-tool and Python
# keyring read it), status says signed-in, the listener's port is free again, and the next
# login asks nothing. Private session of an unprivileged user (nobody when run as root).
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl

make_workdir
stage_artifacts
PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$PORT/callback"
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-signin-paste-$$
prepare_private_user refresher=yes </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
PORT=${REDIRECT_URI#http://127.0.0.1:}
PORT=${PORT%%/*}
refresher_running() { pgrep -u "$(id -u)" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null; }
port_bound() { "$PYTHON" -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(0)
sys.exit(1)' "$PORT"; }
port_free() { ! port_bound; }

session_login empty skip
grep -q "pam_open_session: Success" "$WORK/out/skip.out" || fail "no session: $(cat "$WORK/out/skip.out")"
wait_until 10 refresher_running || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
step "1. Enter at the prompt: the session's refresher runs, waiting for a sign-in"

mkfifo "$WORK/out/paste"
exec 7<>"$WORK/out/paste" # held open: the CLI's stdin stays open, as a terminal's would
"$CLI" login --no-browser --service "$SERVICE" <"$WORK/out/paste" >"$WORK/out/login.out" 2>"$WORK/out/login.err" &
cli=$!
wait_until 10 grep -q "^https://" "$WORK/out/login.out" || fail "no URL: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
grep -q "comes back to http://127.0.0.1:$PORT/callback" "$WORK/out/login.out" ||
    fail "not listening on the redirect's port: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
port_bound || fail "nothing listens on $PORT during the sign-in"
"$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode url <"$WORK/out/login.out" >"$WORK/out/redirect" ||
    fail "the browser failed"
grep -q "^http://127.0.0.1:$PORT/callback?" "$WORK/out/redirect" || fail "redirect: $(cat "$WORK/out/redirect")"
cat "$WORK/out/redirect" >&7
wait "$cli"
echo $? >"$WORK/out/login.status"
exec 7>&-
[ "$(cat "$WORK/out/login.status")" = 0 ] || fail "login: exit $(cat "$WORK/out/login.status"): $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
grep -q "^Signed in" "$WORK/out/login.out" || fail "login: $(cat "$WORK/out/login.out")"
step "2. login --no-browser, the redirect address pasted: exit 0, '$(tail -1 "$WORK/out/login.out")'"

[ "$(secret-tool lookup service "$SERVICE" username "$RUN_AS")" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "secret-tool does not read the issued access token"
[ "$("$PYTHON" "$WORK/bin/keyring_tool.py" keyring "$SERVICE" "$RUN_AS")" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "Python keyring does not read the issued access token"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "not exactly one code exchange"
"$CLI" status --service "$SERVICE" >"$WORK/out/status.out" 2>&1 || fail "status: $(cat "$WORK/out/status.out")"
grep -Eq "^last event: +signed-in" "$WORK/out/status.out" || fail "status: $(cat "$WORK/out/status.out")"
grep -Eq "^refresher: +running" "$WORK/out/status.out" || fail "status: $(cat "$WORK/out/status.out")"
wait_until 3 port_free || fail "the listener still holds port $PORT after the sign-in"
step "3. stored once (secret-tool, keyring read it), status signed-in, refresher running, port $PORT free"

session_login empty next
grep -q "pam_open_session: Success" "$WORK/out/next.out" || fail "next: $(cat "$WORK/out/next.out")"
grep -q "session refresh: not-due" "$WORK/out/next.log" || fail "next: the session did not find the pair: $(cat "$WORK/out/next.log")"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "a second code exchange"
assert_no_secret_in "$WORK/out/login.out" "$WORK/out/login.err" "$WORK/out/skip.log" "$WORK/out/next.log"
step "4. the next session finds the pair (not due); no secret in the CLI's output or the logs"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 90
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "Enter at login, then oauth-keyring login --no-browser with the address pasted: stored once"
