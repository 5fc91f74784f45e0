#!/bin/bash
# What `make install` leaves (issue 11, item 10): no libtool .la file beside the PAM module or
# the helper's https module (PAM modules never ship one); the helper mode 0711; and the
# module's default configuration under this build's $sysconfdir, as Linux-PAM's own modules
# do, so a --prefix or --sysconfdir build never reads the system's file.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

make_workdir
# A make of its own, not a part of the `make check` that runs this test.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s -C "$top_builddir" install DESTDIR="$WORK/root" >"$WORK/install.out" 2>&1 ||
    fail "make install: $(tail -5 "$WORK/install.out")"
module=$(find "$WORK/root" -name pam_oauth_keyring.so -path '*security*')
helper=$(find "$WORK/root" -name pam_oauth_keyring_helper)
refresher=$(find "$WORK/root" -name pam_oauth_keyring_refresher)
[ -n "$module" ] && [ -n "$helper" ] || fail "make install installed no module or no helper"
[ "$(dirname "$refresher")" = "$(dirname "$helper")" ] ||
    fail "the refresher is not installed beside the helper: ${refresher:-none}"
# oauth-keyring is the libc-only front end (issue 23); the full CLI it runs lies beside the
# helper, at the path the front end has compiled in.
cli=$(find "$WORK/root" -name oauth-keyring -path '*/bin/*')
full_cli=$(find "$WORK/root" -name oauth-keyring-full)
[ -n "$cli" ] || fail "make install installed no oauth-keyring"
[ "$(dirname "$full_cli")" = "$(dirname "$helper")" ] ||
    fail "the full CLI is not installed beside the helper: ${full_cli:-none}"
strings "$cli" | grep -qxF "${full_cli#"$WORK/root"}" ||
    fail "the front end does not run the installed full CLI ${full_cli#"$WORK/root"}"
if ldd "$cli" | grep -Eq 'libglib|libgio|libsecret|libcurl|libjson'; then
    fail "the front end links more than libc: $(ldd "$cli" | tr '\n' ' ')"
fi
las=$(find "$WORK/root" -name '*.la')
[ -z "$las" ] || fail "make install left libtool files: ${las//$WORK\/root/}"
[ "$(stat -c %a "$helper")" = 711 ] || fail "the helper is installed $(stat -c %a "$helper"), not 711"
[ "$(stat -c %a "$refresher")" = 711 ] ||
    fail "the refresher is installed $(stat -c %a "$refresher"), not 711"
read -r configfile sysconfdir < <(make -s --no-print-directory -C "$top_builddir" print-configfile |
    grep -v '^make')
[ "$configfile" = "$sysconfdir/security/pam_oauth_keyring.conf" ] ||
    fail "the default configuration $configfile is not under sysconfdir $sysconfdir"
strings "$module" | grep -qxF "$configfile" ||
    fail "the installed module does not default to $configfile"
# The autostart entry for the sign-in after a graphical login: under sysconfdir, valid.
autostart="$WORK/root$sysconfdir/xdg/autostart/oauth-keyring-login.desktop"
[ "$(stat -c %a "$autostart" 2>&1)" = 644 ] || fail "no autostart entry at $sysconfdir/xdg/autostart (or not 0644)"
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$autostart" || fail "the installed autostart entry is not valid"
fi
make -s -C "$top_builddir" uninstall DESTDIR="$WORK/root" >/dev/null 2>&1 || fail "make uninstall"
left=$(find "$WORK/root" -type f)
[ -z "$left" ] || fail "make uninstall left: ${left//$WORK\/root/}"
pass "make install: no .la, helper and refresher 0711, the front end libc only and its full CLI beside the helper, default configuration $configfile, the autostart entry; uninstall removes all"
