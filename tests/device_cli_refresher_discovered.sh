#!/bin/bash
# `oauth-keyring login --device` from a refresher that discovered the endpoints itself: a
# session with no tokens and prompt=never sends no request that needs an endpoint, so the
# login's helper fetches no metadata and the refresher it starts discovers them (child
# "discover"). The device authorization endpoint must be among what it keeps: the device
# sign-in then starts, is approved and stored.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
sed 's/refresher=yes/refresher=yes prompt=never/' "$WORK/pam.d/pok-refresher" >"$WORK/pam.d/pok-never"
chmod a+r "$WORK/pam.d/pok-never"
idp_control '{"device_interval": 1}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
session_login none quiet pok-never
grep -q "pam_open_session: Success" "$WORK/out/quiet.out" || fail "no session: $(cat "$WORK/out/quiet.out")"
grep -q '^\[prompt\]' "$WORK/out/quiet.out" && fail "prompt=never prompted"
wait_until 10 refresher_count_is 1 || fail "no refresher after the login"
wait_until 10 eval '[ "$(idp_stat "s[\"requests\"][\"discovery\"]")" -ge 1 ]' ||
    fail "the refresher fetched no metadata"
"$CLI" login --device --service "$SERVICE" </dev/null >"$WORK/out/cli.out" 2>"$WORK/out/cli.err" &
cli_pid=$!
wait_until 20 grep -qs "^Waiting for your approval" "$WORK/out/cli.out" ||
    fail "no code shown: $(cat "$WORK/out/cli.out" "$WORK/out/cli.err")"
"$PYTHON" "$WORK/bin/device_user.py" --ca "$CA_FILE" --decision approve --show-from "$WORK/out/cli.out" ||
    fail "the approval failed"
wait_until 30 eval '! kill -0 "$cli_pid" 2>/dev/null' || fail "login --device did not end"
wait "$cli_pid" || fail "login --device failed: $(cat "$WORK/out/cli.out" "$WORK/out/cli.err")"
works_at_idp "$(keyring_token)" || fail "the stored token does not work"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "a refresher that discovered the endpoints itself keeps the device authorization endpoint: login --device signed in"
