#!/bin/bash
# Installs the Debian packages one purpose needs, and nothing when they are all there, on
# Debian 12 (bookworm) or 13 (trixie): the release comes from VERSION_CODENAME in
# /etc/os-release, and the few names that differ between the two are listed per release below.
# As a normal user it uses sudo, only if something is missing.
#
#   tools/install-deps.sh demo    what ./demo.sh needs: build, and the components a login uses
#   tools/install-deps.sh suite   what ./check.sh needs: the demo's, plus the tests' tools
#   tools/install-deps.sh ci      what .ci/run adds: sanitizers, static analysis, fuzzing, the
#                                 Debian package and lintian
#   tools/install-deps.sh --list PURPOSE   prints the packages, installs nothing
#   --release bookworm|trixie (before PURPOSE) uses that release's names instead of this machine's
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
    # unit tests
    libcmocka-dev
    # the real consumers and tools the tests drive
    python3-keyring python3-secretstorage git valgrind
    # the man pages and their test
    man-db groff-base
    # tests/qr_code.sh reads the drawing back
    zbar-tools
    # tests/helper_refuses.sh: the helper refuses to run traced
    strace
    # tests/stalled_runtime_dir.sh: a user's FUSE mount that never answers (fusermount3)
    fuse3
    # tests/ssh_session.sh: a real OpenSSH server (installing it starts nothing here; the test
    # runs its own on a free port); the XDG autostart entry's check (desktop-file-validate)
    openssh-server openssh-client desktop-file-utils
    # tests/signin_browser_chromium.sh: a real browser (headless, about 370 MB with its
    # libraries), opened through xdg-open, trusting the test CA in the user's NSS database; its
    # setuid sandbox helper, for where the kernel refuses chromium a user namespace (in a chroot
    # always, in some containers): without either chromium exits with "No usable sandbox"
    chromium chromium-sandbox xdg-utils libnss3-tools
)
RELEASE_DEMO=() RELEASE_SUITE=() RELEASE_CI=()
CI=(
    # the sanitizer build, the clang static analyzer, cppcheck, libFuzzer
    # (and libFuzzer's runtime, whose name has clang's version: per release, below)
    clang clang-tools cppcheck
    # the Debian package and its test (tests/debian_package.sh)
    debhelper dh-autoreconf dpkg-dev fakeroot lintian
    # make fleet's plot (bench/fleet.c, docs/FLEET.md)
    gnuplot-nox
)

list=false
release=
while [ $# -gt 0 ]; do
    case "$1" in
    --list) list=true ;;
    --release)
        release=${2:-}
        shift
        ;;
    *) break ;;
    esac
    shift
done
if [ -z "$release" ]; then
    release=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
fi
# What differs between the releases.
case "$release" in
bookworm) # Debian 12
    # tests/code_format.sh runs with clang-format 14, the version the tree is formatted with.
    RELEASE_SUITE=(clang-format)
    RELEASE_CI=(libclang-rt-14-dev)
    ;;
trixie) # Debian 13
    # Its pam.pc names audit in Requires.private and libpam0g-dev does not pull in libaudit-dev
    # (configure copes without it too). It has no clang-format 14 (17, 18, 19, 22): the format
    # check skips here and says why; CI runs it on Debian 12.
    RELEASE_DEMO=(libaudit-dev)
    RELEASE_CI=(libclang-rt-19-dev)
    ;;
*)
    echo "$0: this is '${release:-an unknown release}'; the package lists are for Debian 12" \
        "(bookworm) and 13 (trixie): pass --release bookworm|trixie to use one of them" >&2
    exit 2
    ;;
esac
DEMO+=("${RELEASE_DEMO[@]}")
SUITE+=("${RELEASE_SUITE[@]}")
CI+=("${RELEASE_CI[@]}")
case "${1:-}" in
demo) PACKAGES=("${DEMO[@]}") ;;
suite) PACKAGES=("${DEMO[@]}" "${SUITE[@]}") ;;
ci) PACKAGES=("${DEMO[@]}" "${SUITE[@]}" "${CI[@]}") ;;
*)
    echo "usage: $0 [--list] [--release bookworm|trixie] demo|suite|ci" >&2
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
