#!/usr/bin/env bash
# run.sh - the whole test suite, from a fresh Debian 12 machine:
#   1. install missing packages (deploy/install-deps.sh)
#   2. release build: every unit, component and integration test (ctest)
#   3. ASan+UBSan build: unit tests and the main integration tests
#   4. TSan build: unit tests (ring, dedup and worker stress tests included)
#   5. libFuzzer harnesses, WC_FUZZ_SECONDS each (default 60) under ASan+UBSan,
#      WC_JOBS of them at a time
# Environment: WC_TEST_QUICK=1 runs step 2 only; WC_FUZZ_SECONDS=0 skips 5;
# WC_JOBS (default: cores).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
JOBS=${WC_JOBS:-$(nproc)}
FUZZ_SECONDS=${WC_FUZZ_SECONDS:-60}
t0=$(date +%s)
step() { printf '\n=== %s (t+%ds)\n' "$*" $(( $(date +%s) - t0 )); }

step "dependencies"
deploy/install-deps.sh

build() { # dir cmake-args...
    local dir=$1; shift
    cmake -S "$SRC" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS"
}

step "release build + all tests"
build build
(cd build && ctest --output-on-failure -j1)

if [[ "${WC_TEST_QUICK:-0}" == 1 ]]; then
    step "quick mode: done"
    exit 0
fi

step "ASan+UBSan build: unit + integration tests"
build build-asan -DWC_SANITIZE=address
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j1 -L 'unit|integration' -E "${WC_ASAN_EXCLUDE:-^$}")

step "TSan build: unit tests"
build build-tsan -DWC_SANITIZE=thread
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    bash -c 'cd build-tsan && ctest --output-on-failure -j1 -L unit'

if (( FUZZ_SECONDS > 0 )); then
    step "libFuzzer harnesses, ${FUZZ_SECONDS}s each (ASan+UBSan), $JOBS at a time"
    cmake -S "$SRC" -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
        -DWC_FUZZ=ON -DWC_SANITIZE=address >/dev/null
    cmake --build build-fuzz -j"$JOBS" --target fuzzers
    # Crash/leak/OOM inputs go to build-fuzz/artifacts/ (kept for the
    # report); on failure the fuzzer's own report is shown, not just stats.
    mkdir -p build-fuzz/artifacts
    fuzz_one() { # NAME: one harness for FUZZ_SECONDS; its exit status in build-fuzz/NAME.rc
        local name=$1 corpus work rc=0
        corpus="tests/fuzz/corpus/${name#fuzz_}"
        work=$(mktemp -d)
        [[ -d "$corpus" ]] && cp -r "$corpus"/. "$work"/
        "build-fuzz/tests/$name" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
            -artifact_prefix="build-fuzz/artifacts/$name-" "$work" > "build-fuzz/$name.log" 2>&1 \
            || rc=$?
        rm -rf "$work"
        echo "$rc" > "build-fuzz/$name.rc"
    }
    # Each harness is one single-threaded process: JOBS of them at a time
    # give each the same CPU time in less wall time.
    names=()
    for f in build-fuzz/tests/fuzz_*; do
        [[ -x "$f" ]] || continue
        name=$(basename "$f")
        names+=("$name")
        rm -f "build-fuzz/$name.rc"
        while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
        fuzz_one "$name" &
    done
    wait
    (( ${#names[@]} > 0 )) || { echo "FAILED: no fuzz harness was built" >&2; exit 1; }
    for name in "${names[@]}"; do
        echo "--- $name"
        rc=$(cat "build-fuzz/$name.rc" 2>/dev/null || echo 1)
        if (( rc != 0 )); then
            tail -n 80 "build-fuzz/$name.log"
            echo "FAILED: $name exited $rc (libFuzzer: 70 timeout, 71 out-of-memory, 77 crash);" \
                 "input in build-fuzz/artifacts/, log build-fuzz/$name.log" >&2
            exit "$rc"
        fi
        tail -n 4 "build-fuzz/$name.log"
    done
fi
step "all tests passed"
