#!/bin/bash
# Configures (once) and builds in the source tree; extra arguments go to configure.
#   tools/build.sh [--demo] [configure arguments]
# --demo builds only what ./demo.sh runs: the staged test world (tests/Makefile.inc names it, the
# tests stage the same list), no unit tests (cmocka is the suite's).
set -eu
cd "$(dirname "$0")/.."
targets=(check TESTS=)
if [ "${1:-}" = --demo ]; then
    targets=(staged-world)
    shift
fi
if [ ! -f Makefile ]; then
    ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
    ./configure --enable-werror "$@" >/dev/null
fi
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" "${targets[@]}" >/dev/null
