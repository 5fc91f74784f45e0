#!/bin/bash
# A device poll answered 429 with Retry-After (a rate limiter, RFC 6585; Okta's words): the
# refresher waits the Retry-After (5 s) before the next poll, longer than the interval (1 s),
# and then polls at the interval again (a Retry-After is waited once; it does not double the
# interval as a poll without any answer does). Measured at the provider.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
idp_control '{"device_interval": 1}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login busy none
wait_until 10 eval '[ "$(device_polls_count)" -ge 2 ]' || fail "the refresher does not poll"
before=$(device_polls_count)
idp_control '{"fault": "http429", "fault_count": 1}'
# The 429 is not a poll the grant saw; the polls after it are.
wait_until 20 eval '[ "$(device_polls_count)" -ge $((before + 3)) ]' || fail "polling did not go on after the 429"
device_poll_gaps >"$WORK/out/gaps.txt"
# interval (1 s) to the 429, then its Retry-After (5 s): one gap of at least 6 s between the
# grant's polls; every other gap about the interval.
across=$(awk '$1 >= 5.9 { print $1 }' "$WORK/out/gaps.txt")
[ "$(echo "$across" | grep -c .)" = 1 ] || fail "not one gap across the 429: $(tr '\n' ' ' <"$WORK/out/gaps.txt")"
after=$(awk 'found { print $1; exit } $1 >= 5.9 { found = 1 }' "$WORK/out/gaps.txt")
awk -v g="$after" 'BEGIN { exit !(g >= 1.0 && g < 2.5) }' || fail "after the Retry-After the interval is $after s, not 1 s"
[ "$(idp_stat 's["device_early_polls"]')" = 0 ] || fail "a poll came before the interval"
echo "across the 429 (interval 1 s + Retry-After 5 s): $across s; the gap after it: $after s" >"$WORK/out/timing.txt"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "Retry-After obeyed: $(cat "$WORK/out/timing.txt")"
