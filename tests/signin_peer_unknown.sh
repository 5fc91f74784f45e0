#!/bin/bash
# The listener fails closed when the kernel cannot say whose program connects (no
# NETLINK_SOCK_DIAG; the test refresher's hook file test-no-sock-diag plays that kernel):
#   1. at the start of a sign-in: nothing listens, `oauth-keyring login` says why and takes a
#      paste;
#   2. during a sign-in: the user's own callback is refused with a 403 page that says so,
#      nothing is spent, the status says why (oauth-keyring status), the sign-in waits on;
#      once the kernel answers again, the next callback signs in.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl

prepare_signin_test peer-unknown </dev/null
HELPER="$WORK/bin/pam_oauth_keyring_helper_test" # it starts the test refresher, with the hook

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
hook="$XDG_RUNTIME_DIR/pam_oauth_keyring/test-no-sock-diag"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"

touch "$hook"
start_login first
grep -q "the browser cannot come back here (cannot tell which user's program connects to port $SIGNIN_PORT (NETLINK_SOCK_DIAG is not available: a test took it away), so nothing listens): paste" \
    "$WORK/out/first.err" || fail "no fallback said: $(cat "$WORK/out/first.out" "$WORK/out/first.err")"
port_free || fail "something listens on $SIGNIN_PORT"
kill -INT "$CLI_PID"
finish_login 10
note "1. no sock_diag at the start: nothing listens, the CLI says why and takes a paste"

rm "$hook"
start_login second
grep -q "completes by itself when the browser comes back to http://127.0.0.1:$SIGNIN_PORT/callback" \
    "$WORK/out/second.out" || fail "the sign-in does not listen: $(cat "$WORK/out/second.out" "$WORK/out/second.err")"
browser_start # the browser has the start address's cookie before the kernel stops answering
touch "$hook"
answer=$(loopback_get "$(callback_url url)" --body "$WORK/out/refused.html")
[ "${answer%% *}" = 403 ] || fail "the user's own callback without sock_diag: '$answer'"
grep -q "cannot tell which user ran the program that sent this request" "$WORK/out/refused.html" ||
    fail "page: $(cat "$WORK/out/refused.html")"
[ "$(codes_spent)" = 0 ] || fail "a code was spent"
login_running || fail "the sign-in ended: $(cat "$WORK/out/second.out" "$WORK/out/second.err")"
[ "$(status_field outcome)" = sign-in-refused ] || fail "status: $(status_field outcome)"
"$CLI" status --service "$SERVICE" >"$WORK/out/status.out" || fail "oauth-keyring status failed"
grep -q "sign-in-refused.*cannot tell which user's program made it (NETLINK_SOCK_DIAG is not available: a test took it away); paste the address instead" \
    "$WORK/out/status.out" || fail "oauth-keyring status: $(cat "$WORK/out/status.out")"
note "2. no sock_diag during the sign-in: 403 '$(grep -o '<h1>[^<]*' "$WORK/out/refused.html" | cut -c5-)', nothing spent, the status says why, still waiting"

rm "$hook"
answer=$(loopback_get "$(callback_url url)")
[ "${answer%% *}" = 303 ] || fail "the callback once sock_diag answers: '$answer'"
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "login: exit $LOGIN_STATUS: $(cat "$WORK/out/second.out" "$WORK/out/second.err")"
[ "$(codes_spent)" = 1 ] || fail "not exactly one code exchange"
note "3. sock_diag back: the next callback signs in (303, exit 0, one exchange)"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "without sock_diag the listener fails closed: no listener at the start, a 403 and the status during a sign-in"
