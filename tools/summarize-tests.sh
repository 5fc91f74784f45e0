#!/bin/bash
# Reads automake's .trs/.log files after `make check` and prints one line:
#   N passed, N failed, N skipped
# cmocka programs count their test cases; every other test counts once. A program that died
# without a cmocka summary counts as one failure. Exits 1 when anything failed or none ran.
#   summarize-tests.sh [DIR]... [NAME=PASS|FAIL]...
# DIRs are build trees (default .); NAME=RESULT adds a check run outside make check.
set -u
passed=0 failed=0 skipped=0
count_tree() {
    local trs log result cases_passed cases_failed cases_skipped
    for trs in $(find "$1" -name '*.trs' -not -path '*/pam_oauth_keyring-*' | sort); do
        log=${trs%.trs}.log
        result=$(sed -n 's/^:test-result: //p' "$trs")
        cases_passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
        cases_failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
        cases_skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
        if [ -n "$cases_passed" ]; then
            passed=$((passed + cases_passed))
            failed=$((failed + ${cases_failed:-0}))
            skipped=$((skipped + ${cases_skipped:-0}))
            [ "$result" = PASS ] || [ -n "$cases_failed" ] || failed=$((failed + 1))
            continue
        fi
        case "$result" in
        PASS | XFAIL) passed=$((passed + 1)) ;;
        SKIP) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
        esac
    done
}
trees=()
for argument in "$@"; do
    case "$argument" in
    *=PASS) passed=$((passed + 1)) ;;
    *=*) failed=$((failed + 1)) ;;
    *) trees+=("$argument") ;;
    esac
done
[ ${#trees[@]} -gt 0 ] || trees=(.)
for tree in "${trees[@]}"; do
    count_tree "$tree"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
