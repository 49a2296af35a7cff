# shellcheck shell=bash
# fault_redis.sh - shared body of the Redis fault tests (issue 7),
# tests/integration/it_fault_redis_*.sh. Sourced after env.sh and
# daemon_ready.sh; the test calls
#
#   fr_setup        # cluster, redis, input + ground truth, daemon, producer
#   ... its fault (fr_consumed_ge, fr_not_ready, fr_libs_loaded help) ...
#   fr_finish exact|partial   # all input committed, outputs and counts checked
#
# Input: two brands (kx with a 30% outage share, ky) from gen_windows.py,
# produced at WC_IT_RATE/s while the daemon runs with windows and remote
# dedup on (both in Redis) and redis.timeout.ms=1000. Checks:
#   - nothing lost: every mention of `webcared classify` (the ground truth)
#     has a case event (check_outputs.py --allow-duplicates), read back from
#     offset 0 once the daemon committed all input (an offset is committed
#     only after its outputs were acknowledged);
#   - window counts: `exact` = cluster and class counters in Redis equal the
#     ground truth (as in it_windows_crash.sh); `partial` (Redis lost its
#     data) = every counter at most the truth and each brand counted again.
# Figures: FR_LOST, FR_DUPS (case events), FR_DLQ_DUPS after fr_finish.
source "${BASH_SOURCE[0]%/*}/outputs.sh"

FR_GEN=("$WC_PYTHON" "$WC_SOURCE_DIR/tests/lib/gen_windows.py")
FR_N=${WC_IT_COUNT:-16000}
FR_RATE=${WC_IT_RATE:-2000}
FR_OUTS=cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq

fr_setup() {
    local group=$1 now t0
    FR_GROUP=$group
    wc_kafka_start --brokers 1 --default-partitions 4 --topic mentions:8
    wc_redis_start
    now=$(date +%s%3N)
    t0=$(( now - 3 * 3600 * 1000 ))
    "${FR_GEN[@]}" stream --brand kx --count $((FR_N / 2)) --start-ms $t0 --span-ms 10800000 --seed 31 \
        --prefix x --outage-share 0.3 >"$WC_WORK/x.jsonl"
    "${FR_GEN[@]}" stream --brand ky --count $((FR_N / 2)) --start-ms $t0 --span-ms 10800000 --seed 32 \
        --prefix y >"$WC_WORK/y.jsonl"
    paste -d '\n' "$WC_WORK/x.jsonl" "$WC_WORK/y.jsonl" >"$WC_WORK/in.jsonl"
    "$(wc_bin webcared)" classify --rules "$WC_SOURCE_DIR/rules" <"$WC_WORK/in.jsonl" \
        >"$WC_WORK/truth_cases.jsonl"
    # manifest for check_outputs.py: every classified mention must have a case event
    "$WC_PYTHON" -c '
import json, sys
ids = [json.loads(l)["mention_id"] for l in open(sys.argv[1])]
json.dump({"valid_ids": ids, "malformed_lines": []}, open(sys.argv[2], "w"))
print(len(ids))' "$WC_WORK/truth_cases.jsonl" "$WC_WORK/manifest.json" >"$WC_WORK/nvalid"
    FR_VALID=$(cat "$WC_WORK/nvalid")
    (( FR_VALID == FR_N )) || wc_fail "ground truth classified $FR_VALID of $FR_N mentions"

    FR_PORT=$(wc_free_port)
    wc_daemon_start --brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS" --workers 2 --http-port "$FR_PORT" \
        -o kafka.group.id="$group" -o stats.interval.s=86400 -o redis.timeout.ms=1000
    wc_daemon_wait_ready "$FR_PORT" 30
    wc_proc_start producer "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" produce --bootstrap "$WC_BOOTSTRAP" \
        --topic mentions --key-field author.id --rate "$FR_RATE" --file "$WC_WORK/in.jsonl"
}

fr_metric() { wc_metric "$FR_PORT" "$1"; }

# fr_consumed_ge N : the daemon consumed at least N (fails if it died).
fr_consumed_ge() {
    local v
    wc_daemon_alive || wc_fail "webcared exited: $(tail -n 3 "$WC_DAEMON_LOG")"
    v=$(fr_metric webcared_consumed_total)
    [[ -n "$v" ]] && (( v >= $1 ))
}

fr_ready() { curl -sf "http://127.0.0.1:$FR_PORT/readyz" >/dev/null; }
fr_not_ready() { ! fr_ready; }

# fr_libs_loaded N : the log says "redis function library webcared loaded" at least N times.
fr_libs_loaded() {
    local n
    n=$(grep -c "redis function library webcared loaded" "$WC_DAEMON_LOG" || true)
    (( n >= $1 ))
}

fr_libs_count() { grep -c "redis function library webcared loaded" "$WC_DAEMON_LOG" || true; }

# fr_class_total BRAND : sum of the class counters of a brand in Redis (the
# s.<class> fields of its meta hash).
fr_class_total() {
    wc_redis_cli hmget "wc:{$1}:meta" s.happy s.neutral s.angry s.question |
        awk '$1 ~ /^[0-9]+$/ { s += $1 } END { print s + 0 }'
}

# fr_finish exact|partial
fr_finish() {
    local mode=$1
    wc_proc_wait producer 120 || wc_fail "producer failed"
    wc_wait_until "all input committed (outputs acknowledged, window updates applied)" 90 \
        wc_committed_lag0 "$FR_GROUP"
    # Everything committed was acknowledged by the cluster: read it back from offset 0.
    wc_outputs_read "$FR_OUTS" 10 60
    wc_outputs_check
    # shellcheck disable=SC2034 # figures for the calling test
    FR_LOST=$WC_OUTPUTS_LOST FR_DUPS=$WC_OUTPUTS_DUPS FR_DLQ_DUPS=$WC_OUTPUTS_DLQ_DUPS
    wc_log "outputs: $(cat "$WC_WORK/summary.json")"
    "${FR_GEN[@]}" compare --cases "$WC_WORK/truth_cases.jsonl" --input "$WC_WORK/in.jsonl" \
        --redis-port "$WC_REDIS_PORT" --brands kx,ky --mode "$mode" >"$WC_WORK/counts.txt" ||
        wc_fail "window counts ($mode) differ from the ground truth: $(cat "$WC_WORK/counts.txt")"
    wc_log "window counts ($mode): $(tr '\n' ' ' <"$WC_WORK/counts.txt")"
    wc_daemon_stop webcared 25 || wc_fail "webcared exited with status $? on SIGTERM"
}
