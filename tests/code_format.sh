#!/bin/bash
# Every C file follows the checked-in .clang-format, as clang-format 14 (Debian 12's) applies it.
# The version is pinned: others format some macros differently (Debian 13's clang-format 19
# reflows common/protocol_table.c's table), so the tree can match only one of them. Where no
# clang-format 14 is installed (Debian 13 has 17, 18, 19 and 22) the check skips and says so;
# .ci/run runs it on its Debian 12 host, where tools/install-deps.sh suite installs it.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
PINNED=14
formatter= found=
for candidate in clang-format-$PINNED clang-format; do
    command -v "$candidate" >/dev/null || continue
    version=$("$candidate" --version | sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p')
    found="$found $candidate ($version)"
    [ "$version" = "$PINNED" ] && formatter=$candidate && break
done
[ -n "$formatter" ] || skip "needs clang-format $PINNED, the version the tree is formatted with" \
    "(found:${found:- none}); other versions format some macros differently; CI checks on Debian 12"
cd "$top_srcdir" || fail "no source dir"
files=$(ls common/*.[ch] pam_module/*.[ch] oauth/*.[ch] store/*.[ch] helper/*.[ch] refresher/*.[ch] cli/*.[ch] tests/*.c tests/unit/*.c fuzz/*.[ch] 2>/dev/null)
[ -n "$files" ] || fail "no C files found"
# shellcheck disable=SC2086
"$formatter" --dry-run --Werror $files 2>&1 | head -40
[ "${PIPESTATUS[0]}" = 0 ] || fail "run: $formatter -i \$(git ls-files '*.[ch]')"
pass "$(echo "$files" | wc -l) C files formatted (clang-format $PINNED)"
