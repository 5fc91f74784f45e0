#!/bin/bash
# Another uid at the refresher's socket (docs/SECURITY.md: SERVICE.sock is 0600 in a 0700
# directory, and the refresher answers only peers of its own uid, refresher/refresher.c
# peer_is_us). While nobody's refresher runs, root's side of the test connects to
# $XDG_RUNTIME_DIR/pam_oauth_keyring/SERVICE.sock and asks for a logout and a refresh:
#   1. as uid 4242 without privileges: the 0700 directory refuses the connection (EACCES);
#   2. as uid 4242 keeping CAP_DAC_OVERRIDE (it passes the directory, so the SO_PEERCRED check
#      alone stands in its way), and as root (uid 0 is another uid than nobody's): connected,
#      then closed by the refresher with not one byte of answer;
#   3. nothing happened: no revoke and no token request at the IdP, the items still in the
#      keyring, the same refresher still running - and it still answers nobody's own request.
# Root only: it takes other uids.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (connects as other uids)"
require_tools dbus-run-session gnome-keyring-daemon secret-tool curl setpriv

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 3600 # never due during the test
SERVICE=pok-fault-peer-$$
OTHER_UID=4242
prepare_private_user refresher=yes </dev/null
# One request to the socket (POK/1, common/protocol_table.h: "logout" or "refresh MIN_VALID");
# what came back, never the bytes themselves.
cat >"$WORK/bin/socket_client.py" <<'CLIENT'
import socket, sys, time
path, line = sys.argv[1], sys.argv[2]
words = line.split()
request = b"POK/1 %s\n" % words[0].encode()
if len(words) > 1:
    request += b"min_valid %d\n%s\n" % (len(words[1]), words[1].encode())
request += b"end\n"
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.settimeout(10)
try:
    client.connect(path)
except OSError as error:
    print("refused errno=%s" % ({13: "EACCES"}.get(error.errno, error.errno)))
    sys.exit(0)
started = time.monotonic()
try:
    client.sendall(request)
    client.shutdown(socket.SHUT_WR)
except OSError:
    pass  # closed before we wrote: as good as refused
received = b""
try:
    while True:
        chunk = client.recv(4096)
        if not chunk:
            break
        received += chunk
except ConnectionResetError:
    pass  # closed with our line unread: a reset instead of an end of file, the same refusal
except OSError as error:
    print("connected error=%s" % error.errno)
    sys.exit(0)
# The answer's outcome (or, refused, its reason): the value after "outcome N\n" / "reason N\n".
answer = ""
for name in (b"outcome", b"reason"):
    at = received.find(b"\n" + name + b" ")
    if at >= 0:
        length_line = received[at + 1:].split(b"\n", 2)
        answer = length_line[1].decode("ascii", "replace")
        break
print("connected bytes=%d closed_after_ms=%d answer=%s"
      % (len(received), (time.monotonic() - started) * 1000, answer or "-"))
CLIENT
chmod a+r "$WORK/bin/socket_client.py"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
SOCKET="$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock"
keyring_token() { secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
refresher_pid() { pgrep -u "$(id -u)" -f "pam_oauth_keyring_refresher $SERVICE" | head -1; }
session_login url signin
grep -q "pam_open_session: Success" "$WORK/out/signin.out" || fail "no session: $(cat "$WORK/out/signin.out")"
token=$(keyring_token)
[ -n "$token" ] || fail "the sign-in stored nothing: $(cat "$WORK/out/signin.log")"
wait_until 10 test -S "$SOCKET" || fail "the refresher's socket never appeared"
refresher=$(refresher_pid)
[ -n "$refresher" ] || fail "no refresher"
stat -c '%a %U' "$(dirname "$SOCKET")" "$SOCKET" >"$WORK/out/modes"
idp_get /stats >"$WORK/out/stats-before.json"
echo "$SOCKET" >"$WORK/out/ready"
wait_until 60 test -s "$WORK/out/others.done" || fail "root's side did not report"
# --- 3 -----------------------------------------------------------------------------------------
[ "$(idp_stat 's["requests"]["revoke"]')" = 0 ] || fail "another uid's logout revoked the token"
[ "$(idp_stat 's["requests"]["token_refresh_token"]')" = 0 ] || fail "another uid's request refreshed"
[ "$(keyring_token)" = "$token" ] || fail "the keyring changed after other uids' requests"
[ "$(refresher_pid)" = "$refresher" ] || fail "the refresher is not the one that was running"
"$PYTHON" "$WORK/bin/socket_client.py" "$SOCKET" "refresh 0" >"$WORK/out/own.result"
grep -q "^connected bytes=[1-9][0-9]* .*answer=not-due$" "$WORK/out/own.result" ||
    fail "the refresher does not answer its own user: $(cat "$WORK/out/own.result")"
"$CLI" status --service "$SERVICE" --json >"$WORK/out/status.json" || fail "oauth-keyring status failed"
grep -Eq '"refresher_running": ?true' "$WORK/out/status.json" || fail "status: $(cat "$WORK/out/status.json")"
step "3. no revoke, no refresh, keyring and refresher unchanged; nobody's own 'refresh 0': $(cat "$WORK/out/own.result")"
echo done >"$WORK/out/scenario.done"
SCENARIO

# Root's side, while the scenario waits: the other uids' connections.
other_uids() {
    local socket result who line
    wait_until 60 test -s "$WORK/out/ready" || return
    socket=$(cat "$WORK/out/ready")
    for who in plain-4242 capable-4242 root; do
        for line in logout "refresh 0"; do
            case "$who" in
            plain-4242) result=$(setpriv --reuid=$OTHER_UID --regid=$OTHER_UID --clear-groups \
                "$PYTHON" "$WORK/bin/socket_client.py" "$socket" "$line") ;;
            capable-4242) result=$(setpriv --reuid=$OTHER_UID --regid=$OTHER_UID --clear-groups \
                --inh-caps=+dac_override --ambient-caps=+dac_override \
                "$PYTHON" "$WORK/bin/socket_client.py" "$socket" "$line") ;;
            root) result=$("$PYTHON" "$WORK/bin/socket_client.py" "$socket" "$line") ;;
            esac
            echo "$who '$line': $result"
        done
    done >"$WORK/out/others.new"
    chmod a+r "$WORK/out/others.new"
    mv "$WORK/out/others.new" "$WORK/out/others.done"
}
other_uids &
on_exit "kill $! 2>/dev/null"
run_private_session "$WORK/scenario.sh" 120
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
cat "$WORK/out/others.done"
[ "$(cat "$WORK/out/modes")" = "$(printf '700 nobody\n600 nobody')" ] ||
    fail "directory and socket modes: $(cat "$WORK/out/modes")"
for line in logout "refresh 0"; do
    grep -qx "plain-4242 '$line': refused errno=EACCES" "$WORK/out/others.done" ||
        fail "uid $OTHER_UID without privileges was not refused by the directory ('$line')"
    for who in capable-4242 root; do
        grep -Eqx "$who '$line': connected bytes=0 closed_after_ms=[0-9]+ answer=-" "$WORK/out/others.done" ||
            fail "$who '$line': not closed without an answer"
        took=$(sed -n "s/^$who '$line': connected bytes=0 closed_after_ms=\([0-9]*\) .*/\1/p" "$WORK/out/others.done")
        [ "$took" -lt 1000 ] || fail "$who '$line': closed only after $took ms (the refresher read first?)"
    done
done
note "1. uid $OTHER_UID: EACCES at the 0700 directory; 2. uid $OTHER_UID with CAP_DAC_OVERRIDE and uid 0: closed, 0 bytes"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out "$WORK"/out/others.done "$WORK"/out/own.result
pass "other uids at the refresher's socket: refused, told nothing, nothing done; the refresher serves its user"
