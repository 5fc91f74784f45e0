#!/bin/bash
# Installs what building, testing and the demo need on Debian 12, and nothing when all of it
# is there already. As a normal user it uses sudo, only if something is missing.
set -eu

PACKAGES=(
    # build
    build-essential autoconf automake libtool pkg-config binutils
    libpam0g-dev libcurl4-openssl-dev libjson-c-dev libsecret-1-dev libglib2.0-dev
    libcmocka-dev clang-format clang clang-tools cppcheck libclang-rt-14-dev
    # the real components the tests and the demo run
    gnome-keyring libpam-gnome-keyring libpam-modules libsecret-tools dbus dbus-daemon
    python3 python3-keyring python3-secretstorage openssl curl ca-certificates git
    passwd util-linux procps valgrind
    # the man pages and their test
    man-db groff-base
    # the Debian package and its test (tests/debian_package.sh)
    debhelper dh-autoreconf dpkg-dev fakeroot lintian
    # the qr argument: libqrencode draws the code, zbarimg reads it back in tests/qr_code.sh
    libqrencode-dev zbar-tools
    # tests/stalled_runtime_dir.sh: a user's FUSE mount that never answers (fusermount3)
    fuse3
)

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
