#!/bin/bash
# Issue 13, item 1: after a sign-in made inside the session, the next login asks nothing.
# Through the real libpam (pam_driver), prompt=missing: a login whose user skips leaves the
# login state at "authorization needed"; a login right after still asks (nothing happened
# since); the user signs in with `oauth-keyring login` (pasted address); the next login does
# not ask - its auth-phase helper found the sign-in in the user's SERVICE.status, newer than
# the login state - and its session finds the pair and records it, with no second exchange.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl

prepare_signin_test next prompt=missing </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
state_file() { echo "$WORK/state/$(id -u)-$SERVICE"; }
login skip pok-private empty
grep -q "authorization_needed=1" "$(state_file)" || fail "skip: state $(cat "$(state_file)")"
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in"
login again pok-private empty
prompted again || fail "a login before any sign-in did not ask: $(cat "$WORK/out/again.out")"
note "1. skipped: the login state says a sign-in is needed; the next login asks"

start_login signin
callback_url url >&7
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "oauth-keyring login: exit $LOGIN_STATUS: $(cat "$WORK/out/signin.err")"
note "2. signed in inside the session (oauth-keyring login, the address pasted)"

login next pok-private empty
! prompted next || fail "the login after the sign-in asked: $(cat "$WORK/out/next.out")"
grep -q "signed in inside a session since the login state was written" "$WORK/out/next.log" ||
    fail "next: $(cat "$WORK/out/next.log")"
grep -q "session refresh: not-due" "$WORK/out/next.log" || fail "next: no pair found: $(cat "$WORK/out/next.log")"
grep -q "authorization_needed=0" "$(state_file)" || fail "next: state $(cat "$(state_file)")"
[ "$(codes_spent)" = 1 ] || fail "not exactly one code exchange"
note "3. the next login asks nothing; its session finds the pair and records it"
login last pok-private empty
! prompted last || fail "the login after that asked"
grep -q "the user holds a usable refresh token, not asking" "$WORK/out/last.log" || fail "last: $(cat "$WORK/out/last.log")"
note "4. and the one after reads it from the login state"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 90
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "after a sign-in inside the session, the next login asks nothing"
