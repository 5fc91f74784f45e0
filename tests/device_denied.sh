#!/bin/bash
# A device sign-in the user denies on the phone after logging in (RFC 8628 3.5 access_denied):
# the refresher stops polling at once, stores nothing, and leaves one status line saying so.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
idp_control '{"device_interval": 1}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login deny none
device_waiting
device_decide deny deny || fail "the denial was refused"
wait_until 10 eval '[ "$(status_field outcome)" = sign-in-denied ]' ||
    fail "the denial was not recorded: $(status_field outcome)"
polls=$(device_polls_count)
[ "$(idp_stat 's["device_polls"][-1]["answer"]')" = access_denied ] ||
    fail "the last poll was not the one that heard access_denied"
# The interval is 1 s: three of them without a poll show the polling is over.
holds_for 3 eval '[ "$(device_polls_count)" = "$polls" ]' ||
    fail "the refresher polled on after access_denied"
keyring_token >/dev/null 2>&1 && fail "a token was stored after a denial"
grep -q "denied" <(status_field message) || fail "the status line does not say denied"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "denied on the phone: polling stopped at access_denied, nothing stored, one status line"
