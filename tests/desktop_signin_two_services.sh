#!/bin/bash
# Issue 18, item 4: a fleet whose module serves two services (Snyk and a second provider)
# gets both sign-ins after one graphical login. Through the real libpam in a private session
# of an unprivileged user (nobody when run as root), one test IdP behind two provider groups
# with their own keyring services and redirect ports (each provider's registration has its
# own, docs/recipes.md):
#   1. Enter at a graphical greeter: both services need a sign-in, two refreshers wait;
#   2. the autostart entry's Exec= line (no --service) signs in to each, one after the other:
#      exit 0, two "Signed in" lines, the browser opened twice, two code exchanges;
#   3. each service's token is in the keyring, and they differ;
#   4. the entry run again does nothing (both hold a token): exit 0, silent, no browser.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon secret-tool curl
"$PYTHON" -c 'import jeepney' 2>/dev/null || skip "python3-jeepney is missing (the notification server)"

make_workdir
stage_artifacts
PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$PORT/callback"
SECOND_REDIRECT_URI="http://127.0.0.1:$(free_port)/callback"
start_idp "client-secret-$RANDOM$RANDOM" --also-redirect-uri "$SECOND_REDIRECT_URI"
SERVICE=pok-two-a-$$ # unique: runs of other trees may share this machine and user
SECOND_SERVICE=pok-two-b-$$
prepare_private_user refresher=yes </dev/null
# The second provider group: the same IdP, its own keyring service, its own configuration.
SERVICE=$SECOND_SERVICE REDIRECT_URI=$SECOND_REDIRECT_URI write_config "$WORK/pam2.conf" </dev/null
[ "$RUN_AS" = nobody ] && chown nobody "$WORK/pam2.conf"
sed -n "s|config=$WORK/pam.conf|config=$WORK/pam2.conf|p" "$WORK/pam.d/pok-private" |
    grep -E '^(auth|session)' >>"$WORK/pam.d/pok-private"
[ "$(grep -c pam2.conf "$WORK/pam.d/pok-private")" = 2 ] || fail "no second module line: $(cat "$WORK/pam.d/pok-private")"
stage_autostart_entry

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
SECOND_SERVICE=${SERVICE/-two-a-/-two-b-}
both_refreshers_run() {
    [ "$(pgrep -u "$(id -u)" -fc "pam_oauth_keyring_refresher ($SERVICE|$SECOND_SERVICE)( |$)")" = 2 ]
}
start_notification_server
driver_login greeter --answer-command true --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS" \
    -- --setenv XDG_SESSION_TYPE=x11
grep -q "pam_open_session: Success" "$WORK/out/greeter.out" || fail "greeter: no session: $(cat "$WORK/out/greeter.out")"
wait_until 10 both_refreshers_run ||
    fail "not two refreshers: $(pgrep -u "$(id -u)" -fa pam_oauth_keyring_refresher) $(cat "$WORK/out/greeter.log")"
note "1. Enter at the greeter: two services need a sign-in, two refreshers wait"

run_autostart_entry autostart greeter 90
[ "$(cat "$WORK/out/autostart.status")" = 0 ] ||
    fail "autostart: exit $(cat "$WORK/out/autostart.status"): $(cat "$WORK/out/autostart.out" "$WORK/out/autostart.err")"
[ "$(grep -c '^Signed in' "$WORK/out/autostart.out")" = 2 ] || fail "autostart: $(cat "$WORK/out/autostart.out")"
grep -q "^Signed in: the $SERVICE tokens" "$WORK/out/autostart.out" || fail "autostart: no $SERVICE"
grep -q "^Signed in: the $SECOND_SERVICE tokens" "$WORK/out/autostart.out" || fail "autostart: no $SECOND_SERVICE"
[ "$(browser_runs)" = 2 ] || fail "the browser ran $(browser_runs) times, not twice"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 2 ] || fail "not exactly two code exchanges"
note "2. '$(cat "$WORK/exec-line")': exit 0, $(grep -c '^Signed in' "$WORK/out/autostart.out") sign-ins, one after the other"

first=$(secret-tool lookup service "$SERVICE" username "$RUN_AS")
second=$(secret-tool lookup service "$SECOND_SERVICE" username "$RUN_AS")
[ -n "$first" ] && [ -n "$second" ] && [ "$first" != "$second" ] || fail "the keyring does not hold two tokens"
works_at_idp "$first" && works_at_idp "$second" || fail "the IdP refuses a stored token"
note "3. both tokens in the keyring (secret-tool), both accepted by the IdP"

run_autostart_entry again greeter
[ "$(cat "$WORK/out/again.status")" = 0 ] || fail "again: exit $(cat "$WORK/out/again.status"): $(cat "$WORK/out/again.err")"
[ ! -s "$WORK/out/again.out" ] && [ ! -s "$WORK/out/again.err" ] ||
    fail "again: not silent: $(cat "$WORK/out/again.out" "$WORK/out/again.err")"
[ "$(browser_runs)" = 2 ] || fail "again: the browser opened although both tokens are stored"
note "4. the entry again: exit 0, silent, no browser"
assert_no_secret_in "$WORK/out/autostart.out" "$WORK/out/autostart.err" "$WORK/out/greeter.log"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 150
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "one graphical login, two services: the autostart entry signs in to each in turn"
