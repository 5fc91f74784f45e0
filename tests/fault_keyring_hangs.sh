#!/bin/bash
# A keyring daemon that hangs (docs/SECURITY.md 3.5): gnome-keyring-daemon is stopped with
# SIGSTOP - every D-Bus call to it waits - and later continued (SIGCONT):
#   1. during a login whose token is due, before the session's helper reaches the keyring: the
#      session opens within the module's bound (timeout + 1.8 s, plus 0.5 s for the kill);
#      nothing is spent;
#   2. during a login, after the provider answered the refresh (test pause point
#      after-response), so the helper hangs storing the new pair: the session opens within the
#      same bound; the provider saw one request;
#   3. during a refresh by the refresher, after the provider's answer: the refresher kills its
#      child within its limit (twice the timeout + 5 s) and lives on;
# and after every SIGCONT: no refresh token was ever sent twice (the IdP's refresh count and
# reuse detection), the keyring answers again, and the user has a working token - the pair
# the hung helper handed the daemon lands when it wakes up, or a sign-in gives a new one.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-send gnome-keyring-daemon secret-tool curl

make_workdir
stage_artifacts
HELPER="$WORK/bin/pam_oauth_keyring_helper_test" # with pause points
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 10
SERVICE=pok-fault-hang-$$
TIMEOUT=2
prepare_private_user refresher=no < <(printf 'refresh_margin = 8\ntimeout = %s\n' "$TIMEOUT")
for variant in refresher=yes "prompt=always"; do
    sed "s/refresher=no/$variant/" "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-${variant%%=*}"
done
chmod a+r "$WORK"/pam.d/*

echo "TIMEOUT=$TIMEOUT" >"$WORK/scenario.sh"
cat >>"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
STATE_DIR="$XDG_RUNTIME_DIR/pam_oauth_keyring"
# The module's bound for a session: the request timeout + 1 s, 0.8 s of grace, 0.5 s after the
# SIGKILL (pam_module/login_flow.c, helper_process.c); 300 ms more for the application's side.
SESSION_BOUND_MS=$((TIMEOUT * 1000 + 1800 + 500 + 300))
CHILD_LIMIT_MS=$((2 * TIMEOUT * 1000 + 5000)) # refresher.c child_time_limit_ms
# (refresh_requests, works_at_idp, prompted and login NAME [pok-private|pok-refresher|pok-prompt]
# are lib.sh's.)
reuses() { idp_stat 's["refresh_reuse"]'; }
keyring_token() { timeout 10 secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
session_ms() { sed -n 's/^timing: pam_open_session \([0-9]*\) ms$/\1/p' "$WORK/out/$1.out"; }
on_time() { # on_time NAME: the session opened within the module's bound
    local took
    took=$(session_ms "$1")
    [ -n "$took" ] && [ "$took" -le "$SESSION_BOUND_MS" ] ||
        fail "$1: the session took ${took:-?} ms with the keyring hung (bound $SESSION_BOUND_MS ms)"
    echo "$took"
}
due_now() { age_pair 6; } # lifetime 10 s: due after 5 s
paused() { [ -s "$STATE_DIR/test-paused" ]; }
pause_at() { rm -f "$STATE_DIR/test-paused"; echo "$1" >"$STATE_DIR/test-pause-at"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
refresher_pid() { refresher_pids | head -1 | grep .; } # fails while there is none
# The process that owns org.freedesktop.secrets on this session bus: our gnome-keyring-daemon
# (it takes the name when D-Bus activation first asks for it).
keyring_daemon() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null |
        awk '/uint32/ {print $2}'
}
hang_keyring() { kill -STOP "$KEYRING_PID"; }
wake_keyring() { kill -CONT "$KEYRING_PID"; }
# After a SIGCONT: the daemon answers again (a read that takes less than 5 s).
answers() { timeout 5 "$PYTHON" "$WORK/bin/keyring_tool.py" dump >/dev/null; }
# The access token in the refresh item: the one our own readers (oauth-keyring, the due check)
# take; the access item beside it is for secret-tool and Python keyring.
pair_token() {
    "$PYTHON" "$WORK/bin/keyring_tool.py" dump | "$PYTHON" -c '
import json, sys
for item in json.load(sys.stdin):
    if item["attributes"].get("service") == sys.argv[1] + "/refresh":
        print(json.loads(item["secret"]).get("access_token", ""))' "$SERVICE"
}
# What the user has after it all: the pair the hung helper handed the daemon, if it landed when
# the daemon woke up; otherwise a sign-in (prompt=always) gives a new one.
usable_after() { # usable_after NAME: sets RECOVERY
    local token
    token=$(pair_token)
    if [ -n "$token" ] && works_at_idp "$token"; then
        RECOVERY="the new pair landed when the daemon woke up: its token works"
        if [ "$(keyring_token)" = "$token" ]; then
            RECOVERY="$RECOVERY, the access item too"
        else
            RECOVERY="$RECOVERY (the access item, written second, still holds the old token)"
        fi
    else
        login "$1-signin" pok-prompt
        works_at_idp "$(keyring_token)" || fail "$1: no working token even after a new sign-in"
        RECOVERY="the new pair was lost with the killed helper; a new sign-in works"
    fi
}

# --- 1 -----------------------------------------------------------------------------------------
login signin
prompted signin || fail "the first login did not ask"
KEYRING_PID=$(keyring_daemon)
[ -n "$KEYRING_PID" ] && kill -0 "$KEYRING_PID" || fail "cannot find the keyring daemon"
on_exit_cont() { kill -CONT "$KEYRING_PID" 2>/dev/null; }
trap on_exit_cont EXIT
due_now
hang_keyring
login hung-before
took=$(on_time hung-before)
wake_keyring
wait_until 10 answers || fail "the keyring does not answer after SIGCONT"
[ "$(refresh_requests)" = 0 ] || fail "hung keyring before the refresh: $(refresh_requests) requests, want 0"
login woken-before
[ "$(refresh_requests)" = 1 ] || fail "after SIGCONT the due token was not refreshed: $(refresh_requests) requests"
works_at_idp "$(keyring_token)" || fail "after SIGCONT: no working token"
[ "$(reuses)" = 0 ] || fail "a refresh token was reused"
step "1. keyring hung before the session's refresh: session in $took ms (bound $SESSION_BOUND_MS), nothing spent; after SIGCONT one refresh, the token works"

# --- 2 -----------------------------------------------------------------------------------------
due_now
before=$(refresh_requests)
pause_at after-response
session_login url hung-after &
login_pid=$!
wait_until 20 paused || fail "hung-after: the helper never reached after-response"
rm -f "$STATE_DIR/test-pause-at"
read -r helper_pid _ <"$STATE_DIR/test-paused"
hang_keyring
kill -CONT "$helper_pid"
wait "$login_pid"
grep -q "pam_open_session: Success" "$WORK/out/hung-after.out" || fail "hung-after: no session: $(cat "$WORK/out/hung-after.out")"
took=$(on_time hung-after)
gone "$helper_pid" || fail "hung-after: the helper is still there"
[ "$(refresh_requests)" = $((before + 1)) ] || fail "hung-after: $(($(refresh_requests) - before)) requests, want 1"
wake_keyring
wait_until 10 answers || fail "the keyring does not answer after SIGCONT"
usable_after woken-after
login woken-after
[ "$(reuses)" = 0 ] || fail "after SIGCONT the spent refresh token was sent again (reuse at the IdP)"
step "2. keyring hung after the provider's answer: session in $took ms (bound $SESSION_BOUND_MS), the helper killed; 1 request; after SIGCONT $RECOVERY; no reuse at the IdP"

# --- 3 -----------------------------------------------------------------------------------------
login start-refresher pok-refresher
wait_until 10 refresher_pid >/dev/null || fail "no refresher"
refresher=$(refresher_pid)
before=$(refresh_requests)
pause_at after-response # the refresher's child, at the next due time
wait_until 30 paused || fail "the refresher's child never reached after-response"
rm -f "$STATE_DIR/test-pause-at"
read -r child_pid _ <"$STATE_DIR/test-paused"
[ "$child_pid" != "$refresher" ] || fail "the refresher itself refreshed"
hang_keyring
started=$(date +%s%N)
kill -CONT "$child_pid"
wait_until $((CHILD_LIMIT_MS / 1000 + 5)) gone "$child_pid" || fail "the refresher's child outlived its limit"
child_ms=$((($(date +%s%N) - started) / 1000000))
[ "$child_ms" -le $((CHILD_LIMIT_MS + 500)) ] || fail "the child lived $child_ms ms with the keyring hung (limit $CHILD_LIMIT_MS ms)"
kill -0 "$refresher" || fail "the refresher died with its child"
[ "$(refresh_requests)" = $((before + 1)) ] || fail "refresher: $(($(refresh_requests) - before)) requests, want 1"
wake_keyring
wait_until 10 answers || fail "the keyring does not answer after SIGCONT"
"$CLI" status --service "$SERVICE" >"$WORK/out/status-after.out" 2>&1 || fail "oauth-keyring status: $(cat "$WORK/out/status-after.out")"
usable_after woken-refresher
# The provider rotated at the hung request: the old token sent again would count as a reuse.
# A request with the token that landed is a refresh like any other.
timeout 40 "$CLI" token --service "$SERVICE" --min-valid 1 >"$WORK/out/token-after.token" 2>"$WORK/out/token-after.err"
token_status=$?
[ "$(reuses)" = 0 ] || fail "after SIGCONT the spent refresh token was sent again (reuse at the IdP)"
case "$token_status" in
0) works_at_idp "$(cat "$WORK/out/token-after.token")" || fail "oauth-keyring token printed a dead token" ;;
*) fail "after SIGCONT oauth-keyring token exited $token_status: $(cat "$WORK/out/token-after.err")" ;;
esac
kill -0 "$refresher" || fail "the refresher is gone"
step "3. keyring hung in the refresher's refresh after the answer: child killed after $child_ms ms (limit $CHILD_LIMIT_MS), the refresher lives on; 1 request; after SIGCONT $RECOVERY; oauth-keyring token gives a working token; $(($(refresh_requests) - before)) requests in all, no reuse"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 180
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out "$WORK"/out/*.err
pass "a hung keyring daemon: logins open on time, nothing spent twice, all recovers after SIGCONT"
