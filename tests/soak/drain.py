#!/usr/bin/python3
"""drain.py - reads webcared's output topics while the soak run is going on.

The local cluster keeps only ~5 MB per partition, so a million case events
must be read while they are produced. Every partition of --topics is
assigned from offset 0 (no group); each record is written to --out in the
format of `wckafka.py consume --headers`, reduced to what check_outputs.py
reads (case events: event, case_id, mention_id, and the input partition and
offset as "source"; DLQ records: the original value and the wc.reason
header; both keep the wc.txn header of exactly-once mode, which
eos_check.py reads). Offsets must follow each other without a gap (a gap
means records were dropped by the cluster's retention before they were
read; in exactly-once mode the local cluster writes no transaction markers,
so offsets stay contiguous there too): gaps are counted and reported.

Stops when --stop-file exists (JSON {"topics": {T: {"partitions": {P: [lo,
hi]}}}}, i.e. `wckafka.py offsets` output) and every partition was read up to
its high watermark, or after --max-time seconds (exit 1). Prints one JSON
summary line.
"""
import argparse
import base64
import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topics", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--max-time", type=float, default=7200)
    a = ap.parse_args()
    topics = [t for t in a.topics.split(",") if t]
    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        "group.id": "soak-drain-%d" % os.getpid(),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
        "queued.max.messages.kbytes": 262144,
        "isolation.level": "read_uncommitted",
    })
    t0 = time.monotonic()
    while True:
        md = c.list_topics(timeout=10)
        parts = []
        missing = [t for t in topics if t not in md.topics or not md.topics[t].partitions]
        if not missing:
            for t in topics:
                for pid in sorted(md.topics[t].partitions):
                    parts.append(TopicPartition(t, pid, -2))
            break
        if time.monotonic() - t0 > 60:
            sys.stderr.write("drain: topics not found: %s\n" % missing)
            return 1
        time.sleep(0.2)
    c.assign(parts)
    nxt = {(tp.topic, tp.partition): 0 for tp in parts}
    gaps, gap_examples, n, errors = 0, [], 0, 0
    target = None
    out = open(a.out, "w")
    last_check = 0.0
    rc = 0
    while True:
        now = time.monotonic()
        if now - t0 > a.max_time:
            sys.stderr.write("drain: max time %.0fs reached\n" % a.max_time)
            rc = 1
            break
        if now - last_check > 0.5:
            last_check = now
            if target is None and os.path.exists(a.stop_file):
                hw = json.load(open(a.stop_file))["topics"]
                target = {(t, int(p)): lohi[1] for t, d in hw.items() for p, lohi in d["partitions"].items()}
            if target is not None and all(nxt.get(k, 0) >= v for k, v in target.items()):
                break
        msgs = c.consume(10000, 0.2)
        lines = []
        for m in msgs:
            e = m.error()
            if e is not None:
                if e.code() != KafkaError._PARTITION_EOF:
                    errors += 1
                    sys.stderr.write("drain: consume error: %s\n" % e)
                continue
            k = (m.topic(), m.partition())
            o = m.offset()
            exp = nxt.get(k, 0)
            if o != exp:
                if o > exp:
                    gaps += o - exp
                    if len(gap_examples) < 10:
                        gap_examples.append("%s[%d] %d..%d" % (k[0], k[1], exp, o))
                else:  # re-read after a reset: ignore what was seen already
                    continue
            nxt[k] = o + 1
            d = {"topic": k[0], "partition": k[1], "offset": o}
            v = m.value() or b""
            hd = {}
            for hk, hv in m.headers() or []:
                if hk in ("wc.reason", "wc.txn") and hv is not None:
                    hd[hk] = hv.decode("utf-8", "replace")
            if hd:
                d["headers"] = hd
            if k[0].startswith("cases."):
                ev = json.loads(v)
                src = ev.get("source") or {}
                d["value"] = json.dumps({"event": ev.get("event"), "case_id": ev.get("case_id"),
                                         "mention_id": ev.get("mention_id"),
                                         "source": [src.get("partition"), src.get("offset")]},
                                        separators=(",", ":"))
            else:
                try:
                    d["value"] = v.decode("utf-8")
                except UnicodeDecodeError:
                    d["value_b64"] = base64.b64encode(v).decode()
            lines.append(json.dumps(d, ensure_ascii=False, separators=(",", ":")))
        if lines:
            n += len(lines)
            out.write("\n".join(lines))
            out.write("\n")
    out.close()
    c.close()
    res = {"read": n, "gaps": gaps, "gap_examples": gap_examples, "errors": errors,
           "seconds": round(time.monotonic() - t0, 1), "complete": rc == 0}
    print(json.dumps(res, sort_keys=True))
    return rc if not gaps else 1


if __name__ == "__main__":
    sys.exit(main())
