#!/usr/bin/python3
"""gen_campaign.py - a copy-paste campaign as mention JSON lines (issue 4).

N near-copies of one complaint, each by a different author, as campaign
participants post them: retweets ("RT @x: ..."), quotes with an added
@handle, changed capitals and punctuation, a word turned into a #hashtag,
emoji, per-author tracking links, extra spaces. The words stay the same
(see docs/DEDUP.md for how word edits are handled and measured).

Writes the lines to --out and a manifest (--manifest) with the expected
aggregate: count, distinct authors, reach = sum(followers + reshares).

  gen_campaign.py --count 1000 --brand acme-campaign --seed 4 --out F --manifest M
"""
import argparse
import json
import random
import sys

BASE = ("Mijn internetverbinding ligt al drie dagen plat en de klantenservice van {b} neemt de "
        "telefoon niet op, ik betaal elke maand netjes voor een abonnement dat gewoon niet werkt")
EMOJI = ["\U0001F621", "\U0001F92C", "\U0001F44E", "\U0001F620"]


def copy_of(base, i, r):
    if i == 0:
        return base
    words = base.split(" ")
    if r.random() < 0.5:
        k = r.randrange(len(words))
        words[k] = words[k].upper() if r.random() < 0.5 else words[k].capitalize()
    if r.random() < 0.3:
        k = r.randrange(len(words))
        if words[k].isalpha():
            words[k] = "#" + words[k]
    text = ("  " if r.random() < 0.1 else " ").join(words)
    if r.random() < 0.3:
        text = text.replace(",", "")
    form = r.random()
    if form < 0.3:
        text = "RT @%s: %s" % (r.choice(["jan", "sanne", "webcare_watch", "consumentenbond"]), text)
    elif form < 0.5:
        text = "@acme_care " + text
    tail = r.random()
    if tail < 0.2:
        text += "!!!"
    elif tail < 0.4:
        text += " " + r.choice(EMOJI)
    elif tail < 0.6:
        text += " https://t.example/%x" % r.getrandbits(40)
    elif tail < 0.7:
        text += " ??"
    return text


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--brand", default="acme-campaign")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--start-ms", type=int, default=1795334400000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--manifest", required=True)
    a = ap.parse_args(argv)
    r = random.Random(a.seed)
    base = BASE.format(b=a.brand.split("-")[0].capitalize())
    reach = 0
    authors = set()
    with open(a.out, "w", encoding="utf-8") as f:
        for i in range(a.count):
            followers = r.randrange(0, 5000)
            author = "camp-%d" % i
            m = {"id": "tw:camp-%d-%d" % (a.seed, i), "channel": "twitter", "brand": a.brand,
                 "author": {"id": author, "handle": "@%s" % author, "followers": followers},
                 "text": copy_of(base, i, r), "lang": "nl", "created_at": a.start_ms + i * 250}
            reshares = 0
            if r.random() < 0.3:
                reshares = r.randrange(0, 40)
                m["metrics"] = {"reshares": reshares, "likes": r.randrange(0, 100)}
            reach += followers + reshares
            authors.add(author)
            f.write(json.dumps(m, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(a.manifest, "w") as f:
        json.dump({"count": a.count, "brand": a.brand, "distinct_authors": len(authors),
                   "reach": reach}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
