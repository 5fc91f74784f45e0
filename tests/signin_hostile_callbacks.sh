#!/bin/bash
# Issue 13, item 2: the refresher's loopback listener over a real socket, under the hostile
# requests a sign-in may meet while it waits for the browser (refresher/loopback_listener.c):
# a wrong state, a forged error=access_denied, a hostile Snyk instance=, a Host that is not
# the loopback address (DNS rebinding), a request over 8 KiB, a slowloris client. Each is
# answered 4xx, nothing is spent at the IdP, `oauth-keyring login` and the listener wait on;
# then the browser's right callback signs in (303 to the clean path, one code exchange).
# Snyk preset with the test IdP's explicit URLs, so instance= is judged.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl

prepare_signin_test hostile < <(printf 'preset = snyk\nscope = org.read\n')

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
start_login login
port_bound || fail "nothing listens on $SIGNIN_PORT during the sign-in"

# Each hostile request: its status, nothing spent, the CLI and the listener still waiting.
#   refused CASE EXPECTED-STATUS loopback_client.py ARGUMENTS...
refused() {
    local case=$1 expected=$2 answer
    shift 2
    answer=$(loopback_get "$@")
    LAST_ANSWER=$answer
    [ "${answer%% *}" = "$expected" ] || fail "$case: answered '$answer', not $expected"
    [ "$(codes_spent)" = 0 ] || fail "$case: a code was spent at the IdP"
    login_running || fail "$case: the sign-in ended: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
    port_bound || fail "$case: the listener closed"
    note "$case: $expected in ${answer#* }s, nothing spent, still waiting"
}

good=$(callback_url url)
case "$good" in "http://127.0.0.1:$SIGNIN_PORT/callback?"*) ;; *) fail "redirect: $good" ;; esac
refused "a wrong state" 400 "$(callback_url wrong-state)"
refused "error=access_denied with a forged state" 400 \
    "http://127.0.0.1:$SIGNIN_PORT/callback?error=access_denied&state=forged$RANDOM"
refused "a hostile Snyk instance" 400 "$good&instance=api.snyk.io.evil.example"
refused "a Host that is not the loopback (DNS rebinding)" 421 "$good" \
    --host "rebind.attacker.example:$SIGNIN_PORT"
refused "a request over 8 KiB" 431 "$good" --pad 9000
refused "a slowloris client" 408 "$good" --trickle
seconds=${LAST_ANSWER#* }
[ "${seconds%%.*}" -lt 6 ] || fail "the slowloris client was held ${seconds}s (limit 3 s)"

answer=$(loopback_get "$(callback_url url)" --location --body "$WORK/out/callback.html")
[ "$answer" != "${answer#303 }" ] || fail "the right callback: '$answer'"
[ "${answer##* }" = /callback ] || fail "not sent to the clean path: '$answer'"
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "login: exit $LOGIN_STATUS: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
[ "$(codes_spent)" = 1 ] || fail "not exactly one code exchange: $(codes_spent)"
[ "$(keyring_token)" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "the keyring does not hold the issued access token"
note "then the right callback: 303 to /callback, exit 0, one code exchange, the pair stored"
assert_no_secret_in "$WORK/out/login.out" "$WORK/out/login.err" "$WORK/out/callback.html"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 90
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "six hostile requests refused with 4xx, nothing spent, the sign-in kept waiting and then succeeded"
