#!/bin/bash
# ssh (issue 13, item 5): a real OpenSSH server with docs/recipes.md's sshd recipe, in a private
# mount namespace (the machine's /etc/pam.d is never touched). The user has no tokens yet and a
# keyring that is unlocked (their desktop session holds it open). A key-authenticated ssh
# session - sshd runs no PAM auth for it - opens through the recipe's session line, which
# serves it (the login state records that a sign-in is needed), and in that session
# XDG_RUNTIME_DIR and the user's bus are set.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (creates a user, runs sshd)"
require_tools useradd chpasswd runuser dbus-daemon gnome-keyring-daemon secret-tool
[ -f /etc/pam.d/sshd ] || fail "/etc/pam.d/sshd is missing (openssh-server; tools/install-deps.sh installs it)"

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-ssh-$$ # unique: runs of other trees may share this machine
create_real_user "pokssh$RANDOM"
mkdir -p "$WORK/state" "$WORK/out"

# The user's keyring, unlocked, on their bus: as their desktop session would leave it.
as_user sh -c 'printf %s "$1" | gnome-keyring-daemon --unlock --components=secrets >/dev/null' \
    sh "$PASSWORD" || fail "cannot start the user's keyring"
wait_until 10 as_user secret-tool store --label probe service pok-probe username x </dev/null ||
    fail "the user's keyring does not take writes"

# The recipe's sshd file (Debian's installed /etc/pam.d/sshd with the recipe applied), plus
# what pam_systemd would put in the PAM environment on a machine with logind.
write_config "$WORK/ssh.conf" </dev/null
"$PYTHON" "$top_srcdir/tests/pam_recipes.py" apply "$top_srcdir/docs/recipes.md" sshd /etc/pam.d/sshd \
    "$WORK/pam-sshd" "$MODULE config=$WORK/ssh.conf state_dir=$WORK/state debug" ||
    fail "the sshd recipe does not apply to /etc/pam.d/sshd"
cat >"$WORK/pam_env.conf" <<ENV
XDG_RUNTIME_DIR DEFAULT=$RUNTIME
DBUS_SESSION_BUS_ADDRESS DEFAULT=$BUS
ENV
sed -i "1i session required pam_env.so conffile=$WORK/pam_env.conf readenv=0 user_readenv=0" "$WORK/pam-sshd"
start_sshd "$WORK/pam-sshd"
note "sshd on 127.0.0.1:$SSH_PORT with the recipe's /etc/pam.d/sshd ($(grep -c pam_oauth_keyring "$WORK/pam-sshd") module line)"

refresher_running() { pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null; }
! refresher_running || fail "a refresher runs before the ssh session"
ssh_as_user 'echo "session: $XDG_RUNTIME_DIR $DBUS_SESSION_BUS_ADDRESS"' </dev/null >"$WORK/out/ssh1.out" 2>&1 ||
    fail "ssh: $(cat "$WORK/out/ssh1.out" "$SSH_DIR/sshd.log")"
grep -qx "session: $RUNTIME $BUS" "$WORK/out/ssh1.out" || fail "the ssh session has no bus: $(cat "$WORK/out/ssh1.out")"
grep -q "authorization_needed=1" "$WORK/state/$USER_UID-$SERVICE" 2>/dev/null ||
    fail "the module did not serve the ssh session: $(cat "$WORK/state/"* "$SSH_DIR/sshd.log" 2>&1)"
note "a key-authenticated ssh session opened; the module served it (state: authorization needed)"
pass "ssh: the recipe's session line serves a key-authenticated session"
