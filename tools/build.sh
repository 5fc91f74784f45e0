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
elif grep -qx 'CMOCKA_LIBS = ' Makefile && pkg-config --exists cmocka; then
    # Configured by ./demo.sh before ./check.sh installed cmocka (the Quick start's order on a
    # fresh machine): configure again, with the same arguments, so the unit tests link it.
    ./config.status --recheck >/dev/null && ./config.status >/dev/null
fi
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" "${targets[@]}" >/dev/null
