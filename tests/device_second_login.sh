#!/bin/bash
# A second login while the first login's refresher runs (a second seat, an ssh session next to
# the desktop): its device sign-in is handed to the running refresher over the user's own
# socket ("device-wait"), and the refresher that login started exits; the newer code replaces
# the older one (the one the user was shown last). Approving the newer code stores the pair
# through the one refresher; the older code is no longer polled.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
idp_control '{"device_interval": 1}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login first none
device_waiting
first_code=$(awk '{print $2}' "$WORK/out/first.code")
device_login second none
second_code=$(awk '{print $2}' "$WORK/out/second.code")
[ "$first_code" != "$second_code" ] || fail "both logins got the same code"
# The refresher the second login started hands on and exits: one refresher polls.
wait_until 10 refresher_count_is 1 || fail "$(refresher_count) refreshers run"
polls_of() { idp_stat "len([p for p in s['device_polls'] if p['user_code'] == '$1'])"; }
wait_until 10 eval '[ "$(polls_of "$second_code")" -ge 2 ]' ||
    fail "the running refresher does not poll the second login's code"
first_polls=$(polls_of "$first_code")
holds_for 3 eval '[ "$(polls_of "$first_code")" = "$first_polls" ]' ||
    fail "the first login's code is still polled"
device_decide second approve || fail "the approval was refused"
wait_until 10 keyring_token >/dev/null || fail "the approved pair was not stored"
works_at_idp "$(keyring_token)" || fail "the stored token does not work"
refresher_count_is 1 || fail "$(refresher_count) refreshers run after the sign-in"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "a second login's device sign-in handed to the running refresher; stored; one refresher"
