#!/bin/bash
# A Retry-After crosses processes (issue 14): a login's own session-hook refresh gets 429 with
# Retry-After: 5 from the test IdP; the hold goes to SERVICE.status, so the refresher that login
# starts afterwards - on its schedule and for oauth-keyring token asking through it - sends
# nothing for 5 s (the tool gets exit 4 and is told why); then the refresher refreshes once; the
# refresh token is spent once.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
refreshed() { [ "$(status_field outcome 2>/dev/null)" = refreshed ]; }
refresher_running() { [ "$(refresher_count)" = 1 ]; }
# The schedule's draws fixed (0.05): no jitter on a 10 s token, a backoff draw of 3 s.
mkdir -p -m 0700 "$XDG_RUNTIME_DIR/pam_oauth_keyring"
echo 0.05 >"$XDG_RUNTIME_DIR/pam_oauth_keyring/test-draw"
login first # signs in; no refresher (pok-private)
prompted first || fail "the first login did not ask"
first=$(keyring_token)
[ -n "$first" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"

age_pair 6 # lifetime 10 s: due after 5 s
idp_control '{"fault": "http429", "fault_count": 1}'
login second pok-refresher # the session hook's refresh gets the 429, then the refresher starts
[ "$(refresh_requests)" = 1 ] || fail "the login's refresh: $(refresh_requests) requests, want 1"
[ "$(status_field outcome)" = provider-unreachable ] ||
    fail "the 429 was not recorded as provider-unreachable: $(status_field outcome)"
[ "$(status_field retry_after_until)" -gt "$(date +%s)" ] ||
    fail "no Retry-After hold in $SERVICE.status: $(status_field retry_after_until)"
wait_until 10 refresher_running || fail "no refresher after the second login"

# A tool asking now: the refresher's child finds the hold; nothing goes out.
cli_token held --min-valid 9
[ "$(cat "$WORK/out/held.status")" = 4 ] ||
    fail "a tool asking during the Retry-After: exit $(cat "$WORK/out/held.status"), want 4"
grep -q "Retry-After" "$WORK/out/held.err" || fail "the tool was not told why: $(cat "$WORK/out/held.err")"
[ "$(refresh_requests)" = 1 ] || fail "a request went out during the Retry-After"

wait_until 20 refreshed || fail "no refresh after the wait: $(refresh_requests) requests"
[ "$(refresh_requests)" = 2 ] || fail "$(refresh_requests) refresh requests, want 2 (the 429, then one)"
waited=$(idp_stat '"%.2f" % (s["token_request_times"][-1] - s["token_request_times"][-2])')
"$PYTHON" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 5 else 1)" "$waited" ||
    fail "the refresher sent $waited s after the login's 429, before its Retry-After: 5"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "a refresh token was used twice"
[ "$(idp_stat 's["live_refresh_tokens"]')" = 1 ] || fail "not exactly one live refresh token"
token=$(keyring_token)
[ "$token" != "$first" ] && works_at_idp "$token" || fail "no new working token after the wait"
note "the login's 429 held the refresher and a tool for $waited s; then one refresh, no reuse"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "a session hook's Retry-After holds the refresher and oauth-keyring token, then one refresh"
