#!/usr/bin/python3
"""gen_windows.py - generated (not hand-picked) scenarios for the Redis
window tests of issue 5. Every text is built from templates with random
slots, every id and author is unique unless the scenario says otherwise.

  gen_windows.py stream   --brand B --count N --start-ms T --span-ms S [--seed]
        a realistic mix (nl/en; complaints on several topics, questions,
        praise, neutral) spread evenly over [T, T+S)
  gen_windows.py burst    --brand B --count N --start-ms T --span-ms S
        outage complaints ("storing" / "outage"), nl and en
  gen_windows.py truth    --cases FILE --input FILE  (webcared classify output, input)
  gen_windows.py compare  --cases FILE --input FILE --redis-port P --brands B1,B2 --mode exact|partial
        the window and class counters in Redis against that ground truth
        (truth: per brand, per (class, topic) the total and per-hour counts,
        and per-class totals; `truth` prints it as JSON)

Output: JSON lines on stdout (or --out FILE).
"""
import argparse
import json
import random
import subprocess
import sys

NL_OUTAGE = [
    "Alweer een storing bij @{b}, {what} ligt er al {dur} uit. {judge}",
    "@{b} {what} doet het weer niet, storing in {city}?! {judge}",
    "Storing @{b}: al {dur} geen {what} in {city}. {judge}",
    "Wat is er aan de hand @{b}? Geen {what} sinds {dur}, weer een storing. {judge}",
]
EN_OUTAGE = [
    "@{b} outage again, my {what_en} has been down for {dur_en}. {judge_en}",
    "{what_en} down again in {city} @{b}, {dur_en} now. {judge_en}",
    "Another outage @{b}? No {what_en} for {dur_en}. {judge_en}",
]
NL_OTHER_ANGRY = [
    "@{b} mijn pakket is nu al {days} dagen te laat, echt belachelijk",
    "@{b} weer een veel te hoge factuur ontvangen, dit is schandalig",
    "@{b} klantenservice hangt gewoon op na {mins} minuten wachten, waardeloos",
]
EN_OTHER_ANGRY = [
    "@{b} my parcel is {days} days late, this is ridiculous",
    "@{b} charged twice on my bill again, absolutely unacceptable",
]
QUESTIONS = [
    "@{b} hoe kan ik mijn adres wijzigen? (vraag {n})",
    "@{b} wanneer wordt mijn bestelling {n} geleverd?",
    "@{b} how can I change my plan? ref {n}",
    "@{b} kan ik mijn factuur {n} ook per post krijgen?",
]
HAPPY = [
    "Dank je wel @{b}, snel opgelost! ({n})",
    "Thanks @{b}, great help today with order {n}",
    "Top service van @{b} vandaag, bedankt {n}",
]
NEUTRAL = [
    "Ik zag dat @{b} een nieuwe winkel opent in {city} ({n})",
    "@{b} heeft vanaf {days} januari nieuwe openingstijden",
    "Reading about the new @{b} app release {n}",
]
WHAT = ["internet", "tv", "wifi", "mobiel internet", "glasvezel"]
WHAT_EN = ["internet", "wifi", "tv", "mobile data"]
CITY = ["Utrecht", "Amsterdam", "Rotterdam", "Den Haag", "Eindhoven", "Groningen", "Zwolle"]
DUR = ["drie uur", "de hele ochtend", "twee dagen", "uren", "een uur"]
DUR_EN = ["three hours", "all morning", "two days", "hours"]
JUDGE = ["Waardeloos!", "Belachelijk!", "Echt schandalig.", "Dit is niet normaal."]
JUDGE_EN = ["Terrible service!", "Ridiculous.", "Unacceptable!"]


def fill(tpl, r, b, n):
    return tpl.format(b=b, n=n, what=r.choice(WHAT), what_en=r.choice(WHAT_EN), city=r.choice(CITY),
                      dur=r.choice(DUR), dur_en=r.choice(DUR_EN), judge=r.choice(JUDGE),
                      judge_en=r.choice(JUDGE_EN), days=r.randint(2, 9), mins=r.randint(20, 90))


def mention(args, i, text, ts, r, followers=None):
    return {
        "id": "%s-%s-%d" % (args.prefix, args.brand, i),
        "brand": args.brand,
        "text": text + " [%s%d]" % (args.prefix, i),  # unique text: no exact-text dedup
        "channel": r.choice(["twitter", "facebook", "instagram", "forum"]),
        "author": {"id": "%s-au-%d" % (args.prefix, i),
                   "followers": followers if followers is not None else r.randint(10, 2000)},
        "created_at": ts,
    }


def cmd_stream(args):
    r = random.Random(args.seed)
    out = []
    for i in range(args.count):
        ts = args.start_ms + (args.span_ms * i) // max(1, args.count)
        x = r.random()
        if x < args.outage_share:
            tpl = r.choice(NL_OUTAGE + EN_OUTAGE)
        elif x < 0.25:
            tpl = r.choice(NL_OTHER_ANGRY + EN_OTHER_ANGRY)
        elif x < 0.45:
            tpl = r.choice(QUESTIONS)
        elif x < 0.65:
            tpl = r.choice(HAPPY)
        else:
            tpl = r.choice(NEUTRAL)
        out.append(mention(args, i, fill(tpl, r, args.brand, i), ts, r))
    return out


def cmd_burst(args):
    r = random.Random(args.seed)
    out = []
    for i in range(args.count):
        ts = args.start_ms + (args.span_ms * i) // max(1, args.count)
        out.append(mention(args, i, fill(r.choice(NL_OUTAGE + EN_OUTAGE), r, args.brand, i), ts, r))
    r.shuffle(out)  # arrival order != event order inside the burst
    return out


def truth(cases_file, input_file):
    """Ground truth of the window counters per brand, from `webcared classify`
    output and the generated input (created_at in epoch ms):
    {brand: {"clusters": {"class:topic": {"tot": n, "h<hour>": n}}, "classes": {cls: n}}}"""
    created = {}
    for line in open(input_file):
        try:
            m = json.loads(line)
            created[m["id"]] = m["created_at"]
        except (ValueError, KeyError, TypeError):
            pass
    out = {}
    for line in open(cases_file):
        c = json.loads(line)
        if "brand" not in c or "class" not in c:
            continue  # a line `webcared classify` rejected: the daemon DLQs it too
        b = out.setdefault(c["brand"], {"clusters": {}, "classes": {}})
        cls = c["class"]
        b["classes"][cls] = b["classes"].get(cls, 0) + 1
        if cls not in ("angry", "question"):
            continue
        ts = created[c["mention_id"]]
        for t in (c.get("topics") or ["general"])[:3]:
            e = b["clusters"].setdefault("%s:%s" % (cls, t), {"tot": 0})
            e["tot"] += 1
            h = "h%d" % (ts // 3600000)
            e[h] = e.get(h, 0) + 1
    return out


def cmd_truth(args):
    json.dump(truth(args.cases, args.input), sys.stdout, sort_keys=True)
    print()


def redis_hash(port, key):
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "hgetall", key],
                         check=True, capture_output=True, text=True).stdout.split("\n")
    return dict(zip(out[0::2], out[1::2]))


def cmd_compare(args):
    """Compare the window counters in Redis with the ground truth: exact
    (every counter equal) or partial (Redis lost state: never above the
    truth). Exit 1 with MISMATCH/EXTRA lines when they differ."""
    want = truth(args.cases, args.input)
    bad = 0
    for b in args.brands.split(","):
        w = want.get(b, {"clusters": {}, "classes": {}})
        # all clusters of a brand live in one hash, fields "<kind>|<topic>|<name>";
        # the class counters are the "s.<class>" fields of the brand's meta hash
        got = {}
        for f, v in redis_hash(args.redis_port, "wc:{%s}:cl" % b).items():
            parts = f.split("|", 2)
            if len(parts) == 3:
                got.setdefault("%s:%s" % (parts[0], parts[1]), {})[parts[2]] = v
        st = {f[2:]: v for f, v in redis_hash(args.redis_port, "wc:{%s}:meta" % b).items()
              if f.startswith("s.")}

        def differs(n, v):
            return n != v if args.mode == "exact" else n > v
        for k, e in w["clusters"].items():
            g = got.get(k, {})
            for f, v in e.items():
                if differs(int(g.get(f, 0)), v):
                    print("MISMATCH %s %s %s: redis %s truth %s" % (b, k, f, g.get(f), v)); bad += 1
        for k in got:
            if k not in w["clusters"]:
                print("EXTRA cluster %s %s" % (b, k)); bad += 1
        tot = 0
        for cls, v in w["classes"].items():
            n = int(st.get(cls, 0))
            tot += n
            if differs(n, v):
                print("MISMATCH %s class %s: redis %s truth %s" % (b, cls, st.get(cls), v)); bad += 1
        if tot <= 0:
            print("%s: nothing counted" % b); bad += 1
        print("%s: %d clusters, classes %s, redis %s: %s" % (b, len(w["clusters"]), w["classes"],
              {k: int(v) for k, v in st.items() if v.isdigit()}, "ok" if not bad else "DIFFERENT"))
    sys.exit(1 if bad else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["stream", "burst", "truth", "compare"])
    ap.add_argument("--brand", default="acme")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--start-ms", type=int, default=0)
    ap.add_argument("--span-ms", type=int, default=3600000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix", default="w")
    ap.add_argument("--outage-share", type=float, default=0.05)
    ap.add_argument("--cases")
    ap.add_argument("--input", help="truth: the generated input (created_at in epoch ms)")
    ap.add_argument("--redis-port", type=int, help="compare: the test redis-server")
    ap.add_argument("--brands", default="kx,ky", help="compare: comma list")
    ap.add_argument("--mode", choices=["exact", "partial"], default="exact")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.cmd == "truth":
        return cmd_truth(args)
    if args.cmd == "compare":
        return cmd_compare(args)
    rows = cmd_stream(args) if args.cmd == "stream" else cmd_burst(args)
    f = open(args.out, "w") if args.out else sys.stdout
    for m in rows:
        f.write(json.dumps(m, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
