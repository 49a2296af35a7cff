#!/usr/bin/env bash
# it_restart.sh - issue 2 acceptance: kill -9 the daemon mid-stream, restart
# it, and assert that nothing is lost. At-least-once allows duplicates
# (replayed input whose offsets were not yet committed); they are counted
# and reported, not failed.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
source "$(dirname "$0")/../lib/outputs.sh"
wc_env_init

N=${WC_IT_COUNT:-30000}
RATE=${WC_IT_RATE:-6000}
# 16 partitions an output topic: read back at the end, the outputs (with
# the replays at most ~60,000 case events) stay far below the local cluster's
# ~5 MB a partition, beyond which it drops the oldest.
wc_kafka_start --brokers 3 --default-partitions 16 --topic mentions:16
wc_redis_start
wckafka gen --count "$N" --malformed-pct 1 --seed 7 --out "$WC_WORK/in.jsonl" \
    --manifest "$WC_WORK/manifest.json"

DAEMON_ARGS=(--brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS" --workers 2
    -o kafka.group.id=it-restart -o kafka.consumer.session.timeout.ms=6000
    -o kafka.consumer.heartbeat.interval.ms=500)
P1=$(wc_free_port)
wc_daemon_start "${DAEMON_ARGS[@]}" --http-port "$P1"
wc_daemon_wait_ready "$P1" 30

wc_proc_start producer "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" produce --bootstrap "$WC_BOOTSTRAP" \
    --topic mentions --key-field author.id --rate "$RATE" --file "$WC_WORK/in.jsonl"

produced_ge() { local v; v=$(wc_metric "$P1" webcared_produced_total); [[ -n "$v" ]] && (( v >= $1 )); }
wc_wait_until "a third of the stream processed" 120 produced_ge $(( N / 3 ))
wc_daemon_kill9 webcared
wc_log "killed webcared mid-stream"

P2=$(wc_free_port)
wc_daemon_start -n webcared2 "${DAEMON_ARGS[@]}" --http-port "$P2"
wc_daemon_wait_ready "$P2" 60 webcared2
wc_proc_wait producer 300 || wc_fail "producer failed"
wc_log "input fully produced"
# Everything committed was acknowledged by the cluster: read it back from offset 0.
wc_wait_until "all input committed (all outputs acknowledged)" 120 wc_committed_lag0 it-restart webcared2
wc_outputs_read cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq 10 120
wc_outputs_no_gaps
wc_outputs_check "after kill -9 and restart"
dups=$WC_OUTPUTS_DUPS
wc_log "outputs: $(cat "$WC_WORK/summary.json")"
wc_daemon_stop webcared2 25 || wc_fail "webcared exited with status $? on SIGTERM"
wc_pass "kill -9 mid-stream: 0 lost, $dups duplicate case events (at-least-once)"
