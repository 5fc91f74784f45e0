#!/bin/bash
# docs/SECURITY.md names the test behind each claim (issue 19, finding 7): every test it names
# must exist - a script tests/NAME.sh (or tests/idp/NAME.sh), a unit test file
# tests/unit/NAME.c, a helper tests/NAME.py, or a unit test function test_NAME defined in
# tests/unit/*.c - so a renamed or removed test cannot leave a claim pointing at nothing.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
doc="$top_srcdir/docs/SECURITY.md"
missing=()
while read -r script; do
    [ -f "$top_srcdir/tests/$script" ] || [ -f "$top_srcdir/tests/idp/$script" ] ||
        [ -f "$top_srcdir/$script" ] || missing+=("$script")
done < <(grep -oE '\b[a-z0-9_]+\.(sh|py)\b' "$doc" | sort -u)
while read -r name; do
    [ -f "$top_srcdir/tests/unit/$name.c" ] ||
        grep -qE "^static void $name\(" "$top_srcdir"/tests/unit/*.c || missing+=("$name")
done < <(grep -oE '\btest_[a-z0-9_]+\b' "$doc" | sort -u)
[ ${#missing[@]} = 0 ] || fail "SECURITY.md names tests that do not exist: ${missing[*]}"
pass "every test SECURITY.md names exists ($(grep -oE '\b[a-z0-9_]+\.(sh|py)\b|\btest_[a-z0-9_]+\b' "$doc" | sort -u | wc -l) names)"
