#!/bin/bash
# CI's Debian 13 (trixie) stage (issue 20), as root on the Debian 12 CI machine; .ci/run runs it:
#   tools/ci-debian13.sh [--release bookworm] RESULTS-DIR
# (--release bookworm: the same in a fresh Debian 12 root, to check a newcomer's Debian 12 by hand.)
# Makes a fresh Debian 13 root with debootstrap (minbase, plus git and ca-certificates), and in
# it, from a fresh clone of this tree's HEAD, runs what a newcomer runs, in order: the README's
# Quick start commands (./demo.sh, then ./check.sh, read from README.md as .ci/run reads them),
# then the Debian package's test (tools/install-deps.sh ci, tests/debian_package.sh). The root
# is removed at the end, also after a failure or an interrupt: processes still running in it are
# killed, its mounts unmounted deepest first, and it is removed with rm --one-file-system.
# Nothing of the host goes in but the clone, the mirror's address, resolv.conf and the host's
# local apt settings (proxy, caching: the files of /etc/apt/apt.conf.d no package owns; another
# package's conffile there would make dpkg ask). The root's / is not a mount point, as in many
# chroots and containers (tests/lib.sh's start_sshd copes with that).
# Downloads are cached between runs in $POK_CI_DEBIAN_CACHE (default /var/cache/pok-ci/debian13,
# or debian12; empty: none): debootstrap's and apt's .deb files only, which both check against
# the fresh Release and package indexes before using them, so a run installs what a newcomer's
# would.
# RESULTS-DIR receives: suite/ (the suite's .trs and .log files, for tools/summarize-tests.sh),
# stages (one NAME=PASS|FAIL line per stage), summary (the stages with their times and the
# suite's closing line) and each stage's output, NAME.out. Exit 0 when every stage passed.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
release=trixie
if [ "${1:-}" = --release ]; then
    release=${2:-}
    shift 2
fi
case "$release" in
trixie) prefix=debian13 ;;
bookworm) prefix=debian12 ;;
*) echo "$0: --release trixie|bookworm" >&2; exit 2 ;;
esac
results=${1:?usage: $0 [--release bookworm] RESULTS-DIR}
mkdir -p "$results/suite" || exit 1
results=$(cd "$results" && pwd)
: >"$results/stages"
: >"$results/summary"
[ "$(id -u)" = 0 ] || { echo "$0: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "$0: debootstrap is missing" >&2; exit 1; }

base=$(mktemp -d "/tmp/pok-ci-$prefix.XXXXXX") || exit 1
root="$base/root"
tree=/root/pam_oauth_keyring # in the root

mounts_in_root() { # the mount points at or under the root, deepest first (a bind of the root itself last)
    awk -v root="$root" '$5 == root || index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r
}
cleanup() {
    local pid mount tries=0 started=$SECONDS
    # A daemon a test left running in the root would keep it busy.
    for pid in /proc/[0-9]*; do
        case "$(readlink "$pid/root" 2>/dev/null)" in
        "$root" | "$root"/*) kill -9 "${pid#/proc/}" 2>/dev/null ;;
        esac
    done
    # One at a time, the deepest first, until none is left (a path may be mounted twice).
    while mount=$(mounts_in_root | head -1) && [ -n "$mount" ] && [ $((tries += 1)) -le 50 ]; do
        umount -l "$mount"
    done
    if [ -n "$(mounts_in_root)" ]; then
        echo "mounts are left under $root, not removing it: $(mounts_in_root | tr '\n' ' ')"
        return
    fi
    rm -rf --one-file-system "$base"
    echo "  cleanup (the root's processes, mounts and files): $((SECONDS - started)) s" | tee -a "$results/summary"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

stage_started=$SECONDS
finish_stage() { # finish_stage NAME STATUS: counts the stage and says how long it took
    local result=PASS
    [ "$2" = 0 ] || result=FAIL
    echo "$prefix-$1=$result" >>"$results/stages"
    echo "$result: $prefix-$1 ($((SECONDS - stage_started)) s)" | tee -a "$results/summary"
    [ "$result" = PASS ] || tail -40 "$results/$1.out"
    stage_started=$SECONDS
}
in_root() { # in_root COMMAND: runs it in the clone inside the root, a clean environment
    chroot "$root" env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        bash -c "cd $tree && $1"
}
time_only() { # time_only NAME: a step that is not a check of its own, only its time
    echo "  $1: $((SECONDS - stage_started)) s" | tee -a "$results/summary"
    stage_started=$SECONDS
}

# --- the root ------------------------------------------------------------------------------------
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources \
    2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' \
    /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}
cache=${POK_CI_DEBIAN_CACHE-/var/cache/pok-ci/$prefix}
make_root() {
    local file
    if [ -n "$cache" ]; then
        mkdir -p "$cache/debootstrap" "$cache/apt-archives/partial" || return 1
    fi
    debootstrap --variant=minbase --include=git,ca-certificates ${cache:+--cache-dir="$cache/debootstrap"} \
        "$release" "$root" "$mirror" || return 1
    grep -q "^VERSION_CODENAME=$release\$" "$root/etc/os-release" || return 1
    cp /etc/resolv.conf "$root/etc/resolv.conf" || return 1
    for file in /etc/apt/apt.conf.d/*; do
        dpkg -S "$file" >/dev/null 2>&1 || cp "$file" "$root/etc/apt/apt.conf.d/" || return 1
    done
    # /dev/shm a tmpfs of its own, 1777 as on a booted system: the bind of /dev brings only the
    # directory under the host's, where chromium (a user's) cannot make shared memory.
    mount -t proc proc "$root/proc" && mount --bind /dev "$root/dev" &&
        mount --bind /dev/pts "$root/dev/pts" &&
        mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm" &&
        mount -t sysfs sys "$root/sys" &&
        mkdir -p "$root/run/user" || return 1
    [ -z "$cache" ] || mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives" || return 1
    git clone -q --no-hardlinks "$top" "$root$tree" &&
        git -C "$root$tree" checkout -q "$(git -C "$top" rev-parse HEAD)"
}
make_root >"$results/root.out" 2>&1
finish_stage root $?
grep -q '=PASS' "$results/stages" || exit 1
echo "  Debian $(cat "$root/etc/debian_version") from $mirror, commit $(git -C "$top" rev-parse --short HEAD)" |
    tee -a "$results/summary"

# --- the README's Quick start, then the package ------------------------------------------------
mapfile -t commands < <(sed -n '/^## Quick start/,/^## /p' "$top/README.md" |
    sed -n '/^```sh$/,/^```$/p' | sed -e '/^```/d' -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d')
[ ${#commands[@]} -gt 0 ] || { echo "no commands in README.md's Quick start"; exit 1; }
for command in "${commands[@]}"; do
    name=$(basename "${command%% *}" .sh)
    in_root "$command" >"$results/$name.out" 2>&1
    finish_stage "$name" $?
done
# The suite's results, for the closing count (the root goes away).
(cd "$root$tree" && find . \( -name '*.trs' -o -name '*.log' \) -not -path './pam_oauth_keyring-*' \
    -print0 | tar --null -T - -cf -) | tar -xf - -C "$results/suite"
echo "  suite: $(tail -1 "$results/check.out" 2>/dev/null)" | tee -a "$results/summary"
grep -hE '^(FAIL|ERROR|SKIP):' "$results/check.out" 2>/dev/null | awk '!seen[$0]++' | sed 's/^/    /' |
    tee -a "$results/summary"

in_root "tools/install-deps.sh ci" >"$results/ci-deps.out" 2>&1
deps_status=$?
time_only "tools/install-deps.sh ci (status $deps_status)"
in_root "top_srcdir=\$PWD top_builddir=\$PWD tests/debian_package.sh" >"$results/package.out" 2>&1
finish_stage package $?
grep -E '^(---|PASS|FAIL|SKIP)' "$results/package.out" | sed 's/^/    /' >>"$results/summary"
# The cache keeps only what the archive still has (superseded versions go).
[ -z "$cache" ] || in_root "apt-get autoclean -qq" >/dev/null 2>&1

# --- the end: removed by cleanup ---------------------------------------------------------------
! grep -q '=FAIL' "$results/stages"
