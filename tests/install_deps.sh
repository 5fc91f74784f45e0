#!/bin/bash
# The Quick start installs what it needs and no more (issue 11, item 11): ./demo.sh asks for
# the demo's packages only (no compiler tooling for analysis, no packaging, no valgrind);
# ./check.sh for the suite's; .ci/run installs the rest before running ./check.sh. Checked on
# the lists and on the scripts' own calls.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

deps="$top_srcdir/tools/install-deps.sh"
demo=$(bash "$deps" --list demo) || fail "no demo list"
suite=$(bash "$deps" --list suite) || fail "no suite list"
ci=$(bash "$deps" --list ci) || fail "no ci list"
for heavy in clang cppcheck lintian valgrind debhelper libcmocka-dev fakeroot; do
    grep -qx "$heavy" <<<"$demo" && fail "the demo installs $heavy"
done
for ci_only in clang cppcheck lintian debhelper fakeroot libclang-rt-14-dev; do
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
grep -q '^tools/install-deps.sh demo ' "$top_srcdir/demo.sh" || fail "demo.sh does not ask for demo"
grep -q '^tools/install-deps.sh suite ' "$top_srcdir/check.sh" || fail "check.sh does not ask for suite"
grep -q '^tools/install-deps.sh ci ' "$top_srcdir/.ci/run" || fail ".ci/run does not ask for ci"
bash "$deps" 2>/dev/null && fail "install-deps.sh without a purpose did not refuse"
pass "demo: $(wc -l <<<"$demo") packages, suite: $(wc -l <<<"$suite"), ci: $(wc -l <<<"$ci")"
