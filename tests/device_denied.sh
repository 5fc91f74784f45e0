#!/bin/bash
# A device sign-in the user denies on the phone after logging in (RFC 8628 3.5 access_denied):
# the refresher stops polling at once, stores nothing, and leaves one status line saying so.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
idp_control '{"device_interval": 1}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login deny none || fail "the login failed: $(cat "$WORK/out/deny.out")"
grep -q "pam_open_session: Success" "$WORK/out/deny.out" || fail "no session"
wait_until 10 eval '[ "$(status_field outcome)" = device-waiting ]' ||
    fail "no refresher took the device sign-in"
device_decide deny deny || fail "the denial was refused"
wait_until 10 eval '[ "$(status_field outcome)" = sign-in-denied ]' ||
    fail "the denial was not recorded: $(status_field outcome)"
polls=$(idp_stat 'len(s["device_polls"])')
[ "$(idp_stat 's["device_polls"][-1]["answer"]')" = access_denied ] ||
    fail "the last poll was not the one that heard access_denied"
# The interval is 1 s: three of them without a poll show the polling is over.
holds_for 3 eval '[ "$(idp_stat "len(s[\"device_polls\"])")" = "$polls" ]' ||
    fail "the refresher polled on after access_denied"
keyring_token >/dev/null 2>&1 && fail "a token was stored after a denial"
grep -q "denied" <(status_field message) || fail "the status line does not say denied"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "denied on the phone: polling stopped at access_denied, nothing stored, one status line"
