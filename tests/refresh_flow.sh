#!/bin/bash
# Keeping the token fresh, against the test IdP with access tokens of a few seconds, in a
# private session of an unprivileged user (nobody when run as root):
#   1. a session with a valid token makes no token request; a due one exactly one refresh;
#   2. oauth-keyring token's exit codes (0, 1, 4 here; 2 and 3 below);
#   3. 20 processes (session opens and oauth-keyring calls) race on one due token: one refresh;
#   4. the refresher keeps 5-second tokens valid through 30 s, one refresh per token; a 500
#      from the provider leaves the pair untouched and is retried no sooner than a minute;
#   5. SIGKILL of the refresher before the request, after the response, between the writes;
#   6. invalid_grant removes the items and the next login asks again (prompt=missing);
#   7. git credential fill; logout revokes at the IdP and removes the items, and once a session
#      has opened since, the next login asks;
#   8. a refresh whose answer is lost is not re-sent: one attempt, then waiting;
#   9. a locked keyring: no refresh token spent, oauth-keyring token exits 3;
# and finally the refresher is gone once the session bus is.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon secret-tool git curl

make_workdir
stage_artifacts
HELPER="$WORK/bin/pam_oauth_keyring_helper_test" # with pause points for step 5
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 10
SERVICE=pok-refresh-test-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=no < <(echo "refresh_margin = 8")
sed 's/refresher=no/refresher=yes/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-refresher"
sed 's/refresher=no/refresher=yes prompt=always/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-always"
chmod a+r "$WORK/pam.d/pok-refresher" "$WORK/pam.d/pok-always"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
keyring_token() { secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
refresh_requests() { idp_stat 's["requests"]["token_refresh_token"]'; }
prompted() { grep -q '^\[prompt\]' "$WORK/out/$1.out"; }
login() { # login NAME [SERVICE] [MODE]
    PAM_SERVICE_NAME=${2:-pok-private}
    PAM_OAUTH_KEYRING_TEST_HELPER="$HELPER" "$DRIVER" --confdir "$WORK/pam.d" \
        --service "$PAM_SERVICE_NAME" --user "$RUN_AS" --log "$WORK/out/$1.log" \
        --answer-command "$PYTHON $WORK/bin/browser.py --ca $CA_FILE --mode ${3:-url}" \
        --setenv "DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS" \
        --setenv "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR" >"$WORK/out/$1.out" 2>&1
    grep -q "pam_open_session: Success" "$WORK/out/$1.out" || fail "$1: no session: $(cat "$WORK/out/$1.out")"
}
cli_token() { # cli_token NAME [args]: exit status in $WORK/out/NAME.status
    local name=$1
    shift
    "$CLI" token --service "$SERVICE" "$@" >"$WORK/out/$name.token" 2>"$WORK/out/$name.err"
    echo $? >"$WORK/out/$name.status"
}
works_at_idp() { [ "$(idp_userinfo_status "$1")" = 200 ]; }

# --- 1 -----------------------------------------------------------------------------------------
login first
prompted first || fail "the first login did not ask"
first=$(keyring_token)
[ -n "$first" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
login second
prompted second && fail "a user with a good refresh token was asked (prompt=missing)"
[ "$(refresh_requests)" = 0 ] || fail "a session with a valid token refreshed"
[ "$(keyring_token)" = "$first" ] || fail "the token changed without a refresh"
step "1. valid token: second login not asked, 0 token requests"
sleep_until "$(($(obtained_at) + 5)).3" # lifetime 10 s: due after 5 s
login third
prompted third && fail "a due token made the login ask"
[ "$(refresh_requests)" = 1 ] || fail "a due token: $(refresh_requests) refresh requests, want 1"
third=$(keyring_token)
[ "$third" != "$first" ] || fail "the refresh did not store a new token"
works_at_idp "$third" || fail "the refreshed token does not work at the IdP"
works_at_idp "$first" && fail "the old access token still works after rotation"
[ "$(idp_stat 's["live_refresh_tokens"]')" = 1 ] || fail "the old refresh token is still live"
step "1. due token: exactly 1 refresh, new token works, old pair dead"
# The keyring is the user's to edit: a token URL planted there must not receive the refresh
# (and the client secret with it); the configured endpoint does.
"$PYTHON" "$WORK/bin/keyring_tool.py" edit-refresh "$SERVICE" token_url \
    "https://127.0.0.1:1/planted" || fail "cannot edit the refresh item"
sleep_until "$(($(obtained_at) + 5)).3"
login planted
[ "$(refresh_requests)" = 2 ] || fail "the refresh did not go to the configured endpoint: $(cat "$WORK/out/planted.log")"
third=$(keyring_token)
works_at_idp "$third" || fail "no working token after the planted URL was ignored"
step "1. a token URL planted in the keyring is ignored; the configured endpoint refreshed"

# --- 2 -----------------------------------------------------------------------------------------
cli_token valid --min-valid 1
[ "$(cat "$WORK/out/valid.status")" = 0 ] && [ "$(cat "$WORK/out/valid.token")" = "$third" ] ||
    fail "oauth-keyring token: $(cat "$WORK/out/valid.status") $(cat "$WORK/out/valid.err")"
# A refresh item from before it carried the access token: the access item is read, and
# believed only while it is the token the refresh item's fingerprint names.
"$PYTHON" "$WORK/bin/keyring_tool.py" drop-refresh-key "$SERVICE" access_token ||
    fail "cannot edit the refresh item"
cli_token older-format --min-valid 1
[ "$(cat "$WORK/out/older-format.status")" = 0 ] && [ "$(cat "$WORK/out/older-format.token")" = "$third" ] ||
    fail "older refresh item: $(cat "$WORK/out/older-format.status") $(cat "$WORK/out/older-format.err")"
"$PYTHON" "$WORK/bin/keyring_tool.py" set-access "$SERVICE" "$RUN_AS" "torn-$RANDOM" ||
    fail "cannot edit the access item"
cli_token torn --min-valid 1
[ "$(cat "$WORK/out/torn.status")" = 4 ] && [ ! -s "$WORK/out/torn.token" ] ||
    fail "a torn pair: exit $(cat "$WORK/out/torn.status"), printed '$(cat "$WORK/out/torn.token")'"
"$CLI" frobnicate >/dev/null 2>&1
[ $? = 1 ] || fail "oauth-keyring with a bad command does not exit 1"
sleep_until "$(($(obtained_at) + 5)).3"
cli_token norefresher
[ "$(cat "$WORK/out/norefresher.status")" = 4 ] || fail "due token, no refresher: exit $(cat "$WORK/out/norefresher.status")"
[ ! -s "$WORK/out/norefresher.token" ] || fail "a due token was printed although nobody could refresh it"
[ "$(refresh_requests)" = 2 ] || fail "oauth-keyring refreshed by itself"
step "2. exit 0 with a valid token (also from an older refresh item), 1 on bad usage, 4 when due or torn and no refresher (nothing printed)"

# --- 3 -----------------------------------------------------------------------------------------
login with-refresher pok-refresher # due now: this session refreshes and starts the refresher
[ "$(refresh_requests)" = 3 ] || fail "the session before the race: $(refresh_requests) refreshes"
"$CLI" status --service "$SERVICE" --json >"$WORK/out/status-race.out"
grep -Eq '"refresher_running": ?true' "$WORK/out/status-race.out" ||
    fail "no refresher after a session with refresher=yes"
refresher_pid=$(pgrep -u "$(id -u)" -f "pam_oauth_keyring_helper refresher $SERVICE" | head -1)
kill -STOP "$refresher_pid" # held back until the token is due, then set loose with the rest
sleep_until "$(($(obtained_at) + 5)).2"
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
[ "$(pgrep -c -u "$(id -u)" -f "pam_oauth_keyring_helper refresher $SERVICE")" = 1 ] || fail "not exactly one refresher"
step "3. 10 session opens + 10 oauth-keyring token on one due token: 1 refresh, 1 token, 1 refresher"

# --- 4 -----------------------------------------------------------------------------------------
idp_control '{"access_ttl": 5}'
login short-tokens pok-refresher # not due: no refresh; the refresher runs on
before=$(refresh_requests)
sleep_until "$(($(obtained_at) + 3))" # the 10 s token's last refresh gives a 5 s token
failures=0
for second in $(seq 30); do
    token=$(keyring_token)
    if ! works_at_idp "$token"; then
        sleep 1 # read between the two writes of a refresh, or a refresh still running: again
        works_at_idp "$(keyring_token)" || failures=$((failures + 1))
    fi
    sleep 1
done
refreshes=$(($(refresh_requests) - before))
[ "$failures" = 0 ] || fail "the token was invalid at $failures of 30 checks"
[ "$refreshes" -ge 6 ] && [ "$refreshes" -le 16 ] || fail "$refreshes refreshes in 30 s of 5 s tokens"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "a refresh token was used twice"
step "4. 30 s of 5 s tokens: valid at every check, $refreshes refreshes, no reuse"
# The refresher refreshes in short-lived children (refresher/helper_child.h): after all those
# refreshes it is still the process that started, and has never mapped libcurl or a TLS
# library. A non-dumpable process's maps are root's to read: the outer script (as root)
# reads them and answers in maps-checked.
pgrep -u "$(id -u)" -f "pam_oauth_keyring_helper refresher $SERVICE" >"$WORK/out/refresher.pid"
for _ in $(seq 100); do [ -s "$WORK/out/maps-checked" ] && break; sleep 0.1; done
case "$(cat "$WORK/out/maps-checked" 2>/dev/null)" in
clean) step "4. the refresher, after $refreshes refreshes by its children: no libcurl or TLS library mapped" ;;
not-root) step "4. (the refresher's maps were not read: that needs root)" ;;
*) fail "the refresher's maps: $(cat "$WORK/out/maps-checked" 2>/dev/null || echo 'no answer')" ;;
esac
# The refresher's backoff is a random draw below 60 s (full jitter, refresher/schedule.h):
# fixed at the top here (test_hooks.h), so the first retry is 60 s away.
echo 0.999 >"$XDG_RUNTIME_DIR/pam_oauth_keyring/test-draw"
idp_control '{"fault": "http500"}'
for _ in $(seq 300); do # the next due time of a 5 s token is at most a few seconds away
    "$CLI" status --service "$SERVICE" >"$WORK/out/status-500.out"
    grep -q "provider-unreachable" "$WORK/out/status-500.out" && break
    sleep 0.1
done
grep -q "provider-unreachable" "$WORK/out/status-500.out" || fail "status: $(cat "$WORK/out/status-500.out")"
snapshot=$("$PYTHON" "$WORK/bin/keyring_tool.py" dump)
before=$(refresh_requests)
sleep 6 # the token is due or expired all along: a retry now would be too soon
[ "$(refresh_requests)" = "$before" ] ||
    fail "after a 500, $(($(refresh_requests) - before)) more attempts within 6 s (back off a minute)"
[ "$("$PYTHON" "$WORK/bin/keyring_tool.py" dump)" = "$snapshot" ] || fail "a 500 changed the keyring"
idp_control '{"fault": null}'
rm -f "$XDG_RUNTIME_DIR/pam_oauth_keyring/test-draw"
# The refresher now waits a minute; a new session does not wait.
kill "$(pgrep -u "$(id -u)" -f "pam_oauth_keyring_helper refresher $SERVICE")"
login after-500 pok-refresher
works_at_idp "$(keyring_token)" || fail "no working token after the provider came back"
step "4. HTTP 500: status says so, no retry in the 6 s after, keyring untouched; the next login refreshed"

# --- 5 -----------------------------------------------------------------------------------------
# The refresh runs in a short-lived child of the refresher (helper_child.h): the child is what
# pauses and is killed; the refresher lives on. after-response goes last: it leaves the lost-
# answer rule holding the pair for a minute.
for point in before-request between-writes after-response; do
    rm -f "$XDG_RUNTIME_DIR/pam_oauth_keyring/test-paused"
    echo "$point" >"$XDG_RUNTIME_DIR/pam_oauth_keyring/test-pause-at"
    # The next due time is seconds away; a loaded machine is slow. After a killed child the
    # refresher's own timer backs off for a minute, so a tool asks for the token meanwhile,
    # as developer tools do (the refresher serves such a request when the token is due).
    for i in $(seq 300); do
        [ -s "$XDG_RUNTIME_DIR/pam_oauth_keyring/test-paused" ] && break
        [ $((i % 10)) = 0 ] && { timeout 20 "$CLI" token --service "$SERVICE" >/dev/null 2>&1 & }
        sleep 0.1
    done
    read -r paused_pid paused_at <"$XDG_RUNTIME_DIR/pam_oauth_keyring/test-paused" ||
        fail "the refresher never reached $point"
    [ "$paused_at" = "$point" ] || fail "paused at $paused_at, not $point"
    kill -KILL "$paused_pid"
    rm -f "$XDG_RUNTIME_DIR/pam_oauth_keyring/test-pause-at"
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
    0) works_at_idp "$(cat "$WORK/out/then-$point.token")" || fail "$point: then a dead token"
       outcome=${outcome:-"recovered, token works"} ;;
    4) [ "$point" = after-response ] || fail "$point: then exit 4: $(cat "$WORK/out/then-$point.err")"
       # The provider rotated, the answer died with the child: the spent token is not sent
       # again within the minute (the attempt was recorded before the request went out).
       [ "$(refresh_requests)" = "$before" ] || fail "$point: the spent refresh token was re-sent"
       login "again-$point" pok-always # a new sign-in replaces the pair, and all is well again
       prompted "again-$point" || fail "$point: the sign-in did not ask"
       works_at_idp "$(keyring_token)" || fail "$point: no working token after signing in"
       outcome="answer lost: not re-sent, oauth-keyring token exits 4, a new sign-in works" ;;
    *) fail "$point: then oauth-keyring token: $(cat "$WORK/out/then-$point.err")" ;;
    esac
    [ $(($(refresh_requests) - before)) -le 3 ] || fail "$point: a retry storm"
    step "5. SIGKILL $point: $outcome; oauth-keyring token exited $status right after"
    unset outcome
done
[ "$(pgrep -c -u "$(id -u)" -f "pam_oauth_keyring_helper refresher $SERVICE")" = 1 ] || fail "not one refresher after the crashes"

# --- 6 -----------------------------------------------------------------------------------------
refresh_token=$("$PYTHON" "$WORK/bin/keyring_tool.py" dump | "$PYTHON" -c '
import json, sys
for item in json.load(sys.stdin):
    if item["attributes"].get("service") == sys.argv[1] + "/refresh":
        print(json.loads(item["secret"])["refresh_token"])' "$SERVICE")
curl -sS --cacert "$CA_FILE" -o /dev/null -d "token=$refresh_token" -d "client_id=$CLIENT_ID" \
    -d "client_secret=$CLIENT_SECRET" "$IDP_URL/revoke" || fail "cannot revoke at the IdP"
unset refresh_token
sleep_until "$(($(obtained_at) + 3)).2"
login revoked # due, and the refresh token is dead: invalid_grant
grep -q "invalid_grant" "$WORK/out/revoked.log" || fail "no invalid_grant after revocation: $(cat "$WORK/out/revoked.log")"
[ -z "$(keyring_token)" ] || fail "the dead items were not removed"
cli_token gone
[ "$(cat "$WORK/out/gone.status")" = 2 ] || fail "no tokens: oauth-keyring token exited $(cat "$WORK/out/gone.status")"
login asks-again
prompted asks-again || fail "after invalid_grant the next login did not ask"
[ -n "$(keyring_token)" ] || fail "the new sign-in stored nothing"
step "6. invalid_grant: items removed, oauth-keyring token exits 2, the next login asks"

# --- 7 -----------------------------------------------------------------------------------------
login refresher-again pok-refresher
printf 'protocol=https\nhost=git.example.com\n\n' |
    git -c credential.helper= -c "credential.helper=!$CLI git-credential --service $SERVICE" \
        credential fill >"$WORK/out/git.out" 2>"$WORK/out/git.err" </dev/stdin || true
grep -qx "password=$(keyring_token)" "$WORK/out/git.out" || fail "git credential fill: $(cat "$WORK/out/git.err")"
printf 'protocol=http\nhost=git.example.com\n\n' | "$CLI" git-credential get --service "$SERVICE" \
    >"$WORK/out/git-http.txt" 2>&1
grep -q "password=" "$WORK/out/git-http.txt" && fail "git-credential gave the token for plain http"
eval "$("$CLI" env --service "$SERVICE")"
[ "${OAUTH_ACCESS_TOKEN:-}" = "$(keyring_token)" ] || fail "oauth-keyring env did not export the token"
unset OAUTH_ACCESS_TOKEN
revokes=$(idp_stat 's["requests"]["revoke"]')
# (Not 0 live: the pair the provider issued in step 5's after-response was never received.)
live_before=$(idp_stat 's["live_refresh_tokens"]')
"$CLI" logout --service "$SERVICE" >"$WORK/out/logout.out" 2>&1 || fail "logout: $(cat "$WORK/out/logout.out")"
[ "$(idp_stat 's["requests"]["revoke"]')" = $((revokes + 1)) ] || fail "logout did not revoke at the IdP"
[ "$(idp_stat 's["live_refresh_tokens"]')" = $((live_before - 1)) ] ||
    fail "the refresh token is still live after logout"
[ -z "$(keyring_token)" ] || fail "logout left the access item"
"$PYTHON" "$WORK/bin/keyring_tool.py" dump | grep -q "$SERVICE/refresh" && fail "logout left the refresh item"
# The login state file is the module's (issue 10, finding 8): the logout shows in it from the
# next session open on. That login is not asked; its session tells the user; the next one asks.
login after-logout
prompted after-logout && fail "the login right after the logout was asked (its auth read the old state)"
grep -q "you will be asked at the next login" "$WORK/out/after-logout.out" ||
    fail "after logout the session did not tell the user: $(cat "$WORK/out/after-logout.out")"
login asks-after-logout
prompted asks-after-logout || fail "after logout and one session the next login did not ask"
[ -n "$(keyring_token)" ] || fail "the sign-in after the logout stored nothing"
step "7. git credential fill and oauth-keyring env give the token; logout revoked, removed both items; the login after the next session asks"

# --- 8 -----------------------------------------------------------------------------------------
login for-unknown pok-refresher
idp_control '{"fault": "truncated", "fault_count": 1}' # the IdP rotates, the answer is cut
before=$(refresh_requests)
for _ in $(seq 300); do # the refresher's attempt at the next due time
    [ "$(refresh_requests)" -gt "$before" ] && break
    sleep 0.1
done
sleep 3 # time for a (wrong) second attempt
[ "$(refresh_requests)" = $((before + 1)) ] || fail "lost answer: $(($(refresh_requests) - before)) attempts, want 1"
login after-unknown
[ "$(refresh_requests)" = $((before + 1)) ] || fail "a session re-sent a refresh token whose answer was lost"
cli_token unknown
[ "$(cat "$WORK/out/unknown.status")" = 4 ] || fail "lost answer: oauth-keyring token exited $(cat "$WORK/out/unknown.status")"
"$CLI" status --service "$SERVICE" --json >"$WORK/out/status-unknown.out"
grep -q "outcome-unknown" "$WORK/out/status-unknown.out" || fail "status: $(cat "$WORK/out/status-unknown.out")"
step "8. lost answer: 1 request, not re-sent by the refresher, a session or oauth-keyring"

# --- 9 -----------------------------------------------------------------------------------------
"$PYTHON" "$WORK/bin/keyring_tool.py" lock || fail "cannot lock the keyring"
sleep_until "$(($(date +%s) + 4))"
before=$(refresh_requests)
login locked
[ "$(refresh_requests)" = "$before" ] || fail "a refresh token was spent with the keyring locked"
grep -q "keyring is locked" "$WORK/out/locked.log" || fail "locked keyring not logged"
cli_token locked
[ "$(cat "$WORK/out/locked.status")" = 3 ] || fail "locked keyring: oauth-keyring token exited $(cat "$WORK/out/locked.status")"
step "9. locked keyring: no refresh request, oauth-keyring token exits 3"
echo done >"$WORK/out/scenario.done"
SCENARIO

# Answers the scenario's question about the refresher's mappings (see step 4).
check_refresher_maps() {
    local pid answer=not-root
    for _ in $(seq 2400); do [ -s "$WORK/out/refresher.pid" ] && break; sleep 0.1; done
    pid=$(head -1 "$WORK/out/refresher.pid" 2>/dev/null)
    if [ "$(id -u)" = 0 ]; then
        if [ -z "$pid" ] || ! grep -q libsecret "/proc/$pid/maps"; then
            answer="no refresher to read (pid '$pid')"
        elif grep -qE 'libcurl|libssl|libgnutls|pam_oauth_keyring_https' "/proc/$pid/maps"; then
            answer="it maps $(grep -oE '[^/]*(libcurl|libssl|libgnutls|pam_oauth_keyring_https)[^ ]*' "/proc/$pid/maps" | sort -u | tr '\n' ' ')"
        else
            answer=clean
        fi
    fi
    echo "$answer" >"$WORK/out/maps-checked.new" && chmod a+r "$WORK/out/maps-checked.new" &&
        mv "$WORK/out/maps-checked.new" "$WORK/out/maps-checked"
}
check_refresher_maps &
on_exit "kill $! 2>/dev/null"
run_private_session "$WORK/scenario.sh" 240
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
# The bus is gone with the session: so must the refresher be.
for _ in $(seq 50); do
    pgrep -u "$RUN_AS" -f "pam_oauth_keyring_helper refresher $SERVICE" >/dev/null || break
    sleep 0.1
done
pgrep -u "$RUN_AS" -f "pam_oauth_keyring_helper refresher $SERVICE" && fail "the refresher outlived the session bus"
# Every log line, every driver transcript and every error message; not git.out, whose job is
# to carry the token to git.
rm -f "$WORK/out/git.out"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out "$WORK"/out/*.err
pass "refresh once, race, refresher, crashes, invalid_grant, git, logout, locked keyring"
