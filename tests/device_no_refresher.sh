#!/bin/bash
# The device grant with refresher=no: the session's one poll is all there is. Not approved by
# then, the user is told the next login asks (no error, nothing stored, no refresher, the
# notice in the log); approved before Enter, the pair is stored as ever.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login unapproved none pok-private
grep -q "was not approved before the session opened; you will be asked at the next login" \
    "$WORK/out/unapproved.out" || fail "the user was not told: $(cat "$WORK/out/unapproved.out")"
grep -q "^\[error\]" "$WORK/out/unapproved.out" && fail "an error was shown: $(cat "$WORK/out/unapproved.out")"
holds_for 2 refresher_count_is 0 || fail "a refresher started with refresher=no"
keyring_token >/dev/null 2>&1 && fail "a token was stored"
[ "$(device_polls_count)" = 1 ] || fail "$(device_polls_count) polls: the session's one only"
device_login approved approve pok-private
grep -q "token is now in your keyring" "$WORK/out/approved.out" ||
    fail "approved before Enter, not stored: $(cat "$WORK/out/approved.out")"
works_at_idp "$(keyring_token)" || fail "the stored token does not work"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "refresher=no: not approved by the session, the next login asks (one poll, no error); approved before Enter, stored"
