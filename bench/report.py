#!/usr/bin/python3
"""bench/report.py RESULTS_DIR - merge the phase results of bench/run.sh into
result.json, draw plot.svg (throughput and p99 latency over time, one line per
phase; no dependencies beyond the standard library) and print the summary
table with the acceptance checks of issue 6.

Phases (files in RESULTS_DIR, written by webcared-bench --json):
  passthrough.json    flat out through wc-passthrough (the Kafka ceiling)
  webcared-max.json   flat out through webcared
  webcared-half.json  fixed rate at 50 % of webcared's max
  passthrough-half.json  the passthrough at that same rate (latency floor)
machine.json (run.sh) describes the box and its load ("dedup_redis": true
with bench/run.sh --dedup-redis: the Redis figures of a phase are then the sum
over both servers, and each server's share is printed below the table).
"""
import json
import math
import os
import sys

PHASES = [("passthrough", "#888888"), ("webcared-max", "#d62728"), ("webcared-half", "#1f77b4"),
          ("passthrough-half", "#2ca02c")]
LIMITS = {"ratio_min": 0.80, "p99_half_ms_max": 50.0, "redis_per_mention_max": 0.05,
          "rss_mb_max": 256.0}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def proc(ph, name):
    return ((ph or {}).get("processes") or {}).get(name) or {}


def svg_plot(phases, path):
    W, H, L, R, T, GAP = 900, 560, 70, 20, 40, 50
    ph_h = (H - T - GAP - 40) // 2
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>']
    series = {n: p.get("series", []) for n, p in phases.items() if p}
    tmax = max([r["t"] for s in series.values() for r in s] + [1])
    ymax = max([r["out"] for s in series.values() for r in s] + [1]) * 1.1
    lat = [r["p99_us"] for s in series.values() for r in s if r["p99_us"] > 0]
    lmin, lmax = (max(min(lat), 100), max(lat)) if lat else (100, 1000)
    l0, l1 = math.floor(math.log10(lmin)), math.ceil(math.log10(max(lmax, lmin * 10)))

    def x(t):
        return L + (W - L - R) * t / tmax

    def panel(top, title):
        out.append('<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>'
                   % (L, top - 8, title))
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>'
                   % (L, top, W - L - R, ph_h))
        for i in range(0, 11):
            t = tmax * i / 10
            out.append('<text x="%.0f" y="%d" text-anchor="middle">%.0fs</text>'
                       % (x(t), top + ph_h + 14, t))

    top1 = T
    panel(top1, "Throughput: outputs matched to inputs per second")
    for i in range(0, 6):
        v = ymax * i / 5
        y = top1 + ph_h - ph_h * i / 5
        out.append('<line x1="%d" x2="%d" y1="%.0f" y2="%.0f" stroke="#eee"/>' % (L, W - R, y, y))
        out.append('<text x="%d" y="%.0f" text-anchor="end">%.0fk</text>' % (L - 4, y + 4, v / 1000))
    top2 = T + ph_h + GAP
    panel(top2, "End-to-end latency p99 per second (log scale)")

    def ly(v):
        v = max(v, 10 ** l0)
        return top2 + ph_h - ph_h * (math.log10(v) - l0) / (l1 - l0)

    for e in range(l0, l1 + 1):
        y = ly(10 ** e)
        lab = "%gms" % (10 ** e / 1000.0)
        out.append('<line x1="%d" x2="%d" y1="%.0f" y2="%.0f" stroke="#eee"/>' % (L, W - R, y, y))
        out.append('<text x="%d" y="%.0f" text-anchor="end">%s</text>' % (L - 4, y + 4, lab))
    y50 = ly(50000)
    if top2 <= y50 <= top2 + ph_h:
        out.append('<line x1="%d" x2="%d" y1="%.0f" y2="%.0f" stroke="#2ca02c" '
                   'stroke-dasharray="4,3"/><text x="%d" y="%.0f" fill="#2ca02c">50 ms</text>'
                   % (L, W - R, y50, y50, W - R - 40, y50 - 3))
    lx = L + 10
    for name, color in PHASES:
        s = series.get(name)
        if not s:
            continue
        pts = " ".join("%.1f,%.1f" % (x(r["t"]), top1 + ph_h - ph_h * r["out"] / ymax) for r in s)
        out.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                   % (color, pts))
        pts = " ".join("%.1f,%.1f" % (x(r["t"]), ly(r["p99_us"])) for r in s if r["p99_us"] > 0)
        out.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                   % (color, pts))
        out.append('<rect x="%d" y="%d" width="12" height="3" fill="%s"/>'
                   '<text x="%d" y="%d">%s</text>' % (lx, H - 18, color, lx + 16, H - 13, name))
        lx += 190
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


CPU_PROCS = ("processor", "redis", "redis-dedup", "kafka", "bench")


def cpu_budget(phases, machine, ceiling):
    """CPU per output of every watched process in the flat-out phases (process
    CPU over the window / outputs: all of them share the box), the rate the
    box's cores allow at that cost, and what a ratio of LIMITS["ratio_min"] to
    the ceiling leaves for webcared and Redis per mention once the cluster and
    the generator take what they took per message in the passthrough phase.
    Figures from a box that was not saturated (idle CPU) overstate nothing:
    the rate they allow is an upper bound."""
    cores = machine.get("cores") or 0
    out = {"cores": cores, "phases": {}}
    for n in ("passthrough", "webcared-max"):
        p = phases.get(n)
        if not p or p.get("mode") != "flat":
            continue
        us = {k: proc(p, k)["cpu_us_per_output"] for k in CPU_PROCS
              if proc(p, k).get("cpu_us_per_output")}  # not watched, or idle
        tot = sum(us.values())
        out["phases"][n] = {"us_per_output": us, "total_us": tot,
                            "max_per_s_on_cores": cores * 1e6 / tot if tot and cores else None}
    pt = out["phases"].get("passthrough")
    if pt and ceiling and cores and all(k in pt["us_per_output"] for k in ("kafka", "bench")):
        others = sum(pt["us_per_output"][k] for k in ("kafka", "bench"))
        target = LIMITS["ratio_min"] * ceiling
        out["target_per_s"] = target
        out["us_per_mention_at_target"] = cores * 1e6 / target
        out["us_left_for_webcared_and_redis"] = cores * 1e6 / target - others
    return out


def print_budget(b):
    if not b["phases"]:
        return
    print("\n  CPU per output, us (process CPU / outputs in the window; %d cores):" % b["cores"])
    for n, ph in b["phases"].items():
        parts = " ".join("%s %.2f" % (k, v) for k, v in ph["us_per_output"].items())
        lim = ph["max_per_s_on_cores"]
        print("    %-14s %s = %.2f -> the cores allow <= %s/s" % (
            n, parts, ph["total_us"], "%.0f" % lim if lim else "?"))
    if "us_left_for_webcared_and_redis" in b:
        print("    a ratio of %.2f (%.0f/s) is %.2f us per mention for everything; minus the cluster"
              " and the generator of the passthrough phase, %.2f us for webcared and Redis together" % (
                  LIMITS["ratio_min"], b["target_per_s"], b["us_per_mention_at_target"],
                  b["us_left_for_webcared_and_redis"]))


def main():
    d = sys.argv[1]
    machine = load(os.path.join(d, "machine.json")) or {}
    phases = {n: load(os.path.join(d, n + ".json")) for n, _ in PHASES}
    pt, mx, half = phases["passthrough"], phases["webcared-max"], phases["webcared-half"]
    ceiling = pt["throughput_out_per_s"] if pt else 0
    wmax = mx["throughput_out_per_s"] if mx else 0
    ratio = wmax / ceiling if ceiling else None
    p99_half = half["latency_us"]["p99"] / 1000.0 if half else None
    rpm = [p["redis"]["commands_per_mention"] for p in (mx, half) if p]
    rss = max([proc(p, "processor").get("rss_max_mb", 0) for p in (mx, half) if p] + [0])
    # Redis counts commands run inside a function/script (FCALL wc_apply ->
    # HINCRBY ...) in total_commands_processed too; the top-level script
    # calls are reported separately (what the daemon sends, apart from the
    # few direct commands).
    def script_calls(p, cs=None):
        cs = p["redis"]["commandstats"] if cs is None else cs
        n = sum(v for k, v in cs.items() if k in ("fcall", "fcall_ro", "eval", "evalsha",
                                                    "eval_ro", "evalsha_ro"))
        outs = p["throughput_out_per_s"] * p["window_s"]
        return n / outs if outs else 0.0
    for p in (mx, half):
        if p:
            p["redis"]["script_calls_per_mention"] = script_calls(p)
    windows_on = any(k.startswith("eval") or k.startswith("zadd") or k.startswith("hincrby")
                     for p in (mx, half) if p for k in p["redis"]["commandstats"])
    checks = {
        "ratio_to_ceiling": {"value": ratio, "limit": ">= %.2f" % LIMITS["ratio_min"],
                             "ok": ratio is not None and ratio >= LIMITS["ratio_min"]},
        "p99_ms_at_half_rate": {"value": p99_half, "limit": "<= %g" % LIMITS["p99_half_ms_max"],
                                "ok": p99_half is not None and p99_half <= LIMITS["p99_half_ms_max"]},
        "redis_commands_per_mention": {"value": max(rpm) if rpm else None,
                                       "limit": "<= %g" % LIMITS["redis_per_mention_max"],
                                       "ok": bool(rpm) and max(rpm) <= LIMITS["redis_per_mention_max"]},
        "daemon_rss_max_mb": {"value": rss, "limit": "<= %g" % LIMITS["rss_mb_max"],
                              "ok": 0 < rss <= LIMITS["rss_mb_max"]},
    }
    budget = cpu_budget(phases, machine, ceiling)
    result = {"machine": machine, "ceiling_per_s": ceiling, "webcared_max_per_s": wmax,
              "ratio_to_ceiling": ratio, "redis_window_commands_seen": windows_on,
              "checks": checks, "cpu_budget": budget,
              "phases": {n: p for n, p in phases.items() if p}}
    with open(os.path.join(d, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    svg_plot(phases, os.path.join(d, "plot.svg"))

    print("\n== webcared benchmark (%s, %s s windows, %s partitions) on %s cores: %s"
          % (machine.get("mode"), machine.get("duration_s"), machine.get("partitions"),
             machine.get("cores"), machine.get("cpu_model")))
    print("   load before: %s   after: %s" % (machine.get("loadavg_before"),
                                              machine.get("loadavg_after")))
    if machine.get("dedup_redis"):
        print("   --dedup-redis: dedup claims on a second redis-server; redis/m = both servers")
    hdr = "%-16s %9s %9s %8s %8s %8s %8s %7s %8s %8s %8s %7s" % (
        "phase", "in/s", "out/s", "p50 ms", "p99 ms", "p999 ms", "max ms", "proc %",
        "proc MB", "kafka %", "bench %", "redis/m")
    print(hdr)
    print("-" * len(hdr))
    for n, _ in PHASES:
        p = phases[n]
        if not p:
            continue
        lat = p["latency_us"]
        pr, kf, bn = proc(p, "processor"), proc(p, "kafka"), proc(p, "bench")
        print("%-16s %9.0f %9.0f %8.2f %8.2f %8.2f %8.2f %7.0f %8.0f %8.0f %8.0f %7.3f" % (
            n, p["throughput_in_per_s"], p["throughput_out_per_s"], lat["p50"] / 1000.0,
            lat["p99"] / 1000.0, lat["p999"] / 1000.0, lat["max"] / 1000.0,
            pr.get("cpu_cores", 0) * 100, pr.get("rss_max_mb", 0), kf.get("cpu_cores", 0) * 100,
            bn.get("cpu_cores", 0) * 100, p["redis"]["commands_per_mention"]))
        if p.get("missing_after_drain") or p.get("outputs_unmatched"):
            print("%-16s   missing after drain %d, unmatched outputs %d" % (
                "", p.get("missing_after_drain", 0), p.get("outputs_unmatched", 0)))
    print()
    for k, c in checks.items():
        v = c["value"]
        vs = "n/a" if v is None else ("%.3f" % v if isinstance(v, float) else str(v))
        print("  %-28s %10s  (%s)  %s" % (k, vs, c["limit"], "PASS" if c["ok"] else "FAIL"))
    for n in ("webcared-max", "webcared-half"):
        if phases[n]:
            print("  %-28s %10.4f  (%s: FCALL/EVAL per mention; the total above includes the"
                  " commands run inside them)" % ("redis_script_calls_per_mention",
                                                  phases[n]["redis"]["script_calls_per_mention"], n))
    # per Redis server (webcared-bench --redis twice, bench/run.sh --dedup-redis);
    # the watched processes "redis" and "redis-dedup" are the servers in order
    for n, _ in PHASES:
        p = phases[n]
        servers = (p or {}).get("redis", {}).get("servers") or []
        if len(servers) < 2 or not any(s["commands"] > 0 for s in servers):
            continue
        parts = []
        for i, s in enumerate(servers):
            cpu = proc(p, ("redis", "redis-dedup")[i] if i < 2 else "").get("cpu_cores")
            parts.append("%s %.4f cmds/m, %.4f scripts/m%s" % (
                s["addr"], s["commands_per_mention"], script_calls(p, s["commandstats"]),
                ", %.0f %% CPU" % (cpu * 100) if cpu is not None else ""))
        print("  redis per server, %s: %s" % (n, "; ".join(parts)))
    if not windows_on:
        print("  note: no Redis window commands seen (windows not in this build)")
    print_budget(budget)
    print("\n  %s/result.json\n  %s/plot.svg" % (d, d))


if __name__ == "__main__":
    main()
