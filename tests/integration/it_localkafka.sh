#!/usr/bin/env bash
# it_localkafka.sh - integration test of the test tooling itself:
# wc-localkafka (mock cluster + control channel), tests/lib/env.sh,
# tests/lib/wckafka.py, with kcat (Debian) as an independent client.
#
#  1. cluster + redis come up on free ports; bad CLI args are refused
#  2. 1000 generated mentions produced with wckafka.py come back complete
#     through a kcat balanced consumer group (-G), keys = author.id, and the
#     group's committed offsets (read back by wckafka.py) show zero lag
#  3. fault-injection verbs (broker_down/up, request_errors, leader) are accepted
#  4. the control channel survives garbage and stays responsive
#  5. redis freeze/thaw and crash/restart helpers
#  6. everything stops cleanly: wc-localkafka exits 0 and removes its files,
#     no process we started is left
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
wc_env_init

command -v kcat >/dev/null || wc_fail "kcat not installed (apt-get install kcat)"
"$WC_PYTHON" -c 'import confluent_kafka' 2>/dev/null ||
    wc_fail "python3-confluent-kafka not installed for $WC_PYTHON"

# --- 1. startup -------------------------------------------------------------
lk=$(wc_bin wc-localkafka)
rc=0
"$lk" --topic 'bad topic:x' >/dev/null 2>&1 || rc=$?
wc_assert_eq "exit status for a bad --topic" 2 "$rc"

wc_kafka_start --brokers 3 --topic it.roundtrip:4 --topic it.faults:6
wc_redis_start
wc_assert_eq "redis answers" PONG "$(wc_redis_cli ping)"
reply=$(wc_kafka_ctl topics)
[[ "$reply" == *" mentions:4"* && "$reply" == *" it.faults:6"* && "$reply" == *" webcare.stats:4"* ]] ||
    wc_fail "standard/explicit topics missing: $reply"
wc_assert_eq "pid file" "$WC_KAFKA_PID" "$(cat "$WC_WORK/kafka/pid")"
wc_assert_eq "bootstrap file" "$WC_BOOTSTRAP" "$(cat "$WC_WORK/kafka/bootstrap")"
wc_pass "cluster and redis up ($WC_BOOTSTRAP)"

# --- 2. round trip through an independent client ----------------------------
wckafka gen --count 1000 --seed 42 --out "$WC_WORK/m1000.jsonl" --manifest "$WC_WORK/m1000.json"
n=$(wckafka produce --topic it.roundtrip --key-field author.id --file "$WC_WORK/m1000.jsonl")
wc_assert_eq "wckafka produce count" 1000 "$n"

wc_proc_start -o "$WC_WORK/kcat.out" kcat kcat -b "$WC_BOOTSTRAP" -G it-kcat-group -J -u -q \
    -X auto.offset.reset=earliest -X session.timeout.ms=6000 -X auto.commit.interval.ms=200 \
    it.roundtrip
_kcat_lines() { (( $(wc -l <"$WC_WORK/kcat.out") >= $1 )); }
wc_wait_until "kcat group consumer to receive 1000 messages" 60 _kcat_lines 1000
# the group's commits (auto, every 200 ms) must reach the end of every partition
_zero_lag() {
    wckafka committed --group it-kcat-group --topic it.roundtrip >"$WC_WORK/committed.json" &&
        "$WC_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["lag"] != 0)' \
            "$WC_WORK/committed.json"
}
wc_wait_until "kcat group offsets committed (lag 0)" 30 _zero_lag
wc_proc_stop kcat || true

"$WC_PYTHON" - "$WC_WORK/kcat.out" "$WC_WORK/m1000.jsonl" <<'PY' || wc_fail "kcat round trip mismatch"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
sent = [json.loads(l) for l in open(sys.argv[2], "rb").read().splitlines()]
want = {m["id"]: m for m in sent}
ids = [json.loads(g["payload"])["id"] for g in got]
assert len(ids) == 1000 and set(ids) == set(want), ("ids", len(ids), len(set(ids)))
for g in got:
    m = json.loads(g["payload"])
    assert g["key"] == m["author"]["id"], ("key", g["key"], m["author"]["id"])
    assert m == want[m["id"]], "payload changed"
print("kcat saw all 1000 ids, keys = author.id, payloads byte-identical as JSON")
PY
wc_pass "1000 messages: wckafka produce -> kcat -G consume, committed lag 0"

# --- 3. fault injection reachable --------------------------------------------
# (Delivery under faults is asserted against webcared itself in the fault
# tests; here only that the control verbs act on the cluster.)
wc_kafka_ctl broker_down 2 >/dev/null || wc_fail "broker_down 2 refused"
wc_kafka_ctl request_errors Produce 2 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT >/dev/null ||
    wc_fail "request_errors refused"
wc_kafka_ctl leader it.roundtrip 0 3 >/dev/null || wc_fail "leader move refused"
wc_kafka_ctl broker_up 2 >/dev/null || wc_fail "broker_up 2 refused"
wc_pass "control verbs broker_down/up, request_errors, leader accepted"

# --- 4. control channel robustness -------------------------------------------
for bad in "" "nonsense" "broker_down" "broker_down 99" "leader nosuch 0 1" \
    "request_errors Produce 0 NOT_LEADER_FOR_PARTITION" "request_errors Nope 1 X" \
    "create_topic mentions 4" "rtt 1 -1" "coordinator group g 0"; do
    if reply=$(wc_kafka_ctl "$bad"); then
        wc_fail "'$bad' was accepted: $reply"
    fi
    [[ "$reply" == err* ]] || wc_fail "'$bad' got no err reply: $reply"
done
"$WC_PYTHON" - "${WC_KAFKA_CONTROL##*:}" <<'PY' || wc_fail "control channel broke on garbage"
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"\xff\xfe\x00garbage\r\n" + b"x" * 10000 + b"\n")
s.recv(65536)
s.close()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.close()  # connect and hang up without a command
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rwb")
for cmd in (b"ping", b"create_topic it.new 3", b"topics"):
    f.write(cmd + b"\n"); f.flush()
    r = f.readline().decode()
    assert r.startswith("ok"), (cmd, r)
print("control channel still fine")
PY
wc_assert_eq "ping after garbage" "ok pong" "$(wc_kafka_ctl ping)"
wc_pass "control channel rejects bad commands and survives garbage"

# --- 5. redis helpers ---------------------------------------------------------
wc_redis_cli set it.key 1 >/dev/null
wc_redis_sigstop
if timeout 2 redis-cli -h 127.0.0.1 -p "$WC_REDIS_PORT" ping >/dev/null 2>&1; then
    wc_fail "frozen redis answered"
fi
wc_redis_sigcont
wc_assert_eq "thawed redis value" 1 "$(wc_redis_cli get it.key)"
port=$WC_REDIS_PORT
wc_redis_kill9
wc_redis_start
wc_assert_eq "redis restarted on the same port" "$port" "$WC_REDIS_PORT"
wc_assert_eq "restarted redis is empty (no persistence)" "" "$(wc_redis_cli get it.key)"
wc_pass "redis freeze/thaw, kill -9 and restart"

# --- 6. clean shutdown ----------------------------------------------------------
wc_kafka_stop
for f in pid bootstrap control; do
    [[ ! -e "$WC_WORK/kafka/$f" ]] || wc_fail "wc-localkafka left its $f file behind"
done
wc_redis_stop
wc_stop_all
if ! left=$(wc_leftovers); then
    wc_fail "leftover processes: $left"
fi
wc_pass "wc-localkafka exited 0 and removed its files; no leftover processes"
wc_pass "all"
