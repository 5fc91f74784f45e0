#!/bin/bash
# Quick start, command 2: installs what is missing, builds, runs the whole test suite.
# As root every test runs (some create a throwaway test user); as a normal user those skip.
# Ends with one line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")"
tools/install-deps.sh suite || { echo "0 passed, 1 failed"; exit 1; }
tools/build.sh || { echo "0 passed, 1 failed"; exit 1; }
make -j"$(nproc)" check 2>&1 | grep -E '^(PASS|FAIL|SKIP|ERROR|XPASS|XFAIL):'
grep -q '^# FAIL: *0$' test-suite.log && grep -q '^# ERROR: *0$' test-suite.log ||
    sed -n '/^FAIL: \|^ERROR: /,$p' test-suite.log
tools/summarize-tests.sh .
