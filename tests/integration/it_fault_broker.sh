#!/usr/bin/env bash
# it_fault_broker.sh - issue 7 fault test: Kafka broker faults while the
# daemon processes a stream:
#   1. a broker goes down and comes back (its partitions' outputs stall, the
#      daemon keeps them in flight and delivers after recovery);
#   2. produce requests fail (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT,
#      NOT_ENOUGH_REPLICAS, ...: librdkafka retries, the idempotent producer
#      keeps order and avoids duplicates);
#   3. partition leaders of the output topics move to another broker.
# To blame any loss on the daemon and not on the test's producer or the
# mock cluster, the whole input is produced before the faults (with the
# input partitions led by broker 1, which is never faulted) and counted back
# from the topic; the faults hit brokers 2 and 3 only. Broker 2 and 3 get a
# 50 ms round trip so the stream lasts long enough to be hit mid-way.
# Outputs are read back from offset 0 once the daemon committed all input
# (an input offset is committed only after all its outputs were
# acknowledged), up to the sum of the output partitions' high watermarks,
# and every partition must be read without a gap: a loss then can only be
# the daemon's (or an acknowledged write the cluster did not store). A
# concurrent consumer with an idle timeout is NOT used: it stops on a quiet
# spell and misses a late re-delivery (see the commit that added this test).
# Checker: 0 lost; duplicates reported (the mock does not de-duplicate an
# idempotent producer's retries: it validates sequence numbers only for
# transactional producers).
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
source "$(dirname "$0")/../lib/outputs.sh"
wc_env_init

N=${WC_IT_COUNT:-20000}
wc_kafka_start --brokers 3 --default-partitions 4 --topic mentions:8
wc_redis_start
for p in 0 1 2 3 4 5 6 7; do
    wc_kafka_ctl leader mentions "$p" 1 >/dev/null || wc_fail "cannot move mentions[$p] to broker 1"
done
wckafka gen --count "$N" --malformed-pct 1 --seed 19 --out "$WC_WORK/in.jsonl" \
    --manifest "$WC_WORK/manifest.json"
wckafka produce --bootstrap "$WC_BOOTSTRAP" --topic mentions --key-field author.id \
    --file "$WC_WORK/in.jsonl" >/dev/null || wc_fail "input produce failed"
stored=$(wckafka count --bootstrap "$WC_BOOTSTRAP" --topic mentions | tail -1)
wc_log "input topic holds: $stored"
"$WC_PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1]); n=d.get("total", d.get("mentions")); sys.exit(0 if n==int(sys.argv[2]) else 1)' \
    "$stored" "$N" || wc_fail "the input topic does not hold all $N messages: $stored"
for b in 2 3; do wc_kafka_ctl rtt "$b" 50 >/dev/null || wc_fail "rtt $b refused"; done

BROKER2_PORT=$(cut -d, -f2 <<<"$WC_BOOTSTRAP"); BROKER2_PORT=${BROKER2_PORT##*:}
PORT=$(wc_free_port)
wc_daemon_start --brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS" --workers 2 --http-port "$PORT" \
    -o kafka.group.id=it-fault-broker -o kafka.max.inflight=400 -o kafka.consume.batch=100
wc_daemon_wait_ready "$PORT" 30
consumed_ge() {
    local v
    wc_daemon_alive || wc_fail "webcared exited: $(tail -n 3 "$WC_DAEMON_LOG")"
    v=$(wc_metric "$PORT" webcared_consumed_total)
    [[ -n "$v" ]] && (( v >= $1 ))
}
progress() { printf 'consumed %s produced %s inflight %s' "$(wc_metric "$PORT" webcared_consumed_total)" \
    "$(wc_metric "$PORT" webcared_produced_total)" "$(wc_metric "$PORT" webcared_inflight)"; }

# 1. broker 2 down until the daemon's client has noticed, then up again.
wc_wait_until "a fifth consumed" 60 consumed_ge $(( N / 5 ))
mark=$(wc_log_lines "$WC_DAEMON_LOG")
wc_kafka_ctl broker_down 2 >/dev/null || wc_fail "broker_down refused"
wc_log "broker 2 down ($(progress))"
wc_wait_log "$WC_DAEMON_LOG" "127\.0\.0\.1:$BROKER2_PORT.*(refused|Disconnected|failed|down)" 30 "$mark"
# Keep it down until the daemon is stalled on it: outputs for broker 2's
# partitions fill kafka.max.inflight and acknowledgements stop for 2 s.
STALL=$WC_WORK/stall
stalled() {
    local v last since now
    v=$(wc_metric "$PORT" webcared_produced_total)
    now=$(_wc_now_us)
    read -r last since <"$STALL" 2>/dev/null || { last=x; since=$now; }
    if [[ "$v" != "$last" ]]; then
        echo "$v $now" >"$STALL"
        return 1
    fi
    (( now - since >= 2000000 ))
}
wc_wait_until "the daemon stalled on broker 2" 30 stalled
wc_kafka_ctl broker_up 2 >/dev/null || wc_fail "broker_up refused"
wc_log "broker 2 up ($(progress))"

# 2. produce request errors (retriable ones; the idempotent producer retries).
# Not NOT_ENOUGH_REPLICAS_AFTER_APPEND: it tells the client the batch WAS
# appended, but the mock's injected errors never append (docs/LOCALKAFKA.md).
wc_wait_until "half consumed" 60 consumed_ge $(( N / 2 ))
wc_kafka_ctl request_errors Produce 8 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT \
    NOT_ENOUGH_REPLICAS LEADER_NOT_AVAILABLE NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT \
    NOT_ENOUGH_REPLICAS NOT_LEADER_FOR_PARTITION >/dev/null || wc_fail "request_errors refused"
wc_log "8 produce request errors queued ($(progress))"

# 3. output partition leaders move from broker 2 to 3 and from 3 to 2.
wc_wait_until "70% consumed" 60 consumed_ge $(( N * 7 / 10 ))
for t in cases.complaints cases.questions cases.praise cases.neutral mentions.dlq; do
    for p in 0 1 2 3; do
        wc_kafka_ctl leader "$t" "$p" $(( 2 + (p % 2) )) >/dev/null || wc_fail "leader move of ${t}[$p] refused"
    done
done
wc_log "output leaders moved ($(progress))"

wc_wait_until "all input consumed" 90 consumed_ge "$N"
wc_wait_until "all input committed (all outputs acknowledged)" 90 wc_committed_lag0 it-fault-broker
produced=$(wc_metric "$PORT" webcared_produced_total)
failed=$(wc_metric "$PORT" webcared_produce_failed_total)
OUTS=cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq
wc_outputs_read "$OUTS" 10 60
# every output partition read from offset 0 to its high watermark without a gap
wc_outputs_no_gaps
wc_outputs_check "daemon produced_total $produced, produce_failed_total $failed, output logs hold $WC_OUTPUTS_TOTAL"
dups=$WC_OUTPUTS_DUPS dlqdups=$WC_OUTPUTS_DLQ_DUPS
wc_log "outputs: $(cat "$WC_WORK/summary.json"); produced_total $produced, produce_failed_total $failed, output logs hold $WC_OUTPUTS_TOTAL"
wc_daemon_stop webcared 25 || wc_fail "webcared exited with status $? on SIGTERM"
wc_pass "broker down/up, 8 produce request errors, leader moves mid-stream: $N mentions, 0 lost, $dups duplicate case events, $dlqdups duplicate DLQ records"
