/*
 * fuzz_rules.c - libFuzzer harness for the rule-file parser and compiler
 * (wc_rules_load_mem) and the classifier over whatever loaded.
 *
 * Input layout: the bytes up to the first "\n\x00\n" are one rule file
 * ("f.rules"); if the separator is present, the rest is split the same way
 * into a second rule file ("g.rules") and a mention text. So the fuzzer
 * explores multi-file interactions (duplicates across files, routes that
 * name topics of another file) and texts against fuzzed rules.
 *
 * For every input:
 *  1. Load. On failure: at least one error was reported through the
 *     diagnostics callback, errstr equals the first one (plus "(and N more
 *     errors)"), and it starts with "f.rules:LINE:" or "g.rules:LINE:"
 *     (or is "no rule files"). On success: no error was reported, the
 *     counters and version are sane, the output-topic list is non-empty and
 *     every name in it is a valid Kafka topic name.
 *  2. If loaded: classify the text (and a fixed nl/en sample) and check the
 *     verdict invariants: class in range, confidence in (0,1], priority ==
 *     min(100, sum of parts), topics/reasons bounded and non-NULL, route
 *     in the allow-list, lang one of und/nl/en.
 *  3. Loading the same input twice gives the same version (determinism).
 *
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DWC_FUZZ=ON
 *        -DWC_SANITIZE=address && cmake --build build-fuzz --target fuzz_rules
 * Run:   build-fuzz/tests/fuzz_rules <scratch-corpus-dir> tests/fuzz/corpus/rules
 */
#include "pipeline/classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_rules: check failed at line %d: %s\n", __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct diags {
    int errors;
    char first[1024];
} diags_t;

static void on_diag(void *opaque, int is_error, const char *msg)
{
    diags_t *d = opaque;
    CHECK(msg != NULL);
    if (is_error && d->errors++ == 0)
        snprintf(d->first, sizeof(d->first), "%s", msg);
}

static int line_prefix_ok(const char *s)
{
    const char *names[] = {"f.rules:", "g.rules:"};
    for (int k = 0; k < 2; k++) {
        size_t l = strlen(names[k]);
        if (!strncmp(s, names[k], l)) {
            s += l;
            if (*s < '1' || *s > '9')
                return 0;
            while (*s >= '0' && *s <= '9')
                s++;
            return *s == ':';
        }
    }
    return !strncmp(s, "no rule files", 13);
}

static int topic_name_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 249)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static const uint8_t *split(const uint8_t *p, size_t n, size_t *first_len)
{
    for (size_t i = 0; i + 2 < n; i++)
        if (p[i] == '\n' && p[i + 1] == 0 && p[i + 2] == '\n') {
            *first_len = i + 1; /* keep the newline */
            return p + i + 3;
        }
    *first_len = n;
    return NULL;
}

/* the decoder guarantees valid UTF-8 mention text: keep only valid input */
static int utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t v;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1, v = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2, v = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, v = c & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            v = (v << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
            (k == 3 && (v < 0x10000 || v > 0x10FFFF)))
            return 0;
        i += k + 1;
    }
    return 1;
}

static void check_verdict(const wc_rules_t *r, const wc_verdict_t *v)
{
    CHECK((unsigned)v->cls < WC_CLASS__COUNT);
    CHECK(v->confidence > 0.0f && v->confidence <= 1.0001f);
    unsigned sum = (unsigned)v->prio_urgency + v->prio_reach + v->prio_verified + v->prio_aging;
    CHECK(v->priority == (sum > 100 ? 100 : sum));
    CHECK(v->ntopics <= WC_VERDICT_MAX_TOPICS && v->nreasons <= WC_VERDICT_MAX_REASONS);
    for (int i = 0; i < v->ntopics; i++)
        CHECK(v->topics[i] && v->topics[i][0]);
    for (int i = 0; i < v->nreasons; i++)
        CHECK(v->reasons[i] && v->reasons[i][0]);
    CHECK(v->lang && (!strcmp(v->lang, "und") || !strcmp(v->lang, "nl") || !strcmp(v->lang, "en")));
    CHECK(v->reply_hint != NULL);
    int routed = 0;
    for (const char *const *t = wc_rules_output_topics(r); *t; t++)
        routed |= !strcmp(*t, v->route_topic);
    CHECK(routed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wc_classifier_t *cls;
    if (!cls)
        cls = wc_classifier_create();
    if (size > 256 * 1024)
        return 0;

    wc_rules_file_t files[2];
    size_t nfiles = 1, l1, l2 = 0;
    const uint8_t *rest = split(data, size, &l1);
    const uint8_t *text = NULL;
    size_t text_len = 0;
    files[0] = (wc_rules_file_t){"f.rules", (const char *)data, l1};
    if (rest) {
        size_t rn = size - (size_t)(rest - data);
        text = split(rest, rn, &l2);
        files[1] = (wc_rules_file_t){"g.rules", (const char *)rest, l2};
        nfiles = 2;
        if (text)
            text_len = rn - (size_t)(text - rest);
    }

    char err[1024];
    diags_t d = {0};
    wc_rules_t *r = wc_rules_load_mem(files, nfiles, on_diag, &d, err, sizeof(err));
    if (!r) {
        CHECK(d.errors >= 1);
        CHECK(line_prefix_ok(err));
        CHECK(!strncmp(err, d.first, strlen(d.first) < 200 ? strlen(d.first) : 200));
        return 0;
    }
    CHECK(d.errors == 0);
    wc_rules_stats_t st;
    wc_rules_stats(r, &st);
    CHECK(st.files == nfiles);
    CHECK(st.entries == st.entries_lang[0] + st.entries_lang[1] + st.entries_lang[2]);
    CHECK(strlen(wc_rules_version(r)) == 16);
    int nout = 0;
    for (const char *const *t = wc_rules_output_topics(r); *t; t++, nout++)
        CHECK(topic_name_ok(*t));
    CHECK(nout >= 1);

    static const char *const samples[] = {
        "Mijn pakket is nog steeds niet geleverd!! Waardeloos 😡 #fail",
        "How can I change my plan? @acme https://acme.com/help",
        "Bedankt voor de snelle hulp, top 👍🏽",
        "",
    };
    wc_mention_t m;
    memset(&m, 0, sizeof(m));
    m.id = (wc_str_t){"tw:1", 4};
    m.brand = (wc_str_t){"acme", 4};
    m.author_id = (wc_str_t){"u1", 2};
    m.author_handle = (wc_str_t){"@Jan", 4};
    m.author_followers = 40000;
    m.author_verified = true;
    m.reshares = 12;
    m.created_at_ms = 1700000000000LL;
    wc_verdict_t v;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        m.text = (wc_str_t){samples[i], (uint32_t)strlen(samples[i])};
        m.channel = (wc_channel_t)(i % WC_CH__COUNT);
        CHECK(wc_classify(r, cls, &m, m.created_at_ms + (int64_t)i * 3600000, &v) == 0);
        check_verdict(r, &v);
    }
    if (text && text_len && utf8_ok(text, text_len)) {
        m.text = (wc_str_t){(const char *)text, (uint32_t)text_len};
        m.lang = (wc_str_t){NULL, 0};
        CHECK(wc_classify(r, cls, &m, m.created_at_ms, &v) == 0);
        check_verdict(r, &v);
    }

    /* determinism */
    wc_rules_t *r2 = wc_rules_load_mem(files, nfiles, NULL, NULL, err, sizeof(err));
    CHECK(r2 != NULL && !strcmp(wc_rules_version(r), wc_rules_version(r2)));
    wc_rules_stats_t st2;
    wc_rules_stats(r2, &st2);
    CHECK(!memcmp(&st, &st2, sizeof(st)));
    wc_rules_release(r2);
    wc_rules_release(r);
    return 0;
}
