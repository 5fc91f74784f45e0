#!/bin/bash
# A token endpoint that answers 429 with Retry-After: 5 (issue 14), through the real refresher
# against the test IdP, in a private session of an unprivileged user (nobody when run as
# root): the refresher's due refresh gets the 429; nothing goes out for 5 s - neither on its
# schedule nor for a tool asking through it (oauth-keyring token gets exit 4 at once); then
# it refreshes; the 429 never shows as a lost answer, and the refresh token is spent once.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon secret-tool curl

make_workdir
stage_artifacts
HELPER="$WORK/bin/pam_oauth_keyring_helper_test" # reads the fixed draw (store/test_hooks.h)
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 10
SERVICE=pok-retry-after-$$
prepare_private_user refresher=yes < <(echo "refresh_margin = 8")

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
refresh_requests() { idp_stat 's["requests"]["token_refresh_token"]'; }
keyring_token() { secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
status_outcome() { status_field outcome 2>/dev/null; }
# Conditions for wait_until, which runs its arguments again at every poll.
tried_once() { [ "$(refresh_requests)" -ge 1 ]; }
refreshed() { [ "$(status_outcome)" = refreshed ]; }
busy_recorded() { [ "$(status_outcome)" = provider-unreachable ]; }
# The draws the refresher hands its schedule, fixed (0.05): no jitter on a 10 s token, and a
# backoff draw of 3 s on top of the Retry-After.
mkdir -p -m 0700 "$XDG_RUNTIME_DIR/pam_oauth_keyring"
echo 0.05 >"$XDG_RUNTIME_DIR/pam_oauth_keyring/test-draw"
session_login url first
grep -q "pam_open_session: Success" "$WORK/out/first.out" || fail "no session: $(cat "$WORK/out/first.out")"
first=$(keyring_token)
[ -n "$first" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
wait_until 10 pgrep -u "$(id -u)" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null ||
    fail "no refresher after the login"
idp_control '{"fault": "http429", "fault_count": 1}'

# Due 5 s after it was obtained (half the lifetime): the refresher's request gets the 429.
wait_until 20 tried_once || fail "the refresher never tried to refresh"
# A tool asking now (its token due for it) is answered by the refresher without a request.
"$CLI" token --service "$SERVICE" --min-valid 9 >"$WORK/out/held.token" 2>"$WORK/out/held.err"
held_status=$?
after_tool=$(refresh_requests)
# The 429's answer is recorded as the provider's failure; a lost answer would leave the
# in-flight record's outcome-unknown standing (and hold the token back a minute).
wait_until 5 busy_recorded ||
    fail "the 429 was not recorded as provider-unreachable: $(status_outcome)"
wait_until 20 refreshed || fail "no refresh after the wait: $(cat "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.status"), $(refresh_requests) requests"

[ "$held_status" = 4 ] || fail "a tool asking during Retry-After: exit $held_status, want 4"
grep -q "Retry-After" "$WORK/out/held.err" || fail "the tool was not told why: $(cat "$WORK/out/held.err")"
[ "$after_tool" = 1 ] || fail "a request went out during Retry-After ($after_tool refresh requests)"
[ "$(refresh_requests)" = 2 ] || fail "$(refresh_requests) refresh requests, want 2 (the 429, then one)"
waited=$(idp_stat '"%.2f" % (s["token_request_times"][-1] - s["token_request_times"][-2])')
"$PYTHON" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 5 else 1)" "$waited" ||
    fail "the retry came $waited s after the 429, before its Retry-After: 5"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "a refresh token was used twice"
[ "$(idp_stat 's["live_refresh_tokens"]')" = 1 ] || fail "not exactly one live refresh token"
token=$(keyring_token)
[ "$token" != "$first" ] && [ "$(idp_userinfo_status "$token")" = 200 ] ||
    fail "no new working token after the wait"
echo "--- 429 + Retry-After: 5: retried after $waited s, a tool held back (exit 4), no lost answer, no reuse"
SCENARIO

run_private_session "$WORK/scenario.sh" 60 || fail "the scenario failed"
pass "the refresher waits out a 429's Retry-After, then refreshes once"
