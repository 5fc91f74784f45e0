#!/bin/bash
# The desktop's autostart entry with a login's device sign-in waiting (issue 21, item 3), in a
# private session through the real libpam, helper, refresher and keyring, a provider named by
# its issuer alone with sign_in = device, and a notification server on the session bus:
#   1. a login whose user does nothing with the code at the prompt (Enter): the session opens
#      without a token, the refresher polls for the login's device sign-in;
#   2. the autostart entry's Exec= line (shipped desktop/oauth-keyring-login.desktop), run as
#      the desktop would (DISPLAY set, BROWSER a script that records being started): one
#      notification that carries the login's code and the address to approve it at, and names
#      the host to check; no browser; the same sign-in, not a new one (one device
#      authorization); exit 0 without waiting;
#   3. the user approves that code on the phone: the refresher stores the pair, which works at
#      the IdP.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
"$PYTHON" -c 'import jeepney' 2>/dev/null || skip "python3-jeepney is missing (the notification server)"
prepare_device_test device
stage_autostart_entry

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
idp_control '{"device_interval": 1}'
start_notification_server
device_login waiting none
wait_until 10 refresher_count_is 1 || fail "no refresher after the login"
read -r address code <"$WORK/out/waiting.code"
host=${address#https://}
host=${host%%/*}
keyring_token >/dev/null 2>&1 && fail "a token is stored before any approval"
note "1. Enter at the prompt with code $code unapproved: no token; the refresher polls for it"

run_autostart_entry autostart waiting 30
[ "$(cat "$WORK/out/autostart.status")" = 0 ] ||
    fail "autostart: exit $(cat "$WORK/out/autostart.status"): $(cat "$WORK/out/autostart.out" "$WORK/out/autostart.err")"
[ "$(notifications_sent)" = 1 ] || fail "$(notifications_sent) notifications, not one: $(cat "$WORK/out/autostart.err")"
"$PYTHON" - "$WORK/out/notifications.jsonl" "$SERVICE" "$address" "$code" "$host" <<'CHECK' ||
import json, sys
note = json.loads(open(sys.argv[1]).readline())
service, address, code, host = sys.argv[2:]
assert note["app"] == "oauth-keyring", note
assert service in note["summary"], note
assert "open " + address + " and enter the code " + code in note["body"], note
assert "only on a page of " + host in note["body"], note
CHECK
    fail "notification: $(cat "$WORK/out/notifications.jsonl")"
[ "$(browser_runs)" = 0 ] || fail "a browser was started: $(cat "$WORK/out/browser.runs")"
[ "$(idp_stat 's["requests"]["device_authorization"]')" = 1 ] ||
    fail "the entry started a new device sign-in instead of showing the login's"
grep -qx "  code   $code   (only on a page of $host)" "$WORK/out/autostart.out" ||
    fail "autostart printed: $(cat "$WORK/out/autostart.out")"
"$CLI" status --service "$SERVICE" | grep -q "^device sign-in: waiting for approval at $address, code $code," ||
    fail "the login's device sign-in no longer waits"
note "2. the autostart entry: exit 0, notified '$(sed -n 's/.*"body": "\([^"]*\)".*/\1/p' "$WORK/out/notifications.jsonl")'; no browser"

device_decide waiting approve || fail "the approval failed"
wait_until 20 keyring_token >/dev/null 2>&1 || fail "no token stored after the approval"
works_at_idp "$(keyring_token)" || fail "the stored token does not work at the provider"
note "3. approved on the phone: the refresher stored the pair"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "the autostart entry shows a login's waiting device sign-in in a notification, no browser"
