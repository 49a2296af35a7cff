#!/usr/bin/python3
"""eos_check.py - checker of webcared's exactly-once mode (tests/integration/it_eos.sh).

Inputs: the generator's manifest and the exact input lines (as for
check_outputs.py), the daemon's outputs (`wckafka.py consume --headers` over
cases.* and mentions.dlq, read_committed) and the daemon logs (log.level=debug,
debug=kafka).

Why the logs: librdkafka 2.0.2's mock cluster (wc-localkafka) accepts
transactions but never writes commit/abort markers and reports no aborted
transactions in Fetch responses, so a read_committed consumer of the mock
also sees aborted and never-finished transactions (docs/EOS.md). Every
output of webcared in exactly-once mode carries the header `wc.txn` =
"<run>.<seq>" (its transaction), and the daemon logs "exactly-once:
committed transaction <run>.<seq>" after each commit and "exactly-once:
aborted transaction <run>.<seq>" after each abort. From these the checker
builds the view Apache Kafka would give a read_committed consumer:

  committed view = outputs whose transaction the journal shows committed.

A transaction of a process killed with SIGKILL can be in doubt: the process
may have died after the broker committed it but before the journal line.
Only the last transaction of a run can be in doubt (transactions of a run
are sequential). The checker evaluates the committed view with the doubtful
transaction(s) both committed and not committed and accepts either
interpretation; the summary says which one held. With more than
MAX_DOUBT_PRODUCT doubtful transactions (the soak kills an instance every
10 s: dozens of runs) the combinations are not enumerated: each doubtful
transaction, in run order, is held as committed if none of its outputs is
visible otherwise (no output of it is a copy of a visible one), else as not
committed (resolve_in_doubt; a transaction with some outputs visible
elsewhere and some not is inconsistent either way and counted as such).

--unacked FILE (as in check_outputs.py: 1-based input lines whose produce
was never acknowledged) makes those lines optional: no loss if they have
no output, one output allowed.

Checks on the committed view: every valid mention id has exactly one case
event (lost = 0, duplicates = 0), no unexpected ids, every malformed line
exactly one DLQ record with its original bytes and expected reason; every
output has a wc.txn header. The raw view (everything in the topics) is
reported too: its duplicates are outputs of aborted or unfinished
transactions.

Prints one JSON summary line; exit 1 if a check fails.
"""
import argparse
import collections
import itertools
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_outputs import read_records  # noqa: E402

RX_COMMIT = re.compile(r"exactly-once: committed transaction (\S+):")
RX_ABORT = re.compile(r"exactly-once: aborted transaction (\S+) ")
RX_RUN = re.compile(r"exactly-once: transactional\.id (\S+), run (\w+),")


def parse_logs(paths):
    committed, aborted, runs = set(), set(), []
    for p in paths:
        with open(p, "r", errors="replace") as f:
            for line in f:
                m = RX_COMMIT.search(line)
                if m:
                    committed.add(m.group(1))
                    continue
                m = RX_ABORT.search(line)
                if m:
                    aborted.add(m.group(1))
                    continue
                m = RX_RUN.search(line)
                if m:
                    runs.append(m.group(2))
    return committed, aborted, runs


def load_outputs(path):
    """[(kind, key, txn)]: kind 'case' (key = mention id) or 'dlq' (key = (value, reason))."""
    recs = []
    for topic, value, hdrs in read_records(path):
        txn = hdrs.get("wc.txn")
        if topic.startswith("cases."):
            recs.append(("case", json.loads(value)["mention_id"], txn))
        elif topic.endswith(".dlq"):
            recs.append(("dlq", (value, hdrs.get("wc.reason")), txn))
    return recs


def evaluate(recs, visible, valid, expected_dlq):
    cases = collections.Counter()
    dlq = collections.Counter()
    for kind, key, txn in recs:
        if txn not in visible:
            continue
        if kind == "case":
            cases[key] += 1
        else:
            dlq[key] += 1
    lost = sorted(valid - set(cases))
    return {
        "case_events": sum(cases.values()),
        "lost": len(lost),
        "lost_ids": lost[:10],
        "duplicates": sum(n - 1 for i, n in cases.items() if i in valid and n > 1),
        "unexpected": sum(1 for i in cases if i not in valid),
        "dlq_records": sum(dlq.values()),
        "dlq_missing": sum((expected_dlq - dlq).values()),
        "dlq_extra": sum((dlq - expected_dlq).values()),
    }


MAX_DOUBT_PRODUCT = 8


def resolve_in_doubt(recs, committed, doubtful, valid, expected_dlq):
    """({txn: held as committed?}, committed-view evaluation) for the doubtful
    transactions: every combination when there are few, else one greedy pass
    (module doc). Also returns the number of doubtful transactions that are
    inconsistent (partly visible elsewhere) in the greedy pass (0 otherwise)."""
    if len(doubtful) <= MAX_DOUBT_PRODUCT:
        results = []
        for bits in itertools.product([False, True], repeat=len(doubtful)):
            visible = set(committed) | {t for t, b in zip(doubtful, bits) if b}
            results.append(({t: b for t, b in zip(doubtful, bits)},
                            evaluate(recs, visible, valid, expected_dlq)))
        chosen = next((r for r in results if clean(r[1])), results[0])
        return chosen[0], chosen[1], 0
    seen = collections.Counter()
    of_txn = collections.defaultdict(list)
    want = set(doubtful)
    for kind, key, txn in recs:
        if txn in committed:
            seen[(kind, key)] += 1
        elif txn in want:
            of_txn[txn].append((kind, key))
    held, inconsistent = {}, 0
    for t in doubtful:
        keys = of_txn.get(t, [])
        dup = sum(1 for k in keys if seen[k] >= (expected_dlq[k[1]] if k[0] == "dlq" else 1))
        held[t] = dup == 0
        if 0 < dup < len(keys):
            inconsistent += 1
        if held[t]:
            seen.update(keys)
    visible = set(committed) | {t for t, b in held.items() if b}
    return held, evaluate(recs, visible, valid, expected_dlq), inconsistent


def optional_inputs(man, lines, unacked):
    """(valid ids, malformed DLQ keys) of the unacknowledged input lines."""
    bad = {m["line"]: m for m in man["malformed_lines"]}
    ids, dlq = set(), collections.Counter()
    it = iter(man["valid_ids"])
    for ln in range(1, len(lines) + 1):
        if ln in bad:
            if ln in unacked:
                dlq[(lines[ln - 1], bad[ln]["reason"])] += 1
            continue
        mid = next(it)
        if ln in unacked:
            ids.add(mid)
    return ids, dlq


def clean(v):
    return not (v["lost"] or v["duplicates"] or v["unexpected"] or v["dlq_missing"] or v["dlq_extra"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--outputs", required=True)
    ap.add_argument("--log", action="append", required=True, help="daemon log (repeatable)")
    ap.add_argument("--killed-run", action="append", default=[],
                    help="run tag of an instance killed with SIGKILL (its last transaction may be in doubt)")
    ap.add_argument("--unacked", help="input line numbers that were never acknowledged")
    args = ap.parse_args()

    man = json.load(open(args.manifest))
    lines = open(args.input, "rb").read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    valid = set(man["valid_ids"])
    expected_dlq = collections.Counter()
    for m in man["malformed_lines"]:
        expected_dlq[(lines[m["line"] - 1], m["reason"])] += 1

    committed, aborted, runs = parse_logs(args.log)
    recs = load_outputs(args.outputs)
    unacked = set()
    if args.unacked:
        unacked = {int(x) for x in open(args.unacked).read().split()}
    if unacked:
        # an unacknowledged line may have no output or one: count one if it has any
        opt_ids, opt_dlq = optional_inputs(man, lines, unacked)
        got = collections.Counter(k for kind, k, _ in recs if kind == "case" and k in opt_ids)
        valid -= opt_ids - set(got)
        got_dlq = collections.Counter(k for kind, k, _ in recs if kind == "dlq" and k in opt_dlq)
        expected_dlq -= opt_dlq
        expected_dlq += collections.Counter({k: 1 for k in got_dlq})
    no_header = sum(1 for r in recs if not r[2])
    txns = {r[2] for r in recs if r[2]}

    # Transactions in doubt: the last one of each killed run, if not journaled.
    doubtful = []
    for run in args.killed_run:
        seqs = [int(t.split(".")[1]) for t in txns if t.startswith(run + ".")]
        if seqs:
            last = "%s.%d" % (run, max(seqs))
            if last not in committed and last not in aborted:
                doubtful.append(last)

    held, view, inconsistent = resolve_in_doubt(recs, committed, doubtful, valid, expected_dlq)
    chosen = (held, view)

    raw = evaluate(recs, txns | {None}, valid, expected_dlq)
    visible = set(committed) | {t for t, b in chosen[0].items() if b}
    not_committed = [r for r in recs if r[2] not in visible]
    summary = {
        "valid": len(valid),
        "malformed": sum(expected_dlq.values()),
        "outputs": len(recs),
        "outputs_without_wc_txn": no_header,
        "transactions_seen": len(txns),
        "transactions_committed": len(committed),
        "transactions_aborted": len(aborted),
        "runs": runs,
        "outputs_of_uncommitted_transactions": len(not_committed),
        "in_doubt": {t: ("committed" if b else "not committed") for t, b in chosen[0].items()},
        "in_doubt_inconsistent": inconsistent,
        "unacked": len(unacked),
        "committed_view": chosen[1],
        "raw_view": raw,
        # every extra copy in the raw topics is an output of an aborted or
        # unfinished transaction
        "raw_extras_all_uncommitted": raw["duplicates"] + raw["dlq_extra"] == len(not_committed),
    }
    print(json.dumps(summary, sort_keys=True))
    ok = True
    if no_header:
        print("OUTPUTS WITHOUT wc.txn HEADER: %d" % no_header, file=sys.stderr)
        ok = False
    if not committed:
        print("NO COMMITTED TRANSACTION IN THE LOGS (log.level=debug, debug=kafka?)", file=sys.stderr)
        ok = False
    if not clean(chosen[1]):
        print("COMMITTED VIEW NOT EXACTLY-ONCE: %s" % json.dumps(chosen[1]), file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
