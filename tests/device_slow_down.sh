#!/bin/bash
# RFC 8628 3.5's slow_down, obeyed: the provider says interval 1 s and answers slow_down to the
# first two polls of the code; each slow_down adds 5 s to the interval for good, so the gaps
# between polls must grow 1 -> 6 -> 11 s and never come sooner (the IdP counts any poll
# that comes before the code's current interval: none may). Measured at the provider and
# printed. Then the approval: stored at the next poll.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
idp_control '{"device_interval": 1, "device_slow_down_polls": 2}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login slow none
# The session hook's poll heard the first slow_down; the refresher's one more, then pending.
wait_until 40 eval '[ "$(device_polls_count)" -ge 3 ]' ||
    fail "the refresher did not keep polling"
device_decide slow approve || fail "the approval was refused"
wait_until 25 keyring_token >/dev/null || fail "the approved pair was not stored"
[ "$(idp_stat 's["device_early_polls"]')" = 0 ] || fail "a poll came before the interval"
device_poll_gaps >"$WORK/out/gaps.txt"
expected=(6 11 11)
i=0
while read -r gap answer; do
    want=${expected[$i]:-11}
    awk -v g="$gap" -v w="$want" 'BEGIN { exit !(g >= w && g < w + 2.5) }' ||
        fail "poll $((i + 2)) came $gap s after the one before; the interval was $want s"
    i=$((i + 1))
done <"$WORK/out/gaps.txt"
echo "gaps after slow_down x2 from interval 1 s (expected 6, 11, 11): $(awk '{print $1 " s (" $2 ")"}' "$WORK/out/gaps.txt" | tr '\n' ' ')" >"$WORK/out/timing.txt"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 120
pass "slow_down obeyed: $(cat "$WORK/out/timing.txt")"
