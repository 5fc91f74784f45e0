#!/bin/bash
# issue 21's "done when": a configuration with only the issuer (with the client and the
# redirect URI) signs in through both grants. sign_in = both: the prompt shows the browser's
# address and the device code together. One login pastes the browser's redirect (the code is
# exchanged, the device code left to expire at the provider); the next presses Enter after
# approving on the phone (the device code is polled, no code exchanged).
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test both

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
codes() { idp_stat 's["requests"].get("token_authorization_code", 0)'; }
session_login url browser pok-always
grep -q "pam_open_session: Success" "$WORK/out/browser.out" || fail "no session (browser)"
grep -q "open this address in a browser" "$WORK/out/browser.out" ||
    fail "the prompt did not offer the browser"
grep -Eq "code   [A-Z]{4}-[A-Z]{4}" "$WORK/out/browser.out" || fail "the prompt did not offer the device code"
[ "$(codes)" = 1 ] || fail "the browser's code was not exchanged"
first=$(keyring_token) || fail "no token after the browser sign-in"
works_at_idp "$first" || fail "the browser sign-in's token does not work"
polls=$(device_polls_count)
[ "$polls" = 0 ] || fail "the device code was polled after a pasted answer"

device_login device approve pok-always
grep -q "token is now in your keyring" "$WORK/out/device.out" ||
    fail "the device sign-in was not stored: $(cat "$WORK/out/device.out")"
[ "$(codes)" = 1 ] || fail "a code was exchanged for the device sign-in"
second=$(keyring_token) || fail "no token after the device sign-in"
[ "$second" != "$first" ] || fail "the device sign-in did not store a new token"
works_at_idp "$second" || fail "the device sign-in's token does not work"
[ "$(idp_stat 's["device_polls"][-1]["answer"]')" = tokens ] || fail "no device poll got the tokens"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "issuer alone, sign_in = both: a pasted browser sign-in and an approved device sign-in both stored"
