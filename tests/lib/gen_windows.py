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
        ground truth of the window counters: per (class, topic) the total
        and per-hour counts, and per-class totals (JSON on stdout)

Output: JSON lines on stdout (or --out FILE).
"""
import argparse
import json
import random
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


def cmd_truth(args):
    per = {}
    classes = {}
    created = {}
    for line in open(args.input):
        try:
            m = json.loads(line)
            created[m["id"]] = m["created_at"]
        except (ValueError, KeyError, TypeError):
            pass
    for line in open(args.cases):
        c = json.loads(line)
        cls = c["class"]
        classes[cls] = classes.get(cls, 0) + 1
        if cls not in ("angry", "question"):
            continue
        topics = c.get("topics") or ["general"]
        ts = created[c["mention_id"]]
        for t in topics[:3]:
            k = "%s:%s" % (cls, t)
            e = per.setdefault(k, {"tot": 0, "hours": {}})
            e["tot"] += 1
            h = "h%d" % (ts // 3600000)
            e["hours"][h] = e["hours"].get(h, 0) + 1
    json.dump({"clusters": per, "classes": classes}, sys.stdout, sort_keys=True)
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["stream", "burst", "truth"])
    ap.add_argument("--brand", default="acme")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--start-ms", type=int, default=0)
    ap.add_argument("--span-ms", type=int, default=3600000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix", default="w")
    ap.add_argument("--outage-share", type=float, default=0.05)
    ap.add_argument("--cases")
    ap.add_argument("--input", help="truth: the generated input (created_at in epoch ms)")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.cmd == "truth":
        return cmd_truth(args)
    rows = cmd_stream(args) if args.cmd == "stream" else cmd_burst(args)
    f = open(args.out, "w") if args.out else sys.stdout
    for m in rows:
        f.write(json.dumps(m, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
