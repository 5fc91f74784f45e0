#!/bin/bash
# A device sign-in waiting after the login (sign_in = both), then the user signs in with the
# browser inside the session (`oauth-keyring login`): the browser's pair is stored, and the
# device sign-in ends with it - no further poll - so an approval of the old code afterwards
# cannot store an older choice over the newer sign-in.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
# A free redirect port: the refresher's loopback listener binds it.
REDIRECT_URI="http://127.0.0.1:$(free_port)/callback"
prepare_device_test both
cp "$top_srcdir/tests/loopback_client.py" "$top_srcdir/tests/signin_lib.sh" "$WORK/bin/"
chmod a+r "$WORK/bin/loopback_client.py" "$WORK/bin/signin_lib.sh"
idp_control '{"device_interval": 1}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
device_login waiting none
device_waiting
start_login browser
callback=$(callback_url url)
loopback_get "$callback" --location >"$WORK/out/callback.answer"
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "the browser sign-in failed: $(cat "$WORK/out/browser.out" "$WORK/out/browser.err")"
[ "$(codes_spent)" = 1 ] || fail "the browser's code was not exchanged"
browser_token=$(keyring_token) || fail "no token after the browser sign-in"
polls=$(device_polls_count)
holds_for 3 eval '[ "$(device_polls_count)" = "$polls" ]' ||
    fail "the device sign-in is still polled after the browser's pair was stored"
device_decide waiting approve || fail "the late approval was refused by the provider"
holds_for 3 eval '[ "$(keyring_token)" = "$browser_token" ]' ||
    fail "the late approval replaced the browser's pair"
works_at_idp "$browser_token" || fail "the browser's token does not work"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "a browser sign-in in the session ends the waiting device sign-in; a late approval stores nothing over it"
