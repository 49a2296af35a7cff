/*
 * bench_decode.c - micro-benchmark of wc_mention_decode() on one core.
 *
 * Generates a deterministic set of realistic mentions (~250 bytes: Dutch and
 * English webcare texts, some raw emoji, some \n / \" / \uXXXX escapes,
 * Twitter-style "https:\/\/" URLs, RFC 3339 or epoch-ms timestamps, optional
 * fields present or not), checks they all decode, then times repeated passes
 * over the whole set (arena reset every 256 docs, like a batch) and reports
 * the best and median of the repetitions as ns/doc, docs/s and MB/s. The same
 * documents are then parsed with jansson (json_loadb + read "text") for
 * reference.
 *
 *   bench_decode [seconds-per-repetition (default 0.3)] [repetitions (default 5)] [wc]
 *
 * "wc" skips jansson. The machine is shared: keep runs short and repeat
 * them; for comparing variants prefer instruction counts:
 * `valgrind --tool=callgrind bench_decode 0.01 1 wc` (the setup decodes
 * every doc once too, so the decoder runs at least twice per doc).
 */
#include "pipeline/mention.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NDOCS 4096
#define BATCH 256

static const char *const texts_nl[] = {
    "Het nieuwe ladenfront is nog steeds niet geleverd. Dikke #fail!",
    "Al drie dagen geen internet en niemand neemt de telefoon op. Wat moet ik doen?",
    "Top geholpen door jullie servicedesk, dank jullie wel! \xf0\x9f\x91\x8d",
    "Hoe kan ik mijn abonnement opzeggen? Kan het ook online?",
    "Monteur kwam keurig op tijd, alles werkt weer. Chapeau!",
    ("Waarom staat er een bedrag van \xe2\x82\xac" /* split: \xac4 would be one escape */
     "49,95 op mijn factuur?\\nIk heb niets besteld."),
    "Alweer storing in Utrecht \xf0\x9f\x98\xa1 dit is de derde keer deze maand",
    "Zijn jullie winkels op zondag open? \\\"Koopzondag\\\" staat nergens vermeld.",
    "Bestelling 12345 is zoek, track & trace zegt al een week \\\"onderweg\\\".",
    "Wat een geweldige actie, m\xc3\xa9\xc3\xa9r van dit soort dingen! \\ud83c\\udf89",
};
static const char *const texts_en[] = {
    "Still waiting for my refund after 3 weeks. Worst customer service ever.",
    "Thanks @acme for sorting this out so quickly, really appreciate it!",
    "Does anyone know if the new plan includes roaming in the EU?",
    "My order arrived damaged, box was crushed \xf0\x9f\x98\x9e what now?",
    "Great app update, the new dashboard is super clean \\u2728",
    "Called support twice today.\\nNobody could tell me when the outage ends.",
    "Is the \\\"unlimited\\\" plan actually unlimited or is there a fair use cap?",
    "Flight delayed again, no info at the gate. Come on...",
    "Love the new store in Amsterdam, friendly staff and good coffee \xe2\x98\x95",
    "How do I reset my password? The link in the email does not work.",
};
static const char *const channels[] = {"twitter", "facebook", "instagram", "forum",
                                       "review",  "news",     "whatsapp",  "other"};
static const char *const brands[] = {"acme-telecom", "acme-energy", "bolcom", "klm-care"};
static const char *const handles[] = {"@jan", "@petra_v", "@mark1978", "@sanne", "@dev_guy",
                                      "@oma_truus"};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static size_t gen(char *out, size_t cap, int i)
{
    const bool nl = rnd(2);
    const char *text = nl ? texts_nl[rnd(WC_ARRAY_SIZE(texts_nl))] : texts_en[rnd(WC_ARRAY_SIZE(texts_en))];
    char ts[40];
    if (rnd(4))
        snprintf(ts, sizeof(ts), "\"2026-%02u-%02uT%02u:%02u:%02u%sZ\"", 1 + rnd(12), 1 + rnd(28),
                 rnd(24), rnd(60), rnd(60), rnd(2) ? ".123" : "");
    else
        snprintf(ts, sizeof(ts), "%llu", 1790000000000ULL + rnd(100000000));
    int n = snprintf(out, cap,
                     "{\"id\":\"tw:%u%06u\",\"channel\":\"%s\",\"brand\":\"%s\","
                     "\"author\":{\"id\":\"u%u\",\"handle\":\"%s\",\"followers\":%u%s},"
                     "\"text\":\"%s\"%s,\"created_at\":%s",
                     1786 + i, rnd(1000000), channels[rnd(3) ? 0 : rnd(8)], brands[rnd(4)],
                     rnd(10000000), handles[rnd(WC_ARRAY_SIZE(handles))],
                     rnd(4) ? rnd(2000) : rnd(100000), rnd(10) ? "" : ",\"verified\":true", text,
                     rnd(2) ? "" : nl ? ",\"lang\":\"nl\"" : ",\"lang\":\"en\"", ts);
    if (rnd(6) == 0)
        n += snprintf(out + n, cap - (size_t)n, ",\"conversation_id\":\"tw:%u\",\"in_reply_to\":\"tw:%u\"",
                      rnd(1000000), rnd(1000000));
    if (rnd(4) == 0)
        n += snprintf(out + n, cap - (size_t)n, ",\"url\":\"https:\\/\\/t.co\\/%08x\"", rnd(0x7fffffff));
    if (rnd(4) == 0)
        n += snprintf(out + n, cap - (size_t)n, ",\"metrics\":{\"reshares\":%u,\"likes\":%u}", rnd(50),
                      rnd(500));
    n += snprintf(out + n, cap - (size_t)n, "}");
    return (size_t)n;
}

typedef struct doc {
    char *p;
    size_t len;
} doc_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs `pass` repeatedly for about `secs`; returns ns per doc. */
typedef uint64_t (*pass_fn)(const doc_t *docs, int n);

static double time_it(pass_fn pass, const doc_t *docs, int n, double secs, uint64_t *sink)
{
    int64_t t0 = wc_mono_ns(), t1;
    long passes = 0;
    do {
        *sink += pass(docs, n);
        passes++;
        t1 = wc_mono_ns();
    } while ((double)(t1 - t0) < secs * 1e9);
    return (double)(t1 - t0) / ((double)passes * n);
}

static wc_arena_t arena;
static wc_decode_limits_t limits;

static uint64_t pass_wc(const doc_t *docs, int n)
{
    wc_mention_t m;
    wc_decode_err_t err;
    uint64_t acc = 0;
    for (int i = 0; i < n; i++) {
        if ((i & (BATCH - 1)) == 0)
            wc_arena_reset(&arena);
        if (wc_mention_decode(&m, docs[i].p, docs[i].len, &limits, &arena, &err) == 0)
            acc += m.text.len + (uint64_t)m.created_at_ms;
    }
    return acc;
}

static uint64_t pass_jansson(const doc_t *docs, int n)
{
    uint64_t acc = 0;
    for (int i = 0; i < n; i++) {
        json_error_t e;
        json_t *root = json_loadb(docs[i].p, docs[i].len, 0, &e);
        if (root) {
            acc += json_string_length(json_object_get(root, "text"));
            json_decref(root);
        }
    }
    return acc;
}

static void report(const char *name, pass_fn pass, const doc_t *docs, int n, double avg_len,
                   double secs, int reps, uint64_t *sink)
{
    double r[32];
    reps = reps > 32 ? 32 : reps;
    for (int i = 0; i < reps; i++)
        r[i] = time_it(pass, docs, n, secs, sink);
    qsort(r, (size_t)reps, sizeof(r[0]), cmp_double);
    double best = r[0], med = r[reps / 2];
    printf("%-10s best %7.1f ns/doc  %6.2f M docs/s  %6.0f MB/s | median %7.1f ns/doc  %6.2f M docs/s\n",
           name, best, 1e3 / best, avg_len / best * 1e3, med, 1e3 / med);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.3;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    bool with_jansson = !(argc > 3 && strcmp(argv[3], "wc") == 0);
    static doc_t docs[NDOCS];
    char buf[2048];
    size_t total = 0, escaped = 0, nonascii = 0;
    wc_arena_init(&arena, 64 * 1024);
    wc_decode_limits_default(&limits);
    if (secs <= 0 || reps <= 0) {
        fprintf(stderr, "usage: %s [seconds-per-rep] [reps]\n", argv[0]);
        return 2;
    }

    for (int i = 0; i < NDOCS; i++) {
        size_t n = gen(buf, sizeof(buf), i);
        docs[i].p = malloc(n);
        memcpy(docs[i].p, buf, n);
        docs[i].len = n;
        total += n;
        escaped += memchr(buf, '\\', n) != NULL;
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)buf[k] >= 0x80) {
                nonascii++;
                break;
            }
        /* sanity: every generated document is a valid mention, for both parsers */
        wc_mention_t m;
        wc_decode_err_t err;
        json_error_t je;
        json_t *j = json_loadb(docs[i].p, n, 0, &je);
        if (wc_mention_decode(&m, docs[i].p, n, &limits, &arena, &err) != 0 || !j) {
            fprintf(stderr, "generated doc %d rejected: %s %s: %.*s\n", i,
                    wc_dlq_reason_name(err.reason), err.detail, (int)n, docs[i].p);
            return 1;
        }
        json_decref(j);
        wc_arena_reset(&arena);
    }
    double avg = (double)total / NDOCS;
    printf("%d docs, avg %.0f bytes, %.0f%% with escapes, %.0f%% with raw non-ASCII; %.2fs x %d reps\n",
           NDOCS, avg, 100.0 * (double)escaped / NDOCS, 100.0 * (double)nonascii / NDOCS, secs, reps);

    uint64_t sink = 0;
    report("wc_decode", pass_wc, docs, NDOCS, avg, secs, reps, &sink);
    if (with_jansson)
        report("jansson", pass_jansson, docs, NDOCS, avg, secs, reps > 3 ? 3 : reps, &sink);
    if (sink == 42)
        printf("\n");
    for (int i = 0; i < NDOCS; i++)
        free(docs[i].p);
    wc_arena_deinit(&arena);
    return 0;
}
