#!/bin/bash
# The Quick start installs what it needs and no more (issue 11, item 11): ./demo.sh asks for
# the demo's packages only (no compiler tooling for analysis, no packaging, no valgrind);
# ./check.sh for the suite's; .ci/run installs the rest before running ./check.sh. Checked on
# the lists and on the scripts' own calls.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

deps="$top_srcdir/tools/install-deps.sh"
# Each release's lists (Debian 12 and 13 name a few packages differently), this machine's last.
this_release=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
for release in bookworm trixie ""; do
    [ -n "$release" ] || case "$this_release" in bookworm | trixie) ;; *) continue ;; esac
    demo=$(bash "$deps" ${release:+--release "$release"} --list demo) || fail "no demo list ($release)"
    suite=$(bash "$deps" ${release:+--release "$release"} --list suite) || fail "no suite list ($release)"
    ci=$(bash "$deps" ${release:+--release "$release"} --list ci) || fail "no ci list ($release)"
    case "${release:-$this_release}" in
    bookworm) fuzzer_runtime=libclang-rt-14-dev ;;
    trixie)
        fuzzer_runtime=libclang-rt-19-dev
        # pam.pc requires audit there, and libpam0g-dev does not pull it in.
        grep -qx libaudit-dev <<<"$demo" || fail "the demo does not install libaudit-dev on trixie"
        ;;
    esac
    for heavy in clang cppcheck lintian valgrind debhelper libcmocka-dev fakeroot; do
        grep -qx "$heavy" <<<"$demo" && fail "the demo installs $heavy ($release)"
    done
    for ci_only in clang cppcheck lintian debhelper fakeroot "$fuzzer_runtime"; do
        grep -qx "$ci_only" <<<"$suite" && fail "./check.sh installs $ci_only, which only CI needs"
        grep -qx "$ci_only" <<<"$ci" || fail "CI does not install $ci_only"
    done
    for needed in gnome-keyring libsecret-tools libqrencode-dev python3 openssl curl; do
        grep -qx "$needed" <<<"$demo" || fail "the demo does not install $needed"
    done
    for needed in libcmocka-dev valgrind zbar-tools fuse3 python3-keyring git; do
        grep -qx "$needed" <<<"$suite" || fail "./check.sh does not install $needed"
    done
    while read -r package; do
        grep -qx "$package" <<<"$suite" || fail "the suite's list lacks the demo's $package"
    done <<<"$demo"
done
grep -q '^tools/install-deps.sh demo ' "$top_srcdir/demo.sh" || fail "demo.sh does not ask for demo"
grep -q '^tools/install-deps.sh suite ' "$top_srcdir/check.sh" || fail "check.sh does not ask for suite"
grep -q '^tools/install-deps.sh ci ' "$top_srcdir/.ci/run" || fail ".ci/run does not ask for ci"
bash "$deps" 2>/dev/null && fail "install-deps.sh without a purpose did not refuse"
pass "${this_release:-this release}: demo: $(wc -l <<<"$demo") packages, suite: $(wc -l <<<"$suite"), ci: $(wc -l <<<"$ci")"
