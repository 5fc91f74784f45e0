#!/bin/bash
# Configures (once) and builds in the source tree; extra arguments go to configure.
#   tools/build.sh [--demo] [configure arguments]
# --demo builds only what ./demo.sh runs (no unit tests: cmocka is the suite's).
set -eu
cd "$(dirname "$0")/.."
targets=(check TESTS=)
if [ "${1:-}" = --demo ]; then
    targets=(tests/pam_driver tests/pam_oauth_keyring_test.la tests/pam_oauth_keyring_helper_test
        tests/window_attacker)
    shift
fi
if [ ! -f Makefile ]; then
    ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
    ./configure --enable-werror "$@" >/dev/null
fi
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" "${targets[@]}" >/dev/null
