#!/bin/bash
# The greeter's side of the sign-in after a graphical login (issue 13, item 4), through the
# real libpam in a private session of an unprivileged user (nobody when run as root):
#   1. a login at a graphical greeter (XDG_SESSION_TYPE=x11 in the PAM environment, as for
#      pam_systemd; a display manager's service name or PAM_XDISPLAY count too): the module
#      says that Enter skips and the sign-in opens in the browser after login; the user presses
#      Enter; nothing is spent at the IdP and the session opens;
#   2. a text login (no display): no such promise;
#   3. desktop_signin=no: no promise at the greeter, and OAUTH_KEYRING_DESKTOP_SIGNIN=no in the
#      session's environment, where the autostart entry finds it;
#   4. at session open after that Enter, one sentence says the way that works in that session:
#      the desktop sign-in after a graphical login, oauth-keyring login where the refresher
#      runs, the next login where none does (refresher=no).
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-desktop-prompt-$$ # unique: runs of other trees may share this machine and user
prepare_private_user prompt=always </dev/null
sed 's/prompt=always/prompt=always desktop_signin=no/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-no-desktop"
sed 's/prompt=always/prompt=always refresher=no/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-no-refresher"
chmod a+r "$WORK/pam.d/pok-no-desktop" "$WORK/pam.d/pok-no-refresher"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login() { # login NAME SERVICE [--setenv X=Y]...: the user presses Enter at the prompt
    local name=$1 service=$2
    shift 2
    driver_login "$name" --service "$service" --answer-command true \
        --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS" -- "$@"
}
login greeter pok-private --setenv XDG_SESSION_TYPE=x11
login text pok-private
login off pok-no-desktop --setenv XDG_SESSION_TYPE=wayland
login no-refresher pok-no-refresher
SCENARIO
run_private_session "$WORK/scenario.sh" 60 || fail "the scenario failed"

PROMISE='^\[info\] Or press Enter to skip: after you log in, the sign-in opens in your browser\.$'
shows() { cat "$WORK/out/$1.out" "$WORK/out/$1.log"; }
for name in greeter text off no-refresher; do
    grep -q "pam_open_session: Success" "$WORK/out/$name.out" || fail "$name: no session: $(shows $name)"
    grep -q '^\[prompt\] Paste the code' "$WORK/out/$name.out" || fail "$name: not asked: $(shows $name)"
done
grep -q "$PROMISE" "$WORK/out/greeter.out" || fail "greeter: no word of Enter and the browser: $(shows greeter)"
# The promise comes before the prompt it explains.
[ "$(grep -n -e "$PROMISE" -e '^\[prompt\]' "$WORK/out/greeter.out" | head -1 | grep -c 'Or press Enter')" = 1 ] ||
    fail "greeter: the promise is not before the prompt: $(shows greeter)"
! grep -q "^pam_env: " "$WORK/out/greeter.out" || fail "greeter: the session is told something: $(shows greeter)"
[ "$(idp_stat 's["requests"]["token"]')" = 0 ] || fail "Enter spent something at the IdP"
note "1. graphical greeter: '$(grep -o 'Or press Enter.*' "$WORK/out/greeter.out")' before the prompt; Enter spends nothing"
! grep -q "Or press Enter" "$WORK/out/text.out" || fail "text login: promised a browser: $(shows text)"
note "2. text login: no promise of a browser"
! grep -q "Or press Enter" "$WORK/out/off.out" || fail "desktop_signin=no: promised a browser: $(shows off)"
grep -qx "pam_env: OAUTH_KEYRING_DESKTOP_SIGNIN=no" "$WORK/out/off.out" ||
    fail "desktop_signin=no: the session is not told: $(shows off)"
note "3. desktop_signin=no: no promise; the session gets OAUTH_KEYRING_DESKTOP_SIGNIN=no"
told() { # told NAME SENTENCE-END: the session-open line after Enter, and only that one
    grep -qx "\[info\] Your testidp token needs a new sign-in: $2" "$WORK/out/$1.out" ||
        fail "$1: not told '$2': $(shows "$1")"
}
told greeter 'a sign-in opens in your browser once you are logged in (or run oauth-keyring login).'
told text 'run oauth-keyring login in this session, or you will be asked at the next login.'
told off 'run oauth-keyring login in this session, or you will be asked at the next login.'
told no-refresher 'you will be asked at the next login.'
note "4. at session open: the desktop sign-in, oauth-keyring login, or the next login, as each session has it"
pass "the greeter says what Enter leads to, only where it is true"
