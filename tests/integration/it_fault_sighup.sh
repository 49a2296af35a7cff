#!/usr/bin/env bash
# it_fault_sighup.sh - issue 7 fault test: SIGHUP with an invalid config file
# (syntax error, unknown key, out-of-range value) or a broken rules directory
# keeps the daemon running with the old configuration and rules, mid-stream:
# it stays ready, keeps processing, and the checker finds every mention with
# exactly one case event (no restart, so no duplicates allowed). A valid
# reload afterwards is applied; SIGTERM exits 0 with offsets committed.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
wc_env_init

N=${WC_IT_COUNT:-6000}
wc_kafka_start --brokers 3 --default-partitions 4 --topic mentions:8
wc_redis_start
wckafka gen --count "$N" --malformed-pct 1 --seed 11 --out "$WC_WORK/in.jsonl" \
    --manifest "$WC_WORK/manifest.json"
HALF=$(( N / 2 ))
head -n "$HALF" "$WC_WORK/in.jsonl" >"$WC_WORK/in1.jsonl"
tail -n +"$(( HALF + 1 ))" "$WC_WORK/in.jsonl" >"$WC_WORK/in2.jsonl"

CONF=$WC_WORK/webcared.conf
good_conf() {
    cat >"$CONF" <<CONF
# valid
kafka.group.id = it-fault-sighup
kafka.brokers = $WC_BOOTSTRAP
redis.addr = $WC_REDIS
workers = 2
log.level = info
rules.dir = $WC_SOURCE_DIR/rules
CONF
}
good_conf
PORT=$(wc_free_port)
wc_daemon_start --config "$CONF" --http-port "$PORT"
wc_daemon_wait_ready "$PORT" 30

wc_proc_start -o "$WC_WORK/out.jsonl" consumer "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" consume \
    --bootstrap "$WC_BOOTSTRAP" --topic cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq \
    --headers --until-count "$N" --timeout 60 --max-time 110
wc_proc_start producer1 "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" produce --bootstrap "$WC_BOOTSTRAP" \
    --topic mentions --key-field author.id --rate 3000 --file "$WC_WORK/in1.jsonl"

metric() { wc_metric "$PORT" "$1"; }
metric_ge() {
    local v
    wc_daemon_alive || wc_fail "webcared exited: $(tail -n 3 "$WC_DAEMON_LOG")"
    v=$(metric "$1")
    [[ -n "$v" ]] && (( v >= $2 ))
}
wc_wait_until "first messages processed" 60 metric_ge webcared_consumed_total 200

# hup DESC EXPECTED_FAILURES : send SIGHUP, wait for the failure counter,
# then the daemon must still be alive and ready.
fails=0
hup_rejected() {
    local desc=$1
    fails=$(( fails + 1 ))
    kill -HUP "$WC_DAEMON_PID"
    wc_wait_until "reload of $desc rejected" 20 metric_ge webcared_rules_reload_failures_total "$fails"
    wc_daemon_alive || wc_fail "webcared died on SIGHUP with $desc"
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || wc_fail "not ready after SIGHUP with $desc"
    wc_log "SIGHUP with $desc: rejected, still running and ready"
}

printf 'this line has no equals sign\n' >>"$CONF"
hup_rejected "a syntax error"
good_conf; printf 'no.such.key = 1\n' >>"$CONF"
hup_rejected "an unknown key"
good_conf; printf 'kafka.max.inflight = 1\n' >>"$CONF"
hup_rejected "an out-of-range value"
good_conf; printf 'kafka.global.no.such.property = x\n' >>"$CONF"
hup_rejected "an invalid librdkafka property"
rm -f "$CONF"
hup_rejected "a missing file"
mkdir -p "$WC_WORK/badrules"
printf '[routes]\nthis is not a rule\n' >"$WC_WORK/badrules/broken.rules"
good_conf; sed -i "s#^rules.dir = .*#rules.dir = $WC_WORK/badrules#" "$CONF"
hup_rejected "a broken rules directory"

# Back to a valid file: applied (the rules reload counter moves).
reloads=$(metric webcared_rules_reloads_total)
good_conf
kill -HUP "$WC_DAEMON_PID"
wc_wait_until "valid reload applied" 20 metric_ge webcared_rules_reloads_total $(( reloads + 1 ))
wc_log "valid SIGHUP applied"

wc_proc_wait producer1 120 || wc_fail "producer 1 failed"
wckafka produce --bootstrap "$WC_BOOTSTRAP" --topic mentions --key-field author.id \
    --file "$WC_WORK/in2.jsonl" >/dev/null
wc_proc_wait consumer 120 || wc_fail "output consumer failed"
"$WC_PYTHON" "$WC_LIB_DIR/check_outputs.py" --manifest "$WC_WORK/manifest.json" \
    --input "$WC_WORK/in.jsonl" --outputs "$WC_WORK/out.jsonl" | tee "$WC_WORK/summary.json" ||
    wc_fail "delivery check failed: $(cat "$WC_WORK/summary.json")"
wc_daemon_stop webcared 25 || wc_fail "webcared exited with status $? on SIGTERM"
committed=$(wckafka committed --bootstrap "$WC_BOOTSTRAP" --group it-fault-sighup --topic mentions | tail -1)
lag=$("$WC_PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["lag"])' "$committed")
wc_assert_eq "committed lag after drain" 0 "$lag"
wc_pass "6 invalid SIGHUP reloads rejected while running; $N mentions: 0 lost, 0 duplicates; exit 0"
