#!/bin/bash
# docs/recipes.md, tested: every pam-recipe block is applied to the Debian stack it names (the
# installed /etc/pam.d file, else a copy of what the Debian 12 package ships) with the test
# module, and logins run through the result with the real libpam, as root for a real user
# whose login keyring pam_gnome_keyring unlocks on the user's own session bus:
#   login, gdm-password, lightdm: code asked, tokens stored, read back as the user;
#   sddm: session only, refresh runs, no prompt;
#   sshd: auth asks nothing; with no tokens the session starts the refresher (for a sign-in
#         in the session); a due token is refreshed in the session; a locked keyring is
#         left alone, logged, and the session opens;
#   i3lock/swaylock (auth include login), run as the user: silent thanks to only_if=login;
#         without it, the configuration cannot be read and nothing is asked.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (creates a user, runs pam_unix and the privilege drop)"
require_tools useradd chpasswd runuser dbus-daemon gnome-keyring-daemon secret-tool curl
[ -n "$(find /lib /usr/lib -name pam_gnome_keyring.so 2>/dev/null | head -1)" ] ||
    fail "pam_gnome_keyring.so is missing (libpam-gnome-keyring)"
[ -f /etc/pam.d/login ] && [ -f /etc/pam.d/common-auth ] || fail "Debian's /etc/pam.d files are missing"

DOC="$top_srcdir/docs/recipes.md"
RECIPES="$PYTHON $top_srcdir/tests/pam_recipes.py"
make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-recipes-$$ # unique: runs of other trees may share this machine

# --- a real user with a password, a runtime dir and a session bus (as systemd --user would) --
create_real_user "pokrecipe$RANDOM"

# --- the stacks: this machine's /etc/pam.d, plus copies of what Debian 12 ships for the rest --
mkdir -p "$WORK/debian" "$WORK/pam.d" "$WORK/state" "$WORK/out"
find /etc/pam.d -maxdepth 1 -type f -exec cp {} "$WORK/debian/" \;
# Writes the stack of a Debian 12 package's file unless the package is installed here; the
# copies keep the shipped rules and drop the comments.
shipped() { # shipped FILE PACKAGE-VERSION < stack
    if [ -f "/etc/pam.d/$1" ]; then
        note "$1: the installed /etc/pam.d/$1"
        cat >/dev/null
    else
        note "$1: not installed here; a copy of the stack $2 ships"
        cat >"$WORK/debian/$1"
    fi
}
shipped gdm-password "gdm3 43.0-3" <<'PAM'
#%PAM-1.0
auth    requisite       pam_nologin.so
auth	required	pam_succeed_if.so user != root quiet_success
@include common-auth
auth    optional        pam_gnome_keyring.so
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session required        pam_loginuid.so
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so open
session optional        pam_keyinit.so force revoke
session required        pam_limits.so
session required        pam_env.so readenv=1
session required        pam_env.so readenv=1 envfile=/etc/default/locale
@include common-session
session optional        pam_gnome_keyring.so auto_start
@include common-password
PAM
shipped lightdm "lightdm 1.26.0-8+deb12u1" <<'PAM'
#%PAM-1.0
auth      requisite pam_nologin.so
session      required pam_env.so readenv=1
session      required pam_env.so readenv=1 envfile=/etc/default/locale
@include common-auth
-auth  optional pam_gnome_keyring.so
@include common-account
session  [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so close
session  required        pam_limits.so
session  required        pam_loginuid.so
@include common-session
session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so open
-session optional        pam_gnome_keyring.so auto_start
@include common-password
PAM
shipped sddm "sddm 0.19.0-5" <<'PAM'
#%PAM-1.0
auth    requisite       pam_nologin.so
auth    required        pam_succeed_if.so user != root quiet_success
@include common-auth
-auth   optional        pam_gnome_keyring.so
-auth   optional        pam_kwallet5.so
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so close
session optional        pam_keyinit.so force revoke
session required        pam_limits.so
session required        pam_loginuid.so
@include common-session
session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so open
-session optional       pam_gnome_keyring.so auto_start
-session optional       pam_kwallet5.so auto_start
@include common-password
session required        pam_env.so
session required        pam_env.so envfile=/etc/default/locale user_readenv=1
PAM
shipped sshd "openssh-server 1:9.2p1-2+deb12u10" <<'PAM'
@include common-auth
account    required     pam_nologin.so
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session    required     pam_loginuid.so
session    optional     pam_keyinit.so force revoke
@include common-session
session    optional     pam_motd.so  motd=/run/motd.dynamic
session    optional     pam_motd.so noupdate
session    optional     pam_mail.so standard noenv # [1]
session    required     pam_limits.so
session    required     pam_env.so # [1]
session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so open
@include common-password
PAM
for locker in i3lock swaylock; do
    shipped "$locker" "$locker (Debian 12)" <<<"auth include login"
done
cp "$WORK/debian/"* "$WORK/pam.d/"
# libpam 1.5.2 resolves a relative "include" against /etc/pam.d even under pam_start_confdir
# (the @include common-* lines get Debian's own files, as intended); the lockers' include of
# login must reach the login stack the recipe built, so it names that file's full path.
for locker in i3lock swaylock; do
    sed -i "s|^auth\( *\)include\( *\)login\$|auth\1include\2$WORK/pam.d/login|" "$WORK/pam.d/$locker"
    grep -q "include *$WORK/pam.d/login\$" "$WORK/pam.d/$locker" || fail "$locker does not include login"
done

# --- apply every recipe: the test knows each one, and each one applies to its stack ---------
write_config "$WORK/recipes.conf" </dev/null
chown root:root "$WORK/recipes.conf" # root's, mode 0600, as the recipes say
TESTED="login gdm-password lightdm sddm sshd"
names=$($RECIPES names "$DOC") || fail "cannot read the recipes: $names"
for name in $names; do
    grep -qw -- "$name" <<<"$TESTED" || fail "docs/recipes.md has a recipe for $name that this test does not run"
    $RECIPES apply "$DOC" "$name" "$WORK/debian/$name" "$WORK/pam.d/$name" \
        "$MODULE config=$WORK/recipes.conf state_dir=$WORK/state debug" ||
        fail "the $name recipe does not apply to the $name stack"
    note "$name: $(grep -c pam_oauth_keyring "$WORK/pam.d/$name") module lines added"
done
for name in $TESTED; do
    grep -qx -- "$name" <<<"$names" || fail "docs/recipes.md lost its $name recipe"
done

# --- logins ---------------------------------------------------------------------------------
LOGIN=0
# login SERVICE [as-user]: one login through the real libpam; $OUT the transcript, $LOG the
# module's log lines. As the user (a screen locker), the driver runs with the user's uid.
login() {
    LOGIN=$((LOGIN + 1))
    OUT="$WORK/out/$LOGIN-$1.out"
    LOG="$WORK/out/$LOGIN-$1.log"
    local as=()
    if [ "${2:-}" = as-user ]; then
        as=(--as as_user) # the user's uid and their session's environment only
        chown "$USER_NAME" "$WORK/out"
    fi
    driver_login "$LOGIN-$1" --dir "$WORK/out" --service "$1" --user "$USER_NAME" \
        --password "$PASSWORD" --session "$RUNTIME" "$BUS" "${as[@]}"
    sed "s/^/    [$1${2:+ $2}] /" "$LOG" 2>/dev/null
    grep -q "pam_authenticate: Success" "$OUT" || fail "$1: authentication failed: $(cat "$OUT")"
}
session_opened() { grep -q "pam_open_session: Success" "$OUT" || fail "$1: no session: $(cat "$OUT" "$LOG")"; }
asked() { grep -q '^\[prompt\] Paste the code' "$OUT"; }
# Errors from our module: none, "unknown module argument" included (every build knows qr).
module_errors() { grep '^<3>.*pam_oauth_keyring' "$LOG" || true; }
# Whether the line under the address shown is the top of a QR code (block characters).
drew_qr() { grep -A1 '^\[info\] https://' "$OUT" | tail -1 | LC_ALL=C grep -q $'^\[info\] \xe2\x96'; }
token_requests() { idp_stat 's["requests"]["token"]'; }
stored_token() { as_user secret-tool lookup service "$SERVICE" username "$USER_NAME"; }
forget_authorization() { rm -f "$WORK/state/$USER_UID-$SERVICE"; } # prompt=missing asks again

expect_stored() { # expect_stored SERVICE: asked, stored, read back as the user
    asked || fail "$1: no code was asked for: $(cat "$OUT")"
    grep -q "is now in your keyring" "$OUT" || fail "$1: nothing stored: $(cat "$OUT" "$LOG")"
    [ "$(stored_token)" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
        fail "$1: secret-tool, as the user, does not read the token just issued"
    [ -z "$(module_errors)" ] || fail "$1: the module logged errors: $(module_errors)"
    # The recipe's qr argument, where it has one (login), draws a QR code; elsewhere none.
    if grep -Eq '^auth.*pam_oauth_keyring.* qr( |$)' "$WORK/pam.d/$1"; then
        drew_qr || fail "$1: the recipe asks for qr, but no QR code is under the address: $(cat "$OUT")"
    else
        ! drew_qr || fail "$1: a QR code without qr"
    fi
}

for service in login gdm-password lightdm; do
    forget_authorization
    login "$service"
    session_opened "$service"
    expect_stored "$service"
    note "$service: password, code asked$(drew_qr && echo ', a QR code under the address'), tokens stored, secret-tool reads them as the user"
done

# sddm: the session line alone; the token is fresh, so no request, and no prompt.
requests=$(token_requests)
login sddm
session_opened sddm
! asked || fail "sddm: a code was asked for, but the recipe has no auth line"
grep -q "session refresh: not-due" "$LOG" || fail "sddm: no session refresh: $(cat "$LOG")"
[ "$(token_requests)" = "$requests" ] || fail "sddm: a token request for a valid token"
[ -z "$(module_errors)" ] || fail "sddm: the module logged errors: $(module_errors)"
note "sddm: no prompt; session refresh ran (not due), no token request"

[ "$(grep -c '^auth.*pam_oauth_keyring' "$WORK/pam.d/sshd")" = 0 ] || fail "the sshd recipe has an auth line"
# sshd, keyring unlocked, no tokens: no prompt, and the session starts the refresher, which
# waits for `oauth-keyring login` in the ssh session (tests/ssh_session.sh signs in over ssh).
as_user "$CLI" logout --service "$SERVICE" >/dev/null 2>&1 ||
    fail "cannot log out before the sshd login"
pkill -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE"
wait_until 5 eval '! pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null' ||
    fail "the refresher did not stop"
login sshd
session_opened sshd
! asked || fail "sshd (no tokens): a code was asked for"
wait_until 10 pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null ||
    fail "sshd (no tokens): the session did not start the refresher: $(cat "$LOG")"
note "sshd, no tokens: no prompt; the refresher started, waiting for oauth-keyring login"
# sshd, keyring unlocked (the same user's desktop session holds it open): a due token is
# refreshed by the session alone. Short tokens, the desktop's refresher stopped first.
idp_control '{"access_ttl": 4}'
forget_authorization
login gdm-password
# At once: the refresher would refresh the 4-second token after 2 s.
pkill -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE"
expect_stored gdm-password
idp_control '{"access_ttl": null}'
as_user "$PYTHON" "$WORK/bin/keyring_tool.py" age-pair "$SERVICE" 3 || # due after half the 4 s
    fail "cannot age the stored pair"
before=$(stored_token)
requests=$(token_requests)
login sshd
session_opened sshd
! asked || fail "sshd: a code was asked for"
grep -q "session refresh: refreshed" "$LOG" || fail "sshd: the due token was not refreshed: $(cat "$LOG")"
[ "$(token_requests)" = $((requests + 1)) ] || fail "sshd: expected exactly one token request"
after=$(stored_token)
[ "$after" != "$before" ] && [ "$after" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "sshd: the keyring does not hold the refreshed token"
pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null ||
    fail "sshd: the session did not start the refresher"
note "sshd, keyring unlocked: no prompt; the due token refreshed once; refresher started"

# sshd, keyring locked (no desktop session to unlock it): nothing read or sent, a notice.
as_user "$PYTHON" "$WORK/bin/keyring_tool.py" lock || fail "cannot lock the keyring"
pkill -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE"
requests=$(token_requests)
started=$(date +%s)
login sshd
session_opened sshd
! asked || fail "sshd (locked): a code was asked for"
grep -q "^<5> .*the login keyring is locked (keyring-locked)" "$LOG" ||
    fail "sshd (locked): no notice: $(cat "$LOG")"
[ "$(token_requests)" = "$requests" ] || fail "sshd (locked): a token request"
[ $(($(date +%s) - started)) -le 8 ] || fail "sshd (locked): the login took too long"
! pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null ||
    fail "sshd (locked): a refresher was started"
note "sshd, keyring locked: no prompt, no request, notice logged, session opened"

# Screen lockers that include login's auth, run as the user: only_if=login keeps us silent.
for locker in i3lock swaylock; do
    login "$locker" as-user
    ! asked || fail "$locker: a code was asked for inside the screen locker"
    grep -q "service not in only_if=, skipping" "$LOG" || fail "$locker: the module did not skip: $(cat "$LOG")"
    [ -z "$(module_errors)" ] || fail "$locker: the module logged errors: $(module_errors)"
done
note "i3lock, swaylock (auth include login) as the user: no prompt, the module skips quietly"

# ... and what docs/recipes.md says happens without only_if=: as the user the root-only
# configuration cannot be read; logged, nothing asked, the unlock is the other modules' call.
sed 's/ only_if=login//' "$WORK/pam.d/login" >"$WORK/pam.d/login-no-only-if"
echo "auth include $WORK/pam.d/login-no-only-if" >"$WORK/pam.d/locker-no-only-if"
login locker-no-only-if as-user
! asked || fail "locker without only_if: a code was asked for"
grep -q "configuration refused: $WORK/recipes.conf: cannot open: Permission denied" "$LOG" ||
    fail "locker without only_if: not the documented error: $(cat "$LOG")"
note "screen locker without only_if=, as the user: 'configuration refused: ... Permission denied', no prompt"

assert_no_secret_in "$WORK"/out/*

pass "docs/recipes.md: login, gdm-password, lightdm, sddm, sshd and two screen lockers through the real libpam"
