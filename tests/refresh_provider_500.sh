#!/bin/bash
# The provider answers the refresher's refresh with HTTP 500: oauth-keyring status says
# provider-unreachable, the keyring is left byte for byte as it was, and the refresher does not
# try again in the next 3 s although the token is due all along (with the draw fixed, it backs
# off a minute; without the back-off its timer would retry every second). Once the provider is back, a new session
# does not wait for the refresher: it refreshes, and starts a refresher of its own.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 4

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first pok-refresher # signs in and starts the refresher
prompted first || fail "the first login did not ask"
# The refresher's backoff is a random draw below 60 s (full jitter, store/schedule.h):
# fixed at the top here (store/test_hooks.h), so the first retry is 60 s away.
echo 0.999 >"$XDG_RUNTIME_DIR/pam_oauth_keyring/test-draw"
idp_control '{"fault": "http500"}' # before the refresher's first refresh, 2 s after the sign-in
unreachable() {
    "$CLI" status --service "$SERVICE" >"$WORK/out/status-500.out"
    grep -q "provider-unreachable" "$WORK/out/status-500.out"
}
wait_until 20 unreachable || fail "status: $(cat "$WORK/out/status-500.out")"
snapshot=$("$PYTHON" "$WORK/bin/keyring_tool.py" dump)
before=$(refresh_requests)
no_new_request() { [ "$(refresh_requests)" = "$before" ]; }
holds_for 3 no_new_request ||
    fail "after a 500, $(($(refresh_requests) - before)) more attempts within 3 s (back off a minute)"
[ "$("$PYTHON" "$WORK/bin/keyring_tool.py" dump)" = "$snapshot" ] || fail "a 500 changed the keyring"
idp_control '{"fault": null}'
rm -f "$XDG_RUNTIME_DIR/pam_oauth_keyring/test-draw"
# The refresher now waits a minute; a new session does not wait.
kill "$(refresher_pids)"
wait_until 5 refresher_count_is 0 || fail "the refresher did not end on SIGTERM"
login after-500 pok-refresher
[ "$(refresh_requests)" = $((before + 1)) ] || fail "the login after the 500 did not refresh"
works_at_idp "$(keyring_token)" || fail "no working token after the provider came back"
wait_until 5 refresher_count_is 1 || fail "the login after the 500 started no refresher"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "HTTP 500: status says so, no retry in the 3 s after, keyring untouched; the next login refreshed"
