#!/bin/bash
# pam_oauth_keyring benchmarks (issue 5). Run as root from the top of a built tree
# (`make -j2 check TESTS=` builds the test module, helper and driver):
#   bench/run.sh [--runs N] [--cycles N] [--cycle-runs N] [--only ROWS] [--idle-seconds S] [--idle-json FILE] [--update-doc]
# Prints one table. Each figure is measured alternately with its baseline in the same run
# (rotated order, N rounds, default 20): medians, IQR and min-max; the ratio is the result.
# The login-cycles row runs --cycle-runs (default 3) separate 1000-login processes.
# The refresher-idle row runs in its own private session in parallel with the others
# (--idle-seconds, default 600; 0 skips it; --idle-json reuses a refresher_idle.sh result).
# --only ROWS (comma-separated: full_login,session_valid,cli_token,cli_token_refresher,blackhole,
# cycles) runs just
# those rows (add --idle-seconds 0 to skip the idle row). --update-doc also replaces the table
# in docs/PERFORMANCE.md.
set -u
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=${top_builddir:-$top_srcdir}
RUNS=20 CYCLES=1000 CYCLE_RUNS=3 ONLY= IDLE_SECONDS=600 IDLE_JSON= UPDATE_DOC=no
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=$2; shift ;;
    --cycles) CYCLES=$2; shift ;;
    --cycle-runs) CYCLE_RUNS=$2; shift ;;
    --idle-seconds) IDLE_SECONDS=$2; shift ;;
    --idle-json) IDLE_JSON=$2; shift ;;
    --only) ONLY=$2; shift ;; # comma-separated: full_login,session_valid,cli_token,cli_token_refresher,blackhole,cycles
    --update-doc) UPDATE_DOC=yes ;;
    *) echo "usage: $0 [--runs N] [--cycles N] [--cycle-runs N] [--only ROWS] [--idle-seconds S] [--idle-json FILE] [--update-doc]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root (it runs the logins as nobody)" >&2; exit 2; }
. "$top_srcdir/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon secret-tool curl stdbuf
make_workdir
stage_artifacts

if [ -z "$IDLE_JSON" ] && [ "$IDLE_SECONDS" != 0 ]; then
    IDLE_JSON="$WORK/idle.json"
    note "refresher idle for $IDLE_SECONDS s, in parallel (bench/refresher_idle.sh)"
    top_srcdir=$top_srcdir top_builddir=$top_builddir bash "$top_srcdir/bench/refresher_idle.sh" "$IDLE_SECONDS" "$IDLE_JSON" >"$WORK/idle.log" 2>&1 &
    IDLE_PID=$!
    on_exit "kill $IDLE_PID"
fi

start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-bench
prepare_private_user refresher=no </dev/null
sed 's/refresher=no/refresher=no prompt=always/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-always"
write_config "$WORK/pam-blackhole.conf" <<'CONF'
timeout = 2
keyring_service = pok-bench-blackhole
CONF
sed "s|config=$WORK/pam.conf|config=$WORK/pam-blackhole.conf|" "$WORK/pam.d/pok-always" \
    >"$WORK/pam.d/pok-blackhole"
# The token from the refresher's memory (issue 23): a service of its own whose login starts
# the refresher.
write_config "$WORK/pam-fast.conf" <<'CONF'
keyring_service = pok-bench-fast
CONF
sed "s|config=$WORK/pam.conf|config=$WORK/pam-fast.conf|; s/refresher=no/refresher=yes/" \
    "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-fast"
chown nobody "$WORK/pam-blackhole.conf" "$WORK/pam-fast.conf"
chmod -R a+rX "$WORK/pam.d"
cp "$top_srcdir/bench/scenario.py" "$WORK/bin/" && chmod a+r "$WORK/bin/scenario.py"
only_json=$(printf '%s' "$ONLY" | "$PYTHON" -c 'import json,sys; print(json.dumps([x for x in sys.stdin.read().split(",") if x]))')
printf '{"runs": %d, "cycles": %d, "cycle_runs": %d, "blackhole_runs": 10, "only": %s}\n' \
    "$RUNS" "$CYCLES" "$CYCLE_RUNS" "$only_json" >"$WORK/bench.json"
chmod a+r "$WORK/bench.json"
echo '"$PYTHON" "$WORK/bin/scenario.py"' >"$WORK/bench-session.sh"
note "alternating runs: $RUNS per arm; $CYCLES login cycles"
run_private_session "$WORK/bench-session.sh" 3000 || fail "the bench session failed"
[ -s "$WORK/out/results.json" ] || fail "no results"
cp "$WORK/out/results.json" "$top_builddir/bench/last-results.json" 2>/dev/null || true

if [ -n "${IDLE_PID:-}" ]; then
    note "waiting for the refresher-idle run"
    wait "$IDLE_PID" || note "refresher idle failed: $(tail -3 "$WORK/idle.log")"
fi
args=(--results "$WORK/out/results.json" --runs "$RUNS" --cycles "$CYCLES")
[ -n "$IDLE_JSON" ] && args+=(--idle-expected)
[ -n "$IDLE_JSON" ] && [ -s "$IDLE_JSON" ] && args+=(--idle "$IDLE_JSON")
[ "$UPDATE_DOC" = yes ] && args+=(--update-doc "$top_srcdir/docs/PERFORMANCE.md")
"$PYTHON" "$top_srcdir/bench/report.py" "${args[@]}"
