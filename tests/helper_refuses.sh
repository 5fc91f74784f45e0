#!/bin/bash
# The helper (and so the refresher, the same guard: common/process_guard.c: process_protect)
# refuses to work as root or while traced, before it reads its request (SECURITY.md 3.2,
# "Never root"; gap 6):
#   1. run as root: exit 3 (refused);
#   2. run by nobody under strace (a tracer could read every secret it is handed): exit 3;
#   3. the same run without strace reads its request: an empty one is a bad request, exit 2.
# The test build is run from a copy anyone can read, its dumpable start allowed on purpose
# (POK_TEST_DUMPABLE_START=1), so that between 2 and 3 the tracer is the only difference.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the root case, and running as nobody)"
require_tools strace runuser

make_workdir
stage_artifacts
cp "$top_builddir/tests/pam_oauth_keyring_helper_test" "$WORK/bin/readable-helper"
chmod 755 "$WORK/bin/readable-helper"
run_helper() { # AS: the helper's exit status, stdin empty
    local status
    case "$1" in
    root) env -i POK_TEST_DUMPABLE_START=1 "$WORK/bin/readable-helper" </dev/null >/dev/null 2>&1 ;;
    traced) runuser -u nobody -- env -i POK_TEST_DUMPABLE_START=1 \
        strace -f -o /dev/null "$WORK/bin/readable-helper" </dev/null >/dev/null 2>&1 ;;
    nobody) runuser -u nobody -- env -i POK_TEST_DUMPABLE_START=1 \
        "$WORK/bin/readable-helper" </dev/null >/dev/null 2>&1 ;;
    esac
    status=$?
    echo "$status"
}
[ "$(run_helper root)" = 3 ] || fail "as root: exit $(run_helper root), not 3 (refused)"
note "1. as root: refused (exit 3)"
[ "$(run_helper traced)" = 3 ] || fail "traced: exit $(run_helper traced), not 3 (refused)"
note "2. as nobody under strace: refused (exit 3)"
[ "$(run_helper nobody)" = 2 ] || fail "untraced: exit $(run_helper nobody), not 2 (an empty request)"
note "3. as nobody, untraced: it reads the request (empty: exit 2)"
pass "the helper refuses to run as root or traced"
