#!/usr/bin/env bash
# it_dedup.sh - issue 4 acceptance against the real binary, the local
# Kafka-protocol cluster and a real redis-server:
#  (a) 10,000 mentions, then the same 10,000 again: no new case and no
#      second duplicate update (local table); then a clean restart and the
#      same 10,000 a third time: still nothing new (Redis claims, the new
#      process's table is empty);
#  (b) a campaign of 1,000 near-copies by 1,000 authors: one created case,
#      999 duplicate events on its case_id; the highest has duplicates=999,
#      distinct_authors=1000 and reach = sum(followers + reshares).
# Also: Redis claim commands stay <= 0.05 per mention.
# WC_IT_DEDUP_REDIS=1 (it_dedup_own_redis.sh): the claims go to a second
# redis-server (dedup.redis.addr); asserted to hold every claim key while
# the windows' Redis holds none.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
wc_env_init

N=${WC_IT_COUNT:-10000}
C=${WC_IT_CAMPAIGN:-1000}
CASE_TOPICS=cases.complaints,cases.questions,cases.praise,cases.neutral
wc_kafka_start --brokers 3 --default-partitions 8 --topic mentions:16
wc_redis_start
OWN=${WC_IT_DEDUP_REDIS:-0}
if [[ "$OWN" == 1 ]]; then
    wc_redis_start_named redis-dedup
    DD_PORT=$WC_NAMED_REDIS_PORT
fi

wckafka gen --count "$N" --malformed-pct 0 --seed 44 --out "$WC_WORK/in.jsonl" \
    --manifest "$WC_WORK/manifest.json"
"$WC_PYTHON" "$WC_LIB_DIR/gen_campaign.py" --count "$C" --brand acme-campaign --seed 4 \
    --out "$WC_WORK/campaign.jsonl" --manifest "$WC_WORK/campaign.json"

DAEMON_ARGS=(--brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS" --workers 2 -o kafka.group.id=it-dedup
    -o dedup.remote=true -o kafka.consumer.session.timeout.ms=6000
    -o kafka.consumer.heartbeat.interval.ms=500)
[[ "$OWN" == 1 ]] && DAEMON_ARGS+=(-o "dedup.redis.addr=127.0.0.1:$DD_PORT")

# like wc_metric, but reads the whole page (awk's early exit makes curl fail
# with "write error" (23) under pipefail once /metrics is large)
dd_metric() {
    local page
    page=$(curl -sf "http://127.0.0.1:$1/metrics") || return 1
    awk -v n="$2" '$1==n {v=$2} END {print v}' <<<"$page"
}
metric_ge() { local v; v=$(dd_metric "$1" "$2"); [[ -n "$v" ]] && (( v >= $3 )); }
metric_eq() { local v; v=$(dd_metric "$1" "$2"); [[ "$v" == "$3" ]]; }
# consumed everything it should have and every output is acknowledged
settled() { metric_ge "$1" webcared_consumed_total "$2" && metric_eq "$1" webcared_inflight 0; }
produce() {
    wckafka produce --bootstrap "$WC_BOOTSTRAP" --topic mentions --key-field author.id \
        --file "$1" >/dev/null
}
# count_cases : JSON {"total":..} of everything on the case topics so far:
# the sum of their high watermarks (no transactions here, so every offset is
# a message; no idle timeout that a slow first fetch could cut short)
count_cases() {
    wckafka offsets --bootstrap "$WC_BOOTSTRAP" --topic "$CASE_TOPICS" | tail -1
}
wc_count_lines() { wc -l <"$1" | tr -d ' '; }
total_of() { "$WC_PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["total"])' "$1"; }

# ---- (a) exact replay -------------------------------------------------------
P1=$(wc_free_port)
wc_daemon_start "${DAEMON_ARGS[@]}" --http-port "$P1"
wc_daemon_wait_ready "$P1" 30
produce "$WC_WORK/in.jsonl"
wc_wait_until "first pass processed" 180 settled "$P1" "$N"
created1=$(dd_metric "$P1" webcared_cases_created_total)
near1=$(dd_metric "$P1" webcared_dedup_near_total)
wc_assert_eq "first pass: one output per mention" "$N" $(( created1 + near1 ))
wc_log "first pass: $created1 created, $near1 near-duplicate updates"
# the table's own gauges: every first sighting took a record, none was
# recycled early (10,000 < capacity), no publish failed
cap1=$(dd_metric "$P1" webcared_dedup_table_capacity)
ins1=$(dd_metric "$P1" webcared_dedup_table_inserted_total)
wc_log "dedup table: capacity $cap1, records handed out $ins1"
(( cap1 >= 1024 && (cap1 & (cap1 - 1)) == 0 )) || wc_fail "dedup table capacity '$cap1' not a power of two >= 1024"
(( ins1 >= N )) || wc_fail "dedup table handed out $ins1 records for $N first sightings"
wc_assert_eq "first pass: table evicted_live" 0 "$(dd_metric "$P1" webcared_dedup_table_evicted_live_total)"
wc_assert_eq "first pass: table publish_failed" 0 "$(dd_metric "$P1" webcared_dedup_table_publish_failed_total)"

produce "$WC_WORK/in.jsonl"
wc_wait_until "second pass processed" 180 settled "$P1" $(( 2 * N ))
wc_assert_eq "second pass: cases_created_total unchanged" "$created1" \
    "$(dd_metric "$P1" webcared_cases_created_total)"
wc_assert_eq "second pass: dedup_near_total unchanged" "$near1" "$(dd_metric "$P1" webcared_dedup_near_total)"
wc_assert_eq "second pass: dedup_exact_total" "$N" "$(dd_metric "$P1" webcared_dedup_exact_total)"
cmds1=$(dd_metric "$P1" webcared_dedup_remote_commands_total)
wc_assert_eq "remote errors" 0 "$(dd_metric "$P1" webcared_dedup_remote_errors_total)"
wc_daemon_stop webcared 25 || wc_fail "webcared exited with status $? on SIGTERM"

# restart: the new process has an empty table; Redis remembers the claims
P2=$(wc_free_port)
wc_daemon_start -n webcared2 "${DAEMON_ARGS[@]}" --http-port "$P2"
wc_daemon_wait_ready "$P2" 60 webcared2
wc_log "restarted"
produce "$WC_WORK/in.jsonl"
wc_wait_until "third pass (after restart) processed" 180 settled "$P2" "$N"
wc_assert_eq "after restart: cases_created_total" 0 "$(dd_metric "$P2" webcared_cases_created_total)"
wc_assert_eq "after restart: dedup_near_total" 0 "$(dd_metric "$P2" webcared_dedup_near_total)"
wc_assert_eq "after restart: remote hits" "$N" "$(dd_metric "$P2" webcared_dedup_remote_hits_total)"
wc_assert_eq "after restart: remote errors" 0 "$(dd_metric "$P2" webcared_dedup_remote_errors_total)"

wc_log "third pass: 0 created, $N recognised through Redis"
# Kafka agrees: exactly N outputs on the case topics after three passes
cnt=$(count_cases)
wc_assert_eq "case events in Kafka after 3 x $N mentions" "$N" "$(total_of "$cnt")"

# ---- (b) campaign -----------------------------------------------------------
wc_log "case topics hold $N events"
produce "$WC_WORK/campaign.jsonl"
wc_wait_until "campaign processed" 120 settled "$P2" $(( N + C ))
cmds2=$(dd_metric "$P2" webcared_dedup_remote_commands_total)
cnt=$(count_cases)
wc_assert_eq "case events in Kafka after the campaign" $(( N + C )) "$(total_of "$cnt")"
wc_proc_start -o "$WC_WORK/out.jsonl" consumer "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" consume \
    --bootstrap "$WC_BOOTSTRAP" --topic "$CASE_TOPICS" --until-count $(( N + C )) --timeout 10 \
    --max-time 300
wc_proc_wait consumer 300 || wc_fail "output consumer failed"
wc_assert_eq "case events read back after the campaign" $(( N + C )) "$(wc_count_lines "$WC_WORK/out.jsonl")"
"$WC_PYTHON" - "$WC_WORK/out.jsonl" "$WC_WORK/campaign.json" <<'PY' | tee "$WC_WORK/campaign_summary.json" ||
import json, sys
man = json.load(open(sys.argv[2]))
created, dups = [], []
for line in open(sys.argv[1]):
    ev = json.loads(json.loads(line)["value"])
    if ev.get("brand") != man["brand"]:
        continue
    (created if ev["event"] == "created" else dups).append(ev)
res = {"created": len(created), "duplicate_events": len(dups)}
ok = len(created) == 1 and len(dups) == man["count"] - 1
if ok:
    cid = created[0]["case_id"]
    res["same_case"] = all(d["case_id"] == cid and d["duplicate_of"] == cid for d in dups)
    top = max(dups, key=lambda d: d["duplicates"])
    res.update(max_duplicates=top["duplicates"],
               max_distinct_authors=max(d["distinct_authors"] for d in dups),
               max_reach=max(d["reach"] for d in dups), expected_reach=man["reach"],
               top_reach=top["reach"], top_authors=top["distinct_authors"])
    ok = (res["same_case"] and top["duplicates"] == man["count"] - 1
          and top["distinct_authors"] == man["distinct_authors"] and top["reach"] == man["reach"])
print(json.dumps(res, sort_keys=True))
sys.exit(0 if ok else 1)
PY
    wc_fail "campaign check failed: $(cat "$WC_WORK/campaign_summary.json")"

# Redis cost: one claim command per (batch, brand)
total_mentions=$(( 3 * N + C ))
"$WC_PYTHON" -c 'import sys; c=int(sys.argv[1]); n=int(sys.argv[2]); print("redis claim commands: %d for %d mentions (%.4f per mention)" % (c, n, c / n)); sys.exit(0 if c <= 0.05 * n else 1)' \
    $(( cmds1 + cmds2 )) "$total_mentions" | tee "$WC_WORK/redis_cost.txt" ||
    wc_fail "too many Redis claim commands: $(cat "$WC_WORK/redis_cost.txt")"
claims_cli=(wc_redis_cli)
if [[ "$OWN" == 1 ]]; then
    claims_cli=(redis-cli -h 127.0.0.1 -p "$DD_PORT")
    wc_assert_eq "claim keys in the windows' redis" 0 "$(wc_redis_cli --scan --pattern 'wc:dd:*' | wc -l)"
    wc_assert_ge "window keys in the windows' redis" 1 "$(wc_redis_cli --scan --pattern 'wc:{*' | wc -l)"
fi
keys=$("${claims_cli[@]}" --scan --pattern 'wc:dd:*' | wc -l)
wc_assert_ge "claim bucket keys in the claims' redis" 1 "$keys"
"${claims_cli[@]}" --scan --pattern 'wc:dd:*' | grep -qv '{' && wc_fail "claim key without a {brand} hash tag"

wc_daemon_stop webcared2 25 || wc_fail "webcared exited with status $? on SIGTERM"
wc_pass "replay x2 + restart: 0 new cases; campaign: $(cat "$WC_WORK/campaign_summary.json"); $(cat "$WC_WORK/redis_cost.txt")"
