#!/bin/bash
# Issue 19, finding 3: another local user's program that reaches the victim's listener over
# ::ffff:127.0.0.1 (an AF_INET6 socket to the IPv4-mapped address) is still told apart: the
# provider's error= with the victim's state, and a code of the attacker's own account for the
# victim's challenge, each get the 403 "a program of another user" page; nothing is spent at
# the IdP, nothing stored, and the victim's status file is byte for byte what it was; the
# sign-in waits on, and the victim's own callback then signs in. Before: the kernel's mapped
# answer was refused as "about another socket", so the attacker got the "cannot tell who" page
# and wrote a false sign-in-refused event into the victim's status.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (a second local user plays the attacker)"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl useradd userdel runuser
"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.close()' 2>/dev/null ||
    skip "no IPv6 sockets on this machine"

prepare_signin_test mapped-other </dev/null

ATTACKER=pokmap$RANDOM
useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$ATTACKER" || fail "useradd $ATTACKER"
on_exit "userdel -f '$ATTACKER'"
[ "$(id -u "$ATTACKER")" != "$(id -u "$RUN_AS")" ] || fail "the attacker is the victim"
install -d -m 700 -o "$ATTACKER" "$WORK/attacker"
attacker() { runuser -u "$ATTACKER" -- env -i PATH=/usr/bin:/bin HOME="$WORK/attacker" "$@"; }
STATUS_FILE="$WORK/runtime/pam_oauth_keyring/$SERVICE.status"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
start_login victim
grep -q "completes by itself when the browser comes back to http://127.0.0.1:$SIGNIN_PORT/callback" \
    "$WORK/out/victim.out" || fail "the sign-in does not listen: $(cat "$WORK/out/victim.out" "$WORK/out/victim.err")"
echo "$CLI_PID" >"$WORK/out/victim.ready"

wait_until 60 [ -f "$WORK/out/attack.done" ] || fail "the attacker's side did not finish"
login_running || fail "the sign-in ended: $(cat "$WORK/out/victim.out" "$WORK/out/victim.err")"
port_bound || fail "the listener closed"
[ -z "$(keyring_token)" ] || fail "a token was stored after the attack"
note "victim: after the attack the sign-in still waits and the keyring holds nothing"
answer=$(loopback_get "$(callback_url url)" --location)
[ "${answer%% *}" = 303 ] || fail "the victim's own callback: '$answer'"
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "login: exit $LOGIN_STATUS: $(cat "$WORK/out/victim.out" "$WORK/out/victim.err")"
[ "$(token_account "$(keyring_token)")" = test-user ] || fail "the stored token is not the victim's account's"
note "victim: then their own callback signs in (303, exit 0), with their own account's token"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 90 &
session=$!
wait_until 30 [ -s "$WORK/out/victim.ready" ] || fail "the victim's sign-in did not start"
cli_pid=$(cat "$WORK/out/victim.ready")
# What the attacker needs, the URL with the state: how they may read it is the login CSRF's
# business (signin_csrf_other_user.sh); here they are handed it.
url=$(grep -m1 '^https://' "$WORK/out/victim.out")
state=$("$PYTHON" -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)["state"][0])' "$url")
status_before=$(cat "$STATUS_FILE" 2>/dev/null)

unchanged() { # CASE
    kill -0 "$cli_pid" 2>/dev/null || fail "$1: the victim's sign-in ended"
    [ "$(idp_stat 's["requests"]["token"]')" = 0 ] || fail "$1: a token request reached the IdP"
    [ "$(cat "$STATUS_FILE" 2>/dev/null)" = "$status_before" ] ||
        fail "$1: the victim's status changed: $(cat "$STATUS_FILE")"
}
refused() { # CASE ANSWER: 403 with the other-user page
    [ "${2%% *}" = 403 ] || fail "$1: answered '$2', not 403"
    grep -q "came from a program of another user of this computer" "$WORK/attacker/page.html" ||
        fail "$1: not the other-user page: $(grep -o '<h1>[^<]*' "$WORK/attacker/page.html")"
}

answer=$(attacker "$PYTHON" "$WORK/bin/loopback_client.py" --mapped --body "$WORK/attacker/page.html" \
    "http://127.0.0.1:$PORT/callback?error=access_denied&state=$state&iss=$IDP_URL")
unchanged "error=access_denied over ::ffff:127.0.0.1"
refused "error=access_denied over ::ffff:127.0.0.1" "$answer"
note "1. error=access_denied with the right state, over ::ffff:127.0.0.1: 403 (another user), status unchanged"

callback=$(attacker "$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode url \
    --account mallory <<<"$url") || fail "the attacker's browser failed"
answer=$(attacker "$PYTHON" "$WORK/bin/loopback_client.py" --mapped --body "$WORK/attacker/page.html" "$callback")
unchanged "the attacker's code over ::ffff:127.0.0.1"
refused "the attacker's code over ::ffff:127.0.0.1" "$answer"
[ "$(idp_stat 's["exchanges_by_account"]')" = "{}" ] || fail "a code was exchanged"
note "2. the attacker's own account's code over ::ffff:127.0.0.1: 403 (another user), nothing exchanged, status unchanged"
echo done >"$WORK/out/attack.done"

wait "$session"
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
[ "$(idp_stat 's["exchanges_by_account"]')" = "{'test-user': 1}" ] ||
    fail "exchanges: $(idp_stat 's["exchanges_by_account"]')"
pass "another user over ::ffff:127.0.0.1 gets 403 and changes nothing of the victim's; the victim signs in"
