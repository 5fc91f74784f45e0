#!/bin/bash
# A device sign-in nobody approves (RFC 8628 3.5 expired_token, or expires_in running out): the
# login opened its session at once; the refresher polls until the code expires and then stops,
# storing nothing; one status line is all that is left of it (issue 21, item 4).
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
idp_control '{"device_interval": 1, "device_ttl": 4}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login expire none
wait_until 15 eval '[ "$(status_field outcome)" = sign-in-expired ]' ||
    fail "the expiry was not recorded: $(status_field outcome)"
polls=$(device_polls_count)
holds_for 3 eval '[ "$(device_polls_count)" = "$polls" ]' ||
    fail "the refresher polled on after the code expired"
keyring_token >/dev/null 2>&1 && fail "a token was stored"
# What is left in the runtime directory: the status file, and the refresher's own socket and
# locks; no file holds anything of the device sign-in but that one line.
ls "$XDG_RUNTIME_DIR/pam_oauth_keyring" >"$WORK/out/left.txt"
grep -v -E "^$SERVICE\.(status|sock|lock|refresher)$" "$WORK/out/left.txt" &&
    fail "files left behind: $(cat "$WORK/out/left.txt")"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "nobody approved: polling ended with the code, nothing stored, one status line"
