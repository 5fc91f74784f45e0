#!/bin/bash
# A refresh whose answer is lost (the IdP rotates the pair and cuts its answer short) is not
# sent again: with access tokens of 4 s the refresher's own timer makes the attempt 2 s after
# the sign-in; the IdP sees that one request, and none more from the refresher in the next 2 s
# (its timer ticks every second while the token is due), from a session, or from oauth-keyring
# token, which exits 4; oauth-keyring status says outcome-unknown.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 4

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first pok-refresher # signs in and starts the refresher
prompted first || fail "the first login did not ask"
idp_control '{"fault": "truncated", "fault_count": 1}' # the IdP rotates, the answer is cut
before=$(refresh_requests)
attempted() { [ "$(refresh_requests)" -gt "$before" ]; }
wait_until 20 attempted || fail "the refresher made no attempt at the due time"
one_attempt() { [ "$(refresh_requests)" = $((before + 1)) ]; }
holds_for 2 one_attempt || fail "lost answer: $(($(refresh_requests) - before)) attempts, want 1"
login after-unknown
one_attempt || fail "a session re-sent a refresh token whose answer was lost"
cli_token unknown
[ "$(cat "$WORK/out/unknown.status")" = 4 ] || fail "lost answer: oauth-keyring token exited $(cat "$WORK/out/unknown.status")"
one_attempt || fail "oauth-keyring re-sent a refresh token whose answer was lost"
"$CLI" status --service "$SERVICE" --json >"$WORK/out/status-unknown.out"
grep -q "outcome-unknown" "$WORK/out/status-unknown.out" || fail "status: $(cat "$WORK/out/status-unknown.out")"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "lost answer: 1 request, not re-sent by the refresher, a session or oauth-keyring"
