#!/bin/bash
# The refresher's refresh runs in a short-lived child (refresher/refresher.c run_in_child): a
# SIGKILL of that child before the request, between the two keyring writes and after the
# provider's answer (test pause points of the test helper). oauth-keyring token right after
# prints a working token or nothing (exit 0, 2 or 4), never a dead one; the next login is not
# asked; then the token works, or - after-response, where the provider rotated and the answer
# died with the child - the spent refresh token is not sent again, oauth-keyring token exits 4
# and a new sign-in works. No retry storm, and the refresher lives on.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
STATE_DIR="$XDG_RUNTIME_DIR/pam_oauth_keyring"
login first pok-refresher # signs in and starts the refresher
prompted first || fail "the first login did not ask"
# after-response goes last: it leaves the lost-answer rule holding the pair for a minute.
for point in before-request between-writes after-response; do
    rm -f "$STATE_DIR/test-paused"
    echo "$point" >"$STATE_DIR/test-pause-at"
    # A due token, and a tool asking for it, as developer tools do: the refresher serves the
    # request with a child refresh, which stops itself at the pause point.
    age_pair 6 # lifetime 10 s: due after 5 s
    timeout 20 "$CLI" token --service "$SERVICE" >/dev/null 2>&1 &
    asker=$!
    wait_until 20 test -s "$STATE_DIR/test-paused" || fail "the refresher's child never reached $point"
    read -r paused_pid paused_at <"$STATE_DIR/test-paused"
    [ "$paused_at" = "$point" ] || fail "paused at $paused_at, not $point"
    kill -KILL "$paused_pid"
    rm -f "$STATE_DIR/test-pause-at"
    wait "$asker"
    before=$(refresh_requests)
    timeout 20 "$CLI" token --service "$SERVICE" >"$WORK/out/crash-$point.token" 2>"$WORK/out/crash-$point.err"
    status=$?
    case "$status" in
    0) works_at_idp "$(cat "$WORK/out/crash-$point.token")" || fail "$point: printed a dead token" ;;
    2 | 4) [ ! -s "$WORK/out/crash-$point.token" ] || fail "$point: printed a token with exit $status" ;;
    *) fail "$point: oauth-keyring token exited $status: $(cat "$WORK/out/crash-$point.err")" ;;
    esac
    login "after-$point" pok-refresher
    prompted "after-$point" && fail "$point: the login right after was asked (the state said ok)"
    cli_token "then-$point"
    case "$(cat "$WORK/out/then-$point.status")" in
    0)
        works_at_idp "$(cat "$WORK/out/then-$point.token")" || fail "$point: then a dead token"
        outcome="recovered, token works"
        ;;
    4)
        [ "$point" = after-response ] || fail "$point: then exit 4: $(cat "$WORK/out/then-$point.err")"
        # The provider rotated, the answer died with the child: the spent token is not sent
        # again within the minute (the attempt was recorded before the request went out).
        [ "$(refresh_requests)" = "$before" ] || fail "$point: the spent refresh token was re-sent"
        login "again-$point" pok-always # a new sign-in replaces the pair, and all is well again
        prompted "again-$point" || fail "$point: the sign-in did not ask"
        works_at_idp "$(keyring_token)" || fail "$point: no working token after signing in"
        outcome="answer lost: not re-sent, oauth-keyring token exits 4, a new sign-in works"
        ;;
    *) fail "$point: then oauth-keyring token: $(cat "$WORK/out/then-$point.err")" ;;
    esac
    [ $(($(refresh_requests) - before)) -le 3 ] || fail "$point: a retry storm"
    note "SIGKILL $point: $outcome; oauth-keyring token exited $status right after"
done
[ "$(refresher_count)" = 1 ] || fail "not one refresher after the crashes"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 120
pass "a refresh child killed before the request, between the writes, after the answer: never a dead token, no re-send"
