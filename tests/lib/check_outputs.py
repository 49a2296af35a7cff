#!/usr/bin/python3
"""check_outputs.py - the independent checker of webcared's delivery guarantees.

Compares what was produced to the input topic (the generator's manifest and
the exact input lines) with what webcared produced (JSON lines written by
`wckafka.py consume --headers` over cases.* and mentions.dlq):

  - every valid mention id must appear in at least one case event
    (event "created" or "duplicate", field mention_id)      -> else LOST
  - a valid id with more than one case event is a DUPLICATE (counted;
    an error unless --allow-duplicates)
  - a case event for an id that was never valid input       -> UNEXPECTED
  - every malformed input line must have a DLQ record whose value is the
    original bytes and whose wc.reason header is the expected reason.

--unacked FILE (1-based input line numbers, one per line) names input lines
whose produce was never acknowledged by the cluster: they are not expected
in the output (an output for one is fine), and are counted as "unacked".
--lost-out FILE writes every lost mention id (one per line).

Prints one JSON summary line and exits 1 if any guarantee is broken. Summary
keys: valid, malformed, unacked, case_events, cases (distinct case ids with
a "created" event), lost, duplicates (case events beyond the first per
mention id), dup_ids (mention ids with more than one case event),
unexpected, dlq_records, dlq_missing, dlq_extra, dlq_duplicates,
dlq_reasons.
"""
import argparse
import base64
import collections
import json
import sys


def read_records(path):
    """(topic, value bytes, headers dict) of every record of a
    `wckafka.py consume --headers` output file (also used by eos_check.py)."""
    with open(path, "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            rec = json.loads(raw)
            if "value_b64" in rec:
                value = base64.b64decode(rec["value_b64"])
            else:
                value = (rec.get("value") or "").encode("utf-8")
            yield rec["topic"], value, rec.get("headers") or {}


def load_outputs(path):
    cases, dlq = collections.Counter(), []
    created = collections.Counter()
    for topic, value, hdrs in read_records(path):
        if topic.startswith("cases."):
            ev = json.loads(value)
            cases[ev["mention_id"]] += 1
            if ev.get("event") == "created":
                created[ev["case_id"]] += 1
        elif topic.endswith(".dlq"):
            dlq.append((value, hdrs.get("wc.reason")))
    return cases, created, dlq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--input", required=True, help="the exact lines produced to the input topic")
    ap.add_argument("--outputs", required=True, help="wckafka consume --headers output")
    ap.add_argument("--allow-duplicates", action="store_true")
    ap.add_argument("--unacked", help="input line numbers that were never acknowledged")
    ap.add_argument("--lost-out", help="write the lost mention ids to this file")
    args = ap.parse_args()

    man = json.load(open(args.manifest))
    lines = open(args.input, "rb").read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    valid = set(man["valid_ids"])
    unacked = set()
    if args.unacked:
        unacked = {int(x) for x in open(args.unacked).read().split()}
    bad_lines = {m["line"] for m in man["malformed_lines"]}
    optional = set()  # valid ids of unacknowledged lines
    if unacked:
        it = iter(man["valid_ids"])
        for ln in range(1, len(lines) + 1):
            if ln in bad_lines:
                continue
            mid = next(it)
            if ln in unacked:
                optional.add(mid)
    expected_dlq = collections.Counter()
    for m in man["malformed_lines"]:
        if m["line"] not in unacked:
            expected_dlq[(lines[m["line"] - 1], m["reason"])] += 1

    cases, created, dlq = load_outputs(args.outputs)
    lost = sorted(valid - optional - set(cases))
    unexpected = sorted(set(cases) - valid)
    duplicates = sum(n - 1 for i, n in cases.items() if i in valid and n > 1)
    got_dlq = collections.Counter(dlq)
    if unacked:  # a DLQ record of an unacknowledged bad line is allowed
        for m in man["malformed_lines"]:
            k = (lines[m["line"] - 1], m["reason"])
            if m["line"] in unacked and got_dlq[k] > expected_dlq[k]:
                expected_dlq[k] += 1
    dlq_missing = expected_dlq - got_dlq
    dlq_extra = got_dlq - expected_dlq
    dlq_dups = 0
    if args.allow_duplicates:
        # Replayed bad input is re-sent to the DLQ: a duplicate, not an error.
        dlq_dups = sum(n for k, n in dlq_extra.items() if k in expected_dlq)
        dlq_extra = collections.Counter({k: n for k, n in dlq_extra.items() if k not in expected_dlq})

    summary = {
        "valid": len(valid),
        "malformed": sum(expected_dlq.values()),
        "unacked": len(unacked),
        "case_events": sum(cases.values()),
        "cases": len(created),
        "dup_ids": sum(1 for i, n in cases.items() if i in valid and n > 1),
        "lost": len(lost),
        "duplicates": duplicates,
        "unexpected": len(unexpected),
        "dlq_records": len(dlq),
        "dlq_missing": sum(dlq_missing.values()),
        "dlq_extra": sum(dlq_extra.values()),
        "dlq_duplicates": dlq_dups,
        "dlq_reasons": dict(collections.Counter(r for _, r in dlq)),
    }
    print(json.dumps(summary, sort_keys=True))
    if args.lost_out:
        with open(args.lost_out, "w") as f:
            f.writelines("%s\n" % i for i in lost)
    ok = True
    if lost:
        print("LOST (first 10): %s" % lost[:10], file=sys.stderr)
        ok = False
    if unexpected:
        print("UNEXPECTED (first 10): %s" % unexpected[:10], file=sys.stderr)
        ok = False
    if duplicates and not args.allow_duplicates:
        print("DUPLICATES: %d" % duplicates, file=sys.stderr)
        ok = False
    for (value, reason), n in list(dlq_missing.items())[:5]:
        print("DLQ MISSING x%d reason=%s value=%r" % (n, reason, value[:80]), file=sys.stderr)
        ok = False
    for (value, reason), n in list(dlq_extra.items())[:5]:
        print("DLQ EXTRA x%d reason=%s value=%r" % (n, reason, value[:80]), file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
