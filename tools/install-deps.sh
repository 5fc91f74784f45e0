#!/bin/bash
# Installs the Debian 12 packages one purpose needs, and nothing when they are all there.
# As a normal user it uses sudo, only if something is missing.
#
#   tools/install-deps.sh demo    what ./demo.sh needs: build, and the components a login uses
#   tools/install-deps.sh suite   what ./check.sh needs: the demo's, plus the tests' tools
#   tools/install-deps.sh ci      what .ci/run adds: sanitizers, static analysis, fuzzing, the
#                                 Debian package and lintian
#   tools/install-deps.sh --list PURPOSE   prints the packages, installs nothing
set -eu

DEMO=(
    # build
    build-essential autoconf automake libtool pkg-config binutils
    libpam0g-dev libcurl4-openssl-dev libjson-c-dev libsecret-1-dev libglib2.0-dev
    libqrencode-dev
    # the real components a login runs: the keyring, the bus, the test provider, secret-tool
    gnome-keyring libpam-gnome-keyring libpam-modules libsecret-tools dbus dbus-daemon
    python3 openssl curl ca-certificates passwd util-linux procps
)
SUITE=(
    # unit tests and the format check
    libcmocka-dev clang-format
    # the real consumers and tools the tests drive
    python3-keyring python3-secretstorage git valgrind
    # the man pages and their test
    man-db groff-base
    # tests/qr_code.sh reads the drawing back
    zbar-tools
    # tests/stalled_runtime_dir.sh: a user's FUSE mount that never answers (fusermount3)
    fuse3
    # tests/ssh_session.sh: a real OpenSSH server (installing it starts nothing here; the test
    # runs its own on a free port); the XDG autostart entry's check (desktop-file-validate)
    openssh-server openssh-client desktop-file-utils
    # tests/signin_browser_chromium.sh: a real browser (headless, about 370 MB with its
    # libraries), opened through xdg-open, trusting the test CA in the user's NSS database
    chromium xdg-utils libnss3-tools
)
CI=(
    # the sanitizer build, the clang static analyzer, cppcheck, libFuzzer
    clang clang-tools cppcheck libclang-rt-14-dev
    # the Debian package and its test (tests/debian_package.sh)
    debhelper dh-autoreconf dpkg-dev fakeroot lintian
    # make fleet's plot (bench/fleet.c, docs/FLEET.md)
    gnuplot-nox
)

list=false
if [ "${1:-}" = --list ]; then
    list=true
    shift
fi
case "${1:-}" in
demo) PACKAGES=("${DEMO[@]}") ;;
suite) PACKAGES=("${DEMO[@]}" "${SUITE[@]}") ;;
ci) PACKAGES=("${DEMO[@]}" "${SUITE[@]}" "${CI[@]}") ;;
*)
    echo "usage: $0 [--list] demo|suite|ci" >&2
    exit 2
    ;;
esac
if $list; then
    printf '%s\n' "${PACKAGES[@]}"
    exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
if [ "$(id -u)" = 0 ]; then
    SUDO=()
else
    command -v sudo >/dev/null || {
        echo "missing packages and no sudo: ask an admin to install ${missing[*]}" >&2
        exit 1
    }
    SUDO=(sudo)
fi
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
