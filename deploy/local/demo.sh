#!/usr/bin/env bash
# demo.sh - the main job on the embedded local default, from a fresh Debian 12
# machine: installs missing packages, builds, starts the local Kafka-protocol
# cluster (librdkafka mock, deploy/localkafka) + a redis-server + webcared,
# feeds a sample firehose and shows the routed cases.
#
#   deploy/local/demo.sh [--count N] [--rate R] [--follow]
#
# --follow keeps everything running (Ctrl-C to stop) and prints the HTTP
# endpoint and bootstrap list so you can poke at it with kcat / curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
COUNT=20000 RATE=5000 FOLLOW=0
while (($#)); do
    case $1 in
    --count) COUNT=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --follow) FOLLOW=1; shift ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

deploy/install-deps.sh
cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$SRC/build" -j"$(nproc)" --target webcared wc-localkafka >/dev/null

export WC_SOURCE_DIR=$SRC WC_BUILD_DIR=$SRC/build WC_TEST_NAME=demo
source "$SRC/tests/lib/env.sh"
source "$SRC/tests/lib/daemon_ready.sh"
wc_env_init

wc_kafka_start --brokers 3 --default-partitions 8 --topic mentions:16
wc_redis_start
HTTP_PORT=$(wc_free_port)
wc_daemon_start --config "$SRC/deploy/local/webcared.conf" --brokers "$WC_BOOTSTRAP" \
    --redis "$WC_REDIS" --http-port "$HTTP_PORT"
wc_daemon_wait_ready "$HTTP_PORT" 60

OUT_TOPICS=cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq,alerts.clusters,alerts.escalations,alerts.sla,webcare.stats
wc_proc_start -o "$WC_WORK/out.jsonl" consumer "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" consume \
    --bootstrap "$WC_BOOTSTRAP" --topic "$OUT_TOPICS" --headers --timeout 10 --max-time 600
# created_at from one hour ago on (SLA clocks and windows run on event time)
wckafka gen --count "$COUNT" --malformed-pct 1 --seed "$RANDOM" --out "$WC_WORK/firehose.jsonl" \
    --manifest "$WC_WORK/manifest.json" --start "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)"
wc_log "feeding $COUNT mentions at $RATE/s"
wckafka produce --bootstrap "$WC_BOOTSTRAP" --topic mentions --key-field author.id --rate "$RATE" \
    --file "$WC_WORK/firehose.jsonl" >/dev/null
done_all() {
    local c i
    c=$(wc_metric "$HTTP_PORT" webcared_consumed_total)
    i=$(wc_metric "$HTTP_PORT" webcared_inflight)
    [[ -n "$c" && -n "$i" ]] && ((c >= COUNT && i == 0))
}
wc_wait_until "webcared processed all $COUNT mentions" 600 done_all
# let the consumer catch the last outputs (it stops after 10 s without new records)
out_settled() {
    local n
    n=$(wc -l <"$WC_WORK/out.jsonl")
    [[ "$n" == "${_last_n:-}" ]] && return 0
    _last_n=$n
    return 1
}
wc_wait_until "output consumer caught up" 60 out_settled
wc_proc_stop consumer || true

"$WC_PYTHON" - "$WC_WORK/out.jsonl" <<'PY'
import collections, json, sys
per_topic, examples = collections.Counter(), collections.defaultdict(list)
for line in open(sys.argv[1], "rb"):
    rec = json.loads(line)
    t = rec["topic"]
    per_topic[t] += 1
    if len(examples[t]) < 3:
        examples[t].append(rec)
print("\n== routed outputs per topic")
for t, n in sorted(per_topic.items()):
    print("  %-22s %7d" % (t, n))
for t in sorted(examples):
    print("\n== %s (first %d)" % (t, len(examples[t])))
    for rec in examples[t]:
        if t.endswith(".dlq"):
            h = rec.get("headers") or {}
            print("  reason=%s detail=%s source=%s/%s" % (h.get("wc.reason"), h.get("wc.detail"),
                  h.get("wc.source.partition"), h.get("wc.source.offset")))
            continue
        v = json.loads(rec["value"])
        if t.startswith("cases."):
            print("  [%s p%s conf %s] %s topics=%s reasons=%s" % (v.get("class"), v.get("priority"),
                  v.get("confidence"), v.get("case_id"), v.get("topics"), v.get("reasons", [])[:4]))
            print("     %s: %s" % (v.get("mention_id"), (v.get("text") or "")[:110]))
            print("     reply hint: %s" % v.get("reply_hint"))
        else:
            print("  " + json.dumps(v)[:300])
PY
echo
echo "== webcared metrics (excerpt)"
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | grep -E '^webcared_(consumed|produced|cases_created|dedup_(exact|near)|dlq_produced|inflight|ready)' || true

if ((FOLLOW)); then
    echo
    echo "running: bootstrap $WC_BOOTSTRAP, redis $WC_REDIS, http://127.0.0.1:$HTTP_PORT/metrics  (Ctrl-C stops)"
    while wc_daemon_alive; do sleep 1; done
fi
wc_daemon_stop webcared 25 || wc_fail "webcared exited with status $? on SIGTERM"
wc_pass "demo finished"
