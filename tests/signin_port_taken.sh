#!/bin/bash
# Issue 13, item 2: the redirect's port is already taken (here by another user's process,
# started by the test before the session: the race SECURITY.md 3.1 describes). The refresher
# cannot listen, `oauth-keyring login` says the browser cannot come back and asks for a paste;
# the pasted address signs in (one code exchange) and the other process never hears from us.
# The session is graphical: without a listener no browser is started (issue 19: its argv would
# hold the authorize URL, state and PKCE challenge, for every local user - the squatter
# included - to read); the CLI says so and prints the URL for the user to open.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl

prepare_signin_test port-taken </dev/null

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

cat >"$WORK/bin/record-browser.sh" <<BROWSER
#!/bin/sh
printf '%s\n' "\$@" >"$WORK/out/browser.argv"
BROWSER
chmod a+rx "$WORK/bin/record-browser.sh"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
LOGIN_NAME=login
mkfifo "$WORK/out/login.paste"
exec 7<>"$WORK/out/login.paste"
DISPLAY=:99 BROWSER="$WORK/bin/record-browser.sh" "$CLI" login --service "$SERVICE" \
    <"$WORK/out/login.paste" >"$WORK/out/login.out" 2>"$WORK/out/login.err" &
CLI_PID=$!
wait_until 10 grep -qs "^https://" "$WORK/out/login.out" ||
    fail "no URL: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
wait_until 10 grep -qs "no browser is started for you" "$WORK/out/login.err" ||
    fail "no word of the browser: $(cat "$WORK/out/login.err")"
[ ! -e "$WORK/out/browser.argv" ] || fail "a browser was started with $(cat "$WORK/out/browser.argv")"
note "graphical session, no listener: no browser started (the URL would be in its argv), the CLI says so"
grep -q "the browser cannot come back here (cannot listen on 127.0.0.1 port $SIGNIN_PORT: Address already in use): paste" \
    "$WORK/out/login.err" || fail "no fallback said: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
! grep -q "completes by itself" "$WORK/out/login.out" || fail "claims to listen: $(cat "$WORK/out/login.out")"
grep -q "Or paste the code" "$WORK/out/login.out" || fail "no paste offered: $(cat "$WORK/out/login.out")"
note "port $SIGNIN_PORT taken: the CLI falls back to a paste"
callback_url url >&7
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "login: exit $LOGIN_STATUS: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
[ "$(codes_spent)" = 1 ] || fail "not exactly one code exchange"
[ "$(keyring_token)" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "the keyring does not hold the issued access token"
note "the pasted address signed in: exit 0, one code exchange, the pair stored"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
! grep -q connection "$WORK/squatter.log" || fail "something connected to the squatter's port"
pass "a taken port falls back to a paste, which signs in"
