#!/usr/bin/python3
"""feed.py - the soak run's input producer (tests/soak/soak_kill.sh).

Produces every line of --file (raw bytes, one message each, key = the JSON
field --key-field when the line parses) to --topic at --rate messages/s with
an idempotent producer and a long delivery timeout, so the stream rides
through broker faults. Writes the 1-based line numbers whose delivery report
failed to --unacked (one per line; normally empty): those lines were never
acknowledged, so the checker does not expect outputs for them. With
--acked-out, writes "line partition offset" of every acknowledged line (to
locate a lost mention in the input topic). A delivery report without an
error but without an offset is not trusted (the local cluster acknowledges
some produces it never stores when leaders move; docs/LOCALKAFKA.md): the
line is produced again, as webcared does with its outputs, and counted in
"reproduced". Prints one JSON line {"sent", "acked", "unacked",
"reproduced", "seconds"}; exit 0 unless producing itself broke (failed
deliveries are data, not an error of this tool).
"""
import argparse
import json
import os
import sys
import time

from confluent_kafka import Producer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from wckafka import ConfirmedProducer  # noqa: E402


def key_of(line, field):
    try:
        doc = json.loads(line)
    except Exception:
        return None
    for part in field.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    if isinstance(doc, str):
        return doc.encode("utf-8", "surrogatepass")
    if isinstance(doc, (int, float)) and not isinstance(doc, bool):
        return str(doc).encode()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--key-field", default="author.id")
    ap.add_argument("--rate", type=float, default=0, help="messages/s (0 = flat out)")
    ap.add_argument("--timeout", type=float, default=900, help="delivery timeout, seconds")
    ap.add_argument("--unacked", required=True)
    ap.add_argument("--progress", help="file rewritten with the count sent, about once a second")
    ap.add_argument("--acked-out", help="write 'line partition offset' of every acknowledged line")
    a = ap.parse_args()

    prod = Producer({
        "bootstrap.servers": a.bootstrap,
        "enable.idempotence": True,
        "linger.ms": 5,
        "queue.buffering.max.messages": 500000,
        "queue.buffering.max.kbytes": 1048576,
        "message.max.bytes": 16 * 1024 * 1024,
        "message.timeout.ms": int(a.timeout * 1000),
    })
    failed = []
    acked = []
    st = {"ok": 0}

    def dr(err, msg, lineno):
        if err is None:
            st["ok"] += 1
            if a.acked_out:
                acked.append((lineno, msg.partition(), msg.offset()))
        else:
            failed.append(lineno)
            if len(failed) <= 5:
                sys.stderr.write("feed: delivery of line %d failed: %s\n" % (lineno, err))

    p = ConfirmedProducer(prod, a.topic, dr)
    t0 = time.monotonic()
    last_prog = t0
    sent = 0
    with open(a.file, "rb") as f:
        for raw in f:
            line = raw[:-1] if raw.endswith(b"\n") else raw
            sent += 1
            lineno = sent
            if a.rate > 0:
                due = t0 + sent / a.rate
                while True:
                    now = time.monotonic()
                    if now >= due:
                        break
                    p.poll(min(due - now, 0.05))
            k = key_of(line, a.key_field) if a.key_field else None
            p.produce(line, k, lineno)
            if sent % 1000 == 0:
                p.poll(0)
                now = time.monotonic()
                if a.progress and now - last_prog >= 1:
                    last_prog = now
                    with open(a.progress + ".tmp", "w") as pf:
                        pf.write("%d\n" % sent)
                    os.replace(a.progress + ".tmp", a.progress)
    left, unconfirmed = p.flush(a.timeout)
    failed.extend(unconfirmed)  # reported without an offset until the deadline
    if left:
        sys.stderr.write("feed: %d messages still undelivered after %.0fs\n" % (left, a.timeout))
    # a message still queued after flush() never got a delivery report: not acknowledged
    acked_or_failed = st["ok"] + len(failed)
    with open(a.unacked, "w") as uf:
        for n in sorted(failed):
            uf.write("%d\n" % n)
    if a.acked_out:
        with open(a.acked_out, "w") as af:
            af.writelines("%d %d %d\n" % t for t in sorted(acked))
    el = time.monotonic() - t0
    res = {"sent": sent, "acked": st["ok"], "unacked": sent - st["ok"], "reproduced": p.reproduced,
           "seconds": round(el, 1)}
    print(json.dumps(res, sort_keys=True))
    sys.stderr.write("feed: %s (%.0f msg/s)\n" % (json.dumps(res), sent / el if el > 0 else 0))
    return 0 if acked_or_failed == sent else 1


if __name__ == "__main__":
    sys.exit(main())
