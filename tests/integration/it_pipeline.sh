#!/usr/bin/env bash
# it_pipeline.sh - issue 2 acceptance: 10,000 mentions (1% malformed) produced
# by an independent client through the local Kafka-protocol cluster; every
# valid mention yields exactly one case event, every bad one a DLQ record
# with the expected reason; SIGTERM drains and exits 0; offsets committed.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
wc_env_init

N=${WC_IT_COUNT:-10000}
wc_kafka_start --brokers 3 --default-partitions 8 --topic mentions:16
wc_redis_start

wckafka gen --count "$N" --malformed-pct 1 --seed 42 --out "$WC_WORK/in.jsonl" \
    --manifest "$WC_WORK/manifest.json"
VALID=$("$WC_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["valid"])' "$WC_WORK/manifest.json")
BAD=$(( N - VALID ))
wc_log "generated $N mentions: $VALID valid, $BAD malformed"

HTTP_PORT=$(wc_free_port)
wc_daemon_start --brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS" --http-port "$HTTP_PORT" --workers 2 \
    -o kafka.group.id=it-pipeline
wc_daemon_wait_ready "$HTTP_PORT" 30

# Consume the outputs concurrently (the mock keeps ~5 MB per partition).
wc_proc_start -o "$WC_WORK/out.jsonl" consumer "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" consume \
    --bootstrap "$WC_BOOTSTRAP" --topic cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq \
    --headers --until-count "$N" --timeout 60 --max-time 300
wckafka produce --bootstrap "$WC_BOOTSTRAP" --topic mentions --key-field author.id \
    --file "$WC_WORK/in.jsonl" >/dev/null
wc_log "produced $N lines"

wc_proc_wait consumer 300 || wc_fail "output consumer failed"
"$WC_PYTHON" "$WC_LIB_DIR/check_outputs.py" --manifest "$WC_WORK/manifest.json" \
    --input "$WC_WORK/in.jsonl" --outputs "$WC_WORK/out.jsonl" | tee "$WC_WORK/summary.json" ||
    wc_fail "delivery check failed: $(cat "$WC_WORK/summary.json")"

# Metrics agree with what Kafka holds.
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" >"$WC_WORK/metrics.txt"
consumed=$(awk '$1=="webcared_consumed_total"{print $2}' "$WC_WORK/metrics.txt")
dlq=$(awk '$1=="webcared_dlq_produced_total"{print $2}' "$WC_WORK/metrics.txt")
wc_assert_eq "consumed_total" "$N" "$consumed"
wc_assert_eq "dlq_produced_total" "$BAD" "$dlq"

# SIGTERM drains and exits 0 within 25 s; the group's committed offsets then
# cover the whole input (nothing left to reprocess).
wc_daemon_stop webcared 25 || wc_fail "webcared exited with status $? on SIGTERM"
committed=$(wckafka committed --bootstrap "$WC_BOOTSTRAP" --group it-pipeline --topic mentions | tail -1)
lag=$("$WC_PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["lag"])' "$committed")
wc_assert_eq "committed lag after drain" 0 "$lag"
wc_pass "$VALID cases, $BAD DLQ records, exit 0 on SIGTERM, offsets committed"
