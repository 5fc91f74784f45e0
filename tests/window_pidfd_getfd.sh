#!/bin/bash
# Issue 10, finding 1, first route: a process of the user makes the refresher start a child
# child on demand (a `refresh` request, min_valid 86400, on its socket) and races it with pidfd_getfd for its fd 0,
# peeking (MSG_PEEK) at the request - client secret included - before the child protects
# itself. Installed as make install does (root:root 0711) the helper is non-dumpable from
# execve on: 20 tries, nothing read. Root only (the helper copy must be root's).
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: the helper must be a file the user cannot read"
require_tools dbus-run-session gnome-keyring-daemon

make_workdir
stage_artifacts
start_idp "fleet-secret-$RANDOM$RANDOM$RANDOM"
SERVICE=pok-window-getfd-$$
prepare_private_user </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
socket="$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock"
session_login url first || true
grep -q "pam_open_session: Success" "$WORK/out/first.out" || fail "no session: $(cat "$WORK/out/first.out")"
wait_until 10 test -S "$socket" || fail "no refresher socket: $(cat "$WORK/out/first.log")"
refresher=$(pgrep -u "$RUN_AS" -f "pam_oauth_keyring_refresher $SERVICE" | head -1)
[ -n "$refresher" ] || fail "no refresher"
"$ATTACKER" getfd "$refresher" "$socket" "$CLIENT_SECRET" 20 >"$WORK/out/attack.out" 2>&1
"$CLI" status --service "$SERVICE" >"$WORK/out/status.out" 2>&1
SCENARIO
run_private_session "$WORK/scenario.sh" 120 || fail "the scenario failed"
read -r _ tries _ successes <"$WORK/out/attack.out" || fail "no result: $(cat "$WORK/out/attack.out")"
note "pidfd_getfd on a fresh refresh child: $tries tries, $successes read the client secret"
[ "$tries" -ge 20 ] || fail "only $tries refresh children were raced (want 20)"
[ "$successes" = 0 ] || fail "the client secret was read from $successes of $tries fresh helpers"
grep -q "^refresher: *running" "$WORK/out/status.out" ||
    fail "the refresher did not survive the attack: $(cat "$WORK/out/status.out")"
pass "pidfd_getfd: $tries tries, 0 successes; the refresher still runs"
