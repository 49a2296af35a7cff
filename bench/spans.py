#!/usr/bin/env python3
"""spans.py - where a mention's time went between two /metrics scrapes.

    bench/spans.py START.txt END.txt     (two scrapes of webcared's /metrics)
    bench/spans.py END.txt               (everything since the daemon started)

Reads the histogram webcared_latency_seconds{span=...} (daemon/metrics.h,
wc_span_t), subtracts START from END and prints per span the count, mean and
the percentiles as the upper bound of the bucket they fall in (never
understated; the buckets are coarse: 250 us ... 5 s, see metrics.c).

Spans (all per mention, measured by the daemon):
  fetch      Kafka CreateTime of the input -> consumed by the main thread
             (two wall clocks: the producer's and the daemon's; same host here)
  queue      consumed -> the worker batch holding it starts
  claim      the Redis dedup claim round trip of its batch (mentions claimed)
  worker     consumed -> all its outputs handed to the producer
  delivered  consumed -> an output acknowledged by Kafka (per output)
  window     the window call (FCALL wc_apply) carrying it, sent -> reply

Then the time input consumption was held back, per reason
(webcared_input_blocked_seconds_total), as seconds and as a share of the time
between the two scrapes (their first lines "# bench: scraped at <epoch s>",
written by bench/run.sh; no shares without them): max_inflight means
kafka.max.inflight was reached, i.e. outputs or window events were waiting
(at full rate usually for the windows' Redis; webcared_window_pending_events
at the end scrape is printed with it).
"""
import re
import sys

BLOCKED = re.compile(r'^webcared_input_blocked_seconds_total\{reason="(\w+)"\} (\S+)$')
SCRAPED = re.compile(r'^# bench: scraped at (\S+)$')
PENDING = re.compile(r'^webcared_window_pending_events (\S+)$')
LINE = re.compile(r'^webcared_latency_seconds_(bucket|sum|count)\{span="(\w+)"(?:,le="([^"]+)")?\} (\S+)$')


def load(path):
    h = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            kind, span, le, val = m.groups()
            e = h.setdefault(span, {"buckets": [], "sum": 0.0, "count": 0})
            if kind == "bucket":
                e["buckets"].append((le, int(val)))
            elif kind == "sum":
                e["sum"] = float(val)
            else:
                e["count"] = int(val)
    return h


def load_blocked(path):
    out, pending, at = {}, None, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            m = SCRAPED.match(line)
            if m:
                at = float(m.group(1))
            m = BLOCKED.match(line)
            if m:
                out[m.group(1)] = float(m.group(2))
            m = PENDING.match(line)
            if m:
                pending = int(float(m.group(1)))
    return out, pending, at


def print_blocked(start_path, end_path):
    end, pending, t1 = load_blocked(end_path)
    if not end:
        return
    start, _, t0 = load_blocked(start_path) if start_path else ({}, None, None)
    span = t1 - t0 if t0 is not None and t1 is not None else 0
    parts = []
    for r, v in end.items():
        d = v - start.get(r, 0.0)
        if d >= 0.001:
            parts.append("%s %.1f s%s" % (r, d, " (%.0f %%)" % (100 * d / span) if span > 0 else ""))
    print("input blocked%s: %s; window events pending at the end: %s" % (
        " (%.1f s between the scrapes)" % span if span > 0 else "",
        ", ".join(parts) if parts else "never", "?" if pending is None else pending))


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    end = load(sys.argv[-1])
    start = load(sys.argv[1]) if len(sys.argv) == 3 else {}
    if not end:
        print("spans.py: no webcared_latency_seconds in %s" % sys.argv[-1], file=sys.stderr)
        return 1
    print("%-10s %10s %9s %9s %9s %9s %9s %8s" %
          ("span", "n", "mean ms", "p50 ms", "p90 ms", "p99 ms", "p999 ms", ">50 ms"))
    for span, e in end.items():
        s = start.get(span, {"buckets": [(le, 0) for le, _ in e["buckets"]], "sum": 0.0, "count": 0})
        cum = [(le, c - sc) for (le, c), (_, sc) in zip(e["buckets"], s["buckets"])]
        n = cum[-1][1] if cum else 0
        if n <= 0:
            print("%-10s %10d" % (span, 0))
            continue
        mean = (e["sum"] - s["sum"]) / max(e["count"] - s["count"], 1) * 1000

        def q(p):
            for le, c in cum:
                if c >= p * n:
                    return "inf" if le == "+Inf" else "%.2f" % (float(le) * 1000)
            return "inf"

        over = n - next((c for le, c in cum if le != "+Inf" and float(le) >= 0.05), n)
        print("%-10s %10d %9.2f %9s %9s %9s %9s %7.2f%%" %
              (span, n, mean, q(0.5), q(0.9), q(0.99), q(0.999), 100.0 * over / n))
    print_blocked(sys.argv[1] if len(sys.argv) == 3 else None, sys.argv[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
