#!/usr/bin/python3
"""eval.py - accuracy and per-class P/R/F1 of the shipped rules on the eval dev sets.

Runs `webcared classify` (the dry run: no Kafka, no Redis) over the labelled
sets in ../shared/eval and compares the predicted class with the gold label.
Only the splits the eval README allows are used:

  airline_dev_en.tsv                        all rows (it IS the 30% dev split), en
  nl_political_tweets_polarity.tsv          split == "train" only (test is held out), nl
  nl_restaurant_absa_semeval2016_sentences  all rows (no split given), nl;
                                            "mixed" sentences are skipped

Label mapping (the sets are 3-class sentiment, webcared has 4 classes):
  gold  positive/happy -> happy, negative/angry -> angry,
        neutral (and restaurant "none": no opinion) -> neutral
  pred  question -> neutral (a question is neither praise nor a complaint in
        these sets; how often it happened is reported)

Metrics per set: accuracy, precision/recall/F1 per gold class, macro-F1 over
happy/neutral/angry, confusion matrix. With --no-lang the "lang" field is
left out, so the daemon's language detection is used (and its accuracy is
reported). Texts are never copied anywhere: they go to webcared's stdin.

usage: tests/eval/eval.py [--bin build/daemon/webcared] [--rules rules]
                          [--eval-dir ../shared/eval] [--no-lang] [--json]
"""
import argparse
import csv
import json
import os
import subprocess
import sys

CLASSES = ["happy", "neutral", "angry"]
GOLD_MAP = {"positive": "happy", "happy": "happy", "negative": "angry", "angry": "angry",
            "neutral": "neutral", "none": "neutral"}


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def load_sets(eval_dir):
    sets = []
    rows = read_tsv(os.path.join(eval_dir, "airline_dev_en.tsv"))
    sets.append(("airline_dev_en (en, tweets)", "en", "twitter",
                 [(r["text"], r["label"]) for r in rows]))
    rows = read_tsv(os.path.join(eval_dir, "nl_political_tweets_polarity.tsv"))
    sets.append(("nl_political_tweets train (nl, tweets)", "nl", "twitter",
                 [(r["text"], r["polarity"]) for r in rows if r["split"] == "train"]))
    rows = read_tsv(os.path.join(eval_dir, "nl_restaurant_absa_semeval2016_sentences.tsv"))
    sets.append(("nl_restaurant_semeval2016 (nl, review sentences)", "nl", "review",
                 [(r["text"], r["sentence_polarity"]) for r in rows
                  if r["sentence_polarity"] != "mixed"]))
    out = []
    for name, lang, channel, items in sets:
        items = [(t, GOLD_MAP[g]) for t, g in items if t.strip() and g in GOLD_MAP]
        out.append((name, lang, channel, items))
    return out


def classify(binary, rules, lang, channel, items, with_lang):
    lines = []
    for i, (text, _) in enumerate(items):
        m = {"id": "eval:%d" % i, "channel": channel, "brand": "eval",
             "author": {"id": "eval"}, "text": text, "created_at": 1700000000000}
        if with_lang:
            m["lang"] = lang
        lines.append(json.dumps(m, ensure_ascii=False))
    p = subprocess.run([binary, "classify", "--rules", rules, "--now", "1700000000000"],
                       input=("\n".join(lines) + "\n").encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if p.returncode not in (0, 1):
        sys.exit("webcared classify failed (%d): %s" % (p.returncode, p.stderr.decode()[-2000:]))
    outs = [json.loads(l) for l in p.stdout.decode().splitlines()]
    if len(outs) != len(items):
        sys.exit("expected %d output lines, got %d" % (len(items), len(outs)))
    return outs


def metrics(gold, pred):
    n = len(gold)
    acc = sum(g == p for g, p in zip(gold, pred)) / n if n else 0.0
    per = {}
    for c in CLASSES:
        tp = sum(g == c and p == c for g, p in zip(gold, pred))
        fp = sum(g != c and p == c for g, p in zip(gold, pred))
        fn = sum(g == c and p != c for g, p in zip(gold, pred))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[c] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    macro = sum(per[c]["f1"] for c in CLASSES) / len(CLASSES)
    conf = {g: {p: sum(1 for a, b in zip(gold, pred) if a == g and b == p) for p in CLASSES}
            for g in CLASSES}
    return {"n": n, "accuracy": acc, "macro_f1": macro, "per_class": per, "confusion": conf}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build = os.environ.get("WC_BUILD_DIR", os.path.join(src, "build"))
    ap.add_argument("--bin", default=os.path.join(build, "daemon", "webcared"))
    ap.add_argument("--rules", default=os.path.join(src, "rules"))
    ap.add_argument("--eval-dir", default=os.path.join(os.path.dirname(src), "shared", "eval"))
    ap.add_argument("--no-lang", action="store_true", help="leave lang out (test detection)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    a = ap.parse_args()

    results = []
    for name, lang, channel, items in load_sets(a.eval_dir):
        outs = classify(a.bin, a.rules, lang, channel, items, not a.no_lang)
        gold = [g for _, g in items]
        raw = [o.get("class", "neutral") for o in outs]
        pred = ["neutral" if p == "question" else p for p in raw]
        r = metrics(gold, pred)
        r["name"] = name
        r["predicted_question"] = sum(p == "question" for p in raw)
        if a.no_lang:
            r["lang_detect_accuracy"] = sum(o.get("lang") == lang for o in outs) / len(outs)
            r["lang_und"] = sum(o.get("lang") == "und" for o in outs) / len(outs)
        results.append(r)

    if a.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return
    print("| dataset | n | accuracy | macro-F1 | F1 happy | F1 neutral | F1 angry |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        pc = r["per_class"]
        print("| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f |" % (
            r["name"], r["n"], r["accuracy"], r["macro_f1"], pc["happy"]["f1"],
            pc["neutral"]["f1"], pc["angry"]["f1"]))
    for r in results:
        print("\n%s: n=%d, predicted 'question' (counted as neutral): %d" % (
            r["name"], r["n"], r["predicted_question"]))
        if "lang_detect_accuracy" in r:
            print("  language detection: %.3f correct, %.3f und" % (
                r["lang_detect_accuracy"], r["lang_und"]))
        print("  class      precision  recall     F1  support")
        for c in CLASSES:
            p = r["per_class"][c]
            print("  %-9s  %9.3f  %6.3f  %5.3f  %7d" % (c, p["precision"], p["recall"], p["f1"],
                                                     p["support"]))
        print("  confusion (rows gold, columns predicted): " + " ".join(
            "%s=%s" % (g, [r["confusion"][g][p] for p in CLASSES]) for g in CLASSES))


if __name__ == "__main__":
    main()
