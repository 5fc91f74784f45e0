#!/bin/bash
# cppcheck and the clang static analyzer (scan-build) over the module, the user-side code, the
# command and the test programs, in a scratch clone of HEAD. Exit 0 only when both are clean.
set -u
cd "$(dirname "$0")/.."
scratch=$(mktemp -d /tmp/pok-analysis.XXXXXX)
trap 'rm -rf --one-file-system "$scratch"' EXIT
status=0

echo "== cppcheck"
# cppcheck 2.10's preprocessor splits a macro's arguments after expanding the F(...) field rules
# inside them (common/protocol_table.h), so it cannot expand the request table: it skips
# protocol_table.c's tables, which gcc and scan-build below read correctly.
cppcheck --enable=warning,performance,portability --inline-suppr --error-exitcode=1 --quiet \
    --suppress=missingIncludeSystem -I . \
    --suppress=preprocessorErrorDirective:common/protocol_table.h \
    -DPOK_HELPER_PATH='"/helper"' -DPOK_DEFAULT_CONFIG='"/config"' -DPOK_STATE_DIR='"/state"' \
    -DPOK_MODULE_PATH='"/module.so"' -DPOK_AUTOSTART_PATH='"/autostart.desktop"' \
    common pam_module oauth store helper refresher cli tests/pam_driver.c || status=1

echo "== scan-build"
git clone -q . "$scratch/tree" && cd "$scratch/tree" || exit 1
./autogen.sh >/dev/null 2>&1 && scan-build ./configure --enable-werror >/dev/null 2>&1 || exit 1
scan-build -o "$scratch/report" --status-bugs make -j"$(nproc)" all >"$scratch/build.log" 2>&1 &&
    scan-build -o "$scratch/report" --status-bugs make -j"$(nproc)" check TESTS= \
        >>"$scratch/build.log" 2>&1 || { grep -E "warning:" "$scratch/build.log"; status=1; }
grep -E "^scan-build: (No bugs found|[0-9]+ bugs? found)" "$scratch/build.log" | tail -1
exit $status
