#!/bin/bash
# A keyring that refuses the new pair after the provider has rotated (docs/SECURITY.md 3.5;
# store/refresh.c store_new_pair). A session's refresh is paused by the test helper right
# after the provider's answer (pause point after-response): the old refresh token is spent.
# The keyring is then made to refuse writes, the helper goes on, and:
#   1. its storage cannot be written (a full disk, a read-only or over-quota home: gnome-keyring
#      answers CreateItem with an error): three store attempts - counted on the session bus,
#      three CreateItem calls for the refresh item, three errors - then the user is told the
#      pair could not be renewed, the login opens, the helper answers (not killed);
#   2. once the keyring takes writes again, the spent refresh token is not sent again (the
#      provider would take it for a stolen one and revoke the grant): the session says a new
#      sign-in is needed, the next login asks, its pair works;
#   3. the collection is locked while the helper waits (a screen locker that locks it): three
#      store attempts again, each refused with IsLocked (no unlock prompt is asked for); the
#      user is told; nothing more is spent while it stays locked.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-monitor gnome-keyring-daemon secret-tool curl

make_workdir
stage_artifacts
HELPER="$WORK/bin/pam_oauth_keyring_helper_test" # with pause points
{ cp "$top_srcdir/tests/fault_dbus_calls.py" "$WORK/bin/" && chmod a+r "$WORK/bin/fault_dbus_calls.py"; } ||
    fail "cannot stage fault_dbus_calls.py"
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 10
SERVICE=pok-fault-store-$$
prepare_private_user refresher=no < <(printf 'refresh_margin = 8\n')

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
STATE_DIR="$XDG_RUNTIME_DIR/pam_oauth_keyring"
KEYRINGS="$HOME/.local/share/keyrings"
refresh_requests() { idp_stat 's["requests"]["token_refresh_token"]'; }
keyring_token() { secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
works_at_idp() { [ "$(idp_userinfo_status "$1")" = 200 ]; }
prompted() { grep -q '^\[prompt\]' "$WORK/out/$1.out"; }
opened() { grep -q "pam_open_session: Success" "$WORK/out/$1.out" || fail "$1: no session: $(cat "$WORK/out/$1.out")"; }
login() { session_login url "$1"; opened "$1"; }
paused() { [ -s "$STATE_DIR/test-paused" ]; }
# Watches the keyring's side of the session bus (method calls, errors and returns; the
# secrets in them are encrypted with the session's key) into $WORK/out/$1.dbus.
monitor() {
    : >"$WORK/out/$1.dbus"
    dbus-monitor --session "type='method_call',destination='org.freedesktop.secrets'" \
        "type='error'" "type='method_return'" >"$WORK/out/$1.dbus" 2>/dev/null &
    MONITOR_PID=$!
    wait_until 10 grep -q NameLost "$WORK/out/$1.dbus" || fail "dbus-monitor did not start"
}
# A due token's refresh in a login, held right after the provider's answer while $1 runs.
refresh_refused() { # refresh_refused NAME COMMAND...
    local name=$1 pid point started
    shift
    age_pair 6 # lifetime 10 s: due after 5 s
    rm -f "$STATE_DIR/test-paused"
    echo after-response >"$STATE_DIR/test-pause-at"
    monitor "$name"
    started=$(date +%s%N)
    session_login url "$name" &
    LOGIN_PID=$!
    wait_until 20 paused || fail "$name: the helper never reached after-response: $(cat "$WORK/out/$name.out")"
    rm -f "$STATE_DIR/test-pause-at"
    read -r pid point <"$STATE_DIR/test-paused"
    [ "$point" = after-response ] || fail "$name: paused at $point"
    "$@" || fail "$name: could not make the keyring refuse writes"
    kill -CONT "$pid"
    wait "$LOGIN_PID"
    LOGIN_MS=$((($(date +%s%N) - started) / 1000000))
    # A last call of our own: once the monitor shows it, it has shown all that came before.
    dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
        org.freedesktop.DBus.Peer.Ping >/dev/null 2>&1
    wait_until 5 grep -q "member=Ping" "$WORK/out/$name.dbus" || fail "$name: the monitor fell behind"
    kill "$MONITOR_PID"
    opened "$name"
}
# Asserts three store attempts of the refresh item, every one refused, and what the user saw.
three_refused_attempts() { # three_refused_attempts NAME ERROR-NAME
    local name=$1 counted
    counted=$("$PYTHON" "$WORK/bin/fault_dbus_calls.py" "$WORK/out/$name.dbus" CreateItem "$SERVICE/refresh")
    [ "$counted" = "calls=3 errors=3 replies=0 error_names=$2" ] ||
        fail "$name: store attempts on the bus: $counted (want 3 calls, each refused with $2)"
    grep -q "could not be renewed: refreshed, but the keyring did not take the new pair" "$WORK/out/$name.out" ||
        fail "$name: the user was not told: $(cat "$WORK/out/$name.out")"
    grep -q "authorize again" "$WORK/out/$name.out" || fail "$name: the user was not told what to do"
    grep -q "(keyring-failed)" "$WORK/out/$name.log" || fail "$name: the helper's answer: $(cat "$WORK/out/$name.log")"
    [ "$(status_field outcome)" = keyring-failed ] || fail "$name: status $(status_field outcome)"
    ATTEMPTS_SEEN=$counted
}

# --- 1 -----------------------------------------------------------------------------------------
login signin
prompted signin || fail "the first login did not ask"
first=$(keyring_token)
[ -n "$first" ] || fail "the first login stored nothing: $(cat "$WORK/out/signin.log")"
[ -d "$KEYRINGS" ] || fail "no $KEYRINGS"
refresh_refused read-only chmod 500 "$KEYRINGS"
chmod 700 "$KEYRINGS"
three_refused_attempts read-only org.freedesktop.DBus.Error.Failed
[ "$(refresh_requests)" = 1 ] || fail "read-only: $(refresh_requests) refresh requests, want 1"
[ "$(keyring_token)" = "$first" ] || fail "read-only: the keyring changed"
[ "$(idp_stat 's["live_refresh_tokens"]')" = 1 ] || fail "the provider did not rotate"
works_at_idp "$first" && fail "the provider did not rotate (the old access token still works)"
step "1. read-only storage after the rotation: $ATTEMPTS_SEEN; the user told; login in $LOGIN_MS ms"

# --- 2 -----------------------------------------------------------------------------------------
login after-refused
prompted after-refused && fail "after-refused: asked in the same login"
[ "$(refresh_requests)" = 1 ] || fail "the spent refresh token was sent again ($(refresh_requests) requests)"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "the provider saw the spent refresh token again"
grep -q "needs a new sign-in: you will be asked at the next login" "$WORK/out/after-refused.out" ||
    fail "after-refused: the user was not told to sign in: $(cat "$WORK/out/after-refused.out") $(cat "$WORK/out/after-refused.log")"
login asks
prompted asks || fail "the login after did not ask"
second=$(keyring_token)
works_at_idp "$second" || fail "the new sign-in stored no working token"
step "2. writable again: the spent token not re-sent (1 request, no reuse at the IdP); the user told; the next login asked, its pair works"

# --- 3 -----------------------------------------------------------------------------------------
before=$(refresh_requests)
refresh_refused locked "$PYTHON" "$WORK/bin/keyring_tool.py" lock
three_refused_attempts locked org.freedesktop.Secret.Error.IsLocked
[ "$(refresh_requests)" = $((before + 1)) ] || fail "locked: $(($(refresh_requests) - before)) refresh requests, want 1"
unlocks=$("$PYTHON" "$WORK/bin/fault_dbus_calls.py" "$WORK/out/locked.dbus" Unlock)
case "$unlocks" in "calls=0 "*) ;; *) fail "locked: the helper asked for an unlock (a prompt): $unlocks" ;; esac
login while-locked
[ "$(refresh_requests)" = $((before + 1)) ] || fail "a refresh token was spent with the keyring locked"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "the provider saw a refresh token again"
step "3. collection locked after the rotation: $ATTEMPTS_SEEN, no unlock asked for; the user told; login in $LOGIN_MS ms; nothing spent while locked"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 120
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out "$WORK"/out/*.dbus
pass "a keyring that refuses the rotated pair: 3 attempts, the user told, the spent token never re-sent"
