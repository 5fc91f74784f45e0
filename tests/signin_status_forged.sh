#!/bin/bash
# Issue 13, item 1: what a forged SERVICE.status can do to the "next login asks nothing"
# check - skip its own user's prompt, once. The user (no token) writes a status saying
# "signed-in" at the login state's time: the next login does not ask; its session finds no
# refresh token and records "authorization needed" again; the login after that asks. A status
# time far ahead of the clock is not believed at all, nor one older than the login state. (The module never reads that file: the
# user's own helper does, under the module's deadline.)
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-signin-forged-$$
prepare_private_user refresher=no prompt=missing </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
state_file="$WORK/state/$(id -u)-$SERVICE"
forge_status() { # TIME: "signed-in" as the latest event
    mkdir -p -m 700 "$XDG_RUNTIME_DIR/pam_oauth_keyring"
    printf '{"time": %s, "outcome": "signed-in", "message": "forged"}\n' "$1" \
        >"$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.status"
}
login skip pok-private empty
grep -q "authorization_needed=1" "$state_file" || fail "skip: state $(cat "$state_file")"
written=$(stat -c %Y "$state_file")
forge_status $(($(date +%s) + 3600))
login future pok-private empty
prompted future || fail "a status an hour ahead of the clock was believed"
note "1. a forged status an hour ahead of the clock: not believed, the login asks"
written=$(stat -c %Y "$state_file")
forge_status $((written - 1))
login stale pok-private empty
prompted stale || fail "a status older than the login state was believed"
note "1b. a 'signed-in' older than the login state's 'authorization needed': not believed, the login asks"

written=$(stat -c %Y "$state_file")
forge_status "$written"
# The next session's state must be written in a later second than the forged event.
wait_until 3 eval '[ "$(date +%s)" -gt "$written" ]' || fail "the clock stands still"
login forged pok-private empty
! prompted forged || fail "the forged status did not skip the prompt: $(cat "$WORK/out/forged.out")"
grep -q "authorization_needed=1" "$state_file" || fail "the session did not record the truth: $(cat "$state_file")"
[ "$(stat -c %Y "$state_file")" -gt "$written" ] || fail "the login state was not rewritten"
note "2. a forged 'signed-in' skips the user's own prompt once; the session records no token"
login after pok-private empty
prompted after || fail "the login after the forged one did not ask: $(cat "$WORK/out/after.out")"
[ "$(idp_stat 's["requests"]["token"]')" = 0 ] || fail "a token request"
note "3. the login after that asks again; nothing was sent to the IdP"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "a forged status skips only its own user's prompt, once"
