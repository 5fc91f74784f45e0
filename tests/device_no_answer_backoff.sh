#!/bin/bash
# A device poll that gets no answer (the token endpoint a black hole for one request, the
# timeout 2 s): RFC 8628 3.5 asks the client to poll less often after a connection timeout; the
# refresher doubles the interval for good (1 s -> 2 s) and polls on. Measured at the provider:
# the gaps after the lost poll are twice the gaps before it.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device "timeout = 2"
idp_control '{"device_interval": 1}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login lost none
wait_until 10 eval '[ "$(device_polls_count)" -ge 3 ]' || fail "the refresher does not poll"
before=$(device_polls_count)
idp_control '{"fault": "blackhole", "fault_count": 1}'
wait_until 30 eval '[ "$(device_polls_count)" -ge $((before + 3)) ]' || fail "polling did not go on after the lost poll"
device_poll_gaps >"$WORK/out/gaps.txt"
# The gap across the lost poll: interval, the 2 s timeout, the doubled interval (about 5 s).
# Before it about 1 s each; after it about 2 s each.
across_line=$(awk '$1 >= 4.0 { print NR; exit }' "$WORK/out/gaps.txt")
[ -n "$across_line" ] || fail "no gap across the lost poll: $(tr '\n' ' ' <"$WORK/out/gaps.txt")"
head -n "$((across_line - 1))" "$WORK/out/gaps.txt" | awk '$1 >= 2.0 { exit 1 }' ||
    fail "gaps before the lost poll are not the interval: $(tr '\n' ' ' <"$WORK/out/gaps.txt")"
tail -n +"$((across_line + 1))" "$WORK/out/gaps.txt" | awk '$1 < 2.0 || $1 >= 3.5 { exit 1 }' ||
    fail "gaps after the lost poll are not twice the interval: $(tr '\n' ' ' <"$WORK/out/gaps.txt")"
[ "$(idp_stat 's["device_early_polls"]')" = 0 ] || fail "a poll came before the interval"
echo "gaps (s): $(awk '{print $1}' "$WORK/out/gaps.txt" | tr '\n' ' ')(the lost poll in the one of $(sed -n "${across_line}p" "$WORK/out/gaps.txt" | cut -d' ' -f1) s)" >"$WORK/out/timing.txt"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 90
pass "a poll without an answer doubled the interval: $(cat "$WORK/out/timing.txt")"
