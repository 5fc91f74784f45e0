#!/bin/bash
# The Debian package end to end, as an administrator meets it. Slow (a package build), so it is
# not in make check: .ci/run runs it as its own step, or run it by hand as root after a build:
#   top_srcdir=$PWD tests/debian_package.sh
# 1. builds libpam-oauth-keyring from a copy of the source (never in the live tree, whose build
#    `debian/rules clean` would remove) with DEB_BUILD_OPTIONS=nocheck, and runs lintian: no E:;
# 2. installs it with dpkg -i (refusing if the package or its files are already there) and
#    checks where each file lands, its mode, and that the module runs the installed helper;
# 3. runs pam-auth-update --root on a scratch copy of /etc/pam.d/common-*, the profiles and
#    /var/lib/pam: the profile is off by default; --enable puts it where README.md says;
# 4. one real login of a real user through the installed module and helper, the stack that
#    pam-auth-update generated and /etc/security/pam_oauth_keyring.conf: the tokens land in
#    the user's keyring; a wrong password or a service outside only_if= never reaches it;
# 5. purges the package: its files, state and profile are gone; /etc/pam.d was never changed.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (installs a package, creates a user)"
require_tools git tar dpkg-buildpackage dpkg-parsechangelog lintian pam-auth-update strings \
    objdump useradd chpasswd runuser dbus-daemon gnome-keyring-daemon secret-tool openssl curl \
    desktop-file-validate

PACKAGE=libpam-oauth-keyring
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
MODULE_PATH=/usr/lib/$MULTIARCH/security/pam_oauth_keyring.so
HELPER_PATH=/usr/libexec/pam_oauth_keyring/pam_oauth_keyring_helper
REFRESHER_PATH=/usr/libexec/pam_oauth_keyring/pam_oauth_keyring_refresher
CONF=/etc/security/pam_oauth_keyring.conf
STATE_DIR=/var/lib/pam_oauth_keyring
PROFILE=/usr/share/pam-configs/oauth-keyring

# Only a package this test installed is ever removed by it.
status=$(dpkg-query -W -f='${db:Status-Status}' "$PACKAGE" 2>/dev/null)
[ "${status:-not-installed}" = not-installed ] ||
    fail "$PACKAGE is already on this machine ($status); this test installs and purges it"
for path in "$CONF" "$STATE_DIR" "$PROFILE"; do
    [ ! -e "$path" ] || fail "$path exists but not from this test: not touching it"
done
git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1 ||
    fail "$top_srcdir is not a git checkout (the test copies its tracked and new files)"
DRIVER="$top_builddir/tests/pam_driver"
[ -x "$DRIVER" ] || make -C "$top_builddir" tests/pam_driver >/dev/null || fail "no tests/pam_driver"

make_workdir
mkdir -p "$WORK/bin"
cp "$top_srcdir/tests/browser.py" "$top_srcdir/tests/keyring_tool.py" "$WORK/bin/"
chmod -R a+rX "$WORK/bin"

# --- 1. build from a copy, lintian ------------------------------------------------------------
# The copy is what a clean clone plus local changes holds: tracked and new files, no build output.
mkdir -p "$WORK/build/src"
(cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$WORK/build/src" ||
    fail "cannot copy the source"
version=$(dpkg-parsechangelog -l "$WORK/build/src/debian/changelog" -S Version)
started=$(date +%s)
(cd "$WORK/build/src" &&
    DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES=nocheck dpkg-buildpackage -us -uc -b) \
    >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "dpkg-buildpackage failed"; }
DEB="$WORK/build/${PACKAGE}_${version}_$(dpkg --print-architecture).deb"
CHANGES=$(ls "$WORK"/build/*.changes)
[ -f "$DEB" ] || fail "no $DEB: $(ls "$WORK/build")"
note "1. built $(basename "$DEB") in $(($(date +%s) - started)) s"

lintian --pedantic --display-info "$CHANGES" >"$WORK/lintian.out" 2>&1
lintian_status=$?
grep -v '^running with root privileges' "$WORK/lintian.out" | sed 's/^/    /'
! grep -q '^E:' "$WORK/lintian.out" || fail "lintian reports errors"
[ "$lintian_status" = 0 ] || fail "lintian exited $lintian_status"
note "1. lintian: $(grep -c '^E:' "$WORK/lintian.out") errors," \
    "$(grep -c '^W:' "$WORK/lintian.out") warnings, $(grep -c '^[IP]:' "$WORK/lintian.out") info/pedantic"

# --- 2. install, file locations and modes ------------------------------------------------------
pam_stacks_checksum() { md5sum /etc/pam.d/common-*; }
stacks_before=$(pam_stacks_checksum)
on_exit "dpkg --purge $PACKAGE"
dpkg -i "$DEB" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "dpkg -i failed"; }
[ "$(pam_stacks_checksum)" = "$stacks_before" ] ||
    fail "installing changed /etc/pam.d/common-*: the profile must stay off until enabled"

expect_mode() { # expect_mode PATH "MODE OWNER:GROUP TYPE"
    local got
    got=$(stat -c '%a %U:%G %F' "$1" 2>&1)
    [ "$got" = "$2" ] || fail "$1: '$got', want '$2'"
}
expect_mode "$MODULE_PATH" "644 root:root regular file"
expect_mode "$HELPER_PATH" "711 root:root regular file"
expect_mode "$REFRESHER_PATH" "711 root:root regular file"
expect_mode "${HELPER_PATH%/*}/pam_oauth_keyring_https.so" "644 root:root regular file"
expect_mode /usr/bin/oauth-keyring "755 root:root regular file"
expect_mode "$CONF" "600 root:root regular file"
expect_mode "$STATE_DIR" "755 root:root directory"
expect_mode "$PROFILE" "644 root:root regular file"
AUTOSTART=/etc/xdg/autostart/oauth-keyring-login.desktop # the sign-in after a graphical login
expect_mode "$AUTOSTART" "644 root:root regular file"
dpkg-query -W -f='${Conffiles}\n' "$PACKAGE" | grep -q "^ $AUTOSTART " || fail "$AUTOSTART is not a conffile"
desktop-file-validate "$AUTOSTART" || fail "the packaged $AUTOSTART is not valid"
dpkg-query -W -f='${Conffiles}\n' "$PACKAGE" | grep -q "^ $CONF " || fail "$CONF is not a conffile"
! grep -Ev '^[[:space:]]*(#|$)' "$CONF" || fail "the shipped $CONF configures something"
files=$(dpkg -L "$PACKAGE")
privileged=$(for file in $files; do [ -f "$file" ] && find "$file" -perm /6000; done)
[ -z "$privileged" ] || fail "setuid or setgid files: $privileged"
! grep -E '\.la$|/share/doc/pam_oauth_keyring' <<<"$files" || fail "libtool archive or misplaced docs"
# The module runs the helper at the path compiled in: the installed one, nothing from a build.
strings "$MODULE_PATH" | grep -qx "$HELPER_PATH" || fail "the module does not name $HELPER_PATH"
! strings "$MODULE_PATH" | grep -E "$WORK|PAM_OAUTH_KEYRING_TEST_HELPER" ||
    fail "the installed module names a build path or the test hook"
[ "$(objdump -p "$MODULE_PATH" | awk '/NEEDED/ {print $2}' | sort | tr '\n' ' ')" = \
    "libc.so.6 libpam.so.0 " ] || fail "the module links more than libpam and libc"
# Whatever make install puts under /usr/share/man ends up in the package (man/ may not exist yet).
for page in "$top_srcdir"/man/*.[1-8]; do
    [ -e "$page" ] || continue
    grep -qx "/usr/share/man/man${page##*.}/$(basename "$page").gz" <<<"$files" ||
        fail "$(basename "$page") is not in the package"
done
note "2. installed: module, helper (0711: executable, not readable by users; no setuid), oauth-keyring, $CONF (0600 conffile), $STATE_DIR, $AUTOSTART (conffile)"

# --- 3. pam-auth-update on a scratch root -------------------------------------------------------
# --root reads the profiles and writes common-* and its saved state under ROOT. Its debconf
# answers go to a private database here, so the machine's debconf is not touched either.
ROOT="$WORK/root"
mkdir -p "$ROOT/etc/pam.d" "$ROOT/usr/share/pam-configs" "$ROOT/var/lib/pam" "$ROOT/debconf"
cp /etc/pam.d/common-* "$ROOT/etc/pam.d/"
cp /usr/share/pam-configs/* "$ROOT/usr/share/pam-configs/"
cp -a /var/lib/pam/. "$ROOT/var/lib/pam/"
# As on a machine that never had the package: the profile is new to pam-auth-update.
grep -vx oauth-keyring /var/lib/pam/seen >"$ROOT/var/lib/pam/seen"
cat >"$ROOT/debconf/debconf.conf" <<CONF
Config: config
Templates: templates

Name: config
Driver: File
Filename: $ROOT/debconf/config.dat

Name: templates
Driver: File
Mode: 644
Filename: $ROOT/debconf/templates.dat
CONF
pam_auth_update() {
    DEBCONF_SYSTEMRC="$ROOT/debconf/debconf.conf" DEBIAN_FRONTEND=noninteractive \
        pam-auth-update --root "$ROOT" "$@" >"$WORK/pam-auth-update.out" 2>&1 ||
        fail "pam-auth-update $*: $(cat "$WORK/pam-auth-update.out")"
    ! grep -q "Local modifications" "$WORK/pam-auth-update.out" ||
        fail "this machine's /etc/pam.d/common-* are locally modified: pam-auth-update will not run"
}
pam_auth_update --package # what the postinst runs
grep -qx oauth-keyring "$ROOT/var/lib/pam/seen" || fail "pam-auth-update did not see the profile"
! grep -n pam_oauth_keyring "$ROOT"/etc/pam.d/common-* || fail "the profile is on by default"
note "3. pam-auth-update --package: profile seen, off by default"

pam_auth_update --enable oauth-keyring
line_of() { grep -n -m1 -P "$2" "$ROOT/etc/pam.d/$1" | cut -d: -f1; }
auth_line=$(line_of common-auth '^auth\toptional\tpam_oauth_keyring\.so only_if=gdm-password,login$')
deny_line=$(line_of common-auth '^auth\trequisite\t+pam_deny\.so')
[ -n "$auth_line" ] && [ -n "$deny_line" ] && [ "$auth_line" -gt "$deny_line" ] ||
    fail "common-auth: the module is not an optional line after the pam_deny fallback:
$(grep -v '^#' "$ROOT/etc/pam.d/common-auth")"
session_line=$(line_of common-session '^session\toptional\tpam_oauth_keyring\.so only_if=gdm-password,login$')
unix_line=$(line_of common-session '^session\trequired\tpam_unix\.so')
[ -n "$session_line" ] && [ -n "$unix_line" ] && [ "$session_line" -gt "$unix_line" ] ||
    fail "common-session: the module is not an optional line after pam_unix:
$(grep -v '^#' "$ROOT/etc/pam.d/common-session")"
systemd_line=$(line_of common-session 'pam_systemd\.so')
[ -z "$systemd_line" ] || [ "$session_line" -gt "$systemd_line" ] || fail "module before pam_systemd"
! grep -l pam_oauth_keyring "$ROOT"/etc/pam.d/common-{account,password,session-noninteractive} ||
    fail "the module is in a stack it has no business in"
[ "$(pam_stacks_checksum)" = "$stacks_before" ] || fail "pam-auth-update --root changed /etc/pam.d"
grep -P '^(auth|session)\toptional\tpam_oauth_keyring' "$ROOT"/etc/pam.d/common-* | sed 's/^/    /'
note "3. pam-auth-update --enable oauth-keyring: common-auth line $auth_line, common-session line $session_line"

# --- 4. a real login through what was installed ---------------------------------------------
create_real_user "pokdeb$RANDOM"
# The user's keyring is unlocked, as a desktop session already running for them has it. (In
# common-session the module runs before a service file's own pam_gnome_keyring session line.)
printf '%s' "keyring-$RANDOM" | as_user gnome-keyring-daemon --unlock --components=secrets \
    >/dev/null || fail "cannot unlock the user's keyring"

# The administrator's step: the provider goes into the file the installed module reads by
# default (the profile's lines carry no config=), editing the packaged conffile in place so
# it keeps its owner and mode. The purge removes it, edited or not.
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-debian-test
write_config "$CONF" </dev/null
expect_mode "$CONF" "600 root:root regular file"

# Service files that include the generated stacks, as Debian's login and sudo do; only login is
# in only_if=. The paths are absolute: libpam 1.5.2 resolves a relative @include in /etc/pam.d
# even under pam_start_confdir, which would run this machine's stacks instead.
for name in login sudo; do
    for stack in auth account session; do
        echo "@include $ROOT/etc/pam.d/common-$stack"
    done >"$ROOT/etc/pam.d/$name"
done
login() { # login SERVICE PASSWORD NAME -> $WORK/NAME.out, module log in $WORK/NAME.log
    # --helper "": the installed module starts the installed helper.
    driver_login "$3" --dir "$WORK" --confdir "$ROOT/etc/pam.d" --service "$1" --user "$USER_NAME" \
        --password "$2" --helper "" --session "$RUNTIME" "$BUS"
    sed "s/^/    [$3] /" "$WORK/$3.out" "$WORK/$3.log"
}

login login "wrong-$PASSWORD" wrong-password
grep -q "^pam_authenticate: Authentication failure" "$WORK/wrong-password.out" ||
    fail "a wrong password was not refused"
! grep -q "^\[prompt\]" "$WORK/wrong-password.out" || fail "the module ran after a wrong password"
login sudo "$PASSWORD" sudo
grep -q "^pam_open_session: Success" "$WORK/sudo.out" || fail "sudo: no session"
! grep -q "^\[prompt\]" "$WORK/sudo.out" || fail "the module asked for a code in sudo"
[ "$(idp_stat 's["requests"]["token"]')" = 0 ] || fail "the IdP saw a token request already"
note "4. a wrong password and a service outside only_if= never reach the module"

login login "$PASSWORD" login
grep -q "^pam_open_session: Success" "$WORK/login.out" || fail "login: no session"
grep -q "is now in your keyring" "$WORK/login.out" || fail "login: the user was not told of success"
issued=$(idp_stat 's["issued"]["access_tokens"][-1]')
[ -n "$issued" ] && [ "$(as_user secret-tool lookup service "$SERVICE" username "$USER_NAME")" = "$issued" ] ||
    fail "secret-tool, as the user, does not print the issued token"
[ "$(as_user "$PYTHON" "$WORK/bin/keyring_tool.py" keyring "$SERVICE" "$USER_NAME")" = "$issued" ] ||
    fail "Python keyring, as the user, does not return the issued token"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "not exactly one exchange"
# The refresher the session left is the installed refresher program, running as the user.
refresher=
for pid in $(pgrep -u "$USER_NAME"); do
    [ "$(readlink "/proc/$pid/exe")" = "$REFRESHER_PATH" ] && refresher=$pid
done
[ -n "$refresher" ] || fail "no refresher from $REFRESHER_PATH runs as $USER_NAME: $(pgrep -a -u "$USER_NAME")"
# The login state file: the module's own (root's), readable by the user's group only.
[ "$(stat -c %U:%G:%a "$STATE_DIR/$USER_UID-$SERVICE")" = "root:$(id -gn "$USER_NAME"):640" ] ||
    fail "no login state file of root's for the user in $STATE_DIR"
[ "$(as_user oauth-keyring token --service "$SERVICE")" = "$issued" ] ||
    fail "the installed oauth-keyring does not print the token"
assert_no_secret_in "$WORK"/{login,sudo,wrong-password}.{out,log}
note "4. login through the installed module and helper stored the issued token; oauth-keyring prints it"

# --- 5. purge ------------------------------------------------------------------------------------
kill "$refresher"
dpkg --purge "$PACKAGE" >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "dpkg --purge failed"; }
for path in "$MODULE_PATH" "$HELPER_PATH" "$REFRESHER_PATH" /usr/bin/oauth-keyring "$CONF" "$STATE_DIR" "$PROFILE"; do
    [ ! -e "$path" ] || fail "$path is left after purge"
done
! grep -qx oauth-keyring /var/lib/pam/seen || fail "pam-auth-update still lists the profile"
[ "$(pam_stacks_checksum)" = "$stacks_before" ] || fail "/etc/pam.d/common-* changed"
pass "the package builds (lintian clean of errors), installs, enables with pam-auth-update and logs in"
