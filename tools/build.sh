#!/bin/bash
# Configures (once) and builds in the source tree; extra arguments go to configure.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f Makefile ]; then
    ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
    ./configure --enable-werror "$@" >/dev/null
fi
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" check TESTS= >/dev/null
