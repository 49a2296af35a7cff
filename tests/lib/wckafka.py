#!/usr/bin/python3
"""wckafka.py - independent Kafka client CLI for webcared tests, demo and bench.

Runs with Debian's /usr/bin/python3 + python3-confluent-kafka 1.7.0 (which
links the system librdkafka 2.0.2). Deliberately independent of the daemon's
code so that tests check the daemon from the outside.

Subcommands (all take --bootstrap, default $WC_BOOTSTRAP):
  produce   stdin/--file lines -> one message each (raw bytes), wait for all
            delivery reports, print the count; exit 1 on any failure.
  consume   print messages as JSON lines, stop at --until-count or when idle.
  count     count messages per topic (optionally per header value), fast.
  offsets   low/high watermarks per partition and totals.
  committed committed offsets and lag of a consumer group.
  gen       deterministic generator of mention JSON lines (valid + malformed)
            with a manifest of the expected outcome of every line.

Exit codes: 0 ok, 1 failure (delivery failed, timeout where it matters),
2 usage error.
"""
import argparse
import base64
import json
import os
import random
import sys
import time
import uuid

try:
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
except ImportError:  # gen works without Kafka bindings
    Consumer = Producer = TopicPartition = KafkaError = None


def log(msg):
    sys.stderr.write("wckafka: %s\n" % msg)
    sys.stderr.flush()


def die(msg, code=1):
    log(msg)
    sys.exit(code)


def bootstrap_of(args):
    bs = args.bootstrap or os.environ.get("WC_BOOTSTRAP")
    if not bs:
        die("no --bootstrap and no $WC_BOOTSTRAP", 2)
    return bs


def quiet_logger():
    """librdkafka logs through Python logging when a logger is given; keep
    only warnings and errors, on stderr."""
    import logging

    lg = logging.getLogger("wckafka.rdkafka")
    if not lg.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("wckafka: rdkafka %(message)s"))
        lg.addHandler(h)
        lg.setLevel(logging.WARNING)
    return lg


# --------------------------------------------------------------------------
# produce

def json_field(doc, path):
    cur = doc
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    if cur is None or isinstance(cur, (dict, list)):
        return None
    if isinstance(cur, bool):
        return b"true" if cur else b"false"
    if isinstance(cur, str):
        return cur.encode("utf-8", "surrogatepass")
    return str(cur).encode()


def iter_lines(f):
    """Yield every line as raw bytes without its '\\n' (an empty line is an
    empty message; a final newline does not make an extra message)."""
    pending = b""
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            break
        pending += chunk
        parts = pending.split(b"\n")
        pending = parts.pop()
        for p in parts:
            yield p
    if pending:
        yield pending


class ConfirmedProducer:
    """Produces to one topic and does not trust a delivery report without an
    error but without an offset: the local cluster acknowledges some produces
    it never stores (docs/LOCALKAFKA.md), so such a message is produced again,
    as webcared does with its outputs (`reproduced` counts them).
    on_result(err, msg, tag) gets each message's final report; tag is what
    produce() was given. Shared by `wckafka produce` and tests/soak/feed.py."""

    def __init__(self, producer, topic, on_result, **kw):
        self.p, self.topic, self.on_result, self.kw = producer, topic, on_result, kw
        self.again = []  # (value, key, tag) reported delivered without an offset
        self.reproduced = 0

    def _dr(self, err, msg, tag):
        if err is None and (msg.offset() is None or msg.offset() < 0):
            self.reproduced += 1
            self.again.append((msg.value(), msg.key(), tag))
        else:
            self.on_result(err, msg, tag)

    def _send(self, value, key, tag):
        while True:
            try:
                self.p.produce(self.topic, value, key, on_delivery=lambda e, m, t=tag: self._dr(e, m, t),
                               **self.kw)
                return
            except BufferError:
                self.p.poll(0.05)

    def _send_again(self):
        while self.again:
            self._send(*self.again.pop())

    def produce(self, value, key, tag=None):
        self._send(value, key, tag)
        self._send_again()

    def poll(self, timeout):
        self.p.poll(timeout)
        self._send_again()

    def flush(self, timeout):
        """Waits up to timeout seconds for every message's final report.
        Returns (still queued, tags of those reported without an offset at
        the deadline): neither has a final report."""
        end = time.monotonic() + timeout
        while True:
            self._send_again()
            left = self.p.flush(max(0.0, end - time.monotonic()))
            if not self.again or time.monotonic() >= end:
                return left, [t for _, _, t in self.again]


def cmd_produce(args):
    conf = {
        "bootstrap.servers": bootstrap_of(args),
        "linger.ms": args.linger_ms,
        "enable.idempotence": not args.no_idempotence,
        "queue.buffering.max.messages": 500000,
        "queue.buffering.max.kbytes": 1048576,
        "message.max.bytes": 16 * 1024 * 1024,
        "message.timeout.ms": int(args.timeout * 1000),
        "compression.type": args.compression,
    }
    state = {"ok": 0, "fail": 0, "first_err": None}

    def on_result(err, msg, _tag):
        if err is not None:
            state["fail"] += 1
            if state["first_err"] is None:
                state["first_err"] = str(err)
        else:
            state["ok"] += 1

    headers = []
    for h in args.header or []:
        if "=" not in h:
            die("--header wants NAME=VALUE", 2)
        k, v = h.split("=", 1)
        headers.append((k, v.encode()))

    f = open(args.file, "rb") if args.file else sys.stdin.buffer
    sent = 0
    start = time.monotonic()
    kw = {}
    if args.partition is not None:
        kw["partition"] = args.partition
    if headers:
        kw["headers"] = headers
    p = ConfirmedProducer(Producer(conf, logger=quiet_logger()), args.topic, on_result, **kw)
    for line in iter_lines(f):
        key = None
        if args.key_field:
            try:
                doc = json.loads(line)
                if isinstance(doc, dict):
                    key = json_field(doc, args.key_field)
            except Exception:  # invalid JSON / UTF-8 / too deep: no key
                key = None
        if args.rate > 0:
            due = start + sent / args.rate
            while True:
                now = time.monotonic()
                if now >= due:
                    break
                p.poll(min(due - now, 0.1))
        p.produce(line, key)
        sent += 1
        if sent % 1000 == 0:
            p.poll(0)
    if f is not sys.stdin.buffer:
        f.close()
    remaining, unconfirmed = p.flush(args.timeout)
    elapsed = time.monotonic() - start
    if unconfirmed:
        state["fail"] += len(unconfirmed)
        state["first_err"] = state["first_err"] or "%d messages delivered without an offset" % len(unconfirmed)
    if remaining:
        state["fail"] += remaining
        state["first_err"] = state["first_err"] or "%d messages not delivered in time" % remaining
    log("produced %d/%d to %s in %.2fs (%.0f msg/s)%s%s" % (
        state["ok"], sent, args.topic, elapsed, state["ok"] / elapsed if elapsed > 0 else 0,
        "; %d produced again (delivered without an offset)" % p.reproduced if p.reproduced else "",
        "; %d FAILED, first error: %s" % (state["fail"], state["first_err"]) if state["fail"] else ""))
    print(state["ok"])
    sys.stdout.flush()
    return 1 if state["fail"] else 0


# --------------------------------------------------------------------------
# consume / count

def make_consumer(args, extra=None):
    conf = {
        "bootstrap.servers": bootstrap_of(args),
        "group.id": args.group or ("wckafka-" + uuid.uuid4().hex[:12]),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": bool(args.group),
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
        "queued.max.messages.kbytes": 262144,
        "session.timeout.ms": args.session_timeout_ms,
        "heartbeat.interval.ms": max(100, min(3000, args.session_timeout_ms // 3)),
        "isolation.level": args.isolation,
    }
    if extra:
        conf.update(extra)
    return Consumer(conf, logger=quiet_logger())


def topic_partitions(c, topics, deadline):
    """Wait until every topic exists in Metadata; return [TopicPartition]."""
    while True:
        md = c.list_topics(timeout=5)
        parts, missing = [], []
        for t in topics:
            tm = md.topics.get(t)
            if tm is None or tm.error is not None or not tm.partitions:
                missing.append(t)
                continue
            for pid in sorted(tm.partitions):
                parts.append(TopicPartition(t, pid, -2))  # OFFSET_BEGINNING
        if not missing:
            return parts
        if time.monotonic() > deadline:
            die("topics not found: %s" % ",".join(missing))
        time.sleep(0.2)


class Stream:
    """Consume from the beginning until N messages or idle timeout.

    Without --group: manual assignment of all partitions at the beginning
    (no group join delay: the 2.0.2 mock waits 3 s before the first join
    completes). With --group: subscribe, so group semantics (committed
    offsets, rebalances) are real; the idle clock starts at assignment."""

    def __init__(self, args):
        self.args = args
        self.topics = [t for t in args.topic.split(",") if t]
        self.c = make_consumer(args)
        self.assigned = False
        deadline = time.monotonic() + args.start_timeout
        if args.group:
            def on_assign(c, parts):
                self.assigned = True
            self.c.subscribe(self.topics, on_assign=on_assign)
        else:
            self.c.assign(topic_partitions(self.c, self.topics, deadline))
            self.assigned = True
        self.start_deadline = deadline
        self.t_start = time.monotonic()
        self.t_last = None  # time of the latest message

    def rate(self, n):
        """'N msgs in S s (R msg/s)' from start to the latest message."""
        el = (self.t_last or time.monotonic()) - self.t_start
        return "%d in %.2fs (%.0f msg/s)" % (n, el, n / el if el > 0 and n else 0)

    def batches(self):
        args = self.args
        n = 0
        last = time.monotonic()
        hard = time.monotonic() + args.max_time if args.max_time > 0 else None
        while True:
            if args.until_count and n >= args.until_count:
                return
            now = time.monotonic()
            if hard and now > hard:
                log("max time %.1fs reached" % args.max_time)
                return
            if not self.assigned:
                if now > self.start_deadline:
                    die("no partition assignment within %.1fs" % args.start_timeout)
                last = now
            elif now - last > args.timeout:
                return
            want = 10000
            if args.until_count:
                want = min(want, args.until_count - n)
            msgs = self.c.consume(want, 0.1)
            good = []
            for m in msgs:
                e = m.error()
                if e is None:
                    good.append(m)
                elif e.code() != KafkaError._PARTITION_EOF:
                    log("consume error: %s" % e)
            if good:
                last = self.t_last = time.monotonic()
                n += len(good)
                yield good

    def close(self):
        self.c.close()


def b2json(b, field, out):
    if b is None:
        out[field] = None
        return
    try:
        out[field] = b.decode("utf-8")
    except UnicodeDecodeError:
        out[field + "_b64"] = base64.b64encode(b).decode()


def cmd_consume(args):
    s = Stream(args)
    out = sys.stdout
    n = 0
    try:
        for batch in s.batches():
            lines = []
            for m in batch:
                d = {"topic": m.topic(), "partition": m.partition(), "offset": m.offset()}
                b2json(m.key(), "key", d)
                b2json(m.value(), "value", d)
                if args.headers:
                    hd = {}
                    for k, v in m.headers() or []:
                        if v is None:
                            hd[k] = None
                        else:
                            try:
                                hd[k] = v.decode("utf-8")
                            except UnicodeDecodeError:
                                hd[k] = "b64:" + base64.b64encode(v).decode()
                    d["headers"] = hd
                if args.timestamps:
                    d["timestamp"] = m.timestamp()[1]
                lines.append(json.dumps(d, ensure_ascii=False, separators=(",", ":")))
            out.write("\n".join(lines))
            out.write("\n")
            n += len(batch)
        out.flush()
    finally:
        s.close()
    log("consumed %s from %s" % (s.rate(n), args.topic))
    return 0


def cmd_count(args):
    s = Stream(args)
    counts = {t: 0 for t in s.topics}
    by = {}
    total = 0
    try:
        for batch in s.batches():
            for m in batch:
                counts[m.topic()] = counts.get(m.topic(), 0) + 1
                if args.by_header:
                    val = None
                    for k, v in m.headers() or []:
                        if k == args.by_header:
                            val = v.decode("utf-8", "replace") if v is not None else None
                    key = "%s|%s" % (m.topic(), val)
                    by[key] = by.get(key, 0) + 1
            total += len(batch)
    finally:
        s.close()
    res = {"total": total, "topics": counts}
    if args.by_header:
        res["by_header"] = {}
        for k, v in sorted(by.items()):
            t, val = k.split("|", 1)
            res["by_header"].setdefault(t, {})[val] = v
    log("counted %s" % s.rate(total))
    print(json.dumps(res, sort_keys=True))
    return 0


def cmd_offsets(args):
    c = make_consumer(args)
    topics = [t for t in args.topic.split(",") if t]
    res = {"total": 0, "topics": {}}
    try:
        for tp in topic_partitions(c, topics, time.monotonic() + args.start_timeout):
            lo, hi = c.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=5)
            t = res["topics"].setdefault(tp.topic, {"total": 0, "retained": 0, "partitions": {}})
            t["partitions"][str(tp.partition)] = [lo, hi]
            t["total"] += hi
            t["retained"] += hi - lo
            res["total"] += hi
    finally:
        c.close()
    print(json.dumps(res, sort_keys=True))
    return 0


def cmd_committed(args):
    if not args.group:
        die("committed needs --group", 2)
    c = make_consumer(args, {"enable.auto.commit": False})
    topics = [t for t in args.topic.split(",") if t]
    res = {"group": args.group, "lag": 0, "topics": {}}
    try:
        tps = topic_partitions(c, topics, time.monotonic() + args.start_timeout)
        tps = [TopicPartition(tp.topic, tp.partition) for tp in tps]
        for tp in c.committed(tps, timeout=10):
            lo, hi = c.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=5)
            off = tp.offset if tp.offset >= 0 else None
            lag = hi - (off if off is not None else lo)
            t = res["topics"].setdefault(tp.topic, {})
            t[str(tp.partition)] = {"committed": off, "high": hi, "lag": lag}
            res["lag"] += lag
    finally:
        c.close()
    print(json.dumps(res, sort_keys=True))
    return 0


# --------------------------------------------------------------------------
# gen: deterministic mention generator

CHANNELS = ["twitter", "facebook", "instagram", "forum", "review", "news", "whatsapp", "other"]
CHANNEL_WEIGHTS = [40, 20, 12, 8, 8, 4, 6, 2]
ID_PREFIX = {"twitter": "tw", "facebook": "fb", "instagram": "ig", "forum": "fo",
             "review": "rv", "news": "nw", "whatsapp": "wa", "other": "ot"}
REASONS = ["empty", "too_large", "bad_json", "too_deep", "invalid_utf8", "not_object",
           "missing_field", "wrong_type", "invalid_value", "field_too_long"]

# Phrase building blocks, written for this generator. {p} product/service,
# {b} brand display name, {t} time phrase, {n} a number.
VOCAB = {
    "nl": {
        "p": ["internetverbinding", "glasvezelaansluiting", "factuur", "modem", "router",
              "bezorging", "pakket", "klantenservice", "app", "abonnement", "tv-pakket",
              "simkaart", "bestelling", "monteur", "energierekening", "slimme meter",
              "pinpas", "betaalverzoek", "retourzending", "wifi"],
        "t": ["sinds gisteren", "al drie dagen", "vanochtend", "al een week", "sinds maandag",
              "net", "vandaag weer", "al twee weken", "sinds de update", "vanavond"],
        "complaint": [
            "Mijn {p} doet het {t} niet meer. Echt belachelijk {b}!",
            "{t} geen {p} en niemand neemt op bij {b}. #fail",
            "Al {n} keer gebeld over mijn {p}, nog steeds niks opgelost. Ik ben het zat.",
            "Wat een drama met de {p} van {b}. {t} kapot en geen reactie.",
            "Beloofd was dat de {p} {t} geregeld zou zijn. Niet dus. Slechtste service ooit.",
            "Waarom wordt mijn {p} {n} euro duurder zonder bericht? Schandalig @{h}",
            "Weer storing! {t} ligt alles eruit. {b} regel het nou eens.",
            "Ik word {t} van het kastje naar de muur gestuurd over mijn {p}. Onacceptabel.",
        ],
        "question": [
            "Hoe kan ik mijn {p} bij {b} wijzigen?",
            "Weet iemand wanneer de {p} van {b} weer werkt?",
            "@{h} kunnen jullie zeggen wanneer mijn {p} komt? Ordernummer {n}.",
            "Is er {t} een storing bij {b}? Mijn {p} reageert niet.",
            "Waar vind ik de handleiding voor de nieuwe {p}?",
            "Kan ik mijn {p} ook online opzeggen of moet ik bellen?",
            "Vraagje: hoeveel kost een extra {p} per maand?",
        ],
        "praise": [
            "Top geholpen door {b}! Mijn {p} werkt weer binnen een uur. Dank jullie wel!",
            "Complimenten voor de monteur van {b}, super vriendelijk en snel.",
            "Wat fijn dat de {p} {t} al geregeld was. Goed bezig {b}!",
            "Eindelijk een bedrijf dat wel luistert. Bedankt @{h} voor de snelle reactie.",
            "Nieuwe {p} ontvangen, werkt perfect. Blij mee!",
        ],
        "neutral": [
            "Vandaag de nieuwe {p} van {b} geinstalleerd.",
            "Overgestapt naar {b}, eens kijken hoe de {p} bevalt.",
            "Artikel over de prijzen van {b} gelezen, interessant.",
            "Morgen komt de monteur voor de {p}.",
            "{b} heeft {t} een nieuwe {p} aangekondigd.",
        ],
        "tags": ["#storing", "#klantenservice", "#fail", "#blij", "", "", "", "", " \U0001F621",
                 " \U0001F64F", " \U0001F44D", " \u00e9cht", ""],
    },
    "en": {
        "p": ["internet connection", "fiber line", "invoice", "modem", "router", "delivery",
              "parcel", "customer service", "app", "subscription", "tv package", "sim card",
              "order", "technician visit", "energy bill", "smart meter", "debit card",
              "refund", "return", "wifi"],
        "t": ["since yesterday", "for three days", "this morning", "for a week", "since Monday",
              "just now", "again today", "for two weeks", "since the update", "tonight"],
        "complaint": [
            "My {p} has been down {t}. Ridiculous, {b}!",
            "No {p} {t} and nobody at {b} picks up the phone. #fail",
            "Called {n} times about my {p}, still not fixed. I'm done.",
            "What a mess with the {p} from {b}. Broken {t} and zero response.",
            "You promised the {p} would be sorted {t}. It wasn't. Worst service ever.",
            "Why did my {p} go up by {n} dollars without notice? Outrageous @{h}",
            "Another outage! Everything is down {t}. Fix it {b}.",
            "Being passed from pillar to post about my {p} {t}. Unacceptable.",
        ],
        "question": [
            "How do I change my {p} with {b}?",
            "Does anyone know when the {p} from {b} will work again?",
            "@{h} can you tell me when my {p} arrives? Order {n}.",
            "Is there an outage at {b} {t}? My {p} isn't responding.",
            "Where can I find the manual for the new {p}?",
            "Can I cancel my {p} online or do I have to call?",
            "Quick question: how much is an extra {p} per month?",
        ],
        "praise": [
            "Great help from {b}! My {p} works again within an hour. Thank you!",
            "Kudos to the {b} technician, super friendly and quick.",
            "So nice that the {p} was sorted {t} already. Well done {b}!",
            "Finally a company that listens. Thanks @{h} for the quick reply.",
            "Got the new {p}, works perfectly. Happy!",
        ],
        "neutral": [
            "Installed the new {p} from {b} today.",
            "Switched to {b}, let's see how the {p} goes.",
            "Read an article about {b} pricing, interesting.",
            "The technician comes tomorrow for the {p}.",
            "{b} announced a new {p} {t}.",
        ],
        "tags": ["#outage", "#customerservice", "#fail", "#happy", "", "", "", "", " \U0001F621",
                 " \U0001F64F", " \U0001F44D", " caf\u00e9", ""],
    },
}
CLASS_WEIGHTS = [("complaint", 35), ("question", 30), ("praise", 15), ("neutral", 20)]
FIRST = ["jan", "anna", "piet", "sanne", "mo", "lisa", "tom", "eva", "daan", "noor", "kim",
         "alex", "sam", "fatima", "joost", "emma", "li", "omar", "sophie", "ruben"]


def wpick(rng, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def parse_start(s):
    if s.isdigit():
        return int(s)
    from datetime import datetime
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def rfc3339(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ("Z" if ms % 1000 == 0 else ".%03dZ" % (ms % 1000))


class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.brands = [b for b in args.brands.split(",") if b]
        self.langs = [l for l in args.langs.split(",") if l]
        for l in self.langs:
            if l not in VOCAB:
                die("unknown lang %s (have nl,en)" % l, 2)
        self.n_authors = max(20, args.count // max(1, args.mentions_per_author))
        self.t = parse_start(args.start)
        self.recent = {}  # brand -> recent ids (for replies / conversations)

    def author(self):
        r = self.rng
        k = r.randrange(self.n_authors)
        # followers: heavy tail, stable per author
        ar = random.Random(k * 7919 + self.a.seed)
        f = int(ar.paretovariate(1.2) * 40)
        if ar.random() < 0.01:
            f = ar.randrange(40000, 2000000)
        a = {"id": "u%d" % k, "handle": "@%s%d" % (ar.choice(FIRST), k), "followers": f}
        if f > 20000 or ar.random() < 0.02:
            a["verified"] = True
        elif ar.random() < 0.5:
            a["verified"] = False
        return a

    def text(self, lang, cls, brand):
        r = self.rng
        v = VOCAB[lang]
        tpl = r.choice(v[cls])
        bname = brand.replace("-", " ").title() if r.random() < 0.5 else brand
        s = tpl.format(p=r.choice(v["p"]), t=r.choice(v["t"]), b=bname, n=r.randrange(2, 400),
                       h=brand.replace("-", "_"))
        tag = r.choice(v["tags"]).strip()
        if tag:
            s += " " + tag
        if r.random() < 0.05:
            s = s.upper()
        if r.random() < 0.03:
            s += "\n" + r.choice(v["t"])  # multi-line post (escaped in JSON)
        return s

    def mention(self, i):
        r = self.rng
        ch = wpick(r, CHANNELS, CHANNEL_WEIGHTS)
        brand = r.choice(self.brands)
        lang = r.choice(self.langs)
        cls = wpick(r, [c for c, _ in CLASS_WEIGHTS], [w for _, w in CLASS_WEIGHTS])
        self.t += r.randrange(0, 2 * self.a.interval_ms + 1)
        mid = "%s:%d-%d" % (ID_PREFIX[ch], self.a.seed, i)
        m = {"id": mid, "channel": ch, "brand": brand, "author": self.author(),
             "text": self.text(lang, cls, brand)}
        if r.random() < 0.7:
            m["lang"] = lang
        m["created_at"] = rfc3339(self.t) if r.random() < 0.6 else self.t
        rec = self.recent.setdefault(brand, [])
        if rec and r.random() * 100 < self.a.reply_pct:
            parent = r.choice(rec)
            m["in_reply_to"] = parent[0]
            m["conversation_id"] = parent[1]
            conv = parent[1]
        else:
            conv = mid
            if r.random() < 0.3:
                m["conversation_id"] = mid
        rec.append((mid, conv))
        if len(rec) > 50:
            rec.pop(0)
        if r.random() < 0.6:
            m["url"] = "https://%s.example/%s/%d" % (ch, brand, i)
        if r.random() < 0.5:
            m["metrics"] = {"reshares": r.randrange(0, 50), "likes": r.randrange(0, 500)}
            if r.random() < 0.3:
                m["metrics"]["replies"] = r.randrange(0, 30)
        return m, cls, lang

    def dump(self, m):
        ascii_only = self.rng.random() < 0.1  # exercise \\u escapes in the decoder
        return json.dumps(m, ensure_ascii=ascii_only, separators=(",", ":")).encode("utf-8")

    # --- malformed variants: each has exactly one defect -----------------

    def malformed(self, i, reason):
        r = self.rng
        m, _, _ = self.mention(i)
        mid = m["id"]
        if reason == "empty":
            return b"", "empty", None
        if reason == "too_large":
            m["text"] = "x" * (1024 * 1024 + 4096 + r.randrange(1000))
            return self.dump(m), "oversize", mid
        if reason == "bad_json":
            kind = r.choice(["truncated", "trailing_comma", "unquoted_key", "garbage",
                             "single_quotes"])
            doc = json.dumps(m, ensure_ascii=False, separators=(",", ":"))
            if kind == "truncated":
                cut = r.randrange(1, len(doc) - 1)
                return doc[:cut].encode("utf-8"), kind, mid
            if kind == "trailing_comma":
                return (doc[:-1] + ",}").encode("utf-8"), kind, mid
            if kind == "unquoted_key":
                return doc.replace('"brand":', "brand:", 1).encode("utf-8"), kind, mid
            if kind == "garbage":
                return (doc + " trailing").encode("utf-8"), kind, mid
            return doc.replace('"', "'").encode("utf-8"), kind, mid
        if reason == "too_deep":
            depth = r.randrange(40, 80)
            m["extra"] = "@DEEP@"
            doc = json.dumps(m, ensure_ascii=False, separators=(",", ":"))
            nest = "[" * depth + "1" + "]" * depth if r.random() < 0.5 else \
                '{"a":' * depth + "1" + "}" * depth
            return doc.replace('"@DEEP@"', nest).encode("utf-8"), "nesting_%d" % depth, mid
        if reason == "invalid_utf8":
            kind = r.choice(["bad_byte", "overlong", "truncated_seq", "lone_surrogate_escape"])
            doc = json.dumps(m, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            bad = {"bad_byte": b"\xff\xfe", "overlong": b"\xc0\xaf", "truncated_seq": b"\xe2\x82",
                   "lone_surrogate_escape": b"\\ud800"}[kind]
            key = b'"text":"'
            pos = doc.index(key) + len(key)
            return doc[:pos] + bad + doc[pos:], kind, mid
        if reason == "not_object":
            kind = r.choice(["array", "string", "number", "bool"])
            doc = {"array": json.dumps([m]), "string": json.dumps(m["text"]), "number": "42",
                   "bool": "true"}[kind]
            return doc.encode("utf-8"), kind, None
        if reason == "missing_field":
            f = r.choice(["id", "brand", "text", "channel", "author", "author.id", "created_at"])
            if f == "author.id":
                del m["author"]["id"]
            else:
                del m[f]
            return self.dump(m), "missing_" + f, mid if f != "id" else None
        if reason == "wrong_type":
            f = r.choice(["id", "text", "brand", "author", "created_at", "channel", "author.id"])
            if f == "id":
                m["id"] = r.randrange(1, 10**6)
            elif f == "text":
                m["text"] = r.choice([123, ["a"], {"t": "x"}])
            elif f == "brand":
                m["brand"] = [m["brand"]]
            elif f == "author":
                m["author"] = m["author"]["id"]
            elif f == "created_at":
                m["created_at"] = r.choice([True, {"ms": 1}, [1]])
            elif f == "channel":
                m["channel"] = 7
            else:
                m["author"]["id"] = 12345
            return self.dump(m), "wrong_type_" + f, mid if f != "id" else None
        if reason == "invalid_value":
            kind = r.choice(["channel", "created_at", "empty_id", "negative_count"])
            if kind == "channel":
                m["channel"] = r.choice(["myspace", "telegraph", "tiktok", "fax"])
            elif kind == "created_at":
                m["created_at"] = r.choice(["not-a-date", "2026-13-45T99:00:00Z", "yesterday"])
            elif kind == "empty_id":
                m["id"] = ""
            else:
                m["metrics"] = {"reshares": 1, "likes": -r.randrange(1, 100)}
            return self.dump(m), "invalid_" + kind, mid if kind != "empty_id" else None
        if reason == "field_too_long":
            kind = r.choice(["id", "author.id", "handle", "text"])
            if kind == "id":
                m["id"] = "tw:" + "9" * 300
                mid = None
            elif kind == "author.id":
                m["author"]["id"] = "u" + "7" * 300
            elif kind == "handle":
                m["author"]["handle"] = "@" + "h" * 3000
            else:
                m["text"] = ("lang verhaal " * 6000)[:70000]
            return self.dump(m), "too_long_" + kind, mid
        raise AssertionError(reason)


def cmd_gen(args):
    if args.count < 0 or not (0 <= args.malformed_pct <= 100):
        die("--count >= 0 and 0 <= --malformed-pct <= 100", 2)
    g = Gen(args)
    n_bad = int(args.count * args.malformed_pct / 100.0 + 0.5)  # round half up
    positions = set(random.Random(args.seed ^ 0x5EED).sample(range(args.count), n_bad))
    reasons = [x for x in REASONS if x != "too_large"]
    n_oversize = 0
    if args.oversize and n_bad:
        n_oversize = min(n_bad, max(1, args.count // 10000))
    order = sorted(positions)
    plan = {}
    prng = random.Random(args.seed ^ 0xBAD)
    over = set(prng.sample(order, n_oversize)) if n_oversize else set()
    cycle = []
    for pos in order:
        if pos in over:
            plan[pos] = "too_large"
            continue
        if not cycle:
            cycle = reasons[:]
            prng.shuffle(cycle)
        plan[pos] = cycle.pop()

    out = open(args.out, "wb") if args.out else sys.stdout.buffer
    man = {"seed": args.seed, "count": args.count, "malformed_pct": args.malformed_pct,
           "valid": 0, "malformed": n_bad, "valid_ids": [], "malformed_lines": [],
           "reasons": {}, "brands": {}, "channels": {}, "langs": {}, "classes": {}}
    buf = []
    for i in range(args.count):
        if i in plan:
            line, kind, mid = g.malformed(i, plan[i])
            man["malformed_lines"].append({"line": i + 1, "reason": plan[i], "kind": kind,
                                           "id": mid})
            man["reasons"][plan[i]] = man["reasons"].get(plan[i], 0) + 1
        else:
            m, cls, lang = g.mention(i)
            line = g.dump(m)
            man["valid"] += 1
            man["valid_ids"].append(m["id"])
            for k, v in (("brands", m["brand"]), ("channels", m["channel"]), ("langs", lang),
                         ("classes", cls)):
                man[k][v] = man[k].get(v, 0) + 1
        assert b"\n" not in line
        buf.append(line)
        if len(buf) >= 1000:
            out.write(b"\n".join(buf) + b"\n")
            buf = []
    if buf:
        out.write(b"\n".join(buf) + b"\n")
    out.flush()
    if args.out:
        out.close()
    if args.manifest:
        with open(args.manifest + ".tmp", "w") as mf:
            json.dump(man, mf, sort_keys=True)
        os.replace(args.manifest + ".tmp", args.manifest)
    log("generated %d lines (%d valid, %d malformed) seed %d" %
        (args.count, man["valid"], n_bad, args.seed))
    return 0


# --------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(prog="wckafka.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--bootstrap", help="bootstrap servers (default $WC_BOOTSTRAP)")

    def consumer_opts(p, need_timeout=True):
        p.add_argument("--topic", required=True, help="topic or T1,T2,...")
        p.add_argument("--group", help="consumer group (default: fresh, manual assignment)")
        p.add_argument("--until-count", type=int, default=0, help="stop after N messages")
        p.add_argument("--timeout", type=float, default=5.0,
                       help="stop when idle this many seconds (default 5)")
        p.add_argument("--max-time", type=float, default=0,
                       help="hard limit on the run time in seconds (0 = none)")
        p.add_argument("--start-timeout", type=float, default=30.0,
                       help="max seconds to wait for topics / group assignment")
        p.add_argument("--session-timeout-ms", type=int, default=6000,
                       help="group session timeout (6000: quick mock rebalances)")
        p.add_argument("--isolation", default="read_committed",
                       choices=["read_committed", "read_uncommitted"])

    p = sub.add_parser("produce", help="produce stdin lines")
    common(p)
    p.add_argument("--topic", required=True)
    p.add_argument("--key-field", help="dotted JSON path used as key, e.g. author.id")
    p.add_argument("--file", help="read lines from FILE instead of stdin")
    p.add_argument("--rate", type=float, default=0, help="messages/s (0 = flat out)")
    p.add_argument("--partition", type=int, help="fixed partition")
    p.add_argument("--header", action="append", help="NAME=VALUE header on every message")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="delivery timeout in seconds (default 120)")
    p.add_argument("--linger-ms", type=int, default=5)
    p.add_argument("--compression", default="none")
    p.add_argument("--no-idempotence", action="store_true",
                   help="plain producer (default: idempotent, no duplicates on retry)")
    p.set_defaults(fn=cmd_produce)

    p = sub.add_parser("consume", help="print messages as JSON lines")
    common(p)
    consumer_opts(p)
    p.add_argument("--headers", action="store_true", help="include headers{}")
    p.add_argument("--timestamps", action="store_true", help="include timestamp (ms)")
    p.set_defaults(fn=cmd_consume)

    p = sub.add_parser("count", help="count messages per topic")
    common(p)
    consumer_opts(p)
    p.add_argument("--by-header", help="also count per value of this header")
    p.set_defaults(fn=cmd_count)

    p = sub.add_parser("offsets", help="watermarks per partition")
    common(p)
    consumer_opts(p)
    p.set_defaults(fn=cmd_offsets)

    p = sub.add_parser("committed", help="committed offsets and lag of --group")
    common(p)
    consumer_opts(p)
    p.set_defaults(fn=cmd_committed)

    p = sub.add_parser("gen", help="generate mention JSON lines")
    p.add_argument("--count", type=int, required=True, help="total lines")
    p.add_argument("--malformed-pct", type=float, default=0.0,
                   help="percentage of malformed lines (exactly round-half-up(N*P/100))")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--brands", default="acme-telecom,bolt-energy,cosmo-bank")
    p.add_argument("--langs", default="nl,en")
    p.add_argument("--start", default="2026-11-22T08:00:00Z",
                   help="created_at of the first mention (RFC 3339 or epoch ms)")
    p.add_argument("--interval-ms", type=int, default=1000, help="mean created_at gap")
    p.add_argument("--reply-pct", type=float, default=15.0,
                   help="share of mentions replying to an earlier one of the same brand")
    p.add_argument("--mentions-per-author", type=int, default=5,
                   help="average mentions per author (author pool = count / this)")
    p.add_argument("--oversize", action="store_true",
                   help="allow >1 MiB lines (too_large; at most max(1, count/10000))")
    p.add_argument("--out", help="write lines to FILE instead of stdout")
    p.add_argument("--manifest", help="write the JSON manifest to FILE")
    p.set_defaults(fn=cmd_gen)

    args = ap.parse_args(argv)
    if args.cmd != "gen" and Producer is None:
        die("python3-confluent-kafka is missing (apt-get install python3-confluent-kafka)", 2)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
