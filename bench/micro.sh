#!/usr/bin/env bash
# bench/micro.sh - per-stage micro-benchmarks in ns/mention: builds and runs
# every bench/bench_<stage> executable (decode, normalise + classify, dedup,
# and window aggregation once bench_window.c exists), one core each, short
# repetitions (the box is shared: each tool reports the best and the median
# of its repetitions). Output: each tool's own report, in order, plus a
# copy in bench/results/micro-<timestamp>.txt.
#
#   bench/micro.sh [--build-dir DIR] [--no-build] [--quick]
#
# --quick: fewer/shorter repetitions (a smoke run, not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD_DIR=${BENCH_BUILD_DIR:-$SRC/build-bench}
BUILD=1 QUICK=0
while (($#)); do
    case $1 in
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --quick) QUICK=1; shift ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "micro.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

mapfile -t NAMES < <(cd bench && ls bench_*.c 2>/dev/null | sed 's/\.c$//' | sort)
((${#NAMES[@]})) || { echo "micro.sh: no bench/bench_*.c" >&2; exit 1; }
if ((BUILD)); then
    deploy/install-deps.sh
    cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD_DIR" -j2 --target "${NAMES[@]}" >/dev/null
fi

# per-tool arguments: short repetitions, repeated (best + median reported)
args_for() {
    case $1 in
    bench_decode) if ((QUICK)); then echo "0.05 2"; else echo "0.3 7"; fi ;;
    bench_classify) if ((QUICK)); then echo "--ms 50 --reps 2"; else echo "--ms 300 --reps 7"; fi ;;
    bench_dedup) if ((QUICK)); then echo "--reps 2"; else echo "--reps 5"; fi ;;
    *) echo "" ;;
    esac
}

mkdir -p bench/results
OUT=bench/results/micro-$(date -u +%Y%m%dT%H%M%SZ).txt
{
    echo "# bench/micro.sh $(date -u +%FT%TZ) on $(nproc) cores: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "# git $(git rev-parse --short HEAD 2>/dev/null || echo unknown), loadavg before: $(cat /proc/loadavg)"
    for n in "${NAMES[@]}"; do
        bin=$BUILD_DIR/bench/$n
        [[ -x $bin ]] || { echo "## $n: not built ($bin)"; continue; }
        echo
        echo "## $n $(args_for "$n")"
        # shellcheck disable=SC2046
        "$bin" $(args_for "$n") 2>&1 || echo "## $n exited with status $?"
    done
    echo
    echo "# loadavg after: $(cat /proc/loadavg)"
} | tee "$OUT"
echo "micro.sh: report in $OUT" >&2
