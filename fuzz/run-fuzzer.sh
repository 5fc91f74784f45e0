#!/bin/bash
# Runs one fuzzer for fuzz/Makefile.fuzz and prints one line of figures, or the report and
# the saved input when it found something.
#
#   run-fuzzer.sh smoke|long BUILD FUZZER SECONDS MAX_LEN SRCDIR
#   run-fuzzer.sh replay     BUILD FUZZER 0       MAX_LEN SRCDIR
#
# smoke and long fuzz for SECONDS over the seeds (fuzz/corpus/FUZZER, only read) and the
# working corpus (BUILD/corpus/FUZZER, where new inputs go and which later runs start from).
# replay runs each file of fuzz/findings/FUZZER once. The full log is in BUILD/logs/.
set -u
mode=$1 build=$2 fuzzer=$3 seconds=$4 max_len=$5 srcdir=$6

binary=$build/$fuzzer
seeds=$srcdir/fuzz/corpus/$fuzzer
work=$build/corpus/$fuzzer
artifacts=$build/artifacts/$fuzzer
log=$build/logs/$fuzzer-$mode.log
dict=$srcdir/fuzz/$fuzzer.dict
mkdir -p "$work" "$artifacts" "$build/logs"

# Leaks are findings; UBSan explains itself; GLib allocates with plain malloc so LSan sees
# everything (fuzz_answer.c sets the same when run by hand).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export G_SLICE=always-malloc

options=(-max_len="$max_len" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
    -artifact_prefix="$artifacts/")
[ -f "$dict" ] && options+=(-dict="$dict")

if [ "$mode" = replay ]; then
    status=0 count=0
    for input in "$srcdir/fuzz/findings/$fuzzer"/*; do
        [ -f "$input" ] || continue
        case "$input" in *.md | *.txt) continue ;; esac
        count=$((count + 1))
        if "$binary" "${options[@]}" "$input" >"$log" 2>&1; then
            echo "$fuzzer: $input no longer fails"
        else
            echo "$fuzzer: $input still fails:"
            grep -m3 -E 'ERROR: |property violated|runtime error' "$log" | sed 's/^/    /'
            status=1
        fi
    done
    [ "$count" -gt 0 ] || echo "$fuzzer: no saved findings"
    exit $status
fi

start=$(date +%s)
"$binary" "${options[@]}" -max_total_time="$seconds" "$work" "$seeds" >"$log" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
if [ $rc -ne 0 ]; then
    echo "FAIL: $fuzzer ($mode) exited $rc after ${elapsed}s; full log: $log"
    grep -m5 -E 'ERROR: |property violated|runtime error|Test unit written' "$log" | sed 's/^/    /'
    echo "    last lines of the log:"
    tail -n 30 "$log" | sed 's/^/    /'
    exit 1
fi

# libFuzzer's last status line: "#N DONE cov: C ft: F corp: U/S lim: ..." (or the last
# pulse/NEW line when the run ended otherwise), and the -print_final_stats lines.
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
field() { sed -n "s/.* $1: \([^ ]*\).*/\1/p" <<<"$last"; }
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
files=$(find "$work" -type f | wc -l)
echo "$fuzzer ($mode): ${elapsed}s, $(stat number_of_executed_units) execs," \
    "$(stat average_exec_per_sec) exec/s, cov: $(field cov) ft: $(field ft)," \
    "corp: $(field corp) (in memory), $files files in $work, peak RSS $(stat peak_rss_mb) MB," \
    "no findings"
