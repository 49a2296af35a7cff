#!/usr/bin/env bash
# it_fault_sigterm.sh - issue 7 fault test: SIGTERM under load. The input is
# produced flat out; a third of the way through the daemon gets SIGTERM: it
# must stop input, drain what is in flight, commit, and exit 0 within the
# drain timeout. A second instance then finishes the stream. Checker: 0 lost;
# a clean drain commits exactly what was processed, so the restart replays
# nothing - duplicates are reported and must be 0.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
wc_env_init

N=${WC_IT_COUNT:-20000}
wc_kafka_start --brokers 3 --default-partitions 4 --topic mentions:8
wc_redis_start
wckafka gen --count "$N" --malformed-pct 1 --seed 13 --out "$WC_WORK/in.jsonl" \
    --manifest "$WC_WORK/manifest.json"
# A short session timeout: now and then the group still holds the stopped
# instance after its clean exit (its LeaveGroup did not take effect in the
# mock), and the successor then waits session.timeout.ms (default 45 s) for
# its partitions. Nothing is lost either way; the test reports the wait.
ARGS=(--brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS" --workers 2 -o kafka.group.id=it-fault-sigterm
    -o kafka.drain.timeout.ms=15000 -o kafka.consumer.session.timeout.ms=6000
    -o kafka.consumer.heartbeat.interval.ms=500)

P1=$(wc_free_port)
wc_daemon_start "${ARGS[@]}" --http-port "$P1"
wc_daemon_wait_ready "$P1" 30
wc_proc_start -o "$WC_WORK/out.jsonl" consumer "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" consume \
    --bootstrap "$WC_BOOTSTRAP" --topic cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq \
    --headers --until-count "$N" --timeout 30 --max-time 110
wc_proc_start producer "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" produce --bootstrap "$WC_BOOTSTRAP" \
    --topic mentions --key-field author.id --file "$WC_WORK/in.jsonl"

consumed_ge() {
    local v
    wc_daemon_alive || wc_fail "webcared exited: $(tail -n 3 "$WC_DAEMON_LOG")"
    v=$(wc_metric "$P1" webcared_consumed_total)
    [[ -n "$v" ]] && (( v >= $1 ))
}
wc_wait_until "a third of the stream consumed" 60 consumed_ge $(( N / 3 ))
inflight=$(wc_metric "$P1" webcared_inflight || true)
t0=$(_wc_now_us)
rc=0
wc_daemon_stop webcared 25 || rc=$?
ms=$(( ($(_wc_now_us) - t0) / 1000 ))
(( rc == 0 )) || wc_fail "SIGTERM under load: exit status $rc after ${ms} ms"
grep -q "drain timeout" "$WC_WORK/webcared.log" && wc_fail "drain timed out"
wc_log "SIGTERM under load (in flight: ${inflight:-?}): drained and exited 0 in ${ms} ms"

P2=$(wc_free_port)
wc_daemon_start -n webcared2 "${ARGS[@]}" --http-port "$P2"
wc_daemon_wait_ready "$P2" 30 webcared2
t1=$(_wc_now_us)
assigned2() {
    local v
    wc_daemon_alive webcared2 || wc_fail "webcared2 exited: $(tail -n 3 "$WC_WORK/webcared2.log")"
    v=$(wc_metric "$P2" webcared_assigned_partitions)
    [[ -n "$v" ]] && (( v >= 1 ))
}
wc_wait_until "webcared2 assigned partitions" 60 assigned2
wait2=$(( ($(_wc_now_us) - t1) / 1000 ))
wc_log "webcared2 got its partitions after ${wait2} ms"
wc_proc_wait producer 100 || wc_fail "producer failed"
wc_proc_wait consumer 110 || wc_fail "output consumer failed"
"$WC_PYTHON" "$WC_LIB_DIR/check_outputs.py" --allow-duplicates --manifest "$WC_WORK/manifest.json" \
    --input "$WC_WORK/in.jsonl" --outputs "$WC_WORK/out.jsonl" | tee "$WC_WORK/summary.json" ||
    wc_fail "nothing-lost check failed: $(cat "$WC_WORK/summary.json")"
read -r dups dlqdups < <("$WC_PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["duplicates"], s["dlq_duplicates"])' "$WC_WORK/summary.json")
wc_assert_eq "duplicate case events after a clean drain" 0 "$dups"
wc_assert_eq "duplicate DLQ records after a clean drain" 0 "$dlqdups"
wc_daemon_stop webcared2 25 || wc_fail "webcared2 exited with status $? on SIGTERM"
wc_pass "SIGTERM under load: exit 0 after ${ms} ms drain; $N mentions: 0 lost, 0 duplicates; successor assigned after ${wait2} ms"
