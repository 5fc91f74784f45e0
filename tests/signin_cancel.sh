#!/bin/bash
# Issue 13, item 3: Ctrl-C (SIGINT) to `oauth-keyring login` cancels the sign-in in the
# refresher too: the CLI exits 2 (cancelled), the listener's port is free at once (a bind
# succeeds), a late browser callback finds nothing listening and spends nothing, the
# refresher runs on, and a new sign-in can listen on the same port again.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl

prepare_signin_test cancel </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
start_login first
port_bound || fail "nothing listens on $SIGNIN_PORT during the sign-in"
late=$(callback_url url) # what the browser would bring back after the cancel
kill -INT "$CLI_PID"
finish_login 10
[ "$LOGIN_STATUS" = 2 ] || fail "Ctrl-C: exit $LOGIN_STATUS, not 2: $(cat "$WORK/out/first.out" "$WORK/out/first.err")"
grep -q "not signed in (cancelled)" "$WORK/out/first.err" || fail "Ctrl-C: $(cat "$WORK/out/first.err")"
wait_until 2 port_free || fail "the listener still holds $SIGNIN_PORT after Ctrl-C"
note "SIGINT: exit 2 (cancelled), port $SIGNIN_PORT free"
answer=$(loopback_get "$late")
[ "${answer%% *}" = refused ] || fail "a late callback was answered: '$answer'"
[ "$(codes_spent)" = 0 ] || fail "a code was spent after the cancel"
refresher_count_is 1 || fail "the refresher ended with the sign-in"
note "a late callback finds nothing listening, nothing spent, the refresher runs on"
start_login second
grep -q "completes by itself when the browser comes back to http://127.0.0.1:$SIGNIN_PORT/callback" \
    "$WORK/out/second.out" || fail "a new sign-in cannot listen: $(cat "$WORK/out/second.out" "$WORK/out/second.err")"
kill -INT "$CLI_PID"
finish_login 10
note "a new sign-in listens on the same port again"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "Ctrl-C cancels the sign-in in the refresher and frees the port"
