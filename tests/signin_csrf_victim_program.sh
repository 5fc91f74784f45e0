#!/bin/bash
# The login CSRF of issue 19, finding 1, performed by a second local user, 4 attempts.
# The victim (the session user) runs `oauth-keyring login`; the attacker, another
# unprivileged user, wants the victim's keyring to hold the attacker's account's tokens:
#   argv (2 attempts): the victim's sign-in opens a browser (a stand-in that waits), the
#       attacker reads every process's /proc/PID/cmdline looking for the sign-in's state or
#       PKCE challenge; with them the attacker would sign in at the IdP as their OWN account
#       (the code is bound to the victim's challenge) and have a program running as the
#       victim (curl, as a mail client's image load or a chat's link preview would) fetch the
#       callback. The browser's argv may hold only the one-use start address, which the
#       attacker is refused (403: another user's program).
#   screen (2 attempts): the attacker knows the authorize URL anyway (the victim asked for it
#       with --no-browser: someone watching the screen), signs in as their own account and
#       has a program of the victim fetch the callback. That program never visited the start
#       address, so it lacks the sign-in's cookie: 403, nothing exchanged, the keyring as
#       before.
# Then the victim's own browser (a cookie jar) goes through the start address and signs in:
# the keyring holds the victim's account's tokens.
# On the code before issue 19 the argv held the authorize URL and the victim's program got 303
# with the attacker's tokens stored: 4 successes of 4.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (a second local user plays the attacker)"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl useradd userdel runuser

prepare_signin_test csrf-victim </dev/null
ATTEMPTS="argv argv screen screen"

ATTACKER=pokcsrf$RANDOM
useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$ATTACKER" || fail "useradd $ATTACKER"
on_exit "userdel -f '$ATTACKER'"
[ "$(id -u "$ATTACKER")" != "$(id -u "$RUN_AS")" ] || fail "the attacker is the victim"
install -d -m 700 -o "$ATTACKER" "$WORK/attacker"
attacker() { runuser -u "$ATTACKER" -- env -i PATH=/usr/bin:/bin HOME="$WORK/attacker" "$@"; }
# Any program of the victim that fetches an address it was handed: no cookie jar.
install -d -m 700 -o "$RUN_AS" "$WORK/victim"
victim_program() {
    runuser -u "$RUN_AS" -- env -i PATH=/usr/bin:/bin curl -sS --max-time 20 \
        -o "$WORK/victim/page.html" -w '%{http_code}' "$1"
}

# The victim's browser: records who it is, then waits until its attempt is over.
cat >"$WORK/bin/victim-browser.sh" <<BROWSER
#!/bin/bash
attempt=\$(cat "$WORK/out/attempt")
echo "\$\$ \$(id -u)" >"$WORK/out/browser.\$attempt.pid"
for _ in \$(seq 1200); do [ -e "$WORK/out/release.\$attempt" ] && exit 0; sleep 0.1; done
BROWSER
chmod a+rx "$WORK/bin/victim-browser.sh"

# What the attacker runs: every process's argv, as any local user may read it. Prints each
# argument naming the victim's listener (argv 1: its port) or the IdP (argv 2) that holds a
# state or a PKCE challenge (exit 0 when one did; other tests running on this machine may have
# their own in theirs), and, on stderr, each address of the listener found.
cat >"$WORK/bin/read_argv.py" <<'PY'
import os, sys
found = False
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    for arg in argv:
        text = arg.decode("latin-1")
        ours = text.startswith(f"http://127.0.0.1:{sys.argv[1]}/") or sys.argv[2] in text
        if ours and ("state=" in text or "code_challenge" in text):
            print(pid, text)
            found = True
        elif text.startswith(f"http://127.0.0.1:{sys.argv[1]}/"):
            print(pid, text, file=sys.stderr)
sys.exit(0 if found else 1)
PY
chmod a+r "$WORK/bin/read_argv.py"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
account_of() { # the account whose token the keyring holds, "none" without one
    local token
    token=$(keyring_token) || { echo none; return; }
    curl -sS --cacert "$CA_FILE" -H "Authorization: Bearer $token" "$IDP_URL/userinfo" |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["sub"])'
}
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
n=0
for kind in argv argv screen screen; do # as ATTEMPTS
    n=$((n + 1))
    echo "$n" >"$WORK/out/attempt"
    LOGIN_NAME=attempt-$n
    mkfifo "$WORK/out/$LOGIN_NAME.paste"
    exec 7<>"$WORK/out/$LOGIN_NAME.paste" # a terminal's stdin, nothing pasted
    before=$(account_of)
    before_token=$(keyring_token | sha256sum)
    if [ "$kind" = argv ]; then
        DISPLAY=:99 BROWSER="$WORK/bin/victim-browser.sh" "$CLI" login --service "$SERVICE" \
            <"$WORK/out/$LOGIN_NAME.paste" >"$WORK/out/$LOGIN_NAME.out" 2>"$WORK/out/$LOGIN_NAME.err" &
    else
        "$CLI" login --no-browser --service "$SERVICE" \
            <"$WORK/out/$LOGIN_NAME.paste" >"$WORK/out/$LOGIN_NAME.out" 2>"$WORK/out/$LOGIN_NAME.err" &
    fi
    CLI_PID=$!
    wait_until 10 grep -qs "comes back to http://127.0.0.1:$SIGNIN_PORT/callback" "$WORK/out/$LOGIN_NAME.out" ||
        fail "$LOGIN_NAME: the sign-in does not listen: $(cat "$WORK/out/$LOGIN_NAME.out" "$WORK/out/$LOGIN_NAME.err")"
    [ "$kind" = screen ] || wait_until 10 [ -s "$WORK/out/browser.$n.pid" ] || fail "$LOGIN_NAME: no browser"
    echo ready >"$WORK/out/victim.$n"
    wait_until 60 [ -f "$WORK/out/attacked.$n" ] || fail "$LOGIN_NAME: the attacker's side did not finish"
    # The refresher stores before it answers the callback: the keyring is final now.
    changed=0
    [ "$(keyring_token | sha256sum)" = "$before_token" ] || changed=1
    echo "$before $(account_of) $changed" >"$WORK/out/keyring.$n"
    if login_running; then
        kill -INT "$CLI_PID"
    fi
    finish_login 30
    touch "$WORK/out/release.$n"
done

# The victim's own sign-in: their browser opens the start address and keeps its cookie.
start_login own
answer=$(loopback_get "$(callback_url url)" --location)
[ "${answer%% *}" = 303 ] || fail "the victim's own callback: '$answer'"
finish_login 30
[ "$LOGIN_STATUS" = 0 ] || fail "login: exit $LOGIN_STATUS: $(cat "$WORK/out/own.out" "$WORK/out/own.err")"
echo "$(account_of)" >"$WORK/out/keyring.own"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 240 &
session=$!

spent() { idp_stat 's["exchanges_by_account"].get("mallory", 0)'; }
n=0 argv_read=0 accepted=0 stored=0
for kind in $ATTEMPTS; do
    n=$((n + 1))
    wait_until 60 [ -f "$WORK/out/victim.$n" ] || fail "attempt $n: the victim's sign-in did not start"
    url=""
    if [ "$kind" = argv ]; then
        if stolen=$(attacker "$PYTHON" "$WORK/bin/read_argv.py" "$PORT" "$IDP_URL" 2>"$WORK/out/argv.$n"); then
            argv_read=$((argv_read + 1))
            url=$(printf '%s\n' "$stolen" | grep -o "$IDP_URL/authorize?[^ ]*" | head -n 1)
            note "attempt $n (argv): the attacker read the state from /proc/${stolen%% *}/cmdline"
        else
            read -r browser_pid _ <"$WORK/out/browser.$n.pid"
            grep -q "^$browser_pid http://127.0.0.1:$PORT/start/" "$WORK/out/argv.$n" ||
                fail "attempt $n: the browser's argv holds no start address: $(cat "$WORK/out/argv.$n")"
            start=$(sed -n "s/^$browser_pid //p" "$WORK/out/argv.$n" | head -n 1)
            answer=$(attacker "$PYTHON" "$WORK/bin/loopback_client.py" --location "$start")
            [ "${answer%% *}" = 403 ] || fail "attempt $n: the start address, fetched by the attacker: '$answer'"
            note "attempt $n (argv): no state nor challenge in any argv; the start address there gets the attacker 403"
        fi
    else
        # Someone who sees the victim's screen: the authorize URL printed for --no-browser.
        url=$(grep -o "^$IDP_URL/authorize?[^ ]*" "$WORK/out/attempt-$n.out" | head -n 1)
        [ -n "$url" ] || fail "attempt $n: --no-browser printed no authorize URL: $(cat "$WORK/out/attempt-$n.out")"
    fi
    if [ -n "$url" ]; then
        callback=$(attacker "$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode url \
            --account mallory <<<"$url") || fail "attempt $n: the attacker's browser failed"
        status=$(victim_program "$callback")
        [ "$status" = 303 ] && accepted=$((accepted + 1))
        note "attempt $n ($kind): the attacker's own account's callback, fetched by a program of the victim: HTTP $status"
        if [ "$status" != 303 ]; then
            grep -q "did not come through the browser that started this sign-in" "$WORK/victim/page.html" ||
                fail "attempt $n: the refusal page: $(cat "$WORK/victim/page.html")"
        fi
    fi
    echo done >"$WORK/out/attacked.$n"
    wait_until 40 [ -f "$WORK/out/keyring.$n" ] || fail "attempt $n: the victim's side did not finish"
    read -r before after changed <"$WORK/out/keyring.$n"
    if [ "$after" = mallory ] && [ "$changed" = 1 ]; then
        stored=$((stored + 1))
    fi
    note "attempt $n ($kind): the victim's keyring held '$before' before, '$after' after ($([ "$changed" = 1 ] && echo "a new token" || echo unchanged))"
done

wait "$session"
attempts=$(echo $ATTEMPTS | wc -w)
note "figures: state or challenge in argv $argv_read of 2; attacker's callback accepted $accepted of $attempts; attacker's tokens stored $stored of $attempts; mallory's codes exchanged $(spent)"
[ "$argv_read" = 0 ] || fail "the attacker read the state from argv $argv_read times of 2"
[ "$accepted" = 0 ] && [ "$stored" = 0 ] && [ "$(spent)" = 0 ] ||
    fail "the login CSRF worked: callback accepted $accepted, stored $stored of $attempts"
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
[ "$(cat "$WORK/out/keyring.own")" = test-user ] || fail "after the victim's own sign-in: $(cat "$WORK/out/keyring.own")"
pass "no state in any argv; the attacker's callback, fetched by a program of the victim without the start address's cookie, is refused (0 of $attempts); the victim's own browser signs in"
