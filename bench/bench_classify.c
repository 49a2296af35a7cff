/*
 * bench_classify.c - decode + normalise + classify micro-benchmark.
 *
 * Generates realistic mentions (Dutch and English webcare traffic: @handles,
 * hashtags, emoji, URLs, complaints, questions, praise) as JSON documents,
 * then measures on one core:
 *   decode     wc_mention_decode() of the JSON document
 *   normalise  wc_normalize() of the decoded text
 *   classify   wc_classify() (which includes normalise)
 *   pipeline   decode + classify, the acceptance figure of issue 3
 * Size: --doc-bytes N (default 250) makes whole JSON documents of about N
 * bytes (the envelope varies: optional fields present or not, so the text
 * gets what is left, at least 40 bytes); --text-bytes N instead makes texts
 * of about N bytes inside a full envelope (documents of about N + 250).
 * Each stage is timed over the whole corpus repeatedly for --ms
 * milliseconds; the best of --reps repetitions is reported (the machine is
 * shared, the minimum is the least disturbed run) together with the median.
 * --iters N runs exactly N passes per stage instead (for callgrind:
 * `valgrind --tool=callgrind bench_classify --iters 1 --reps 1`); --only S
 * runs stage S alone (0 decode, 1 normalise, 2 classify, 3 pipeline).
 *
 *   bench_classify [--rules DIR] [--n MENTIONS] [--doc-bytes N | --text-bytes N]
 *                  [--ms MS] [--reps R] [--iters N] [--only STAGE] [--dump]
 * --dump prints the generated JSON lines (to feed `webcared classify`).
 * The generator is deterministic (fixed seed) so runs are comparable.
 */
#include "pipeline/arena.h"
#include "pipeline/classify.h"
#include "pipeline/mention.h"
#include "pipeline/normalize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const handles[] = {"@acme_telecom", "@AcmeCare", "@acme", "@AcmeNL",
                                      "@webcare_acme"};
static const char *const nl_parts[] = {
    "Het nieuwe modem is nog steeds niet geleverd, dit is al de derde keer dat ik bel.",
    "Internet ligt er sinds vanochtend uit in heel Utrecht, wanneer is de storing opgelost?",
    "Super snel geholpen door jullie klantenservice, echt top! Bedankt Sanne 😍",
    "Hoe kan ik mijn factuur van vorige maand downloaden? Ik kan hem nergens vinden in de app.",
    "Waarom is er twee keer afgeschreven van mijn rekening?? Ik wil mijn geld terug!",
    "Al een uur in de wacht bij de helpdesk en nog steeds niemand gesproken. Waardeloos 😡",
    "Vandaag de nieuwe telefoon opgehaald in de winkel, de medewerker legde alles rustig uit.",
    "Kunnen jullie mij vertellen wanneer glasvezel in onze straat wordt aangelegd?",
    "De monteur kwam netjes op tijd en alles werkt weer. Prima geregeld 👍",
    "Mijn pakket is beschadigd aangekomen en de retour via de website lukt niet.",
    "Niet tevreden over de bezorging, de bezorger heeft het pakket gewoon bij de buren gegooid.",
    "Is het mogelijk om mijn abonnement tussentijds te wijzigen naar een goedkoper tarief?",
    "Dikke #fail weer, de app crasht bij het inloggen en mijn wachtwoord resetten werkt niet.",
    "Eindelijk een bedrijf dat wel reageert op een tweet. Chapeau voor jullie webcare team!",
    "Alweer storing?! 😡",
    "Top service, bedankt!",
    "Waar blijft mijn pakket?",
    "Factuur klopt niet.",
    "Internet is traag vandaag",
};
static const char *const en_parts[] = {
    "My internet has been down since this morning, third time this week. Ridiculous 😡",
    "Thanks for the quick help with my account, you guys rock! 🙌",
    "How do I change the password on my account? The reset link in the email does not work.",
    "Still waiting for my refund after three weeks, nobody answers my emails. #fail",
    "Just got the new phone delivered a day early, great service and a friendly driver 👍",
    "Can you tell me when the price increase on my subscription takes effect?",
    "I was charged twice for the same order and customer service keeps me on hold for hours.",
    "The package arrived today and everything looks fine, will let you know how it goes.",
    "Is there an outage in London? No signal on my phone since noon, please advise.",
    "Not happy at all with the quality, the charger stopped working after two days.",
    "Love the new app update, checkout is so much faster now! ❤️",
    "Any idea why my bill went up this month? Nothing changed on my plan as far as I know.",
    "Where is my package?",
    "Great support today, thanks!",
    "Down again?! 😡",
    "Wifi is slow tonight",
};
static const char *const tags[] = {"#fail", "#klantenservice", "#storing", "#help", "#thanks",
                                   "#webcare", "#topservice", "#outage", "#customerservice"};
static const char *const urls[] = {"https://t.co/aB3dE5fG7h", "https://acme.nl/storingen",
                                   "http://bit.ly/2xYz9Q", "https://acme.com/help/billing"};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Build one mention text of about `target` bytes into out (cap >= target+400). */
static size_t gen_text(char *out, size_t target)
{
    int en = rnd(100) < 45;
    const char *const *parts = en ? en_parts : nl_parts;
    size_t np = en ? WC_ARRAY_SIZE(en_parts) : WC_ARRAY_SIZE(nl_parts);
    size_t o = (size_t)sprintf(out, "%s ", handles[rnd(WC_ARRAY_SIZE(handles))]);
    while (o < target) {
        /* a part that fits (a few tries), else stop once half full */
        const char *p = NULL;
        size_t l = 0;
        for (int t = 0; t < 8 && !p; t++) {
            p = parts[rnd((uint32_t)np)];
            l = strlen(p);
            if (o + l + 1 > target + 20 && t < 7)
                p = NULL;
        }
        if (o + l + 1 > target + 60 && o > target / 2)
            break;
        memcpy(out + o, p, l);
        o += l;
        out[o++] = ' ';
        if (rnd(4) == 0)
            o += (size_t)sprintf(out + o, "%s ", tags[rnd(WC_ARRAY_SIZE(tags))]);
    }
    if (rnd(3) == 0)
        o += (size_t)sprintf(out + o, "%s", urls[rnd(WC_ARRAY_SIZE(urls))]);
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = 0;
    return o;
}

typedef struct doc {
    char *json;
    size_t len;
} doc_t;

static const char *const channels[] = {"twitter", "facebook", "instagram", "forum", "review"};

/* JSON string escaping is not needed: the generated texts contain no '"',
 * '\\' or control characters. */
static void gen_doc(doc_t *d, int i, size_t text_bytes, size_t doc_bytes)
{
    char env[1024], text[2048];
    int full = doc_bytes == 0 || rnd(3) == 0; /* envelope with every optional field */
    char author[256];
    snprintf(author, sizeof(author), "{\"id\":\"u%u\",\"handle\":\"@user%u\",\"followers\":%u%s}",
             rnd(100000), rnd(100000), rnd(10) ? rnd(2000) : rnd(200000),
             full ? (rnd(50) ? ",\"verified\":false" : ",\"verified\":true") : "");
    char extra[256] = "";
    if (full)
        snprintf(extra, sizeof(extra), ",\"conversation_id\":\"tw:%d\",\"metrics\":{\"reshares\":%u,"
                 "\"likes\":%u}",
                 1000000 + i - (int)rnd(5), rnd(20), rnd(100));
    int n = snprintf(env, sizeof(env),
                     "{\"id\":\"tw:%d\",\"channel\":\"%s\",\"brand\":\"acme-telecom\","
                     "\"author\":%s,\"text\":\"%%s\",\"created_at\":\"2026-11-22T10:%02u:%02uZ\"%s}",
                     1000000 + i, channels[rnd(5)], author, rnd(60), rnd(60), extra);
    if (doc_bytes) {
        size_t envl = (size_t)n - 2; /* without the %s */
        text_bytes = doc_bytes > envl + 40 ? doc_bytes - envl : 40;
    }
    gen_text(text, text_bytes);
    char *buf = malloc(4096);
    n = snprintf(buf, 4096, env, text);
    d->json = buf;
    d->len = (size_t)n;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct ctx {
    doc_t *docs;
    wc_mention_t *ms;
    int n;
    wc_rules_t *rules;
    wc_classifier_t *cls;
    wc_norm_t norm;
    wc_arena_t arena;
    wc_decode_limits_t lim;
    volatile uint64_t sink;
} ctx_t;

enum { ST_DECODE, ST_NORM, ST_CLASSIFY, ST_PIPE, ST__N };
static const char *const st_name[] = {"decode", "normalise", "classify (incl. normalise)",
                                      "decode+normalise+classify"};

static void run_pass(ctx_t *c, int st)
{
    wc_verdict_t v;
    wc_decode_err_t err;
    uint64_t s = 0;
    for (int i = 0; i < c->n; i++) {
        switch (st) {
        case ST_DECODE: {
            wc_mention_t m;
            if ((i & 63) == 0)
                wc_arena_reset(&c->arena);
            wc_mention_decode(&m, c->docs[i].json, c->docs[i].len, &c->lim, &c->arena, &err);
            s += m.text.len;
            break;
        }
        case ST_NORM:
            wc_normalize(&c->norm, c->ms[i].text.p, c->ms[i].text.len);
            s += c->norm.ntok;
            break;
        case ST_CLASSIFY:
            wc_classify(c->rules, c->cls, &c->ms[i], c->ms[i].created_at_ms + 60000, &v);
            s += v.priority;
            break;
        case ST_PIPE: {
            wc_mention_t m;
            if ((i & 63) == 0)
                wc_arena_reset(&c->arena);
            if (wc_mention_decode(&m, c->docs[i].json, c->docs[i].len, &c->lim, &c->arena, &err) ==
                0) {
                wc_classify(c->rules, c->cls, &m, m.created_at_ms + 60000, &v);
                s += v.priority;
            }
            break;
        }
        }
    }
    c->sink += s;
}

/* ns per mention for one repetition lasting about ms milliseconds (or
 * exactly iters passes) */
static double measure(ctx_t *c, int st, int ms, int iters)
{
    if (!iters)
        run_pass(c, st); /* warm */
    int64_t t0 = wc_mono_ns(), t1;
    long passes = 0;
    do {
        run_pass(c, st);
        passes++;
        t1 = wc_mono_ns();
    } while (iters ? passes < iters : t1 - t0 < (int64_t)ms * 1000000);
    return (double)(t1 - t0) / ((double)passes * c->n);
}

int main(int argc, char **argv)
{
    const char *dir = getenv("WC_RULES_DIR") ? getenv("WC_RULES_DIR") : "rules";
    int n = 2048, ms = 300, reps = 5, dump = 0, iters = 0, only = -1;
    size_t text_bytes = 0, doc_bytes = 250;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rules") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
            ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--text-bytes") && i + 1 < argc)
            text_bytes = (size_t)atoi(argv[++i]), doc_bytes = 0;
        else if (!strcmp(argv[i], "--doc-bytes") && i + 1 < argc)
            doc_bytes = (size_t)atoi(argv[++i]), text_bytes = 0;
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dump"))
            dump = 1;
        else {
            fprintf(stderr,
                    "usage: %s [--rules DIR] [--n MENTIONS] [--doc-bytes N | --text-bytes N] "
                    "[--ms MS] [--reps R] [--iters N] [--only STAGE 0-3] [--dump]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n < 1 || reps < 1 || reps > 99 || ms < 1 || iters < 0 ||
        (doc_bytes ? doc_bytes < 100 || doc_bytes > 1500 : text_bytes < 20 || text_bytes > 1500)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    ctx_t c;
    memset(&c, 0, sizeof(c));
    c.n = n;
    c.docs = calloc((size_t)n, sizeof(doc_t));
    c.ms = calloc((size_t)n, sizeof(wc_mention_t));
    for (int i = 0; i < n; i++)
        gen_doc(&c.docs[i], i, text_bytes, doc_bytes);
    if (dump) {
        for (int i = 0; i < n; i++)
            printf("%s\n", c.docs[i].json);
        return 0;
    }
    char err[512];
    c.rules = wc_rules_load(dir, err, sizeof(err));
    if (!c.rules) {
        fprintf(stderr, "rules: %s\n", err);
        return 1;
    }
    c.cls = wc_classifier_create();
    wc_norm_init(&c.norm);
    wc_decode_limits_default(&c.lim);
    /* decoded mentions for the normalise/classify-only stages (kept in a big arena) */
    wc_arena_t keep;
    wc_arena_init(&keep, 1 << 20);
    wc_arena_init(&c.arena, 256 * 1024);
    size_t text_sum = 0, doc_sum = 0, tok_sum = 0;
    for (int i = 0; i < n; i++) {
        wc_decode_err_t de;
        if (wc_mention_decode(&c.ms[i], c.docs[i].json, c.docs[i].len, &c.lim, &keep, &de)) {
            fprintf(stderr, "generated mention %d does not decode: %s\n", i, de.detail);
            return 1;
        }
        text_sum += c.ms[i].text.len;
        doc_sum += c.docs[i].len;
        wc_normalize(&c.norm, c.ms[i].text.p, c.ms[i].text.len);
        tok_sum += c.norm.ntok;
    }
    wc_rules_stats_t rs;
    wc_rules_stats(c.rules, &rs);
    printf("corpus: %d mentions, text %.0f bytes avg, JSON %.0f bytes avg, %.1f tokens avg\n", n,
           (double)text_sum / n, (double)doc_sum / n, (double)tok_sum / n);
    printf("rules:  %s (%u entries, %u phrases, %u topics, version %s)\n", dir, rs.entries,
           rs.phrases, rs.topics, wc_rules_version(c.rules));
    double res[ST__N][99];
    for (int r = 0; r < reps; r++)
        for (int st = 0; st < ST__N; st++)
            res[st][r] = only < 0 || only == st ? measure(&c, st, ms, iters) : 0;
    printf("%-28s %10s %10s %14s\n", "stage (one core)", "best ns", "median ns", "best M/s");
    for (int st = 0; st < ST__N; st++) {
        qsort(res[st], (size_t)reps, sizeof(double), cmp_d);
        printf("%-28s %10.1f %10.1f %14.2f\n", st_name[st], res[st][0], res[st][reps / 2],
               1e3 / res[st][0]);
    }
    wc_arena_deinit(&keep);
    wc_arena_deinit(&c.arena);
    wc_norm_deinit(&c.norm);
    wc_classifier_destroy(c.cls);
    wc_rules_release(c.rules);
    for (int i = 0; i < n; i++)
        free(c.docs[i].json);
    free(c.docs);
    free(c.ms);
    return 0;
}
