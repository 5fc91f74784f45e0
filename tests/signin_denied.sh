#!/bin/bash
# Issue 13, item 2: the provider's own error=access_denied, with this sign-in's state, reaches
# the refresher's listener over a real socket: the browser is answered 403 "Not signed in",
# `oauth-keyring login` exits 2 (denied), nothing is spent at the IdP, and the listener's port
# is free again within the outcome page's linger (5 s). (A forged error= with another state is
# refused and the sign-in waits on: signin_hostile_callbacks.sh.)
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl

prepare_signin_test denied </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
start_login login
idp_control '{"authorize_error": "access_denied"}'
denied=$(callback_url url)
case "$denied" in *error=access_denied*state=*) ;; *) fail "the IdP did not deny: $denied" ;; esac
answer=$(loopback_get "$denied" --body "$WORK/out/denied.html")
[ "${answer%% *}" = 403 ] || fail "the browser was answered '$answer', not 403"
grep -q "Not signed in" "$WORK/out/denied.html" || fail "page: $(cat "$WORK/out/denied.html")"
finish_login 10
[ "$LOGIN_STATUS" = 2 ] || fail "login: exit $LOGIN_STATUS, not 2: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
grep -q "not signed in (denied)" "$WORK/out/login.err" || fail "login: $(cat "$WORK/out/login.err")"
[ "$(codes_spent)" = 0 ] || fail "a code exchange after a denial"
wait_until 8 port_free || fail "the listener still holds $SIGNIN_PORT after the denial"
refresher_count_is 1 || fail "the refresher ended with the sign-in"
note "error=access_denied with our state: 403, exit 2 (denied), nothing spent, port free, refresher on"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "the provider's denial ends the sign-in: 403 to the browser, exit 2, nothing spent"
