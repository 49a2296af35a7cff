#!/usr/bin/env bash
# it_fault_brokers_down.sh - issue 7 fault test: ALL brokers down for longer
# than the daemon's delivery timeout while outputs are queued.
#
# The daemon runs with kafka.message.timeout.ms=2000 (librdkafka's
# message.timeout.ms of the producer, docs/CONFIGURATION.md). Mid-stream all
# three brokers of the local cluster go down (broker_down 1 2 3) for
# WC_IT_DOWN_S seconds (default 12, i.e. 6 delivery timeouts): every output
# the daemon has queued or in flight then fails its delivery (timed out) and
# must be produced again, never dropped; its input offsets stay uncommitted.
# Meanwhile the daemon must not exit and /readyz must say not ready
# ("kafka unavailable") for the whole outage. Then the brokers come back:
# the daemon must become ready again and finish the stream.
#
# As in it_fault_broker.sh, the whole input is produced (and counted back)
# before the fault, so a loss can only be the daemon's; brokers get a 30 ms
# round trip and the daemon a small in-flight limit so the stream is still
# running when the outage starts. Outputs are read back from offset 0 once
# all input is committed, every output partition without a gap.
# Checker: 0 lost; duplicates (input replayed from the last commit: the
# outputs in flight at the outage are not committed; retried batches the
# mock stores twice) are counted and printed.
#
# Group session: by default kafka.consumer.session.timeout.ms=30000, longer
# than the outage, so the daemon keeps its assignment. With
# WC_IT_SESSION_MS=6000 the assignment is lost during the outage (SESSTMOUT,
# "revoking N partition(s) (lost)") and re-assigned after it; this variant
# exposes a daemon bug found with this test (docs/FAULTS.md, "Known daemon
# bug"): when the daemon had paused its input (in-flight limit reached) and
# resumed it while it had no assignment, the re-assigned partitions stay
# paused in librdkafka (the pause flag survives unassign/assign) and input
# never resumes: 2 of 10 runs stalled. The test then fails with "input never
# resumed after the outage".
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
source "$(dirname "$0")/../lib/outputs.sh"
wc_env_init

N=${WC_IT_COUNT:-20000}
DOWN_S=${WC_IT_DOWN_S:-12}
SESSION_MS=${WC_IT_SESSION_MS:-30000}
TIMEOUT_MS=2000
GROUP=it-fault-brokers-down
OUTS=cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq
wc_kafka_start --brokers 3 --default-partitions 4 --topic mentions:8
wc_redis_start
wckafka gen --count "$N" --malformed-pct 1 --seed 23 --out "$WC_WORK/in.jsonl" \
    --manifest "$WC_WORK/manifest.json"
wckafka produce --bootstrap "$WC_BOOTSTRAP" --topic mentions --key-field author.id \
    --file "$WC_WORK/in.jsonl" >/dev/null || wc_fail "input produce failed"
stored=$(wckafka count --bootstrap "$WC_BOOTSTRAP" --topic mentions | tail -1)
"$WC_PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["total"]==int(sys.argv[2]) else 1)' \
    "$stored" "$N" || wc_fail "the input topic does not hold exactly $N messages: $stored"
wc_log "input topic holds: $stored"
for b in 1 2 3; do wc_kafka_ctl rtt "$b" 30 >/dev/null || wc_fail "rtt $b refused"; done

PORT=$(wc_free_port)
wc_daemon_start --brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS" --workers 2 --http-port "$PORT" \
    -o kafka.group.id=$GROUP -o kafka.max.inflight=1000 -o kafka.consume.batch=100 \
    -o kafka.message.timeout.ms=$TIMEOUT_MS -o kafka.consumer.session.timeout.ms="$SESSION_MS" \
    -o kafka.consumer.heartbeat.interval.ms=500
wc_daemon_wait_ready "$PORT" 30

alive() { wc_daemon_alive || wc_fail "webcared exited: $(tail -n 5 "$WC_DAEMON_LOG")"; }
metric() { wc_metric "$PORT" "$1"; }
metric_ge() {
    local v
    alive
    v=$(metric "$1")
    [[ -n "$v" ]] && (( v >= $2 ))
}
readyz() { curl -s "http://127.0.0.1:$PORT/readyz" 2>/dev/null || true; }
not_ready() { alive; ! curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; }
progress() { printf 'consumed %s produced %s produce_failed %s inflight %s' "$(metric webcared_consumed_total)" \
    "$(metric webcared_produced_total)" "$(metric webcared_produce_failed_total)" "$(metric webcared_inflight)"; }

wc_wait_until "a fifth consumed" 120 metric_ge webcared_consumed_total $(( N / 5 ))
for b in 1 2 3; do wc_kafka_ctl broker_down "$b" >/dev/null || wc_fail "broker_down $b refused"; done
t_down=$(_wc_now_us)
wc_log "all brokers down ($(progress))"
wc_wait_until "readiness false while all brokers are down" 30 not_ready
why=$(readyz)
wc_log "readyz during the outage: '$why' after $(( ($(_wc_now_us) - t_down) / 1000 )) ms"
[[ "$why" == *"kafka unavailable"* ]] || wc_fail "readyz gives an unexpected reason during the outage: '$why'"
failed0=$(metric webcared_produce_failed_total)
# The scenario itself: the cluster stays down DOWN_S seconds; the daemon must
# stay alive and not ready the whole time (checked twice a second).
end=$(( t_down + DOWN_S * 1000000 ))
while (( $(_wc_now_us) < end )); do
    not_ready || wc_fail "readyz reported ready while all brokers were down: '$(readyz)'"
    sleep 0.5
done
failed1=$(metric webcared_produce_failed_total)
inflight1=$(metric webcared_inflight)
wc_log "after ${DOWN_S} s down: $(progress)"
(( failed1 > 0 )) || wc_fail "no delivery failed during a ${DOWN_S} s outage with message.timeout.ms=$TIMEOUT_MS (the fault did not bite: produce_failed $failed0 -> $failed1, inflight $inflight1)"
grep -q "all brokers down" "$WC_DAEMON_LOG" || wc_log "note: no 'all brokers down' line in the daemon log"
for b in 1 2 3; do wc_kafka_ctl broker_up "$b" >/dev/null || wc_fail "broker_up $b refused"; done
t_up=$(_wc_now_us)
wc_log "all brokers up"
wc_daemon_wait_ready "$PORT" 90
ready_ms=$(( ($(_wc_now_us) - t_up) / 1000 ))
wc_log "ready again after ${ready_ms} ms ($(progress))"

c_up=$(metric webcared_consumed_total)
grep -q "(lost)" "$WC_DAEMON_LOG" && wc_log "the group assignment was lost during the outage (session.timeout.ms $SESSION_MS)"
resumed() { metric_ge webcared_consumed_total $(( c_up + 1 < N ? c_up + 1 : N )); }
deadline=$(( $(_wc_now_us) + 60000000 ))
until resumed; do
    (( $(_wc_now_us) < deadline )) ||
        wc_fail "input never resumed after the outage (60 s): consumed stays $(metric webcared_consumed_total), consumer lag $(metric webcared_consumer_lag), inflight $(metric webcared_inflight), readyz '$(readyz)'; log: $(grep -E 'input (paused|resumed)|assigned|revoking' "$WC_DAEMON_LOG" | cut -c12-23,30- | tr '\n' ';')"
    sleep 0.5
done
wc_log "input resumed after the outage ($(progress))"
wc_wait_until "all input consumed" 180 metric_ge webcared_consumed_total "$N"
wc_wait_until "all input committed (all outputs acknowledged)" 180 wc_committed_lag0 "$GROUP"
produced=$(metric webcared_produced_total)
failed=$(metric webcared_produce_failed_total)
wc_outputs_read "$OUTS" 20 120
wc_outputs_no_gaps
wc_outputs_check "daemon produced_total $produced, produce_failed_total $failed, output logs hold $WC_OUTPUTS_TOTAL"
dups=$WC_OUTPUTS_DUPS dlqdups=$WC_OUTPUTS_DLQ_DUPS
wc_log "outputs: $(cat "$WC_WORK/summary.json"); produced_total $produced, produce_failed_total $failed, output logs hold $WC_OUTPUTS_TOTAL"
wc_daemon_stop webcared 30 || wc_fail "webcared exited with status $? on SIGTERM"
wc_pass "all 3 brokers down ${DOWN_S} s (message.timeout.ms $TIMEOUT_MS): not ready meanwhile, alive, ready ${ready_ms} ms after recovery; $N mentions, 0 lost, $dups duplicate case events, $dlqdups duplicate DLQ records, $failed failed deliveries re-produced"
