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
interpretation; the summary says which one held.

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

    results = []
    for bits in itertools.product([False, True], repeat=len(doubtful)):
        visible = set(committed) | {t for t, b in zip(doubtful, bits) if b}
        results.append(({t: b for t, b in zip(doubtful, bits)}, evaluate(recs, visible, valid, expected_dlq)))
    chosen = next((r for r in results if clean(r[1])), results[0])

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
