#!/usr/bin/env bash
# bench/run.sh - the end-to-end benchmark in one command. Builds what it
# needs, starts the local Kafka-protocol cluster (wc-localkafka, few
# partitions: see below) and a redis-server on free ports, then in ONE session:
#
#   pt      ceiling: webcared-bench --flat through wc-passthrough
#           (bench.pt.in -> bench.pt.out, consume->produce, no processing)
#   max     webcared-bench --flat through webcared (mentions -> cases.*, DLQ, alerts)
#   half    webcared-bench --rate (50 % of the max) through webcared
#   pthalf  the passthrough at the same rate: the latency floor of the
#           cluster on this machine, to read the "half" latency against
#
# Same generator, same partition counts, same librdkafka producer and
# consumer settings in all phases (generator, collector, wc-passthrough and
# webcared), each phase on a fresh cluster, redis-server and daemon. Writes
# bench/results/<timestamp>/{result.json,plot.svg,*.json,*.log} and prints a
# summary table with the ratio to the ceiling and the acceptance checks of
# issue 6.
#
#   bench/run.sh [--short | --long] [--duration S] [--warmup S] [--partitions N]
#                [--workers N] [--max-lag N] [--build-dir DIR] [--no-build]
#                [--phases pt,max,half,pthalf] [--rate R] [--out DIR]
#                [--linger-ms MS] [--fetch-wait-ms MS]
#                [--producer-conf K=V]... [--consumer-conf K=V]...
#                [--daemon-conf K=V]... [--dedup-redis]
#
#   --short       30 s measurement windows (default)
#   --long        300 s windows (the 5-minute run at full rate of the issue)
#   --partitions  partitions of every topic (default 4; see docs/PERFORMANCE.md:
#                 the mock's Fetch walks a partition's message sets linearly,
#                 so its cost grows with partitions^2 at a fixed rate; 4 keeps
#                 the floor low and feeds 2 workers evenly)
#   --workers     webcared worker threads (default 0 = one per core)
#   --max-lag     inputs in flight in the flat-out phases (default 25,000:
#                 they must fit the mock's ~5 MB per partition, see below)
#   --phases      which phases to run, in this order (default all four;
#                 "half"/"pthalf" need "max" first or --rate; e.g. --long
#                 --phases max for the 5-minute RSS run alone)
#   --rate R      rate of the half/pthalf phases instead of 50 % of max
#   --linger-ms   linger.ms of every producer (default 5, the daemon's)
#   --fetch-wait-ms  fetch.wait.max.ms of every consumer (default 10; the
#                 mock holds an empty fetch for all of it)
#   --producer-conf K=V / --consumer-conf K=V  any other librdkafka property
#                 for every producer / consumer of every phase (repeatable)
#   --daemon-conf K=V  any other webcared setting (docs/CONFIGURATION.md),
#                 appended to the webcared.conf of the webcared phases
#                 (repeatable; e.g. window.flush.ms=100 for an A/B run)
#   --dedup-redis a second redis-server (process "redis-dedup", fresh in every
#                 phase like the first) that holds only the cross-instance
#                 dedup claims: webcared gets -o dedup.redis.addr=<it>, so its
#                 workers' synchronous claims no longer queue behind the Lua
#                 window calls on the one Redis thread (docs/PERFORMANCE.md);
#                 webcared-bench counts the commands of both servers (and
#                 lists each one's share) and watches its CPU as "redis-dedup"
#
# Each webcared phase also saves the daemon's /metrics at the start of the
# measurement window (<phase>-metrics-start.txt) next to the one at the end,
# and prints where a mention's time went in the window (the spans of
# webcared_latency_seconds, bench/spans.py).
#
# Environment: BENCH_BUILD_DIR (default <source>/build-bench), WC_KEEP=1 keeps
# the work dir with the cluster/daemon logs. Everything started here is
# stopped by PID on exit (tests/lib/env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
DURATION=30 WARMUP=8 PARTS=4 WORKERS=0 MAX_LAG=25000 BUILD=1 OUT="" PHASES=pt,max,half,pthalf
RATE=0 LINGER=5 FETCH_WAIT=10
PCONF=() CCONF=() DCONF=() DEDUP_REDIS=0
BUILD_DIR=${BENCH_BUILD_DIR:-$SRC/build-bench}
MODE=short
while (($#)); do
    case $1 in
    --short) MODE=short; DURATION=30; shift ;;
    --long) MODE=long; DURATION=300; WARMUP=10; shift ;;
    --duration) DURATION=$2; MODE=custom; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --max-lag) MAX_LAG=$2; shift 2 ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --phases) PHASES=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --linger-ms) LINGER=$2; shift 2 ;;
    --fetch-wait-ms) FETCH_WAIT=$2; shift 2 ;;
    --producer-conf) PCONF+=("$2"); shift 2 ;;
    --consumer-conf) CCONF+=("$2"); shift 2 ;;
    --daemon-conf) DCONF+=("$2"); shift 2 ;;
    --dedup-redis) DEDUP_REDIS=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,63p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

if ((BUILD)); then
    deploy/install-deps.sh
    cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD_DIR" -j2 --target webcared wc-localkafka webcared-bench wc-passthrough >/dev/null
fi

TS=$(date -u +%Y%m%dT%H%M%SZ)
RES=${OUT:-$SRC/bench/results/$TS}
mkdir -p "$RES"

export WC_SOURCE_DIR=$SRC WC_BUILD_DIR=$BUILD_DIR WC_TEST_NAME=bench
source "$SRC/tests/lib/env.sh"
source "$SRC/tests/lib/daemon_ready.sh"
wc_env_init

BENCH=$(wc_bin webcared-bench)
PASSTHROUGH=$(wc_bin wc-passthrough)
OUT_TOPICS=cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq,alerts.clusters,alerts.escalations,alerts.sla

# machine and load, for the report
{
    echo "{"
    echo "  \"cpu_model\": \"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | tr -d '"')\","
    echo "  \"cores\": $(nproc),"
    echo "  \"mem_total_mb\": $(awk '/MemTotal/ {printf "%d", $2/1024}' /proc/meminfo),"
    echo "  \"kernel\": \"$(uname -r)\","
    echo "  \"librdkafka\": \"$(pkg-config --modversion rdkafka 2>/dev/null || echo unknown)\","
    echo "  \"redis\": \"$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')\","
    echo "  \"git\": \"$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SRC" diff --quiet 2>/dev/null || echo '+dirty')\","
    echo "  \"loadavg_before\": \"$(cat /proc/loadavg)\","
    echo "  \"mode\": \"$MODE\", \"duration_s\": $DURATION, \"warmup_s\": $WARMUP, \"partitions\": $PARTS, \"workers\": $WORKERS, \"max_lag\": $MAX_LAG,"
    echo "  \"linger_ms\": $LINGER, \"fetch_wait_max_ms\": $FETCH_WAIT,"
    echo "  \"producer_conf\": \"${PCONF[*]+${PCONF[*]}}\", \"consumer_conf\": \"${CCONF[*]+${CCONF[*]}}\","
    echo "  \"dedup_redis\": $( ((DEDUP_REDIS)) && echo true || echo false)"
    echo "}"
} >"$RES/machine.json"


# Every phase gets a fresh cluster and a fresh redis-server: the mock
# cluster's logs grow with every message (up to ~5 MB per partition) and
# its fetch path gets slower with them, which would favour the first phase.
# Few partitions (default 4), because the mock finds a fetch offset by
# walking the partition's message sets from the oldest, for every partition
# in every Fetch: at a fixed rate the work grows with partitions^2 (more
# partitions = more and smaller message sets each) and at 32 partitions it
# was the latency floor (docs/PERFORMANCE.md). The cost: the mock keeps only
# ~5 MB per partition, so a topic holds PARTS x 5 MB; a consumer further
# behind than that loses data (reported as missing outputs).
# With --dedup-redis a second redis-server ("redis-dedup", its own dir and
# log under $WC_WORK) on its own free port, fresh in every phase too: webcared
# gets it as dedup.redis.addr, webcared-bench counts and watches both.
DEDUP_REDIS_ADDR="" DEDUP_REDIS_PID=""
dedup_redis_start() {
    wc_redis_start_named redis-dedup
    DEDUP_REDIS_PID=$(wc_proc_pid redis-dedup)
    DEDUP_REDIS_ADDR=$WC_NAMED_REDIS
}

fresh_env() {
    wc_proc_stop kafka || true
    wc_proc_stop redis || true
    wc_proc_stop redis-dedup || true
    unset WC_REDIS_PORT
    wc_kafka_start --brokers 3 --default-partitions "$PARTS" --topic "mentions:$PARTS" \
        --topic "bench.pt.in:$PARTS" --topic "bench.pt.out:$PARTS"
    wc_redis_start
    KAFKA_PID=$(wc_proc_pid kafka)
    REDIS_PID=$(wc_proc_pid redis)
    REDIS_ARGS=(--watch "redis:$REDIS_PID" --redis "$WC_REDIS")
    if ((DEDUP_REDIS)); then
        dedup_redis_start
        REDIS_ARGS+=(--watch "redis-dedup:$DEDUP_REDIS_PID" --redis "$DEDUP_REDIS_ADDR")
    fi
}

# the firehose mix of issue 6 (same for every phase)
GEN=(--dup-pct 2 --retweet-pct 5 --malformed-pct 1 --boomerang-pct 0.3
     --burst-period 30 --burst-len 5 --burst-share 0.3)
DRAIN=$((DURATION > 60 ? 30 : 15))

# the flat-out phases keep up to MAX_LAG inputs in flight, all of which can sit
# in one topic (the input, or the output when a consumer stalls): they must
# fit the mock's ~5 MB per partition (~330 bytes of payload, ~360 in the log)
# with room for uneven partitions, or the oldest are dropped before they are
# consumed. 50,000 at 4 partitions (~90 %) lost 21,624 outputs in one run.
if ((MAX_LAG * 360 > PARTS * 5 * 1024 * 1024 / 2)); then
    wc_log "WARNING: --max-lag $MAX_LAG x ~360 bytes may exceed the mock's retention of $PARTS partitions x 5 MB; expect missing outputs (raise --partitions or lower --max-lag)"
fi

# the same librdkafka settings for every producer (generator, passthrough,
# webcared) and every consumer (collector, passthrough, webcared); --linger-ms
# and --fetch-wait-ms unless --producer-conf / --consumer-conf set the key
[[ " ${PCONF[*]+${PCONF[*]}}" == *" linger.ms="* ]] || PCONF=("linger.ms=$LINGER" ${PCONF[@]+"${PCONF[@]}"})
[[ " ${CCONF[*]+${CCONF[*]}}" == *" fetch.wait.max.ms="* ]] ||
    CCONF=("fetch.wait.max.ms=$FETCH_WAIT" ${CCONF[@]+"${CCONF[@]}"})
KCONF=()
for kv in ${PCONF[@]+"${PCONF[@]}"}; do KCONF+=(--producer-conf "$kv"); done
for kv in ${CCONF[@]+"${CCONF[@]}"}; do KCONF+=(--consumer-conf "$kv"); done

run_bench() { # label, extra args...
    local label=$1
    shift
    "$BENCH" --bootstrap "$WC_BOOTSTRAP" --warmup "$WARMUP" --duration "$DURATION" \
        --drain "$DRAIN" "${GEN[@]}" --watch "kafka:$KAFKA_PID" "${REDIS_ARGS[@]}" \
        --label "$label" --json "$RES/$label.json" ${KCONF[@]+"${KCONF[@]}"} "$@" \
        2> >(tee "$RES/$label.log" >&2) || wc_fail "phase $label failed"
}

has_phase() { [[ ",$PHASES," == *",$1,"* ]]; }

# ---------------------------------------------------------------- ceiling
run_passthrough() { # label, bench args...
    local label=$1
    shift
    fresh_env
    wc_proc_start passthrough "$PASSTHROUGH" --bootstrap "$WC_BOOTSTRAP" \
        --input bench.pt.in --output bench.pt.out ${KCONF[@]+"${KCONF[@]}"}
    # start producing only once it consumes (see pt_rebalance_cb)
    wc_wait_until "wc-passthrough assignment" 60 grep -q assigned "$WC_WORK/passthrough.log"
    run_bench "$label" --input bench.pt.in --outputs bench.pt.out --match same-offset \
        --expect-all --watch "processor:$(wc_proc_pid passthrough)" "$@"
    wc_proc_stop passthrough || wc_fail "wc-passthrough did not exit cleanly"
}

if has_phase pt; then
    wc_log "phase pt: passthrough ceiling, flat out, ${DURATION}s"
    run_passthrough passthrough --flat --max-lag "$MAX_LAG" --seed 42
fi

# ---------------------------------------------------------------- webcared
cat >"$WC_WORK/webcared.conf" <<EOF
# written by bench/run.sh: the defaults, except what a benchmark has to set
instance.id = bench
log.level = warn
workers = $WORKERS
http.bind = 127.0.0.1
kafka.group.id = webcared-bench
topic.input = mentions
# below, the librdkafka settings every client of the benchmark gets
# (bench/run.sh --linger-ms, --fetch-wait-ms, --producer-conf, --consumer-conf).
# fetch.wait.max.ms: the mock cluster holds an empty fetch for all of it (a
# real broker answers as soon as data arrives): librdkafka's 500 ms default
# would be measured as latency.
EOF
for kv in ${PCONF[@]+"${PCONF[@]}"}; do echo "kafka.producer.${kv%%=*} = ${kv#*=}"; done >>"$WC_WORK/webcared.conf"
for kv in ${CCONF[@]+"${CCONF[@]}"}; do echo "kafka.consumer.${kv%%=*} = ${kv#*=}"; done >>"$WC_WORK/webcared.conf"
if ((${#DCONF[@]})); then
    echo "# bench/run.sh --daemon-conf" >>"$WC_WORK/webcared.conf"
    for kv in "${DCONF[@]}"; do echo "${kv%%=*} = ${kv#*=}"; done >>"$WC_WORK/webcared.conf"
fi
if ((DEDUP_REDIS)); then
    # the port changes with every phase: on the command line (-o), not here
    echo "# bench/run.sh --dedup-redis: dedup.redis.addr = the phase's redis-dedup, set with -o" \
        >>"$WC_WORK/webcared.conf"
fi
cp "$WC_WORK/webcared.conf" "$RES/webcared.conf"

DAEMON_RC=0
start_webcared() {
    local dedup=()
    HTTP_PORT=$(wc_free_port)
    ((DEDUP_REDIS)) && dedup=(--set "dedup.redis.addr=$DEDUP_REDIS_ADDR")
    wc_daemon_start --config "$WC_WORK/webcared.conf" --brokers "$WC_BOOTSTRAP" \
        --redis "$WC_REDIS" --http-port "$HTTP_PORT" ${dedup[@]+"${dedup[@]}"}
    wc_daemon_wait_ready "$HTTP_PORT" 60
}

# scrape_metrics FILE : webcared's /metrics into FILE, first line the time of
# the scrape ("# bench: scraped at <epoch s>", a comment to Prometheus; read by
# bench/spans.py for the blocked-time shares); nothing written when it fails
scrape_metrics() {
    local t
    curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" >"$1.tmp" &&
        t=$(date +%s.%N) && { echo "# bench: scraped at $t"; cat "$1.tmp"; } >"$1"
    rm -f "$1.tmp"
}

# /metrics at the start of the measurement window (webcared-bench starts
# counting after --warmup s), for the spans of the window alone
scrape_at_window_start() { # phase label
    (sleep "$WARMUP"; scrape_metrics "$RES/$1-metrics-start.txt") &
}

stop_webcared() { # phase label
    local rc=0
    scrape_metrics "$RES/$1-metrics.txt"
    if [[ -s "$RES/$1-metrics-start.txt" ]]; then
        "$WC_PYTHON" "$SRC/bench/spans.py" "$RES/$1-metrics-start.txt" "$RES/$1-metrics.txt" \
            >"$RES/$1-spans.txt" 2>&1 && sed "s/^/  $1 /" "$RES/$1-spans.txt" >&2 || true
    fi
    wc_daemon_stop webcared 30 || rc=$?
    cp "$WC_DAEMON_LOG" "$RES/$1-webcared.log" 2>/dev/null || true
    ((rc == 0)) || DAEMON_RC=$rc
}

if has_phase max; then
    fresh_env
    start_webcared
    wc_log "phase max: webcared, flat out, ${DURATION}s"
    scrape_at_window_start webcared-max
    run_bench webcared-max --input mentions --outputs "$OUT_TOPICS" --responses responses \
        --flat --max-lag "$MAX_LAG" --seed 42 --watch "processor:$WC_DAEMON_PID"
    stop_webcared webcared-max
fi

if (( RATE > 0 )); then
    HALF=$RATE
elif has_phase half || has_phase pthalf; then
    [[ -s "$RES/webcared-max.json" ]] || wc_fail "phases half/pthalf need phase max first (or --rate R)"
    MAX=$("$WC_PYTHON" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["throughput_out_per_s"]))' "$RES/webcared-max.json")
    HALF=$((MAX / 2))
fi
if has_phase half || has_phase pthalf; then
    ((HALF >= 100)) || wc_fail "webcared max rate $MAX/s is too low to run the 50 % phases"
fi
if has_phase half; then
    fresh_env
    start_webcared
    wc_log "phase half: webcared at 50 % of max = $HALF/s, ${DURATION}s"
    scrape_at_window_start webcared-half
    run_bench webcared-half --input mentions --outputs "$OUT_TOPICS" --responses responses \
        --rate "$HALF" --seed 43 --watch "processor:$WC_DAEMON_PID"
    stop_webcared webcared-half
fi
if has_phase pthalf; then
    wc_log "phase pthalf: passthrough at the same $HALF/s, ${DURATION}s"
    run_passthrough passthrough-half --rate "$HALF" --seed 43
fi
wc_stop_all

"$WC_PYTHON" - "$RES/machine.json" "$DAEMON_RC" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["loadavg_after"] = open("/proc/loadavg").read().strip()
m["daemon_exit"] = int(sys.argv[2])
json.dump(m, open(sys.argv[1], "w"), indent=1)
PY
"$WC_PYTHON" "$SRC/bench/report.py" "$RES"
((DAEMON_RC == 0)) || wc_fail "webcared exited with status $DAEMON_RC on SIGTERM"
wc_pass "results in $RES"
