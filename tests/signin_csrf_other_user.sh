#!/bin/bash
# The login CSRF of SECURITY.md 3.1, performed by a second local user (RFC 9700 4.7), against
# the listener's check of who connects.
# The victim (the session user) runs `oauth-keyring login` in a graphical session; their
# browser (a stand-in that just waits) has the one-use start address in its argv, which the
# attacker, another unprivileged user, reads from /proc/PID/cmdline and opens: 403. The state
# and PKCE challenge are in no argv since issue 19 (signin_csrf_victim_program.sh); here the
# attacker is handed the authorize URL anyway (as if from a shared screen), then
#   1. ends the sign-in: error=access_denied with the right state to the victim's listener;
#   2. signs in at the IdP as their OWN account with that very URL (their code is bound to the
#      victim's challenge, so PKCE would pass) and delivers the code to the victim's listener.
# Each is answered 403 "a program of another user", nothing is exchanged at the IdP, nothing is
# stored, the sign-in keeps waiting; then the victim's own callback signs in, with the
# victim's account's tokens. Fails on a listener that does not check who connects (the first
# step ends the sign-in, the second stores the attacker's tokens).
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (a second local user plays the attacker)"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl useradd userdel runuser

prepare_signin_test csrf </dev/null

# The attacker: a throwaway system user with no home and no shell.
ATTACKER=pokcsrf$RANDOM
useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$ATTACKER" || fail "useradd $ATTACKER"
on_exit "userdel -f '$ATTACKER'"
[ "$(id -u "$ATTACKER")" != "$(id -u "$RUN_AS")" ] || fail "the attacker is the victim"
install -d -m 700 -o "$ATTACKER" "$WORK/attacker"
attacker() { runuser -u "$ATTACKER" -- env -i PATH=/usr/bin:/bin HOME="$WORK/attacker" "$@"; }

# The victim's browser: records who it is, then waits (at most 120 s) with the URL in argv.
mkfifo -m 666 "$WORK/browser.hold"
cat >"$WORK/bin/victim-browser.sh" <<BROWSER
#!/bin/bash
echo "\$\$ \$(id -u)" >"$WORK/out/browser.pid"
read -r -t 120 _ <>"$WORK/browser.hold"
BROWSER
chmod a+rx "$WORK/bin/victim-browser.sh"

# What the attacker runs to find the sign-in: every process's argv, as any local user may
# read it. Prints the first address of the listener's port (exit 1: none) and fails (exit 2)
# when an argument naming the listener or the IdP (argv 2) holds a state or a PKCE challenge
# (other tests running on this machine may have their own in theirs).
cat >"$WORK/bin/steal_url.py" <<'PY'
import os, sys
found = None
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    for arg in argv:
        ours = arg.startswith(sys.argv[1].rsplit("/start/", 1)[0].encode()) or sys.argv[2].encode() in arg
        if ours and (b"state=" in arg or b"code_challenge" in arg):
            print(pid, arg.decode())
            sys.exit(2)
        if arg.startswith(sys.argv[1].encode()) and found is None:
            found = f"{pid} {arg.decode()}"
if found is None:
    sys.exit(1)
print(found)
PY
chmod a+r "$WORK/bin/steal_url.py"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
mkfifo "$WORK/out/paste"
exec 7<>"$WORK/out/paste" # a terminal's stdin that stays open, nothing pasted
DISPLAY=:99 BROWSER="$WORK/bin/victim-browser.sh" "$CLI" login --service "$SERVICE" \
    <"$WORK/out/paste" >"$WORK/out/login.out" 2>"$WORK/out/login.err" &
CLI_PID=$!
LOGIN_NAME=login
wait_until 10 grep -qs "comes back to http://127.0.0.1:$SIGNIN_PORT/callback" "$WORK/out/login.out" ||
    fail "the sign-in does not listen: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
wait_until 10 [ -s "$WORK/out/browser.pid" ] || fail "the browser did not start"
wait_until 30 [ -f "$WORK/out/start.tried" ] || fail "the attacker did not try the start address"
browser_start # the victim's browser: the start address's cookie, the authorize URL
echo "$CLI_PID" >"$WORK/out/victim.ready"

wait_until 60 [ -f "$WORK/out/attack.done" ] || fail "the attacker's side did not finish"
login_running || fail "the sign-in ended: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
port_bound || fail "the listener closed"
[ -z "$(keyring_token)" ] || fail "a token was stored after the attack"
note "victim: after the attack the sign-in still waits and the keyring holds nothing"

answer=$(loopback_get "$(callback_url url)" --location)
[ "${answer%% *}" = 303 ] || fail "the victim's own callback: '$answer'"
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "login: exit $LOGIN_STATUS: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
token=$(keyring_token)
[ "$token" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "the keyring does not hold the issued access token"
sub=$(curl -sS --cacert "$CA_FILE" -H "Authorization: Bearer $token" "$IDP_URL/userinfo" |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["sub"])')
[ "$sub" = test-user ] || fail "the stored token is the account '$sub''s"
echo >"$WORK/browser.hold"
note "victim: then their own callback signs in (303, exit 0), the token is their own account's"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 90 &
session=$!
wait_until 30 [ -s "$WORK/out/browser.pid" ] || fail "the victim's browser did not start"
read -r browser_pid browser_uid <"$WORK/out/browser.pid"
[ "$browser_uid" = "$(id -u "$RUN_AS")" ] || fail "the browser runs as uid $browser_uid"

# The attacker reads the victim's browser's argv: the start address, no state; opening it
# gets the other-user page, and leaves it unused for the victim's browser.
stolen=$(attacker "$PYTHON" "$WORK/bin/steal_url.py" "http://127.0.0.1:$PORT/start/" "$IDP_URL")
case $? in 0) ;; 2) fail "an argv holds the state or challenge: $stolen" ;; *) fail "no start address in any argv" ;; esac
[ "${stolen%% *}" = "$browser_pid" ] || fail "found in process ${stolen%% *}, not the browser's"
answer=$(attacker "$PYTHON" "$WORK/bin/loopback_client.py" --body "$WORK/attacker/page.html" "${stolen#* }")
[ "${answer%% *}" = 403 ] || fail "the start address, opened by the attacker: '$answer'"
grep -q "came from a program of another user of this computer" "$WORK/attacker/page.html" ||
    fail "the start address's page for the attacker: $(cat "$WORK/attacker/page.html")"
echo done >"$WORK/out/start.tried"
note "attacker (uid $(id -u "$ATTACKER")): /proc/$browser_pid/cmdline holds only the start address; opening it: 403"

wait_until 30 [ -s "$WORK/out/victim.ready" ] || fail "the victim's sign-in did not start"
cli_pid=$(cat "$WORK/out/victim.ready")
# Handed the authorize URL anyway (a shared screen, say): the listener's own check holds.
url=$(cat "$WORK/out/login.authorize")
state=$("$PYTHON" -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)["state"][0])' "$url")
note "attacker: given the authorize URL and its state as if read off the victim's screen"

spent() { idp_stat 's["requests"]["token"]'; }
# The sign-in is untouched (the refresher records a denial, or exchanges a code, before it
# answers the callback; the CLI's exit may come a moment later, the victim's side checks it).
still_waiting() { # CASE
    kill -0 "$cli_pid" 2>/dev/null || fail "$1: the victim's sign-in ended"
    [ "$(spent)" = 0 ] || fail "$1: a token request reached the IdP"
    ! grep -qs '"sign-in-denied"\|"signed-in"' "$WORK/runtime/pam_oauth_keyring/$SERVICE.status" ||
        fail "$1: the status records $(cat "$WORK/runtime/pam_oauth_keyring/$SERVICE.status")"
}
refused() { # CASE ANSWER: 403 with the other-user page
    [ "${2%% *}" = 403 ] || fail "$1: answered '$2', not 403"
    grep -q "came from a program of another user of this computer" "$WORK/attacker/page.html" ||
        fail "$1: page $(cat "$WORK/attacker/page.html")"
}

# 1. The sign-in ended by the provider's error, with the right state.
answer=$(attacker "$PYTHON" "$WORK/bin/loopback_client.py" --body "$WORK/attacker/page.html" \
    "http://127.0.0.1:$PORT/callback?error=access_denied&state=$state&iss=$IDP_URL")
refused "error=access_denied from another user" "$answer"
still_waiting "error=access_denied from another user"
note "1. error=access_denied with the right state from the attacker: 403, the sign-in waits on"

# 2. The attacker's own account's code for the victim's challenge and state.
callback=$(attacker "$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode url \
    --account mallory <<<"$url") || fail "the attacker's browser failed"
case "$callback" in "http://127.0.0.1:$PORT/callback?code="*"state=$state"*) ;;
*) fail "the attacker's redirect: $callback" ;; esac
[ "$(idp_stat 's["codes_by_account"].get("mallory", 0)')" = 1 ] || fail "no code for the attacker's account"
answer=$(attacker "$PYTHON" "$WORK/bin/loopback_client.py" --body "$WORK/attacker/page.html" "$callback")
refused "the attacker's code" "$answer"
still_waiting "the attacker's code"
[ "$(idp_stat 's["exchanges_by_account"]')" = "{}" ] || fail "a code was exchanged"
note "2. the attacker's own account's code with the victim's state: 403, nothing exchanged"
echo done >"$WORK/out/attack.done"

wait "$session"
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
[ "$(idp_stat 's["exchanges_by_account"]')" = "{'test-user': 1}" ] ||
    fail "exchanges: $(idp_stat 's["exchanges_by_account"]')"
pass "another user's callbacks (a forged denial, their own account's code) are refused; the victim signs in to their own account"
