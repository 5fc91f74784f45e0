#!/bin/bash
# oauth-keyring logout with the keyring locked (issue 11, item 1), in a private session of an
# unprivileged user (nobody when run as root), the refresher running:
#   1. the logout cannot happen: it says so on stderr (nothing on stdout) and exits 3; nothing
#      is revoked at the provider, both items stay, the refresher keeps running, and status
#      does not claim a logout;
#   2. without a refresher (its own deletion), the same: exit 3, items kept, no logout recorded;
#   3. once the keyring is unlocked, the logout happens: exit 0, revoked, both items removed,
#      and the refresher stays, waiting for a sign-in (oauth-keyring login, issue 13).
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon secret-tool

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-cli-logout-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=yes </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
keyring_token() { secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
refresh_item() { "$PYTHON" "$WORK/bin/keyring_tool.py" dump | grep -c "\"$SERVICE/refresh\""; }
refresher_pid() { refresher_pids | head -1 | grep .; } # fails while there is none
alive() { # alive PID: not exited (an exited refresher is left <defunct> by whoever adopted it)
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$state" ] && [ "$state" != Z ]
}
refresher_gone() { ! alive "$1"; }
# The refresher still serves its socket: a request it does not know gets its "bad-request" (a
# POK/1 "error", common/protocol_table.h).
# (It answers one client at a time: a refresher that quit after the logout's answer never
# reads this one.)
refresher_answers() {
    "$PYTHON" -c '
import socket, sys
client = socket.socket(socket.AF_UNIX)
client.settimeout(5)
client.connect(sys.argv[1])
client.sendall(b"POK/1 hello\nend\n")
client.shutdown(socket.SHUT_WR)
answer = client.recv(4096)
sys.exit(0 if answer.startswith(b"POK/1 error\nreason 11\nbad-request\n") else 1)' \
        "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock" 2>/dev/null
}
unlock() { # gnome-keyring's own unlock with the password, no prompt (as a screen unlock does)
    "$PYTHON" -c '
import sys, secretstorage
from secretstorage.util import DBusAddressWrapper, SS_PATH, format_secret, open_session
bus = secretstorage.dbus_init()
collection = secretstorage.get_default_collection(bus)
secret = format_secret(open_session(bus), sys.argv[1].encode(), "text/plain")
DBusAddressWrapper(SS_PATH, "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
                   bus).call("UnlockWithMasterPassword", "o(oayays)", collection.collection_path, secret)
sys.exit(1 if collection.is_locked() else 0)' "$KEYRING_PASSWORD"
}
logout() { # logout NAME: stdout, stderr and exit status in $WORK/out/NAME.{out,err,status}
    "$CLI" logout --service "$SERVICE" >"$WORK/out/$1.out" 2>"$WORK/out/$1.err"
    echo $? >"$WORK/out/$1.status"
}
shows() { echo "exit $(cat "$WORK/out/$1.status"), stdout '$(cat "$WORK/out/$1.out")', stderr '$(cat "$WORK/out/$1.err")'"; }

session_login url login
grep -q "pam_open_session: Success" "$WORK/out/login.out" || fail "no session: $(cat "$WORK/out/login.out")"
token=$(keyring_token)
[ -n "$token" ] || fail "the login stored nothing: $(cat "$WORK/out/login.log")"
wait_until 10 refresher_pid >/dev/null || fail "no refresher after the login"
pid=$(refresher_pid)
wait_until 10 test -S "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock" || fail "the refresher has no socket"

# --- 1 -----------------------------------------------------------------------------------------
"$PYTHON" "$WORK/bin/keyring_tool.py" lock || fail "cannot lock the keyring"
logout locked
[ "$(cat "$WORK/out/locked.status")" = 3 ] || fail "logout with a locked keyring: $(shows locked)"
[ ! -s "$WORK/out/locked.out" ] || fail "a logout that did not happen printed on stdout: $(shows locked)"
grep -q "locked" "$WORK/out/locked.err" || fail "the locked keyring is not named: $(shows locked)"
grep -qi "not logged out" "$WORK/out/locked.err" || fail "stderr does not say the logout did not happen: $(shows locked)"
[ "$(idp_stat 's["requests"]["revoke"]')" = 0 ] || fail "a revocation was sent"
[ "$(idp_stat 's["live_refresh_tokens"]')" = 1 ] || fail "the refresh token is no longer live"
refresher_answers && alive "$pid" || fail "the refresher ended after a logout that did not happen"
"$PYTHON" "$WORK/bin/keyring_tool.py" dump >/dev/null
[ $? = 3 ] || fail "the keyring is no longer locked"
step "1. locked keyring, refresher running: exit 3, '$(head -1 "$WORK/out/locked.err")', nothing revoked, refresher alive"

# --- 2 -----------------------------------------------------------------------------------------
# No refresher to ask (its socket out of the way): oauth-keyring deletes the items itself.
mv "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock" "$WORK/out/sock.aside"
logout alone
mv "$WORK/out/sock.aside" "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock"
[ "$(cat "$WORK/out/alone.status")" = 3 ] || fail "logout without a refresher, keyring locked: $(shows alone)"
[ ! -s "$WORK/out/alone.out" ] || fail "a logout that did not happen printed on stdout: $(shows alone)"
grep -qi "not logged out" "$WORK/out/alone.err" || fail "stderr does not say the logout did not happen: $(shows alone)"
unlock || fail "cannot unlock the keyring"
[ "$(keyring_token)" = "$token" ] || fail "the access item is gone after a failed logout"
[ "$(refresh_item)" = 1 ] || fail "the refresh item is gone after a failed logout"
"$CLI" status --service "$SERVICE" >"$WORK/out/status-kept.out" 2>&1
grep -q "logged-out" "$WORK/out/status-kept.out" && fail "status records a logout that did not happen: $(cat "$WORK/out/status-kept.out")"
grep -Eq "refresher: +running" "$WORK/out/status-kept.out" || fail "status: $(cat "$WORK/out/status-kept.out")"
step "2. locked keyring, no refresher answering: exit 3, items kept, no logout recorded"

# --- 3 -----------------------------------------------------------------------------------------
logout unlocked
[ "$(cat "$WORK/out/unlocked.status")" = 0 ] || fail "logout with the keyring unlocked: $(shows unlocked)"
grep -q "tokens removed from the keyring" "$WORK/out/unlocked.out" || fail "logout: $(shows unlocked)"
[ "$(idp_stat 's["requests"]["revoke"]')" = 1 ] || fail "the logout did not revoke"
[ "$(idp_stat 's["live_refresh_tokens"]')" = 0 ] || fail "the refresh token is still live"
[ -z "$(keyring_token)" ] && [ "$(refresh_item)" = 0 ] || fail "the items are still there"
alive "$pid" || fail "the refresher ended with the logout; it should wait for a sign-in"
step "3. unlocked: exit 0, revoked, items removed, the refresher waits for a sign-in"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 120
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out "$WORK"/out/*.err
pass "logout with a locked keyring fails loudly and keeps the refresher; unlocked, it logs out"
