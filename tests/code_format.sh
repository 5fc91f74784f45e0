#!/bin/bash
# Every C file follows the checked-in .clang-format.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools clang-format
cd "$top_srcdir" || fail "no source dir"
files=$(ls common/*.[ch] pam_module/*.[ch] oauth/*.[ch] store/*.[ch] helper/*.[ch] refresher/*.[ch] cli/*.[ch] tests/*.c tests/unit/*.c fuzz/*.[ch] 2>/dev/null)
[ -n "$files" ] || fail "no C files found"
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files 2>&1 | head -40
[ "${PIPESTATUS[0]}" = 0 ] || fail "run: clang-format -i \$(git ls-files '*.[ch]')"
pass "$(echo "$files" | wc -l) C files formatted"
