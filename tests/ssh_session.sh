#!/bin/bash
# ssh (issue 13, item 5): a real OpenSSH server with docs/recipes.md's sshd recipe, in a private
# mount namespace (the machine's /etc/pam.d is never touched). The user has no tokens yet and a
# keyring that is unlocked (their desktop session holds it open).
#   1. a key-authenticated ssh session - sshd runs no PAM auth for it - opens through the
#      recipe's session line, which serves it (the login state records that a sign-in is
#      needed); in that session XDG_RUNTIME_DIR and the user's bus are set, and the refresher
#      has started, waiting for a sign-in;
#   2. `oauth-keyring login --no-browser` inside an ssh session prints the address; the user
#      opens it elsewhere (browser.py) and pastes the redirect address into the ssh session:
#      exit 0, the pair is stored (secret-tool reads the issued token), one code exchange;
#   3. `oauth-keyring token` in a later ssh session prints that token; one refresher runs.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (creates a user, runs sshd)"
require_tools useradd chpasswd runuser dbus-daemon gnome-keyring-daemon secret-tool
[ -f /etc/pam.d/sshd ] || fail "/etc/pam.d/sshd is missing (openssh-server; tools/install-deps.sh installs it)"

make_workdir
stage_artifacts
PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$PORT/callback"
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-ssh-$$ # unique: runs of other trees may share this machine
start_recipe_sshd "pokssh$RANDOM"
note "sshd on 127.0.0.1:$SSH_PORT with the recipe's /etc/pam.d/sshd ($(grep -c pam_oauth_keyring "$WORK/pam-sshd") module line)"

refresher_running() { pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null; }
! refresher_running || fail "a refresher runs before the ssh session"
ssh_as_user 'echo "session: $XDG_RUNTIME_DIR $DBUS_SESSION_BUS_ADDRESS"' </dev/null >"$WORK/out/ssh1.out" 2>&1 ||
    fail "ssh: $(cat "$WORK/out/ssh1.out" "$SSH_DIR/sshd.log")"
grep -qx "session: $RUNTIME $BUS" "$WORK/out/ssh1.out" || fail "the ssh session has no bus: $(cat "$WORK/out/ssh1.out")"
grep -q "authorization_needed=1" "$WORK/state/$USER_UID-$SERVICE" 2>/dev/null ||
    fail "the module did not serve the ssh session: $(cat "$WORK/state/"* "$SSH_DIR/sshd.log" 2>&1)"
wait_until 10 refresher_running || fail "the ssh session started no refresher: $(cat "$SSH_DIR/sshd.log")"
note "1. a key-authenticated ssh session opened; the module served it (state: authorization needed); the refresher waits"

# The user pastes into the ssh session: its stdin a fifo held open, as a terminal's would be.
mkfifo "$WORK/out/paste"
exec 7<>"$WORK/out/paste"
ssh_as_user "$CLI" login --no-browser --service "$SERVICE" <"$WORK/out/paste" \
    >"$WORK/out/login.out" 2>"$WORK/out/login.err" &
login_pid=$!
wait_until 15 grep -q "^https://" "$WORK/out/login.out" ||
    fail "no address in the ssh session: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
"$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode url <"$WORK/out/login.out" >"$WORK/out/redirect" ||
    fail "the browser failed"
grep -q "^http://127.0.0.1:$PORT/callback?" "$WORK/out/redirect" || fail "redirect: $(cat "$WORK/out/redirect")"
cat "$WORK/out/redirect" >&7
wait_until 60 eval '! kill -0 "$login_pid" 2>/dev/null' || fail "login over ssh did not end: $(cat "$WORK/out/login.err")"
wait "$login_pid"
status=$?
exec 7>&-
[ "$status" = 0 ] || fail "login over ssh: exit $status: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
grep -q "^Signed in" "$WORK/out/login.out" || fail "login over ssh: $(cat "$WORK/out/login.out")"
issued=$(idp_stat 's["issued"]["access_tokens"][-1]')
[ "$(as_user secret-tool lookup service "$SERVICE" username "$USER_NAME")" = "$issued" ] ||
    fail "secret-tool does not read the issued access token"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "not exactly one code exchange"
note "2. oauth-keyring login --no-browser in the ssh session, the redirect address pasted: '$(tail -1 "$WORK/out/login.out")'"

ssh_as_user "$CLI" token --service "$SERVICE" </dev/null >"$WORK/out/token.out" 2>"$WORK/out/token.err" ||
    fail "token over ssh: $(cat "$WORK/out/token.err")"
[ "$(cat "$WORK/out/token.out")" = "$issued" ] || fail "token over ssh: not the issued token"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "a second code exchange"
refresher_count_is 1 "$USER_NAME" || fail "not one refresher: $(refresher_pids "$USER_NAME")"
assert_no_secret_in "$WORK/out/login.out" "$WORK/out/login.err" "$WORK/out/token.err" "$SSH_DIR/sshd.log"
note "3. a later ssh session: oauth-keyring token prints the stored token; one refresher, no secret in the outputs"
pass "ssh: the recipe's session line starts the refresher, and oauth-keyring login in the session stores the pair"
