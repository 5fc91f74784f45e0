#!/bin/bash
# Twenty processes race on one due token - 10 session opens and 10 oauth-keyring token, with
# the refresher held (SIGSTOP) until they are all started and then set loose with them: one
# refresh request, one token that works and that every oauth-keyring printed, no invalid_grant,
# no refresh token used twice, one refresher.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first pok-refresher # signs in and starts the refresher
prompted first || fail "the first login did not ask"
"$CLI" status --service "$SERVICE" --json >"$WORK/out/status.out"
grep -Eq '"refresher_running": ?true' "$WORK/out/status.out" ||
    fail "no refresher after a session with refresher=yes"
refresher_pid=$(refresher_pids | head -1)
kill -STOP "$refresher_pid" # held back until the token is due, then set loose with the rest
age_pair 6                  # lifetime 10 s: due after 5 s
before=$(refresh_requests)
for i in $(seq 10); do
    login "race-session-$i" pok-refresher &
    cli_token "race-cli-$i" &
done
kill -CONT "$refresher_pid"
wait
[ "$(refresh_requests)" = $((before + 1)) ] ||
    fail "20 racing processes sent $(($(refresh_requests) - before)) refresh requests, want 1"
raced=$(keyring_token)
works_at_idp "$raced" || fail "the token after the race does not work"
for i in $(seq 10); do
    [ "$(cat "$WORK/out/race-cli-$i.status")" = 0 ] || fail "race cli $i: $(cat "$WORK/out/race-cli-$i.err")"
    [ "$(cat "$WORK/out/race-cli-$i.token")" = "$raced" ] || fail "race cli $i printed another token"
done
! grep -l invalid_grant "$WORK"/out/race-* || fail "invalid_grant during the race"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "a refresh token was used twice"
[ "$(refresher_count)" = 1 ] || fail "not exactly one refresher"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 120
pass "10 session opens + 10 oauth-keyring token on one due token: 1 refresh, 1 token, 1 refresher"
