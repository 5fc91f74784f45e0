#!/bin/bash
# oauth-keyring login --device (issue 21, item 3), through the real libpam, helper, refresher
# and keyring of a private session: a provider named by its issuer alone with sign_in = device.
#   1. a login whose user denies the code at the prompt: the session opens with no token, the
#      refresher runs and no device sign-in waits;
#   2. `oauth-keyring login --device` (the front end hands it to the full CLI) asks the refresher
#      for a device sign-in: it prints the address, the code and the host to check in the
#      module's shape, and that it waits until HH:MM; no browser starts although DISPLAY and
#      BROWSER are set;
#   3. `oauth-keyring status` says the sign-in waits, at which address, with which code, until
#      when (text and --json);
#   4. the user approves on the "phone" (device_user.py reads the printed lines): the CLI says
#      Signed in and exits 0; the token in the keyring works at the IdP and is the approver's;
#      status no longer shows a waiting sign-in.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
# A browser that only records being started: none may be, for a device sign-in.
printf '#!/bin/sh\necho "$1" >>"$WORK/out/browser.runs"\n' >"$WORK/bin/no_browser.sh"
chmod a+rx "$WORK/bin/no_browser.sh"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
idp_control '{"device_interval": 1}'
device_login denied deny
wait_until 10 refresher_count_is 1 || fail "no refresher after the login"
keyring_token >/dev/null 2>&1 && fail "a token was stored although the user denied"
"$CLI" status --service "$SERVICE" >"$WORK/out/before.out" 2>&1
grep -q "^device sign-in:" "$WORK/out/before.out" && fail "a device sign-in waits already: $(cat "$WORK/out/before.out")"
read -r _ denied_code <"$WORK/out/denied.code"
note "1. the user denied at the prompt: a session without a token, the refresher runs, no sign-in waits"

start_ms=$(($(date +%s%N) / 1000000))
DISPLAY=:0 BROWSER="$WORK/bin/no_browser.sh" "$CLI" login --device --service "$SERVICE" </dev/null \
    >"$WORK/out/cli.out" 2>"$WORK/out/cli.err" &
cli_pid=$!
wait_until 20 grep -qs "^Waiting for your approval" "$WORK/out/cli.out" ||
    fail "no code shown: $(cat "$WORK/out/cli.out" "$WORK/out/cli.err")"
shown_ms=$(($(date +%s%N) / 1000000 - start_ms))
address=$(sed -n 's/^  open   \(https:[^ ]*\)$/\1/p' "$WORK/out/cli.out")
code=$(sed -n 's/^  code   \([A-Z0-9-]*\)   (only on a page of .*)$/\1/p' "$WORK/out/cli.out")
host=${address#https://}
host=${host%%/*}
[ -n "$address" ] && [ -n "$code" ] || fail "no open and code lines: $(cat "$WORK/out/cli.out")"
grep -qx "To sign in to $SERVICE, approve this sign-in on your phone or another computer:" "$WORK/out/cli.out" ||
    fail "no heading: $(cat "$WORK/out/cli.out")"
grep -qx "  code   $code   (only on a page of $host)" "$WORK/out/cli.out" || fail "the host to check is not the address's"
[ "$address" = "$IDP_URL/realms/test/device/verify" ] || fail "the address is $address"
[ "$code" != "$denied_code" ] || fail "the login's denied code was shown again"
grep -Eq "^Waiting for your approval until [0-9]{2}:[0-9]{2}; Ctrl-C stops waiting, the sign-in goes on until then\.$" \
    "$WORK/out/cli.out" || fail "no wait line: $(cat "$WORK/out/cli.out")"
[ "$(idp_stat 's["requests"]["device_authorization"]')" = 2 ] || fail "not one device authorization for the CLI"
note "2. login --device: '$(sed -n 2,3p "$WORK/out/cli.out" | tr -s ' ' | tr '\n' ';')' in $shown_ms ms"

"$CLI" status --service "$SERVICE" >"$WORK/out/status.out" 2>"$WORK/out/status.err" ||
    fail "status: $(cat "$WORK/out/status.err")"
grep -Eqx "device sign-in: waiting for approval at $address, code $code, until [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z" \
    "$WORK/out/status.out" || fail "status: $(cat "$WORK/out/status.out")"
"$CLI" status --json --service "$SERVICE" >"$WORK/out/status.json" || fail "status --json"
"$PYTHON" - "$WORK/out/status.json" "$code" "$address" <<'CHECK' || fail "status --json: $(cat "$WORK/out/status.json")"
import json, sys, time
device = json.load(open(sys.argv[1]))["device_sign_in"]
assert device["user_code"] == sys.argv[2] and device["verification_uri"] == sys.argv[3], device
assert sys.argv[2] in device["verification_uri_complete"], device
assert time.time() < device["expires_at"] <= time.time() + 700, device
CHECK
note "3. status: '$(grep '^device sign-in:' "$WORK/out/status.out")'"

"$PYTHON" "$WORK/bin/device_user.py" --ca "$CA_FILE" --decision approve --show-from "$WORK/out/cli.out" ||
    fail "the approval failed"
wait_until 30 eval '! kill -0 "$cli_pid" 2>/dev/null' || fail "login --device did not end: $(cat "$WORK/out/cli.err")"
wait "$cli_pid"
status=$?
[ "$status" = 0 ] || fail "login --device: exit $status: $(cat "$WORK/out/cli.out" "$WORK/out/cli.err")"
grep -q "^Signed in" "$WORK/out/cli.out" || fail "login --device: $(cat "$WORK/out/cli.out")"
token=$(keyring_token) || fail "no access token in the keyring"
works_at_idp "$token" || fail "the stored token does not work at the provider"
[ "$(token_account "$token")" = test-user ] || fail "the token is not the approver's"
[ "$(browser_runs)" = 0 ] || fail "a browser was started: $(cat "$WORK/out/browser.runs")"
[ "$(idp_stat 's["device_early_polls"]')" = 0 ] || fail "a poll came before the interval"
"$CLI" status --json --service "$SERVICE" >"$WORK/out/after.json" || fail "status after"
"$PYTHON" -c 'import json, sys; assert json.load(open(sys.argv[1]))["device_sign_in"] is None' \
    "$WORK/out/after.json" || fail "a sign-in still waits: $(cat "$WORK/out/after.json")"
note "4. approved on the phone: '$(tail -1 "$WORK/out/cli.out")', exit 0; the token works; no browser"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 90
pass "oauth-keyring login --device: the code shown, status says it waits, approved, stored"
