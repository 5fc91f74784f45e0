#!/bin/bash
# Issue 10, finding 1, second route: a process of the user watches for refreshers being
# started (each login with tokens starts one; it exits at once when one runs already), opens
# /proc/PID/fd/0 and tee()s the request waiting there - client secret included - before the
# new process protects itself. The helper installed root:root 0711 is non-dumpable from execve
# on, and the request travels on a socketpair (a socket cannot be opened through /proc):
# 20 tries, nothing read (within 150 s: a loaded machine starts fewer refreshers a second).
# Root only (the helper copy must be root's).
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: the helper must be a file the user cannot read"
require_tools dbus-run-session gnome-keyring-daemon

make_workdir
stage_artifacts
start_idp "fleet-secret-$RANDOM$RANDOM$RANDOM"
SERVICE=pok-window-procfd-$$
prepare_private_user </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
session_login url first || true
grep -q "pam_open_session: Success" "$WORK/out/first.out" || fail "no session: $(cat "$WORK/out/first.out")"
wait_until 10 test -S "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock" ||
    fail "no refresher socket: $(cat "$WORK/out/first.log")"
"$ATTACKER" procfd "$CLIENT_SECRET" 20 150 >"$WORK/out/attack.out" 2>&1 &
attacker=$!
logins=0
# Not every login's refresher is caught starting (a quiet machine starts and ends them fast):
# logins go on until the attacker has its 20 tries or its 150 s, at most 3000.
while kill -0 "$attacker" 2>/dev/null && [ "$logins" -lt 3000 ]; do
    logins=$((logins + 1))
    session_login url "again-$logins" || true
    grep -q "pam_open_session: Success" "$WORK/out/again-$logins.out" || fail "login $logins: no session"
done
kill "$attacker" 2>/dev/null
wait "$attacker"
echo "$logins" >"$WORK/out/logins"
SCENARIO
run_private_session "$WORK/scenario.sh" 240 || fail "the scenario failed"
read -r _ tries _ successes <"$WORK/out/attack.out" || fail "no result: $(cat "$WORK/out/attack.out")"
note "/proc/PID/fd/0 of a starting refresher, over $(cat "$WORK/out/logins") logins: $tries tries, $successes read the client secret"
[ "$tries" -ge 20 ] || fail "only $tries starting refreshers were raced (want 20)"
[ "$successes" = 0 ] || fail "the client secret was read from $successes of $tries starting refreshers"
pass "/proc/PID/fd/0: $tries tries, 0 successes"
