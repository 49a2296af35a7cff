# shellcheck shell=bash
# outputs.sh - read webcared's outputs back and check them (sourced by tests
# after env.sh). Used once the daemon has committed all input: an input
# offset is committed only after all its outputs were acknowledged, so what
# the topics hold is everything there is to read.

# wc_committed_lag0 GROUP [DAEMON [TOPIC]]: the consumer group's committed
# offsets on the input topic TOPIC (default mentions) are at its high
# watermarks (lag 0), i.e. every input's outputs were acknowledged (and its
# window updates applied). Fails the test at once if the daemon process
# DAEMON (default webcared) exited. For wc_wait_until.
wc_committed_lag0() {
    local group=$1 name=${2:-webcared} topic=${3:-mentions} j
    wc_daemon_alive "$name" || wc_fail "$name exited: $(tail -n 3 "$WC_WORK/$name.log")"
    j=$(wckafka committed --bootstrap "$WC_BOOTSTRAP" --group "$group" --topic "$topic" 2>/dev/null | tail -1)
    [[ $("$WC_PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["lag"])' "$j") == 0 ]]
}

# wc_outputs_read OUTS TIMEOUT_S MAX_TIME_S: every message of the output
# topics OUTS (comma-separated) from offset 0 up to the sum of their high
# watermarks into $WC_WORK/out.jsonl (watermarks in $WC_WORK/offsets.json);
# sets WC_OUTPUTS_TOTAL.
wc_outputs_read() {
    local outs=$1 timeout=$2 max_time=$3
    wckafka offsets --bootstrap "$WC_BOOTSTRAP" --topic "$outs" 2>/dev/null | tail -1 >"$WC_WORK/offsets.json"
    WC_OUTPUTS_TOTAL=$("$WC_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$WC_WORK/offsets.json") ||
        wc_fail "the high watermarks of $outs are unreadable"
    : >"$WC_WORK/out.jsonl"
    (( WC_OUTPUTS_TOTAL > 0 )) || return 0 # nothing to read (--until-count 0 would wait for the idle timeout)
    wckafka consume --bootstrap "$WC_BOOTSTRAP" --topic "$outs" --headers --until-count "$WC_OUTPUTS_TOTAL" \
        --timeout "$timeout" --max-time "$max_time" >"$WC_WORK/out.jsonl" 2>"$WC_WORK/readback.log" ||
        wc_fail "reading the outputs back failed"
}

# wc_outputs_drain_start OUTS [MAX_TIME_S]: tests/soak/drain.py reads the
# output topics OUTS from offset 0 while they are produced, for outputs that
# would pass the local cluster's ~5 MB a partition (it drops the oldest), into
# $WC_WORK/out.jsonl; offsets are checked for gaps as they are read.
wc_outputs_drain_start() {
    wc_proc_start -o "$WC_WORK/drain.json" drain "$WC_PYTHON" "$WC_SOURCE_DIR/tests/soak/drain.py" \
        --bootstrap "$WC_BOOTSTRAP" --topics "$1" --out "$WC_WORK/out.jsonl" \
        --stop-file "$WC_WORK/stop.json" ${2:+--max-time "$2"}
}

# wc_outputs_drain_finish OUTS TIMEOUT_S: once all input is committed, the
# reader stops at the high watermarks OUTS have now (written to its stop
# file); fails if it failed or saw a gap.
wc_outputs_drain_finish() {
    wckafka offsets --bootstrap "$WC_BOOTSTRAP" --topic "$1" 2>/dev/null | tail -1 >"$WC_WORK/stop.json.tmp" &&
        mv "$WC_WORK/stop.json.tmp" "$WC_WORK/stop.json" || wc_fail "cannot read the output high watermarks"
    wc_proc_wait drain "$2" ||
        wc_fail "the output reader failed or saw gaps: $(cat "$WC_WORK/drain.json") $(tail -n 3 "$WC_WORK/drain.log")"
}

# wc_outputs_no_gaps: every output partition of the last wc_outputs_read was
# read from offset 0 to its high watermark without a gap (so a missing case
# event can only be the daemon's, or an acknowledged write the cluster did
# not store).
wc_outputs_no_gaps() {
    "$WC_PYTHON" - "$WC_WORK/offsets.json" "$WC_WORK/out.jsonl" <<'PY' || wc_fail "incomplete read-back of the output topics"
import json, sys
hw = json.load(open(sys.argv[1]))["topics"]
seen = {}
for l in open(sys.argv[2]):
    if l.strip():
        r = json.loads(l); seen.setdefault((r["topic"], str(r["partition"])), set()).add(r["offset"])
bad = 0
for t, d in hw.items():
    for p, (lo, hi) in d["partitions"].items():
        want = set(range(lo, hi))
        got = seen.get((t, p), set())
        if lo != 0 or got != want:
            print("%s[%s]: log %d..%d, read %d, missing %s" % (t, p, lo, hi, len(got), sorted(want - got)[:5])); bad += 1
sys.exit(1 if bad else 0)
PY
}

# wc_outputs_check [CONTEXT]: tests/lib/check_outputs.py (duplicates allowed)
# of the last read against $WC_WORK/manifest.json and $WC_WORK/in.jsonl;
# summary in $WC_WORK/summary.json; fails (with CONTEXT) on a loss. Sets
# WC_OUTPUTS_LOST, WC_OUTPUTS_DUPS, WC_OUTPUTS_DLQ_DUPS.
wc_outputs_check() {
    "$WC_PYTHON" "$WC_LIB_DIR/check_outputs.py" --allow-duplicates --manifest "$WC_WORK/manifest.json" \
        --input "$WC_WORK/in.jsonl" --outputs "$WC_WORK/out.jsonl" >"$WC_WORK/summary.json" ||
        wc_fail "nothing-lost check failed: $(cat "$WC_WORK/summary.json")${1:+ ($1)}"
    # shellcheck disable=SC2034 # figures for the caller
    read -r WC_OUTPUTS_LOST WC_OUTPUTS_DUPS WC_OUTPUTS_DLQ_DUPS < <("$WC_PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["lost"], s["duplicates"], s["dlq_duplicates"])' "$WC_WORK/summary.json")
}
