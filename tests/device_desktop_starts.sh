#!/bin/bash
# The desktop's autostart entry for a provider whose only grant is the device grant, with no
# device sign-in waiting (issue 21, item 3), in a private session through the real libpam,
# helper, refresher and keyring, with a notification server on the session bus:
#   1. a login whose user denies the code at the prompt: the session opens without a token,
#      the refresher runs, no device sign-in waits;
#   2. the autostart entry's Exec= line, run as the desktop would (DISPLAY set, BROWSER a script
#      that records being started), starts a device sign-in (the refresher's choice: sign_in =
#      device) and shows its new code and address in one notification; no browser; exit 0;
#   3. the user approves that code on the phone (device_user.py reads what the entry printed):
#      the refresher, polling on after the entry ended, stores the pair.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
"$PYTHON" -c 'import jeepney' 2>/dev/null || skip "python3-jeepney is missing (the notification server)"
prepare_device_test device
stage_autostart_entry

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
idp_control '{"device_interval": 1}'
start_notification_server
device_login denied deny
wait_until 10 refresher_count_is 1 || fail "no refresher after the login"
read -r _ denied_code <"$WORK/out/denied.code"
note "1. the user denied $denied_code at the prompt: no token; the refresher runs, nothing waits"

run_autostart_entry autostart denied 30
[ "$(cat "$WORK/out/autostart.status")" = 0 ] ||
    fail "autostart: exit $(cat "$WORK/out/autostart.status"): $(cat "$WORK/out/autostart.out" "$WORK/out/autostart.err")"
code=$(sed -n 's/^  code   \([A-Z0-9-]*\)   (only on a page of .*)$/\1/p' "$WORK/out/autostart.out")
address=$(sed -n 's/^  open   \(https:[^ ]*\)$/\1/p' "$WORK/out/autostart.out")
[ -n "$code" ] && [ "$code" != "$denied_code" ] || fail "no new code: $(cat "$WORK/out/autostart.out")"
[ "$(idp_stat 's["requests"]["device_authorization"]')" = 2 ] || fail "not one new device authorization"
[ "$(notifications_sent)" = 1 ] || fail "$(notifications_sent) notifications, not one"
grep -qF "open $address and enter the code $code" "$WORK/out/notifications.jsonl" ||
    fail "notification: $(cat "$WORK/out/notifications.jsonl")"
[ "$(browser_runs)" = 0 ] || fail "a browser was started: $(cat "$WORK/out/browser.runs")"
note "2. the autostart entry started a device sign-in: code $code notified, no browser, exit 0"

"$PYTHON" "$WORK/bin/device_user.py" --ca "$CA_FILE" --decision approve --show-from "$WORK/out/autostart.out" ||
    fail "the approval failed"
wait_until 20 keyring_token >/dev/null 2>&1 || fail "no token stored after the approval"
works_at_idp "$(keyring_token)" || fail "the stored token does not work at the provider"
note "3. approved on the phone after the entry ended: the refresher stored the pair"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "the autostart entry starts a device-only provider's device sign-in and notifies its code"
