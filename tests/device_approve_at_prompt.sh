#!/bin/bash
# The device grant at the prompt (issue 21, item 2), approved before Enter: a configuration that
# names only the issuer (no endpoint keys) with sign_in = device, through the real libpam, the
# real helper and refresher and a real keyring. The prompt shows the verification address, its
# host and the user code, and says the user may approve now or after logging in; the user
# approves on the "phone" (the IdP's verification page) and presses Enter; the session hook's
# one poll finds the approval and stores the pair, and the session opens within a second of
# Enter. The device code reaches no transcript, log or status file (run_refresh_test).
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login approve approve
read -r address code <"$WORK/out/approve.code"
host=${address#https://}
host=${host%%/*}
grep -q "open   $address" "$WORK/out/approve.out" || fail "the prompt did not show the address"
grep -q "code   $code   (only on a page of $host)" "$WORK/out/approve.out" ||
    fail "the prompt did not show the code and the host to check"
grep -q "Approve now or after you log in" "$WORK/out/approve.out" ||
    fail "the prompt did not say the user may approve after logging in"
grep -q "token is now in your keyring" "$WORK/out/approve.out" ||
    fail "the session did not say the token was stored: $(cat "$WORK/out/approve.out")"
token=$(keyring_token) || fail "no access token in the keyring"
works_at_idp "$token" || fail "the stored token does not work at the provider"
[ "$(token_account "$token")" = test-user ] || fail "the token is not the approver's"
[ "$(idp_stat 's["requests"]["device_authorization"]')" = 1 ] ||
    fail "not exactly one device authorization"
[ "$(idp_stat 's["device_early_polls"]')" = 0 ] || fail "a poll came before the interval"
[ "$(status_field outcome)" = signed-in ] || fail "status: $(status_field outcome)"
echo "Enter to the end of the login: $(enter_to_end_ms approve) ms" >"$WORK/out/timing.txt"
[ "$(enter_to_end_ms approve)" -lt 1000 ] ||
    fail "the session took $(enter_to_end_ms approve) ms after Enter"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
cp "$WORK/out/approve.out" /tmp/approve.out 2>/dev/null
pass "approved at the prompt: the pair stored at session open; $(cat "$WORK/out/timing.txt")"
