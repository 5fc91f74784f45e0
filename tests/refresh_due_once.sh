#!/bin/bash
# A session refreshes only a due token, and exactly once: with access tokens of 10 s (due after
# 5 s), a second login while the token is valid asks nothing and sends no token request; once
# the pair is 6 s old, the next login sends one refresh, stores a new token that works at the
# IdP and leaves the old pair dead.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first
prompted first || fail "the first login did not ask"
first=$(keyring_token)
[ -n "$first" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
login second
prompted second && fail "a user with a good refresh token was asked (prompt=missing)"
[ "$(refresh_requests)" = 0 ] || fail "a session with a valid token refreshed"
[ "$(keyring_token)" = "$first" ] || fail "the token changed without a refresh"
note "valid token: the second login was not asked, 0 token requests"

age_pair 6 # lifetime 10 s: due after 5 s
login third
prompted third && fail "a due token made the login ask"
[ "$(refresh_requests)" = 1 ] || fail "a due token: $(refresh_requests) refresh requests, want 1"
third=$(keyring_token)
[ "$third" != "$first" ] || fail "the refresh did not store a new token"
works_at_idp "$third" || fail "the refreshed token does not work at the IdP"
works_at_idp "$first" && fail "the old access token still works after rotation"
[ "$(idp_stat 's["live_refresh_tokens"]')" = 1 ] || fail "the old refresh token is still live"
note "due token: exactly 1 refresh, the new token works, the old pair is dead"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "a valid token is not refreshed; a due one exactly once"
