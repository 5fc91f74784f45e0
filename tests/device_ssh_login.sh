#!/bin/bash
# oauth-keyring login --device over ssh (issue 21, item 3): a real OpenSSH server with
# docs/recipes.md's sshd recipe, in a private mount namespace (the machine's /etc/pam.d is never
# touched), a provider with sign_in = both and its device authorization endpoint. The user has
# no tokens and a keyring their desktop session holds unlocked.
#   1. a key-authenticated ssh session (no PAM auth, so no prompt) opens through the recipe's
#      session line: the refresher starts and waits for a sign-in;
#   2. in an ssh session without any port forwarding, `oauth-keyring login --device` prints the
#      address and the code; the test, outside, reads them off the session's output and
#      approves on the "phone" (device_user.py --show-from); the command exits 0, Signed in;
#   3. the pair is stored: secret-tool reads the issued token, which works at the IdP; no code
#      exchange, one device authorization, no secret in the outputs.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (creates a user, runs sshd)"
require_tools useradd chpasswd runuser dbus-daemon gnome-keyring-daemon secret-tool
[ -f /etc/pam.d/sshd ] || fail "/etc/pam.d/sshd is missing (openssh-server; tools/install-deps.sh installs it)"

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
idp_control '{"device_interval": 1}'
SERVICE=pok-ssh-device-$$ # unique: runs of other trees may share this machine
start_recipe_sshd "pokdev$RANDOM"
# The recipe's configuration (write_config's), with the device grant beside the browser's.
printf 'sign_in = both\ndevice_authorization_url = %s/device\n' "$IDP_URL" >>"$WORK/ssh.conf"

refresher_running() { pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null; }
ssh_as_user true </dev/null >"$WORK/out/ssh1.out" 2>&1 || fail "ssh: $(cat "$WORK/out/ssh1.out" "$SSH_DIR/sshd.log")"
wait_until 10 refresher_running || fail "the ssh session started no refresher: $(cat "$SSH_DIR/sshd.log")"
note "1. a key-authenticated ssh session opened; the refresher waits for a sign-in"

ssh_as_user -o ClearAllForwardings=yes "$CLI" login --device --service "$SERVICE" </dev/null \
    >"$WORK/out/login.out" 2>"$WORK/out/login.err" &
login_pid=$!
wait_until 20 grep -qs "^Waiting for your approval" "$WORK/out/login.out" ||
    fail "no code in the ssh session: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
"$PYTHON" "$WORK/bin/device_user.py" --ca "$CA_FILE" --decision approve --show-from "$WORK/out/login.out" ||
    fail "the approval failed: $(cat "$WORK/out/login.out")"
wait_until 30 eval '! kill -0 "$login_pid" 2>/dev/null' || fail "login over ssh did not end: $(cat "$WORK/out/login.err")"
wait "$login_pid"
status=$?
[ "$status" = 0 ] || fail "login --device over ssh: exit $status: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
grep -q "^Signed in" "$WORK/out/login.out" || fail "login --device over ssh: $(cat "$WORK/out/login.out")"
note "2. login --device in an ssh session without forwarding: '$(grep '^  code' "$WORK/out/login.out" | tr -s ' ')', approved outside: '$(tail -1 "$WORK/out/login.out")'"

issued=$(idp_stat 's["issued"]["access_tokens"][-1]')
[ "$(as_user secret-tool lookup service "$SERVICE" username "$USER_NAME")" = "$issued" ] ||
    fail "secret-tool does not read the issued access token"
[ "$(idp_userinfo_status "$issued")" = 200 ] || fail "the stored token does not work at the provider"
[ "$(idp_stat 's["requests"]["device_authorization"]')" = 1 ] || fail "not one device authorization"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 0 ] || fail "a code exchange"
assert_no_secret_in "$WORK/out/login.out" "$WORK/out/login.err" "$SSH_DIR/sshd.log"
note "3. stored: secret-tool reads the issued token, which works; one device authorization, no code exchange"
pass "ssh: oauth-keyring login --device in a session without forwarding, approved elsewhere, stored"
