#!/usr/bin/env bash
# soak_kill.sh - issue 7 soak: N mentions through webcared while it is
# kill -9'd every S seconds (and restarted at once), mixed with the other
# faults that can be scripted cheaply. Not a ctest; the CI-sized variant is
# tests/integration/it_soak_kill.sh.
#
#   tests/soak/soak_kill.sh [--mentions N] [--kill-every S] [--rate R]
#       [--partitions P] [--out-partitions Q] [--min-kills K] [--lag-end L]
#       [--max-fault-s T] [--no-extra-faults] [--drop-outputs D] [--exactly-once]
#       [--build-dir DIR]
#
# Defaults: 1,000,000 mentions (1% malformed, every reason), kill -9 every
# 10 s, fed at 2,000/s, 128 input partitions, 64 per output topic (the local cluster keeps only ~5 MB per
# partition: the outputs are read concurrently by tests/soak/drain.py, which
# also reports any offset gap, i.e. records the cluster dropped before they
# were read). Redis windows and remote dedup are on (daemon defaults).
#
# Faults, on a fixed schedule while the input is being fed, until at least
# K kill -9 were done (default 1) and, with --lag-end L, until the group's
# committed lag on the input is at most L (checked at each stop; the faults
# stop anyway after T s, default 2400, once the input is fed: figure
# faults_capped; measured: with kill -9 every 10 s and a 6 s group session
# the committed progress is only ~200 mentions/s at load 15, so the default
# lets the last instance process the backlog without faults): every S
# seconds the running instance is killed with SIGKILL and a new one started
# at once; the 3rd stop is a SIGTERM instead (exit 0, or 1 when the drain timed out: then
# what was not acknowledged is not committed and is replayed, documented;
# anything else fails the run). Half-way between two stops, in turn:
#   1. broker 2 down for 4 s, then up (outputs it leads stall; the group
#      coordinator may be on it);
#   2. output partition leaders move 2 -> 3 and 3 -> 2;
#   3. redis-server SIGSTOP for 4 s, then SIGCONT;
#   4. 8 Produce request errors (NOT_LEADER_FOR_PARTITION, ...);
#   5. redis-server kill -9 and a restart without persistence (windows
#      state lost; mentions must not be);
#   6. Redis CLIENT PAUSE 3 s (> redis.timeout.ms: timeouts, reconnect);
#   7. Redis FUNCTION FLUSH + SCRIPT FLUSH (library and claim script are
#      loaded again);
#   8. SIGHUP with an invalid config file (rejected, the instance goes on;
#      the file is restored 1 s later).
# Not in this rotation, each with a test of its own: all brokers down beyond
# the message timeout (it.fault_brokers_down: it would stop the feeder too)
# and two instances in one group (it.fault_group).
# The input partitions are led by broker 1, which is never faulted, so the
# test's own producer (feed.py, idempotent) is not hit by the faults: an
# input loss would otherwise be blamed on the daemon.
#
# At the end: all input committed by the last instance (offsets are
# committed only after every output of a message was acknowledged), the
# drainer has read every output partition to its high watermark, and
# tests/lib/check_outputs.py compares outputs with the acknowledged input.
# Prints the figures (consumed, cases, lost, duplicates, DLQ records, kills,
# wall time, load) and exits 1 if anything acknowledged was lost, a DLQ
# record is missing, an output gap was seen, or an instance died by itself.
# --drop-outputs D deletes D case events from the drained output before the
# check (test of the test: the run must then fail with D lost).
#
# --exactly-once: every instance runs with kafka.exactly.once = true (same
# transactional.id, kafka.transaction.mirror.offsets = true because the
# local cluster drops transactional offset commits, debug=kafka for the
# commit journal; docs/EOS.md). The outputs are still read uncommitted (the
# local cluster does not filter aborted data anyway); besides the raw check
# above, tests/lib/eos_check.py rebuilds the committed view (outputs whose
# wc.txn transaction an instance logged as committed; the last transaction
# of each kill -9'd instance may be in doubt) and counts lost and
# duplicated case events and DLQ records by mention id in it: the run fails
# unless both are 0. Figures: eos_* next to the raw ones.
# Environment: as tests/lib/env.sh (WC_KEEP=1 keeps the work dir).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
N=1000000
KILL_EVERY=10
RATE=2000
PARTS=128
OUT_PARTS=64
MIN_KILLS=1
LAG_END=-1
MAX_FAULT_S=2400
FAULTS_CAPPED=0
EXTRA=1
DROP=0
EOS=0
while (( $# )); do
    case $1 in
    --mentions) N=$2; shift 2 ;;
    --kill-every) KILL_EVERY=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --out-partitions) OUT_PARTS=$2; shift 2 ;;
    --min-kills) MIN_KILLS=$2; shift 2 ;;
    --lag-end) LAG_END=$2; shift 2 ;;
    --max-fault-s) MAX_FAULT_S=$2; shift 2 ;;
    --no-extra-faults) EXTRA=0; shift ;;
    --exactly-once) EOS=1; shift ;;
    --drop-outputs) DROP=$2; shift 2 ;;
    --build-dir) WC_BUILD_DIR=$(cd "$2" && pwd); export WC_BUILD_DIR; shift 2 ;;
    -h | --help) sed -n '2,57p' "$0"; exit 0 ;;
    *) echo "soak_kill.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
(( LAG_END >= 0 )) || LAG_END=$(( 1 << 40 )) # default: the faults end with the feed
: "${WC_TEST_NAME:=soak_kill}"
source "$HERE/../lib/env.sh"
source "$HERE/../lib/daemon_ready.sh"
source "$HERE/../lib/outputs.sh"
wc_env_init

GROUP=soak-kill
OUTS=cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq
T_START=$(_wc_now_us)
read -r LOAD_START _ </proc/loadavg
LOAD_MAX=$LOAD_START
note_load() {
    local l
    read -r l _ </proc/loadavg
    LOAD_MAX=$("$WC_PYTHON" -c 'import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))' "$LOAD_MAX" "$l")
}

wc_kafka_start --brokers 3 --default-partitions "$OUT_PARTS" --topic "mentions:$PARTS"
for (( p = 0; p < PARTS; p++ )); do
    wc_kafka_ctl leader mentions "$p" 1 >/dev/null || wc_fail "cannot move mentions[$p] to broker 1"
done
wc_redis_start
wckafka gen --count "$N" --malformed-pct 1 --seed 41 --out "$WC_WORK/in.jsonl" \
    --manifest "$WC_WORK/manifest.json"

# outputs are read from the start, concurrently
wc_outputs_drain_start "$OUTS"

# a config file for the SIGHUP fault (the -o options below apply after it)
SOAK_CONF=$WC_WORK/soak.conf
echo "log.level = info" >"$SOAK_CONF"
DARGS=(--config "$SOAK_CONF" --brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS" --workers 2 -o kafka.group.id=$GROUP
    -o kafka.consumer.session.timeout.ms=6000 -o kafka.consumer.heartbeat.interval.ms=500
    -o stats.interval.s=86400)
if (( EOS )); then
    DARGS+=(-o instance.id=soak-kill -o kafka.exactly.once=true -o kafka.transaction.mirror.offsets=true
        -o log.level=debug -o debug=kafka)
fi
KILLED=() # instances stopped by SIGKILL or dead by themselves (their last transaction may be in doubt)
INST=0
KILLS=0
TERMS=0
CRASHES=0
CONSUMED_SUM=0 # webcared_consumed_total of each instance, read just before it is stopped
CUR=""
CUR_PORT=""
start_instance() {
    INST=$(( INST + 1 ))
    CUR=webcared-$INST
    CUR_PORT=$(wc_free_port)
    wc_daemon_start -n "$CUR" "${DARGS[@]}" --http-port "$CUR_PORT"
}
# stop_instance kill|term
stop_instance() {
    local rc=0
    if ! wc_daemon_alive "$CUR"; then
        wait "$(wc_proc_pid "$CUR")" 2>/dev/null || rc=$?
        CRASHES=$(( CRASHES + 1 ))
        KILLED+=("$CUR")
        wc_log "$CUR had exited by itself (status $rc): $(tail -n 3 "$WC_WORK/$CUR.log" | tr '\n' ' ')"
        wc_proc_stop "$CUR" 1 || true
        return 0
    fi
    if [[ $1 == term ]]; then
        local t0 c
        c=$(metric webcared_consumed_total || true)
        CONSUMED_SUM=$(( CONSUMED_SUM + ${c:-0} ))
        t0=$(_wc_now_us)
        wc_daemon_stop "$CUR" 40 || rc=$?
        TERMS=$(( TERMS + 1 ))
        TERM_MS=$(( ($(_wc_now_us) - t0) / 1000 ))
        TERM_RC=$rc
        wc_log "SIGTERM $CUR: exit $rc after $TERM_MS ms"
        # 0: drained and committed; 1: drain timeout (documented: what was
        # not acknowledged is not committed and is replayed). Anything else
        # (killed by a signal, needed SIGKILL) is a failure.
        if (( rc == 1 )); then
            wc_log "SIGTERM $CUR: $(grep -E 'drain timeout|shutdown did not complete' "$WC_WORK/$CUR.log" | cut -c1-200 | tr '\n' ' ')"
        elif (( rc != 0 )); then
            CRASHES=$(( CRASHES + 1 ))
            KILLED+=("$CUR")
        fi
    else
        local c
        c=$(metric webcared_consumed_total || true)
        CONSUMED_SUM=$(( CONSUMED_SUM + ${c:-0} ))
        wc_daemon_kill9 "$CUR"
        KILLS=$(( KILLS + 1 ))
        KILLED+=("$CUR")
    fi
}
metric() { wc_metric "$CUR_PORT" "$1"; }
input_lag() { # committed lag of the group on the input topic (a large number if unknown)
    wckafka committed --bootstrap "$WC_BOOTSTRAP" --group $GROUP --topic mentions 2>/dev/null | tail -1 |
        "$WC_PYTHON" -c 'import json,sys
try: print(json.load(sys.stdin)["lag"])
except Exception: print(1 << 40)'
}

EXTRA_N=0
EXTRA_LOG=()
extra_fault() { # the next one of the eight scripted faults; sets UNDO_AT/UNDO
    local k=$(( EXTRA_N % 8 )) t p
    EXTRA_N=$(( EXTRA_N + 1 ))
    case $k in
    0) wc_kafka_ctl broker_down 2 >/dev/null; UNDO="wc_kafka_ctl broker_up 2"; UNDO_AT=$(( $(_wc_now_us) + 4000000 ))
       EXTRA_LOG+=("broker 2 down 4 s") ;;
    1) for t in ${OUTS//,/ }; do
           for (( p = 0; p < OUT_PARTS; p++ )); do
               wc_kafka_ctl leader "$t" "$p" $(( 2 + (p + EXTRA_N) % 2 )) >/dev/null || true
           done
       done
       EXTRA_LOG+=("output leaders moved") ;;
    2) wc_redis_sigstop; UNDO="wc_redis_sigcont"; UNDO_AT=$(( $(_wc_now_us) + 4000000 ))
       EXTRA_LOG+=("redis SIGSTOP 4 s") ;;
    3) # not NOT_ENOUGH_REPLICAS_AFTER_APPEND: a real broker has appended the
       # batch when it says so; the mock's injected errors never append
       wc_kafka_ctl request_errors Produce 8 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT \
           NOT_ENOUGH_REPLICAS LEADER_NOT_AVAILABLE NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT \
           NOT_ENOUGH_REPLICAS NOT_LEADER_FOR_PARTITION >/dev/null || true
       EXTRA_LOG+=("8 Produce errors") ;;
    4) wc_redis_kill9; wc_redis_start; EXTRA_LOG+=("redis kill -9 + empty restart") ;;
    5) # > redis.timeout.ms (2000): the daemon's calls time out, it reconnects and re-sends
       wc_redis_cli CLIENT PAUSE 3000 ALL >/dev/null || true
       EXTRA_LOG+=("redis CLIENT PAUSE 3 s") ;;
    6) wc_redis_cli FUNCTION FLUSH >/dev/null || true
       wc_redis_cli SCRIPT FLUSH >/dev/null || true
       EXTRA_LOG+=("redis FUNCTION FLUSH + SCRIPT FLUSH") ;;
    7) # the running instance must reject it and keep going (a death fails the run)
       printf 'log.level = info\nno.such.key = 1\n' >"$SOAK_CONF"
       kill -HUP "$(wc_proc_pid "$CUR")" 2>/dev/null || true
       UNDO="restore_soak_conf"; UNDO_AT=$(( $(_wc_now_us) + 1000000 ))
       EXTRA_LOG+=("SIGHUP with an invalid config") ;;
    esac
    wc_log "fault: ${EXTRA_LOG[-1]}"
}

restore_soak_conf() { echo "log.level = info" >"$SOAK_CONF"; }

start_instance
wc_daemon_wait_ready "$CUR_PORT" 60 "$CUR"
wc_proc_start -o "$WC_WORK/feed.json" feed "$WC_PYTHON" "$HERE/feed.py" --bootstrap "$WC_BOOTSTRAP" \
    --topic mentions --file "$WC_WORK/in.jsonl" --rate "$RATE" --unacked "$WC_WORK/unacked.txt" \
    --progress "$WC_WORK/feed.progress" --acked-out "$WC_WORK/acked.txt"

# The fault schedule (the scenario's own clock, not a synchronisation):
# stops every KILL_EVERY s, an extra fault half-way between two stops.
S_US=$(( KILL_EVERY * 1000000 ))
next_stop=$(( $(_wc_now_us) + S_US ))
next_extra=$(( $(_wc_now_us) + S_US / 2 ))
UNDO=""
UNDO_AT=0
STOPS=0
LAG=$(( 1 << 40 )) # committed input lag, measured at stops once the input is fed
T_FAULTS=$(_wc_now_us)
# The feeder's exit status is collected as soon as it exits: a long faults
# phase spawns enough processes to wrap the PIDs (pid_max 32768), and bash
# forgets a child's status once a new child gets its PID (a 3,600 s run
# failed "the input producer failed" with every line acknowledged).
FEED_RC=-1
while :; do
    now=$(_wc_now_us)
    feeding=1
    if (( FEED_RC < 0 )) && ! wc_proc_alive feed; then
        FEED_RC=0
        wc_proc_wait feed 60 || FEED_RC=$?
    fi
    (( FEED_RC < 0 )) || feeding=0
    if (( ! feeding && KILLS >= MIN_KILLS )) && [[ -z "$UNDO" ]] && (( LAG <= LAG_END )); then
        break
    fi
    if (( now - T_FAULTS >= MAX_FAULT_S * 1000000 )) && (( ! feeding )) && [[ -z "$UNDO" ]]; then
        FAULTS_CAPPED=1
        wc_log "faults phase capped at ${MAX_FAULT_S} s (committed lag $LAG): the last instance finishes without faults"
        break
    fi
    if [[ -n "$UNDO" ]] && (( now >= UNDO_AT )); then
        $UNDO >/dev/null || wc_fail "undo failed: $UNDO"
        wc_log "fault undone: $UNDO"
        UNDO=""
    fi
    if (( now >= next_stop )); then
        if (( ! feeding )); then
            LAG=$(input_lag)
            wc_log "input fed; committed lag $LAG (faults go on down to $LAG_END)"
            if (( KILLS >= MIN_KILLS && LAG <= LAG_END )); then
                next_stop=$(( now + 3600 * 1000000 ))
                continue
            fi
        fi
        STOPS=$(( STOPS + 1 ))
        note_load
        wc_log "stop $STOPS: $CUR consumed $(metric webcared_consumed_total || echo ?) fed $(cat "$WC_WORK/feed.progress" 2>/dev/null || echo 0)"
        if (( STOPS == 3 )); then stop_instance term; else stop_instance kill; fi
        start_instance
        next_stop=$(( $(_wc_now_us) + S_US ))
        next_extra=$(( $(_wc_now_us) + S_US / 2 ))
        continue
    fi
    if (( EXTRA && now >= next_extra )) && [[ -z "$UNDO" ]]; then
        extra_fault
        next_extra=$(( next_stop + S_US )) # once per cycle
    fi
    sleep 0.2
done
T_FED=$(_wc_now_us)
CONSUMED_FAULTS=$CONSUMED_SUM # consumed by the instances that were stopped during the faults phase
(( FEED_RC == 0 )) || wc_fail "the input producer failed (exit $FEED_RC): $(tail -n 3 "$WC_WORK/feed.log")"
wc_log "input fed: $(cat "$WC_WORK/feed.json"); faults over: $KILLS kill -9, $TERMS SIGTERM, ${#EXTRA_LOG[@]} extra faults"

wc_wait_until "all input committed by $CUR" $(( 600 + N / 500 )) wc_committed_lag0 "$GROUP" "$CUR"
note_load
wckafka offsets --bootstrap "$WC_BOOTSTRAP" --topic mentions 2>/dev/null | tail -1 >"$WC_WORK/in_offsets.json"
wc_outputs_drain_finish "$OUTS" $(( 300 + N / 2000 ))
consumed_last=$(metric webcared_consumed_total)
wc_daemon_stop "$CUR" 40 || wc_fail "$CUR exited with status $? on the final SIGTERM"
CONSUMED_SUM=$(( CONSUMED_SUM + ${consumed_last:-0} ))
if (( DROP > 0 )); then
    "$WC_PYTHON" - "$WC_WORK/out.jsonl" "$DROP" <<'PY'
import json, sys
path, drop = sys.argv[1], int(sys.argv[2])
lines = open(path).read().splitlines()
ids = []
for l in lines:
    r = json.loads(l)
    if r["topic"].startswith("cases."):
        ids.append(json.loads(r["value"])["mention_id"])
victims = set(ids[len(ids) // 2: len(ids) // 2 + drop])
keep = [l for l in lines if not (json.loads(l)["topic"].startswith("cases.") and
                                 json.loads(json.loads(l)["value"])["mention_id"] in victims)]
open(path, "w").write("\n".join(keep) + "\n")
print("test of the test: removed every case event of %d mention ids" % len(victims), file=sys.stderr)
PY
fi
rc=0
"$WC_PYTHON" "$WC_LIB_DIR/check_outputs.py" --allow-duplicates --manifest "$WC_WORK/manifest.json" \
    --input "$WC_WORK/in.jsonl" --outputs "$WC_WORK/out.jsonl" --unacked "$WC_WORK/unacked.txt" \
    --lost-out "$WC_WORK/lost.txt" >"$WC_WORK/summary.json" 2>"$WC_WORK/check.err" || rc=1
echo '{}' >"$WC_WORK/eos.json"
if (( EOS )); then
    EARGS=()
    for (( i = 1; i <= INST; i++ )); do
        EARGS+=(--log "$WC_WORK/webcared-$i.log")
    done
    for k in "${KILLED[@]}"; do # run tag of each killed instance (none if it died before starting)
        r=$(sed -n 's/.*exactly-once: transactional\.id [^ ]*, run \([0-9a-f]*\),.*/\1/p' "$WC_WORK/$k.log" | head -n 1)
        [[ -z "$r" ]] || EARGS+=(--killed-run "$r")
    done
    "$WC_PYTHON" "$WC_LIB_DIR/eos_check.py" --manifest "$WC_WORK/manifest.json" --input "$WC_WORK/in.jsonl" \
        --outputs "$WC_WORK/out.jsonl" --unacked "$WC_WORK/unacked.txt" "${EARGS[@]}" \
        >"$WC_WORK/eos.json" 2>"$WC_WORK/eos.err" || rc=1
    [[ -s "$WC_WORK/eos.json" ]] || echo '{}' >"$WC_WORK/eos.json"
fi
T_END=$(_wc_now_us)
"$WC_PYTHON" - "$WC_WORK" "$N" "$KILLS" "$TERMS" "${TERM_RC:-}" "${TERM_MS:-}" "$CRASHES" "${#EXTRA_LOG[@]}" \
    $(( (T_END - T_START) / 1000 )) $(( (T_FED - T_START) / 1000 )) "$LOAD_START" "$LOAD_MAX" "$CONSUMED_SUM" \
    "$KILL_EVERY" "$RATE" "$FAULTS_CAPPED" "$CONSUMED_FAULTS" <<'PY' | tee "$WC_WORK/figures.json"
import json, sys
w = sys.argv[1]
s = json.load(open(w + "/summary.json"))
feed = json.load(open(w + "/feed.json"))
drain = json.load(open(w + "/drain.json"))
ino = json.load(open(w + "/in_offsets.json"))
fig = {
    "mentions": int(sys.argv[2]), "fed_acked": feed["acked"], "unacked": feed["unacked"],
    "fed_reproduced": feed["reproduced"],
    "input_topic_holds": ino["total"],
    "consumed_by_all_instances": int(sys.argv[13]), "outputs_read": drain["read"],
    "cases": s["cases"], "case_events": s["case_events"], "lost": s["lost"],
    "duplicates": s["duplicates"], "dup_ids": s["dup_ids"], "unexpected": s["unexpected"],
    "dlq_records": s["dlq_records"], "dlq_missing": s["dlq_missing"], "dlq_extra": s["dlq_extra"],
    "dlq_duplicates": s["dlq_duplicates"], "output_gaps": drain["gaps"],
    "kills": int(sys.argv[3]), "sigterms": int(sys.argv[4]), "sigterm_exit": sys.argv[5],
    "sigterm_ms": sys.argv[6], "crashes": int(sys.argv[7]), "extra_faults": int(sys.argv[8]),
    "kill_every_s": int(sys.argv[14]), "feed_rate": float(sys.argv[15]),
    "faults_capped": bool(int(sys.argv[16])), "consumed_during_faults": int(sys.argv[17]),
    "wall_s": round(int(sys.argv[9]) / 1000, 1), "faults_phase_s": round(int(sys.argv[10]) / 1000, 1),
    "load_start": float(sys.argv[11]), "load_max": float(sys.argv[12]),
}
e = json.load(open(w + "/eos.json"))
if e:  # --exactly-once: the committed view (eos_check.py); the figures above are the raw topics
    cv = e["committed_view"]
    fig.update({
        "eos_lost": cv["lost"], "eos_duplicates": cv["duplicates"], "eos_unexpected": cv["unexpected"],
        "eos_case_events": cv["case_events"], "eos_dlq_records": cv["dlq_records"],
        "eos_dlq_missing": cv["dlq_missing"], "eos_dlq_extra": cv["dlq_extra"],
        "eos_transactions_committed": e["transactions_committed"],
        "eos_transactions_aborted": e["transactions_aborted"],
        "eos_transactions_seen": e["transactions_seen"],
        "eos_outputs_of_uncommitted_transactions": e["outputs_of_uncommitted_transactions"],
        "eos_raw_extras_all_uncommitted": e["raw_extras_all_uncommitted"],
        "eos_in_doubt": len(e["in_doubt"]),
        "eos_in_doubt_committed": sum(1 for v in e["in_doubt"].values() if v == "committed"),
        "eos_in_doubt_inconsistent": e["in_doubt_inconsistent"],
        "eos_outputs_without_wc_txn": e["outputs_without_wc_txn"],
    })
print(json.dumps(fig, sort_keys=True))
PY
[[ -s "$WC_WORK/check.err" ]] && head -n 12 "$WC_WORK/check.err" >&2
[[ -s "$WC_WORK/eos.err" ]] && head -n 12 "$WC_WORK/eos.err" >&2
if [[ -s "$WC_WORK/lost.txt" ]]; then # where the lost mentions were in the input, what came out around them
    "$WC_PYTHON" - "$WC_WORK" <<'PY' >&2 || true
import json, sys
w = sys.argv[1]
lost = open(w + "/lost.txt").read().split()[:5]
man = json.load(open(w + "/manifest.json"))
bad = {m["line"] for m in man["malformed_lines"]}
line_of, it = {}, iter(man["valid_ids"])
for ln in range(1, man["count"] + 1):
    if ln not in bad:
        line_of[next(it)] = ln
pos = {}
for l in open(w + "/acked.txt"):
    n, p, o = map(int, l.split())
    pos[n] = (p, o)
near = {}
want = {pos.get(line_of[i]) for i in lost}
for l in open(w + "/out.jsonl"):
    r = json.loads(l)
    if r["topic"].startswith("cases."):
        v = json.loads(r["value"])
        p, o = (v.get("source") or [None, None])
        for wp in want:
            if wp and p == wp[0] and abs(o - wp[1]) <= 3:
                near.setdefault(wp, []).append((o, v["mention_id"], v["event"], r["topic"], r["partition"], r["offset"]))
for i in lost:
    wp = pos.get(line_of[i])
    print("lost %s: input line %d, mentions[%s] offset %s; case events from offsets +-3: %s" % (
        i, line_of[i], wp and wp[0], wp and wp[1], sorted(near.get(wp, []))))
PY
fi
wc_log "extra faults: ${EXTRA_LOG[*]:-none}"
(( CRASHES == 0 )) || { wc_log "FAIL: $CRASHES instance(s) died by themselves or a SIGTERM did not exit 0"; rc=1; }
if (( rc != 0 )); then
    wc_fail "soak: acknowledged input lost or outputs wrong: $(cat "$WC_WORK/summary.json") $(cat "$WC_WORK/eos.json" 2>/dev/null)"
fi
if (( EOS )); then
    wc_log "exactly-once, committed view: $(/usr/bin/python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); v=e["committed_view"]; print("%d lost, %d duplicate case events, %d DLQ records (%d missing, %d extra); %d transactions committed, %d aborted, %d in doubt" % (v["lost"], v["duplicates"], v["dlq_records"], v["dlq_missing"], v["dlq_extra"], e["transactions_committed"], e["transactions_aborted"], len(e["in_doubt"])))' "$WC_WORK/eos.json")"
fi
wc_pass "$N mentions, kill -9 every ${KILL_EVERY} s ($KILLS kills, $TERMS SIGTERM, ${#EXTRA_LOG[@]} other faults): 0 lost, $(/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("%d duplicate case events (%d ids), %d DLQ records" % (s["duplicates"], s["dup_ids"], s["dlq_records"]))' "$WC_WORK/summary.json"), $(( (T_END - T_START) / 1000000 )) s"
