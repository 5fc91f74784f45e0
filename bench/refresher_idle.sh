#!/bin/bash
# Refresher idle cost: one login with refresher=yes in a private session (unprivileged user,
# private bus, unlocked throwaway gnome-keyring, local TLS IdP with 1 h access tokens), then the
# refresher is left alone for SECONDS (default 600) and read from /proc every second
# (bench/sample_proc.py):
# RSS (VmRSS), CPU (utime+stime of every thread, clock ticks), wakeups (voluntary context
# switches summed over all threads, and wake episodes). Writes JSON to OUT (default stdout),
# and as root the refresher's smaps summary to OUT.smaps.txt.
#   bench/refresher_idle.sh [SECONDS] [OUT]
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib.sh"
IDLE_SECONDS=${1:-600}
OUT=${2:--}
make_workdir
stage_artifacts
cp "$top_srcdir/bench/sample_proc.py" "$WORK/bin/" && chmod a+r "$WORK/bin/sample_proc.py"
# The first pair lives 20 s, so the refresher refreshes once (in its child) before the window
# opens; that pair and the next live an hour, so none falls inside it.
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 20
SERVICE=pok-bench-idle
prepare_private_user refresher=yes prompt=always </dev/null
echo "$IDLE_SECONDS" >"$WORK/idle.seconds"
cat >"$WORK/idle.sh" <<'SCENARIO'
set -u
PAM_OAUTH_KEYRING_TEST_HELPER="$HELPER" "$DRIVER" --confdir "$WORK/pam.d" --service pok-private \
    --user "$RUN_AS" --log "$WORK/out/idle-login.log" \
    --answer-command "$PYTHON $WORK/bin/browser.py --ca $CA_FILE --mode url" \
    --setenv "DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS" \
    --setenv "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR" >"$WORK/out/idle-login.out" 2>&1
grep -q "is now in your keyring" "$WORK/out/idle-login.out" || { echo "login failed" >&2; exit 1; }
pid=
for _ in $(seq 100); do
    pid=$(pgrep -u "$(id -u)" -f "pam_oauth_keyring_refresher $SERVICE" | head -1)
    [ -n "$pid" ] && break
    sleep 0.1
done
[ -n "$pid" ] || { echo "no refresher" >&2; exit 1; }
idp_control '{"access_ttl": 3600}' >/dev/null
refreshes() { idp_stat 's["requests"]["token_refresh_token"]'; }
for _ in $(seq 300); do [ "$(refreshes)" -ge 1 ] && break; sleep 0.1; done
[ "$(refreshes)" -ge 1 ] || { echo "the refresher did not refresh within 30 s" >&2; exit 1; }
pgrep -u "$(id -u)" -f "pam_oauth_keyring_refresher $SERVICE" | grep -qx "$pid" ||
    { echo "the refresher did not survive its refresh" >&2; exit 1; }
echo "$pid" >"$WORK/out/refresher.pid"
sleep 5 # let start-up settle: the idle figures start here
"$PYTHON" "$WORK/bin/sample_proc.py" "$pid" "$(cat "$WORK/idle.seconds")" 10 |
    "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); d["refreshes_before"] = int(sys.argv[1]); print(json.dumps(d))' \
        "$(refreshes)" >"$WORK/out/idle.json"
SCENARIO
# The refresher is not dumpable: only root reads its smaps. Where its RSS is, by mapping.
(
    for _ in $(seq 600); do [ -s "$WORK/out/refresher.pid" ] && break; sleep 0.5; done
    sleep 8
    pid=$(cat "$WORK/out/refresher.pid" 2>/dev/null) || exit 0
    {
        grep -E '^(Rss|Pss|Shared_Clean|Shared_Dirty|Private_Clean|Private_Dirty|Anonymous):' \
            "/proc/$pid/smaps_rollup"
        echo "mappings: $(grep -c '^Rss:' "/proc/$pid/smaps"); largest Rss by file (KiB):"
        awk '/^[0-9a-f]+-[0-9a-f]+ /{f=$6==""?"[anon]":$6} /^Rss:/{r[f]+=$2} END{for(f in r) print r[f], f}' \
            "/proc/$pid/smaps" | sort -rn | head -15
    } >"$WORK/smaps.txt" 2>&1
) &
run_private_session "$WORK/idle.sh" $((IDLE_SECONDS + 120)) || fail "idle scenario: $(cat "$WORK/out/idle-login.out" 2>/dev/null)"
[ "$OUT" = - ] || cp "$WORK/smaps.txt" "$OUT.smaps.txt" 2>/dev/null
if [ "$OUT" = - ]; then cat "$WORK/out/idle.json"; else cp "$WORK/out/idle.json" "$OUT"; fi
