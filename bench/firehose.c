/*
 * firehose.c - the benchmark's mention generator (contract in firehose.h).
 *
 * Cost model: the generator runs in the same 2-core box as the cluster and
 * the daemon, so per message it must stay around a microsecond. A text is
 * a phrase template expanded at message time (slots: product, period,
 * brand, city, numbers; plus for 80 % of them a personal detail such as a
 * customer number, and a hashtag/emoji/escape), already JSON-safe; the
 * message is one snprintf of the envelope around it. Burst and boomerang
 * texts come from small per-brand pools built at creation, because those
 * are meant to repeat.
 * Retweets and redeliveries copy from a ring of recently generated
 * documents. Everything is seeded: the same options give the same stream
 * (apart from created_at, which is the wall clock).
 *
 * The phrase patterns are written for this bench from everyday Dutch and
 * English webcare language and the themes of the seed articles (storingen,
 * monteur, klantenservice die niet opneemt, "dikke #fail", 40.000 volgers,
 * complimenten that nobody answers, the complaint that comes back); they
 * are not taken from the held-out evaluation set.
 */
#include "bench/firehose.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WCB_RECENT 1024
#define WCB_DOC_MAX 2048
#define WCB_AUTHORS 200000
#define WCB_RESOLVED 256
#define WCB_SUBPOOL 64 /* per brand */

const char *const wcb_kind_names[WCB_KIND_COUNT] = {
    "mention", "retweet", "redelivery", "burst", "boomerang", "malformed",
};

enum { CLS_COMPLAINT, CLS_QUESTION, CLS_PRAISE, CLS_NEUTRAL, CLS_COUNT };
enum { LANG_NL, LANG_EN, LANG_COUNT };

typedef struct vocab {
    const char *const *tpl[CLS_COUNT];
    int ntpl[CLS_COUNT];
    const char *const *prod;
    int nprod;
    const char *const *period;
    int nperiod;
    const char *const *tags;
    int ntags;
    const char *boomerang[4];
    const char *burst[4];
} vocab_t;

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Slots: {p} product, {t} period, {b} brand, {c} city, {n} number, {h} handle. */
static const char *const nl_complaint[] = {
    "Al {t} geen {p} en niemand bij {b} die de telefoon opneemt. Dikke #fail!",
    "{b} heeft beloofd dat de {p} {t} geregeld zou zijn. Niks gebeurd. Echt schandalig.",
    "Voor de {n}e keer gebeld over mijn {p}, nog steeds niet opgelost. Ik ben er klaar mee.",
    "Wel gelijk krijgen van de helpdesk maar geen toezeggingen over een oplossing. Frustrerend @{h}",
    "Storing in {c}? Mijn {p} doet het {t} niet meer. Wat een puinhoop {b}",
    "Monteur komt niet opdagen, {t} voor niks thuisgebleven. Bedankt {b} \xf0\x9f\x98\xa1",
    "Waarom staat er {n} euro extra voor de {p} op mijn factuur? Niets besteld!",
    "Van het kastje naar de muur gestuurd over mijn {p}. Onacceptabel.",
    "Slechtste klantenservice ooit. {t} wachten op een reactie over de {p}.",
    "Mijn {p} is kapot geleverd en de retour wordt {t} niet opgepakt. Nooit meer {b}.",
};
static const char *const nl_question[] = {
    "Hoe kan ik mijn {p} bij {b} wijzigen?",
    "Weet iemand wanneer de {p} van {b} weer werkt?",
    "@{h} kunnen jullie zien wanneer mijn {p} geleverd wordt? Bestelling {n}.",
    "Is er een storing bij {b} in {c}? Mijn {p} reageert niet.",
    "Kan ik mijn {p} ook online opzeggen of moet ik bellen?",
    "Wat kost een extra {p} per maand bij {b}?",
    "Waar vind ik de handleiding van de nieuwe {p}?",
    "Vraagje: geldt de actie voor de {p} ook voor bestaande klanten?",
};
static const char *const nl_praise[] = {
    "Top geholpen door {b}! Binnen een uur werkte mijn {p} weer. Dank jullie wel!",
    "Complimenten voor de monteur van {b}, super vriendelijk en snel \xf0\x9f\x91\x8d",
    "Wat fijn dat de {p} {t} al geregeld was. Goed bezig {b}!",
    "Eindelijk een bedrijf dat wel luistert. Bedankt @{h} voor de snelle reactie.",
    "Nieuwe {p} ontvangen, werkt perfect. Blij mee! #tevreden",
    "Webcare van {b} reageerde binnen 10 minuten. Chapeau!",
};
static const char *const nl_neutral[] = {
    "Vandaag de nieuwe {p} van {b} geinstalleerd.",
    "Overgestapt naar {b}, eens kijken hoe de {p} bevalt.",
    "Artikel gelezen over de tarieven van {b}, interessant.",
    "Morgen komt de monteur voor de {p}.",
    "{b} heeft {t} een nieuwe {p} aangekondigd.",
    "Zit in de wachtrij bij {b}, nummer {n}.",
};
static const char *const nl_prod[] = {
    "internetverbinding", "glasvezel", "factuur", "modem", "router", "bestelling", "pakket",
    "tv-pakket", "simkaart", "energierekening", "slimme meter", "pinpas", "terugbetaling",
    "wifi", "abonnement", "app", "ladenfront", "keuken", "vlucht", "koffer",
};
static const char *const nl_period[] = {
    "sinds gisteren", "al drie dagen", "vanochtend", "al een week", "sinds maandag",
    "net", "vandaag weer", "al twee weken", "sinds de update", "vanavond",
};
static const char *const nl_tags[] = {
    "", "", "", "", "#storing", "#klantenservice", "#fail", "#webcare", "\xf0\x9f\x98\xa1",
    "\xf0\x9f\x99\x8f", "\xe2\x82\xac", "\\n(sorry voor de caps)",
};

static const char *const en_complaint[] = {
    "My {p} has been down {t}. Ridiculous, {b}!",
    "No {p} {t} and nobody at {b} picks up the phone. #fail",
    "Called {n} times about my {p}, still not fixed. I'm done.",
    "You promised the {p} would be sorted {t}. It wasn't. Worst service ever.",
    "Why did my {p} go up by {n} dollars without notice? Outrageous @{h}",
    "Another outage in {c}! Everything is down {t}. Fix it {b}.",
    "Passed from pillar to post about my {p} {t}. Unacceptable.",
    "Technician never showed up, stayed home {t} for nothing. Thanks {b} \xf0\x9f\x98\x9e",
};
static const char *const en_question[] = {
    "How do I change my {p} with {b}?",
    "Does anyone know when the {p} from {b} will work again?",
    "@{h} can you tell me when my {p} arrives? Order {n}.",
    "Is there an outage at {b} in {c}? My {p} isn't responding.",
    "Can I cancel my {p} online or do I have to call?",
    "Quick question: how much is an extra {p} per month?",
    "Where can I find the manual for the new {p}?",
};
static const char *const en_praise[] = {
    "Great help from {b}! My {p} works again within an hour. Thank you!",
    "Kudos to the {b} technician, super friendly and quick.",
    "So nice that the {p} was sorted {t} already. Well done {b}!",
    "Finally a company that listens. Thanks @{h} for the quick reply \\u2728",
    "Got the new {p}, works perfectly. Happy!",
};
static const char *const en_neutral[] = {
    "Installed the new {p} from {b} today.",
    "Switched to {b}, let's see how the {p} goes.",
    "Read an article about {b} pricing, interesting.",
    "The technician comes tomorrow for the {p}.",
    "{b} announced a new {p} {t}.",
};
static const char *const en_prod[] = {
    "internet connection", "fiber line", "invoice", "modem", "router", "delivery", "parcel",
    "tv package", "sim card", "order", "energy bill", "smart meter", "debit card", "refund",
    "wifi", "subscription", "app", "flight", "suitcase", "kitchen",
};
static const char *const en_period[] = {
    "since yesterday", "for three days", "this morning", "for a week", "since Monday",
    "just now", "again today", "for two weeks", "since the update", "tonight",
};
static const char *const en_tags[] = {
    "", "", "", "", "#outage", "#customerservice", "#fail", "#happy", "\xf0\x9f\x98\xa1",
    "\xf0\x9f\x99\x8f", "\\\"really\\\"", "\\nanyone?",
};

static const vocab_t vocab[LANG_COUNT] = {
    [LANG_NL] = {
        .tpl = {nl_complaint, nl_question, nl_praise, nl_neutral},
        .ntpl = {N(nl_complaint), N(nl_question), N(nl_praise), N(nl_neutral)},
        .prod = nl_prod, .nprod = N(nl_prod),
        .period = nl_period, .nperiod = N(nl_period),
        .tags = nl_tags, .ntags = N(nl_tags),
        .boomerang = {
            "Alweer! {p} doet het {t} weer niet terwijl {b} zei dat het opgelost was. Derde keer.",
            "Dit is de zoveelste keer. Opgelost zeiden jullie, maar mijn {p} is weer stuk @{h}",
            "Nog steeds hetzelfde probleem met de {p}. Ik stap naar de media, {b}.",
            "Zaak was gesloten maar de {p} ligt er {t} opnieuw uit. Wie helpt mij nu echt?",
        },
        .burst = {
            "Storing in {c}! Geen internet bij {b} {t}. #storing",
            "Weer een storing {c}, {b} internet ligt eruit. Wanneer is het opgelost?",
            "Hele straat in {c} zonder internet. {b} ligt plat #storing",
            "Storing {b} in {c} {t}, thuiswerken gaat zo niet",
        },
    },
    [LANG_EN] = {
        .tpl = {en_complaint, en_question, en_praise, en_neutral},
        .ntpl = {N(en_complaint), N(en_question), N(en_praise), N(en_neutral)},
        .prod = en_prod, .nprod = N(en_prod),
        .period = en_period, .nperiod = N(en_period),
        .tags = en_tags, .ntags = N(en_tags),
        .boomerang = {
            "Again! My {p} is broken {t} although {b} said it was fixed. Third time.",
            "How many times? You closed my case but the {p} is down again @{h}",
            "Same problem with the {p} AGAIN. Going to the press, {b}.",
            "Case closed they said. {p} out {t} once more. Escalate this please.",
        },
        .burst = {
            "Outage in {c}! No internet from {b} {t}. #outage",
            "{b} down again in {c}, when will it be fixed?",
            "Whole street in {c} offline. {b} is down #outage",
            "{b} outage in {c} {t}, can't work from home like this",
        },
    },
};

static const char *const cities[] = {"Utrecht", "Amsterdam", "Rotterdam", "Den Haag",
                                     "Eindhoven", "Groningen", "Zwolle", "Leiden"};
static const char *const brands[] = {"acme-telecom", "acme-energy", "bolcom", "klm-care",
                                     "ikea-nl", "ns-reizigers"};
static const char *const channels[] = {"twitter", "facebook", "instagram", "forum",
                                       "review",  "news",     "whatsapp",  "other"};
static const int channel_w[] = {50, 20, 10, 6, 6, 2, 5, 1};
static const char *const channel_prefix[] = {"tw", "fb", "ig", "fo", "rv", "nw", "wa", "ot"};
static const char *const first[] = {"jan", "anna", "piet", "sanne", "mo", "lisa", "tom",
                                    "eva", "daan", "noor", "kim", "alex", "sam", "fatima",
                                    "joost", "emma", "li", "omar", "sophie", "ruben"};
static const int class_w[CLS_COUNT] = {35, 30, 15, 20};

typedef struct pooled {
    char *text; /* JSON-escaped */
    uint16_t len;
    uint8_t brand; /* the brand the text names */
} pooled_t;

typedef struct recent_doc {
    char *doc;
    size_t len;
    uint32_t author;
    uint8_t lang, cls, brand;
    uint16_t text_off, text_len; /* escaped text inside doc */
    char key[16];
    size_t key_len;
} recent_doc_t;

typedef struct resolved {
    uint32_t author;
    uint8_t lang, brand;
    char conv[64];
    char mention[64];
} resolved_t;

struct wcb_gen {
    wcb_gen_opts_t o;
    uint64_t rng;
    uint64_t seq;
    pooled_t burst[LANG_COUNT][N(brands)][WCB_SUBPOOL];
    pooled_t boomerang[LANG_COUNT][N(brands)][WCB_SUBPOOL];
    recent_doc_t recent[WCB_RECENT];
    uint64_t nrecent;
    resolved_t resolved[WCB_RESOLVED];
    uint32_t nresolved;
    char buf[WCB_DOC_MAX * 2];
    char key[32];
    double bytes;
    uint64_t msgs;
};

static uint64_t rnd64(wcb_gen_t *g)
{
    uint64_t x = g->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return g->rng = x;
}

static uint32_t rnd(wcb_gen_t *g, uint32_t n)
{
    return (uint32_t)((rnd64(g) >> 11) % n);
}

static double rndf(wcb_gen_t *g)
{
    return (double)(rnd64(g) >> 11) / 9007199254740992.0;
}

static int wpick(wcb_gen_t *g, const int *w, int n)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    int r = (int)rnd(g, (uint32_t)total);
    for (int i = 0; i < n; i++) {
        if (r < w[i])
            return i;
        r -= w[i];
    }
    return n - 1;
}

/* Expand one template into dst (already JSON-safe: templates only contain
 * escapes that are valid inside a JSON string). */
static size_t expand(wcb_gen_t *g, const vocab_t *v, const char *tpl, char *dst, size_t cap,
                     int brand, int city)
{
    size_t n = 0;
    char tmp[64];
    for (const char *s = tpl; *s && n + 64 < cap; s++) {
        const char *ins = NULL;
        if (s[0] == '{' && s[1] && s[2] == '}') {
            switch (s[1]) {
            case 'p': ins = v->prod[rnd(g, (uint32_t)v->nprod)]; break;
            case 't': ins = v->period[rnd(g, (uint32_t)v->nperiod)]; break;
            case 'b': ins = brands[brand]; break;
            case 'c': ins = cities[city]; break;
            case 'h':
                snprintf(tmp, sizeof(tmp), "%s_care", brands[brand]);
                ins = tmp;
                break;
            case 'n':
                snprintf(tmp, sizeof(tmp), "%u", 2 + rnd(g, 400));
                ins = tmp;
                break;
            default: break;
            }
        }
        if (ins) {
            size_t l = strlen(ins);
            if (n + l + 1 >= cap)
                break;
            memcpy(dst + n, ins, l);
            n += l;
            s += 2;
        } else {
            dst[n++] = *s;
        }
    }
    dst[n] = '\0';
    return n;
}

/* Personal details appended to 80 % of the ordinary mentions, so that
 * unrelated mentions do not share their token set (without them every
 * pooled text would recur thousands of times and nearly all traffic would
 * be near-duplicates). Slots as in the templates. */
static const char *const nl_detail[] = {
    "Klantnummer {n}{n}.", "Al {n} minuten in de wacht.", "Postcode {n}{n} AB.",
    "Ticket {n}-{n}.", "Om {n}:{n} gebeld.", "Bestelling {n}{n}{n}.", "Dag {n} zonder oplossing.",
    "Huisnummer {n}.",
};
static const char *const en_detail[] = {
    "Account {n}{n}.", "On hold for {n} minutes.", "Zip {n}{n}.", "Ticket {n}-{n}.",
    "Called at {n}:{n}.", "Order {n}{n}{n}.", "Day {n} without a fix.", "Case {n}{n}.",
};

/* Compose one text (JSON-escaped) into dst; returns its length. */
static size_t compose(wcb_gen_t *g, const vocab_t *v, const char *const *tpl, int ntpl, bool tags,
                      bool detail, int brand, int city, char *dst, size_t cap)
{
    size_t n = expand(g, v, tpl[rnd(g, (uint32_t)ntpl)], dst, cap - 160, brand, city);
    if (detail && rnd(g, 5)) { /* 80 % */
        const char *const *d = v == &vocab[LANG_NL] ? nl_detail : en_detail;
        dst[n++] = ' ';
        n += expand(g, v, d[rnd(g, 8)], dst + n, 80, brand, city);
    }
    if (tags) {
        const char *t = v->tags[rnd(g, (uint32_t)v->ntags)];
        size_t l = strlen(t);
        if (l) {
            if (t[0] != '\\') /* escapes like \n attach directly */
                dst[n++] = ' ';
            memcpy(dst + n, t, l);
            n += l;
            dst[n] = '\0';
        }
    }
    if (rnd(g, 100) < 3) /* shouting */
        for (size_t i = 0; i < n; i++)
            if (dst[i] >= 'a' && dst[i] <= 'z' && (i == 0 || dst[i - 1] != '\\'))
                dst[i] = (char)(dst[i] - 32);
    return n;
}

static int pool_fill(wcb_gen_t *g, pooled_t *p, const vocab_t *v, const char *const *tpl,
                     int ntpl, bool tags, int brand_fixed, int city_fixed)
{
    char tmp[512];
    int brand = brand_fixed >= 0 ? brand_fixed : (int)rnd(g, N(brands));
    int city = city_fixed >= 0 ? city_fixed : (int)rnd(g, N(cities));
    size_t n = compose(g, v, tpl, ntpl, tags, false, brand, city, tmp, sizeof(tmp));
    p->brand = (uint8_t)brand;
    p->text = malloc(n + 1);
    if (!p->text)
        return -1;
    memcpy(p->text, tmp, n + 1);
    p->len = (uint16_t)n;
    return 0;
}

wcb_gen_t *wcb_gen_create(const wcb_gen_opts_t *opts)
{
    wcb_gen_t *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->o = *opts;
    if (!g->o.run_id)
        g->o.run_id = "r";
    g->rng = opts->seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
    if (!g->rng)
        g->rng = 1;
    for (int l = 0; l < LANG_COUNT; l++) {
        const vocab_t *v = &vocab[l];
        for (int br = 0; br < N(brands); br++)
            for (int i = 0; i < WCB_SUBPOOL; i++)
                if (pool_fill(g, &g->burst[l][br][i], v, v->burst, 4, rnd(g, 2), br, -1) ||
                    pool_fill(g, &g->boomerang[l][br][i], v, v->boomerang, 4, false, br, -1))
                    goto fail;
    }
    for (int i = 0; i < WCB_RECENT; i++)
        if (!(g->recent[i].doc = malloc(WCB_DOC_MAX)))
            goto fail;
    return g;
fail:
    wcb_gen_destroy(g);
    return NULL;
}

void wcb_gen_destroy(wcb_gen_t *g)
{
    if (!g)
        return;
    for (int l = 0; l < LANG_COUNT; l++) {
        for (int br = 0; br < N(brands); br++)
            for (int i = 0; i < WCB_SUBPOOL; i++) {
                free(g->burst[l][br][i].text);
                free(g->boomerang[l][br][i].text);
            }
    }
    for (int i = 0; i < WCB_RECENT; i++)
        free(g->recent[i].doc);
    free(g);
}

/* Stable per-author attributes derived from the author number. */
static void author_attrs(uint32_t a, uint64_t seed, uint64_t *followers, int *verified,
                         const char **firstname)
{
    uint64_t h = (a + 1) * 0x9e3779b97f4a7c15ULL ^ seed;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    *firstname = first[h % N(first)];
    unsigned r = (unsigned)((h >> 8) % 1000);
    if (r < 5) { /* influencer */
        *followers = 40000 + (h >> 20) % 2000000;
        *verified = 1;
    } else {
        /* heavy tail: 10 .. ~20k */
        unsigned bits = (unsigned)((h >> 24) % 15);
        *followers = 10 + ((h >> 32) & ((1ULL << bits) - 1));
        *verified = (h >> 40) % 100 < 2 ? 1 : (h >> 48) % 2 ? 0 : -1;
    }
}

static uint32_t pick_author(wcb_gen_t *g)
{
    /* skewed: a quarter of the traffic from 1 % of the authors */
    if (rnd(g, 4) == 0)
        return rnd(g, WCB_AUTHORS / 100);
    return rnd(g, WCB_AUTHORS);
}

static void time_field(wcb_gen_t *g, int64_t now_ms, char *out, size_t cap)
{
    if (rnd(g, 10) < 6) {
        time_t s = (time_t)(now_ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        snprintf(out, cap, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(now_ms % 1000));
    } else {
        snprintf(out, cap, "%lld", (long long)now_ms);
    }
}

/* Build a mention document into g->buf. */
static size_t build_doc(wcb_gen_t *g, int64_t now_ms, uint32_t author, int lang, int brand,
                        const char *text, size_t text_len, const char *conv, const char *reply_to,
                        char *id_out, size_t id_cap, size_t *text_off)
{
    uint64_t followers;
    int verified;
    const char *fname;
    char ts[48], verified_s[24] = "", lang_s[24] = "", conv_s[128] = "", url_s[160] = "",
                 metrics_s[96] = "";
    int ch = wpick(g, channel_w, N(channel_w));
    author_attrs(author, g->o.seed, &followers, &verified, &fname);
    snprintf(id_out, id_cap, "%s:%s-%llu", channel_prefix[ch], g->o.run_id,
             (unsigned long long)g->seq);
    time_field(g, now_ms, ts, sizeof(ts));
    if (verified >= 0)
        snprintf(verified_s, sizeof(verified_s), ",\"verified\":%s", verified ? "true" : "false");
    if (rnd(g, 10) < 7)
        snprintf(lang_s, sizeof(lang_s), ",\"lang\":\"%s\"", lang == LANG_NL ? "nl" : "en");
    if (conv && reply_to)
        snprintf(conv_s, sizeof(conv_s), ",\"conversation_id\":\"%s\",\"in_reply_to\":\"%s\"",
                 conv, reply_to);
    else if (rnd(g, 10) < 3)
        snprintf(conv_s, sizeof(conv_s), ",\"conversation_id\":\"%s\"", id_out);
    if (rnd(g, 10) < 6)
        snprintf(url_s, sizeof(url_s), ",\"url\":\"https:\\/\\/%s.example\\/%s\\/%llu\"",
                 channels[ch], brands[brand], (unsigned long long)g->seq);
    if (rnd(g, 2))
        snprintf(metrics_s, sizeof(metrics_s), ",\"metrics\":{\"reshares\":%u,\"likes\":%u}",
                 followers > 20000 ? rnd(g, 5000) : rnd(g, 50), rnd(g, 500));
    int n = snprintf(g->buf, sizeof(g->buf),
                     "{\"id\":\"%s\",\"channel\":\"%s\",\"brand\":\"%s\",\"author\":{\"id\":\"u%u\","
                     "\"handle\":\"@%s%u\",\"followers\":%llu%s},\"text\":\"",
                     id_out, channels[ch], brands[brand], author, fname, author,
                     (unsigned long long)followers, verified_s);
    *text_off = (size_t)n;
    memcpy(g->buf + n, text, text_len);
    n += (int)text_len;
    n += snprintf(g->buf + n, sizeof(g->buf) - (size_t)n, "\"%s,\"created_at\":%s%s%s%s}",
                  lang_s, ts, conv_s, url_s, metrics_s);
    return (size_t)n;
}

static void remember(wcb_gen_t *g, size_t len, uint32_t author, int lang, int cls, int brand,
                     size_t text_off, size_t text_len)
{
    recent_doc_t *r = &g->recent[g->nrecent++ % WCB_RECENT];
    if (len > WCB_DOC_MAX)
        return;
    memcpy(r->doc, g->buf, len);
    r->len = len;
    r->author = author;
    r->lang = (uint8_t)lang;
    r->cls = (uint8_t)cls;
    r->brand = (uint8_t)brand;
    r->text_off = (uint16_t)text_off;
    r->text_len = (uint16_t)text_len;
    r->key_len = (size_t)snprintf(r->key, sizeof(r->key), "u%u", author);
}

static void set_out(wcb_gen_t *g, wcb_msg_t *out, size_t len, wcb_kind_t kind, uint32_t author)
{
    out->value = g->buf;
    out->len = len;
    out->kind = kind;
    out->key_len = (size_t)snprintf(g->key, sizeof(g->key), "u%u", author);
    out->key = g->key;
    g->bytes += (double)len;
    g->msgs++;
}

/* One defect per malformed document. */
static void make_malformed(wcb_gen_t *g, size_t len, wcb_msg_t *out, uint32_t author)
{
    switch (rnd(g, 7)) {
    case 0: /* truncated */
        len = len / 2 + rnd(g, (uint32_t)(len / 3));
        break;
    case 1: { /* invalid UTF-8 inside the text */
        char *t = strstr(g->buf, "\"text\":\"");
        if (t) {
            t[8] = (char)0xff;
            t[9] = (char)0xfe;
        }
        break;
    }
    case 2: { /* missing text: rename the key */
        char *t = strstr(g->buf, "\"text\":");
        if (t)
            memcpy(t, "\"txet\":", 7);
        break;
    }
    case 3: /* not an object */
        len = (size_t)snprintf(g->buf, sizeof(g->buf), "[\"not a mention\",%u]", rnd(g, 1000));
        break;
    case 4: /* empty */
        len = 0;
        break;
    case 5: /* trailing garbage */
        memcpy(g->buf + len, " trailing", 9);
        len += 9;
        break;
    default: { /* wrong type: numeric id ("id":"xx" -> "id":1) */
        char *t = strstr(g->buf, "\"id\":\"");
        char *e = t ? strchr(t + 6, '"') : NULL;
        if (e) {
            size_t tail = len - (size_t)(e + 1 - g->buf);
            t[5] = '1';
            memmove(t + 6, e + 1, tail);
            len = (size_t)(t + 6 - g->buf) + tail;
        }
        break;
    }
    }
    set_out(g, out, len, WCB_KIND_MALFORMED, author);
}

void wcb_gen_next(wcb_gen_t *g, double t_s, int64_t now_ms, wcb_msg_t *out)
{
    char id[64];
    size_t text_off = 0, len;
    double r = rndf(g) * 100.0;
    g->seq++;

    /* exact redelivery of a recent document */
    if (r < g->o.dup_pct && g->nrecent > WCB_RECENT) {
        recent_doc_t *d = &g->recent[(g->nrecent - 1 - rnd(g, 64)) % WCB_RECENT];
        memcpy(g->buf, d->doc, d->len);
        set_out(g, out, d->len, WCB_KIND_REDELIVERY, d->author);
        return;
    }
    r -= g->o.dup_pct;
    uint32_t author = pick_author(g);
    int brand = (int)rnd(g, N(brands));
    int lang = rnd(g, 2) ? LANG_NL : LANG_EN;

    /* retweet / copy-paste: same text, other author, new id */
    if (r < g->o.retweet_pct && g->nrecent > WCB_RECENT) {
        recent_doc_t *d = &g->recent[(g->nrecent - 1 - rnd(g, 256)) % WCB_RECENT];
        char text[WCB_DOC_MAX];
        size_t tl = 0;
        if (rnd(g, 2)) {
            const char *h = memchr(d->doc, '@', d->len);
            const char *e = h ? memchr(h, '"', d->len - (size_t)(h - d->doc)) : NULL;
            if (h && e && e - h < 40)
                tl = (size_t)snprintf(text, sizeof(text), "RT %.*s: ", (int)(e - h), h);
        }
        memcpy(text + tl, d->doc + d->text_off, d->text_len);
        tl += d->text_len;
        len = build_doc(g, now_ms, author, d->lang, d->brand, text, tl, NULL, NULL, id,
                        sizeof(id), &text_off);
        set_out(g, out, len, WCB_KIND_RETWEET, author);
        return;
    }
    r -= g->o.retweet_pct;

    /* boomerang: a resolved complaint comes back in its conversation */
    if (r < g->o.boomerang_pct && g->nresolved > 0) {
        resolved_t *res = &g->resolved[rnd(g, g->nresolved < WCB_RESOLVED ? g->nresolved
                                                                            : WCB_RESOLVED)];
        const pooled_t *p = &g->boomerang[res->lang][res->brand][rnd(g, WCB_SUBPOOL)];
        len = build_doc(g, now_ms, res->author, res->lang, res->brand, p->text, p->len,
                        res->conv, res->mention, id, sizeof(id), &text_off);
        set_out(g, out, len, WCB_KIND_BOOMERANG, res->author);
        return;
    }
    r -= g->o.boomerang_pct;

    /* complaint burst for one brand/city per period */
    if (g->o.burst_period_s > 0) {
        /* the burst sits in the middle of each period, so a short run sees
         * a quiet start, one burst, and the recovery after it */
        uint64_t period = (uint64_t)(t_s / g->o.burst_period_s);
        double in = t_s - (double)period * g->o.burst_period_s - g->o.burst_period_s / 2.0;
        if (in >= 0 && in < g->o.burst_len_s && rndf(g) < g->o.burst_share) {
            uint32_t k = (uint32_t)(period * 2654435761u);
            /* one brand per period, few distinct texts, so they cluster */
            int bb = (int)(k % N(brands));
            const pooled_t *p = &g->burst[lang][bb][(k / 8 + rnd(g, 4)) % WCB_SUBPOOL];
            len = build_doc(g, now_ms, author, lang, bb, p->text, p->len, NULL, NULL, id,
                            sizeof(id), &text_off);
            remember(g, len, author, lang, CLS_COMPLAINT, bb, text_off, p->len);
            set_out(g, out, len, WCB_KIND_BURST, author);
            return;
        }
    }

    /* ordinary mention: composed now (templates x slots x details give
     * millions of distinct token sets; the pools only serve bursts and
     * boomerangs, which are meant to repeat) */
    int cls = wpick(g, class_w, CLS_COUNT);
    const vocab_t *v = &vocab[lang];
    char text[640];
    size_t tl = compose(g, v, v->tpl[cls], v->ntpl[cls], true, true, brand,
                        (int)rnd(g, N(cities)), text, sizeof(text));
    len = build_doc(g, now_ms, author, lang, brand, text, tl, NULL, NULL, id, sizeof(id),
                    &text_off);
    if (r < g->o.malformed_pct) {
        make_malformed(g, len, out, author);
        return;
    }
    remember(g, len, author, lang, cls, brand, text_off, tl);
    if (cls == CLS_COMPLAINT && rnd(g, 8) == 0) {
        /* candidate for a later "resolved" response */
        resolved_t *res = &g->resolved[g->nresolved++ % WCB_RESOLVED];
        res->author = author;
        res->lang = (uint8_t)lang;
        res->brand = (uint8_t)brand;
        snprintf(res->conv, sizeof(res->conv), "%s", id);
        snprintf(res->mention, sizeof(res->mention), "%s", id);
    }
    set_out(g, out, len, WCB_KIND_MENTION, author);
}

int wcb_gen_response(wcb_gen_t *g, int64_t now_ms, wcb_msg_t *out)
{
    char ts[48];
    if (!g->nresolved)
        return 0;
    resolved_t *res = &g->resolved[(g->nresolved - 1) % WCB_RESOLVED];
    time_field(g, now_ms, ts, sizeof(ts));
    int n = snprintf(g->buf, sizeof(g->buf),
                     "{\"id\":\"resp:%s-%llu\",\"brand\":\"%s\",\"mention_id\":\"%s\","
                     "\"agent\":\"agent%u\",\"created_at\":%s,\"resolved\":true}",
                     g->o.run_id, (unsigned long long)++g->seq, brands[res->brand], res->mention,
                     rnd(g, 40), ts);
    out->value = g->buf;
    out->len = (size_t)n;
    out->kind = WCB_KIND_MENTION;
    out->key_len = (size_t)snprintf(g->key, sizeof(g->key), "%s", brands[res->brand]);
    out->key = g->key;
    return 1;
}

double wcb_gen_avg_bytes(const wcb_gen_t *g)
{
    return g->msgs ? g->bytes / (double)g->msgs : 0.0;
}
