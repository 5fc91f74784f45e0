#!/bin/bash
# The installed module exports only the PAM entry points and links libpam and libc only:
# no libcurl, GLib, libsecret or json-c is ever loaded into gdm, sshd or login.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

module="$top_builddir/.libs/pam_oauth_keyring.so"
[ -f "$module" ] || fail "module not built: $module"

exports=$(nm -D --defined-only "$module" | awk '{print $3}' | sort | tr '\n' ' ')
[ "$exports" = "pam_sm_authenticate pam_sm_close_session pam_sm_open_session pam_sm_setcred " ] ||
    fail "unexpected exports: $exports"

needed=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
if [ "${sanitizers:-no}" = yes ]; then # the sanitizer runtimes come along, nothing else
    needed=$(for library in $needed; do echo "$library"; done | grep -Ev '^lib(asan|ubsan)\.so' |
        tr '\n' ' ')
fi
[ "$needed" = "libc.so.6 libpam.so.0 " ] || fail "unexpected libraries: $needed"

# And it really loads: dlopen resolves every symbol now (RTLD_NOW) and finds the entry points.
# (An ASan-built module loads only into an ASan-built program: the PAM tests do that.)
[ "${sanitizers:-no}" = yes ] || /usr/bin/python3 - "$module" <<'PY' || fail "the module does not load with RTLD_NOW"
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)
for name in ("pam_sm_authenticate", "pam_sm_setcred", "pam_sm_open_session", "pam_sm_close_session"):
    getattr(lib, name)
PY

# The helper is a plain program: never setuid or setgid, as built and as installed.
helper="$top_builddir/helper/pam_oauth_keyring_helper"
[ ! -u "$helper" ] && [ ! -g "$helper" ] || fail "the helper has a setuid/setgid bit"

# libcurl (and the TLS, Kerberos and LDAP libraries it brings) is loaded only by a helper that
# talks to the provider: the helper and oauth-keyring do not link it, the https module does,
# and that module exports only its two entry points.
https_module="$top_builddir/oauth/.libs/pam_oauth_keyring_https.so"
for program in "$helper" "$top_builddir/refresher/pam_oauth_keyring_refresher" \
    "$top_builddir/cli/oauth-keyring-full"; do
    ldd "$program" | grep -q 'libsecret-1' || fail "ldd does not list libsecret for $program"
    ! ldd "$program" | grep -E 'libcurl|libssl|libgnutls|libkrb5' ||
        fail "$program loads the network libraries at start-up"
done
# oauth-keyring itself is the front end (issue 23): a token from the refresher costs a process
# start and one socket round trip, so it loads libc and nothing else.
# What it names itself (NEEDED), the sanitizer runtimes aside in an --enable-sanitizers build
# (ldd would list theirs too: libm, libgcc_s, libstdc++).
front_libraries=$(readelf -d "$top_builddir/cli/oauth-keyring" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
    grep -Ev '^lib(c|asan|ubsan)\.so' | tr '\n' ' ')
[ -z "$front_libraries" ] || fail "the front end oauth-keyring links more than libc: $front_libraries"
ldd "$https_module" | grep -q libcurl || fail "the https module does not link libcurl"
https_exports=$(nm -D --defined-only "$https_module" | awk '{print $3}' | sort | tr '\n' ' ')
[ "$https_exports" = "pok_https_post_form pok_https_transport_abi " ] ||
    fail "the https module exports: $https_exports"
pass "module exports only pam_sm_* and needs only: $needed; helper and CLI start without libcurl; the front end is libc only"
