#!/bin/bash
# The provider's device authorization endpoint does not answer at the prompt (black hole): the
# login is held at most the configured timeout (2 s here) plus the module's grace, shows no
# prompt, and the session opens; the refresher waits for a sign-in. Measured.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device "timeout = 2"
idp_control '{"device_fault": "blackhole"}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
started=$(($(date +%s%N) / 1000000))
device_login down none
took=$(($(cat "$WORK/out/down.end") - started))
grep -q '^\[prompt\]' "$WORK/out/down.out" && fail "a prompt was shown without a device code"
[ "$took" -lt 4500 ] || fail "the login took $took ms with the provider down (timeout 2 s)"
grep -q "device authorization endpoint" "$WORK/out/down.log" ||
    fail "the log does not say what failed: $(cat "$WORK/out/down.log")"
echo "$took" >"$WORK/out/took.ms"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "provider down at the prompt: no prompt, the session opened; the whole login took $(cat "$WORK/out/took.ms") ms (timeout 2 s)"
