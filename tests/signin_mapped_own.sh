#!/bin/bash
# Issue 19, finding 3: the user's own dual-stack program (an AF_INET6 socket that reaches the
# IPv4 listener over ::ffff:127.0.0.1, as Java's default stack does) signs in. The kernel
# describes that program's socket as AF_INET6 with IPv4-mapped addresses; the listener takes
# that for the very socket it asked about, and its owner is the user. Before: the answer was
# refused as "about another socket", the callback got the 403 "cannot tell who" page and the
# status recorded sign-in-refused.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl
"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.close()' 2>/dev/null ||
    skip "no IPv6 sockets on this machine"

prepare_signin_test mapped-own </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
start_login first
grep -q "completes by itself when the browser comes back to http://127.0.0.1:$SIGNIN_PORT/callback" \
    "$WORK/out/first.out" || fail "the sign-in does not listen: $(cat "$WORK/out/first.out" "$WORK/out/first.err")"
answer=$(loopback_get "$(callback_url url)" --mapped --location --body "$WORK/out/answer.html")
[ "${answer%% *}" = 303 ] ||
    fail "the user's own callback over ::ffff:127.0.0.1: '$answer' $(grep -o '<h1>[^<]*' "$WORK/out/answer.html")"
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "login: exit $LOGIN_STATUS: $(cat "$WORK/out/first.out" "$WORK/out/first.err")"
[ "$(codes_spent)" = 1 ] || fail "not exactly one code exchange"
[ "$(keyring_token)" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "the keyring does not hold the issued access token"
[ "$(status_field outcome)" = signed-in ] || fail "status: $(status_field outcome): $(status_field message)"
note "the user's own callback over ::ffff:127.0.0.1: 303, exit 0, one exchange, the pair stored"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "the user's own dual-stack client (::ffff:127.0.0.1) signs in"
