#!/bin/bash
# The device grant's point (issue 21, item 2): the user logs in first and approves later. The
# provider's answer has no interval, so RFC 8628 3.2's default of 5 s applies. The user presses
# Enter without approving: the session opens at once (the session hook's one poll hears
# authorization_pending) and says the sign-in waits; the refresher polls on, no sooner than
# every 5 s; `oauth-keyring status` names the waiting sign-in and until when; meanwhile the
# device code is in no process's argv or environment. Then the user approves on the phone:
# the refresher stores the pair, and the token works.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test device
idp_control '{"device_interval": null}'

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
device_login later none
ms=$(enter_to_end_ms later)
# pam_authenticate with an instant Enter: the metadata, the device authorization, the prompt.
auth_ms=$(sed -n 's/^timing: pam_authenticate \([0-9]*\) ms$/\1/p' "$WORK/out/later.out")
echo "the prompt's whole auth step (metadata, device authorization, Enter at once): $auth_ms ms" >"$WORK/out/timing.txt"
echo "Enter to the end of the login: $ms ms" >>"$WORK/out/timing.txt"
[ "$ms" -lt 1000 ] || fail "the session took $ms ms after Enter"
grep -q "sign-in waits for your approval at" "$WORK/out/later.out" ||
    fail "the session did not say the sign-in waits: $(cat "$WORK/out/later.out")"
keyring_token >/dev/null 2>&1 && fail "a token was stored before anyone approved"
device_waiting
"$CLI" status --service "$SERVICE" >"$WORK/out/status.out" 2>&1
grep -Eq "device-waiting .*waits for approval at https://.* with code [A-Z]{4}-[A-Z]{4}, until [0-9]{2}:[0-9]{2}" \
    "$WORK/out/status.out" || fail "status does not say what waits: $(cat "$WORK/out/status.out")"
# The device code is a secret: no process of the user's carries it in argv or environment.
device_code=$(idp_stat 's["issued"]["device_codes"][-1]')
for pid in $(pgrep -u "$(id -u)"); do
    if cat "/proc/$pid/cmdline" "/proc/$pid/environ" 2>/dev/null | tr '\0' '\n' |
        grep -qF -- "$device_code"; then
        fail "the device code is in the argv or environment of $(cat /proc/$pid/comm)"
    fi
done
# A poll by the refresher after the session hook's, before the approval.
wait_until 15 eval '[ "$(device_polls_count)" -ge 2 ]' ||
    fail "the refresher did not poll"
device_decide later approve || fail "the approval was refused"
wait_until 20 keyring_token >/dev/null || fail "the refresher did not store the approved pair"
token=$(keyring_token)
works_at_idp "$token" || fail "the stored token does not work at the provider"
[ "$(status_field outcome)" = signed-in ] || fail "status: $(status_field outcome)"
[ "$(idp_stat 's["device_early_polls"]')" = 0 ] || fail "a poll came before the interval: $(idp_get /stats | $PYTHON -c "import json,sys; print(json.load(sys.stdin)[\"device_polls\"])")"
device_poll_gaps >"$WORK/out/gaps.txt"
while read -r gap answer; do
    awk -v g="$gap" 'BEGIN { exit !(g >= 5.0) }' || fail "a poll came $gap s after the last (default interval 5 s)"
done <"$WORK/out/gaps.txt"
echo "poll gaps (s): $(tr '\n' ' ' <"$WORK/out/gaps.txt")" >>"$WORK/out/timing.txt"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 90
pass "approved after login: the refresher stored the pair; $(tr '\n' ';' <"$WORK/out/timing.txt")"
