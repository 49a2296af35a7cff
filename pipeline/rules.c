/*
 * rules.c - rule files -> compiled, immutable, refcounted snapshot.
 *
 * What: reads every *.rules file of a directory (name order), parses the
 * line-based format of docs/RULES.md and compiles it into the structures of
 * rules_internal.h: an open-addressing unigram table keyed by the token hash
 * the normaliser already computes, a phrase table keyed by a hash chain of
 * 2-4 token keys (phrase heads are flagged in the unigram table, so a text
 * costs one probe per token plus a few probes at heads), a flat action array
 * (several sections may use the same word), topic/VIP/route tables, and the
 * tunables (one declarative table, `settings[]`, with range and default).
 *
 * Errors: every problem is reported as "file:line: message" through the
 * diagnostics callback; parsing continues to report them all (up to
 * MAX_ERRORS) and the load fails if there was any error. Terms are folded
 * with the same wc_normalize() as mention texts, so "Één" in a rule file
 * matches "een" in a tweet.
 *
 * Threads: loading is single-threaded (main loop or a CLI); the snapshot is
 * immutable afterwards and only its refcount is touched concurrently
 * (atomic). Memory: everything the snapshot owns is in r->arena.
 */
#include "pipeline/rules_internal.h"
#include "pipeline/hash.h"
#include "pipeline/log.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ERRORS 50
#define MAX_ENTRIES (1u << 20)

/* ---- declarative settings table ---------------------------------------- */

typedef struct setting_def {
    const char *section;
    const char *key;
    size_t off;
    float min, max, def;
    const char *doc;
} setting_def_t;

#define SOFF(f) offsetof(rl_settings_t, f)
static const setting_def_t settings[] = {
    {"scoring", "neutral_bias", SOFF(neutral_bias), 0, 10, 1.0f,
     "score neutral starts with; a polar class must beat it"},
    {"scoring", "temperature", SOFF(temperature), 0.05f, 10, 1.0f,
     "softmax temperature for confidence (higher = less confident)"},
    {"scoring", "negation_window", SOFF(negation_window), 0, 10, 3,
     "tokens after a negator whose polarity is flipped (same clause)"},
    {"scoring", "negation_flip", SOFF(negation_flip), 0, 2, 1.0f,
     "share of a negated happy word's weight moved to angry ('niet tevreden')"},
    {"scoring", "negation_flip_angry", SOFF(negation_flip_angry), 0, 2, 0.5f,
     "share of a negated angry word's weight moved to happy ('not bad' is faint praise)"},
    {"scoring", "intensifier_window", SOFF(intensifier_window), 0, 10, 2,
     "tokens after an intensifier it applies to (same clause)"},
    {"scoring", "contrast_before", SOFF(contrast_before), 0, 2, 0.5f,
     "multiplier for class scores before 'maar'/'but'"},
    {"scoring", "contrast_after", SOFF(contrast_after), 0, 4, 1.5f,
     "multiplier for class hits after 'maar'/'but'"},
    {"scoring", "exclamation_boost", SOFF(exclamation_boost), 0, 2, 0.15f,
     "per '!' (max 3): boost of the leading polar class"},
    {"scoring", "caps_boost", SOFF(caps_boost), 0, 2, 0.2f,
     "per CAPS word (max 3): boost of the leading polar class"},
    {"scoring", "question_mid_factor", SOFF(question_mid_factor), 0, 1, 0.3f,
     "weight of a 'start' cue that is not at the start of a clause"},
    {"scoring", "complaint_threshold", SOFF(complaint_threshold), 0, 20, 1.0f,
     "angry score from which questions count as part of a complaint"},
    {"scoring", "question_in_complaint", SOFF(question_in_complaint), 0, 1, 0.5f,
     "question score multiplier when the angry score reaches complaint_threshold"},
    {"scoring", "topic_min_score", SOFF(topic_min_score), 0, 20, 1.0f,
     "topic score needed to report a topic"},
    {"language", "min_hits", SOFF(lang_min_hits), 0, 50, 1,
     "language-evidence words needed to decide nl or en"},
    {"language", "ratio", SOFF(lang_ratio), 1, 20, 2.0f,
     "winner must have at least ratio x the loser's evidence"},
    {"priority", "urgency.happy", SOFF(urgency[WC_CLASS_HAPPY]), 0, 100, 10,
     "urgency part for happy mentions"},
    {"priority", "urgency.neutral", SOFF(urgency[WC_CLASS_NEUTRAL]), 0, 100, 10,
     "urgency part for neutral mentions"},
    {"priority", "urgency.angry", SOFF(urgency[WC_CLASS_ANGRY]), 0, 100, 45,
     "urgency part for angry mentions"},
    {"priority", "urgency.question", SOFF(urgency[WC_CLASS_QUESTION]), 0, 100, 35,
     "urgency part for questions"},
    {"priority", "urgency_max", SOFF(urgency_max), 0, 100, 60,
     "cap of class urgency + topic urgency"},
    {"priority", "reach_per_decade", SOFF(reach_per_decade), 0, 50, 3,
     "reach points per factor 10 of followers + reshare_weight x reshares"},
    {"priority", "reshare_weight", SOFF(reach_reshare_weight), 0, 1000, 10,
     "one reshare counts as this many followers"},
    {"priority", "reach_max", SOFF(reach_max), 0, 100, 15,
     "cap of the reach part (a celebrity cannot take the whole scale)"},
    {"priority", "verified", SOFF(verified_points), 0, 100, 5, "points for a verified author"},
    {"priority", "vip", SOFF(vip_points), 0, 100, 5,
     "points for an author on the VIP list (entry weight overrides)"},
    {"priority", "verified_max", SOFF(verified_max), 0, 100, 10,
     "cap of the verified + VIP part"},
    {"priority", "aging_max", SOFF(aging_max), 0, 100, 30,
     "aging part at (and after) the SLA deadline; grows linearly with age"},
};
#define NSETTINGS WC_ARRAY_SIZE(settings)

static const char *const builtin_hint[WC_CLASS__COUNT] = {
    "Thank them personally and add something (a tip, a follow-up).",
    "Ask how it went and whether you can help.",
    ("Empathise first: acknowledge the frustration and apologise, then solve it, then follow up "
     "publicly in a few days."),
    "Answer as fast as possible and link the relevant online content (FAQ, status page).",
};
static const char *const builtin_route[WC_CLASS__COUNT] = {"cases.praise", "cases.neutral",
                                                           "cases.complaints", "cases.questions"};
static const int64_t builtin_sla_min[WC_CLASS__COUNT] = {24 * 60, 24 * 60, 60, 120};

static const char *const class_names[WC_CLASS__COUNT] = {"happy", "neutral", "angry", "question"};
static const char *const lang_names[RL_LANG__COUNT] = {"any", "nl", "en"};

const char *wc_class_name(wc_class_t c)
{
    return (unsigned)c < WC_CLASS__COUNT ? class_names[c] : "unknown";
}

int wc_class_parse(const char *s, size_t len)
{
    for (int i = 0; i < WC_CLASS__COUNT; i++)
        if (strlen(class_names[i]) == len && !memcmp(s, class_names[i], len))
            return i;
    return -1;
}

/* ---- loader state -------------------------------------------------------- */

enum {
    ET_CLASS = RL_ACT_CLASS,
    ET_TOPIC = RL_ACT_TOPIC,
    ET_NEG = RL_ACT_NEG,
    ET_INT = RL_ACT_INT,
    ET_BUT = RL_ACT_BUT,
    ET_STOP = 100,
};

typedef struct ent {
    uint64_t key; /* unigram key or phrase key */
    uint64_t keys[RL_MAX_PHRASE];
    const char *id;   /* arena */
    const char *file; /* arena */
    float w;
    uint32_t seq;
    int line;
    uint16_t topic;
    uint8_t n; /* tokens */
    uint8_t type, cls, lang, opts;
} ent_t;

typedef struct vip_tmp {
    uint64_t key;
    uint32_t len;  /* handle (without '@') or author id length */
    int is_handle;
    float bonus;
    const char *id;
    const char *file;
    int line;
} vip_tmp_t;

typedef struct route_tmp {
    rl_route_t rt;
    char *topics; /* comma separated topic names to resolve, malloc'ed; NULL = any */
    const char *file;
    int line;
} route_tmp_t;

enum {
    S_NONE = 0,
    S_CLASS,
    S_NEG,
    S_INT,
    S_BUT,
    S_STOP,
    S_TOPIC,
    S_VIP,
    S_ROUTES,
    S_DEFROUTES,
    S_HINTS,
    S_SLA,
    S_SETTINGS, /* scoring, language, priority */
};

typedef struct loc {
    const char *file;
    int line;
} loc_t;

typedef struct ld {
    wc_rules_t *r;
    wc_rules_diag_fn fn;
    void *opaque;
    char *errstr;
    size_t errsz;
    int nerr;
    wc_norm_t norm;

    ent_t *ents;
    size_t nents, ents_cap;
    vip_tmp_t *vips;
    size_t nvips, vips_cap;
    route_tmp_t *routes;
    size_t nroutes, routes_cap;
    loc_t topic_urg_loc[RL_MAX_TOPICS];
    loc_t set_loc[NSETTINGS];
    loc_t hint_loc[WC_CLASS__COUNT][RL_LANG__COUNT];
    loc_t sla_loc[WC_CLASS__COUNT][WC_CH__COUNT + 1];
    loc_t defroute_loc[WC_CLASS__COUNT];
    int64_t sla_class[WC_CLASS__COUNT]; /* -1 = not set */
    int64_t sla_chan[WC_CLASS__COUNT][WC_CH__COUNT];

    /* current position */
    const char *file; /* arena copy */
    int line;
    int sec;
    int sec_cls;
    int sec_lang;
    int sec_topic;
    const char *sec_setting; /* settings section name */
    int file_lang;
    int seen_section;
} ld_t;

static void diag(ld_t *L, int is_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void diag(ld_t *L, int is_error, const char *fmt, ...)
{
    char msg[600], full[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (L->file)
        snprintf(full, sizeof(full), "%s:%d: %s%s", L->file, L->line, is_error ? "" : "warning: ",
                 msg);
    else
        snprintf(full, sizeof(full), "%s%s", is_error ? "" : "warning: ", msg);
    if (is_error) {
        if (L->nerr == 0)
            wc_errstr_set(L->errstr, L->errsz, "%s", full);
        L->nerr++;
    }
    if (L->fn)
        L->fn(L->opaque, is_error, full);
}

#define ERR(L, ...) diag((L), 1, __VA_ARGS__)
#define WARN(L, ...) diag((L), 0, __VA_ARGS__)

/* error reported at another location (compile phase) */
static void err_at(ld_t *L, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void err_at(ld_t *L, const char *file, int line, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *of = L->file;
    int ol = L->line;
    L->file = file;
    L->line = line;
    ERR(L, "%s", msg);
    L->file = of;
    L->line = ol;
}

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : 64;
    void *q = realloc(p, nc * elem);
    if (!q)
        return NULL;
    *cap = nc;
    return q;
}

static char *adup(ld_t *L, const char *s, size_t n)
{
    char *p = wc_arena_strndup(&L->r->arena, s, n);
    if (!p)
        ERR(L, "out of memory");
    return p;
}

/* ---- small lexical helpers ---------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

static int eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(s, lit, n);
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return 0;
            i++;
            continue;
        }
        size_t k;
        uint32_t v;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            v = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            v = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            v = c & 0x07;
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

/* Parse a float that must use the whole (trimmed) string. */
static int parse_num(const char *s, size_t n, float *out)
{
    char buf[64];
    trim(&s, &n);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.+-", buf[i]))
            return -1;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno || !isfinite(v))
        return -1;
    *out = (float)v;
    return 0;
}

static int lang_parse(const char *s, size_t n)
{
    for (int i = 0; i < RL_LANG__COUNT; i++)
        if (eq(s, n, lang_names[i]))
            return i;
    return -1;
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* Kafka topic name rules */
static int kafka_topic_ok(const char *s, size_t n)
{
    if (n == 0 || n > 249 || eq(s, n, ".") || eq(s, n, ".."))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

static int topic_find(const wc_rules_t *r, const char *s, size_t n)
{
    for (uint32_t i = 0; i < r->ntopics; i++)
        if (eq(s, n, r->topic_name[i]))
            return (int)i;
    return -1;
}

static int topic_get(ld_t *L, const char *s, size_t n)
{
    int t = topic_find(L->r, s, n);
    if (t >= 0)
        return t;
    if (L->r->ntopics >= RL_MAX_TOPICS) {
        ERR(L, "too many topics (max %d)", RL_MAX_TOPICS);
        return -1;
    }
    const char *nm = adup(L, s, n);
    if (!nm)
        return -1;
    L->r->topic_name[L->r->ntopics] = nm;
    return (int)L->r->ntopics++;
}

/* ---- sections ------------------------------------------------------------ */

static const char *const section_list =
    "angry, happy, neutral, question, negators, intensifiers, contrast, stopwords, topic NAME, "
    "vip, routes, default_routes, reply_hints, sla, scoring, language, priority";

static void section_header(ld_t *L, const char *s, size_t n)
{
    /* s = inside of [ ... ] */
    const char *w[4];
    size_t wl[4];
    int nw = 0;
    size_t i = 0;
    trim(&s, &n);
    while (i < n) {
        while (i < n && is_space(s[i]))
            i++;
        if (i >= n)
            break;
        size_t st = i;
        while (i < n && !is_space(s[i]))
            i++;
        if (nw == 4) {
            ERR(L, "too many words in section header");
            L->sec = -1;
            return;
        }
        w[nw] = s + st;
        wl[nw] = i - st;
        nw++;
    }
    L->seen_section = 1;
    L->sec = -1; /* entries are skipped until a valid header */
    if (nw == 0) {
        ERR(L, "empty section header");
        return;
    }
    int cls = wc_class_parse(w[0], wl[0]);
    int lexical = cls >= 0 || eq(w[0], wl[0], "negators") || eq(w[0], wl[0], "intensifiers") ||
                  eq(w[0], wl[0], "contrast") || eq(w[0], wl[0], "stopwords");
    if (lexical) {
        int lang = L->file_lang;
        if (nw > 2) {
            ERR(L, "section [%.*s] takes at most a language (nl, en, any)", (int)wl[0], w[0]);
            return;
        }
        if (nw == 2 && (lang = lang_parse(w[1], wl[1])) < 0) {
            ERR(L, "unknown language '%.*s' (expected nl, en or any)", (int)wl[1], w[1]);
            return;
        }
        if (cls >= 0) {
            L->sec = S_CLASS;
            L->sec_cls = cls;
        } else if (eq(w[0], wl[0], "negators")) {
            L->sec = S_NEG;
        } else if (eq(w[0], wl[0], "intensifiers")) {
            L->sec = S_INT;
        } else if (eq(w[0], wl[0], "contrast")) {
            L->sec = S_BUT;
        } else {
            if (lang == RL_LANG_ANY) {
                ERR(L, "[stopwords] needs a language: set 'language = nl' at the top of the file "
                       "or write [stopwords nl]");
                return;
            }
            L->sec = S_STOP;
        }
        L->sec_lang = lang;
        return;
    }
    if (eq(w[0], wl[0], "topic")) {
        if (nw < 2 || !name_ok(w[1], wl[1])) {
            ERR(L, "[topic NAME]: NAME must be 1-32 characters a-z, 0-9, _");
            return;
        }
        int t = topic_get(L, w[1], wl[1]);
        if (t < 0)
            return;
        for (int k = 2; k < nw; k++) {
            float u;
            if (wl[k] > 8 && !memcmp(w[k], "urgency=", 8) && !parse_num(w[k] + 8, wl[k] - 8, &u) &&
                u >= 0 && u <= 100) {
                if (L->topic_urg_loc[t].file && L->r->topic_urgency[t] != u) {
                    ERR(L, "topic '%s' urgency already set to %g at %s:%d", L->r->topic_name[t],
                        (double)L->r->topic_urgency[t], L->topic_urg_loc[t].file,
                        L->topic_urg_loc[t].line);
                    return;
                }
                L->r->topic_urgency[t] = u;
                L->topic_urg_loc[t] = (loc_t){L->file, L->line};
            } else {
                ERR(L, "unknown topic option '%.*s' (expected urgency=0..100)", (int)wl[k], w[k]);
                return;
            }
        }
        L->sec = S_TOPIC;
        L->sec_topic = t;
        L->sec_lang = L->file_lang;
        return;
    }
    static const struct {
        const char *name;
        int sec;
    } simple[] = {{"vip", S_VIP},         {"routes", S_ROUTES},    {"default_routes", S_DEFROUTES},
                  {"reply_hints", S_HINTS}, {"sla", S_SLA},          {"scoring", S_SETTINGS},
                  {"language", S_SETTINGS}, {"priority", S_SETTINGS}};
    for (size_t k = 0; k < WC_ARRAY_SIZE(simple); k++) {
        if (eq(w[0], wl[0], simple[k].name)) {
            if (nw > 1) {
                ERR(L, "section [%s] takes no arguments", simple[k].name);
                return;
            }
            L->sec = simple[k].sec;
            L->sec_setting = simple[k].name;
            return;
        }
    }
    ERR(L, "unknown section [%.*s] (expected one of: %s)", (int)wl[0], w[0], section_list);
}

/* ---- lexicon entries ------------------------------------------------------ */

static const char *const sec_prefix[] = {[S_NEG] = "neg", [S_INT] = "int", [S_BUT] = "but",
                                         [S_STOP] = "stop"};

/* canonical text of a '?'/'!' run */
static const char *punct_canon(const char *p, size_t n)
{
    int q = memchr(p, '?', n) != NULL;
    size_t x = 0;
    for (size_t i = 0; i < n; i++)
        x += p[i] == '!';
    if (q && x)
        return "?!";
    if (q)
        return "?";
    return x >= 2 ? "!!" : "!";
}

static void lex_entry(ld_t *L, const char *s, size_t n)
{
    /* split "term [= weight [flags]]" at the last '=' that has a non-empty term on its left */
    const char *term = s, *rest = NULL;
    size_t tn = n, rn = 0;
    for (size_t i = n; i-- > 0;) {
        if (s[i] != '=')
            continue;
        const char *l = s;
        size_t ln = i;
        trim(&l, &ln);
        if (ln == 0)
            break;
        term = l;
        tn = ln;
        rest = s + i + 1;
        rn = n - i - 1;
        break;
    }
    int type = L->sec == S_CLASS   ? ET_CLASS
               : L->sec == S_TOPIC ? ET_TOPIC
               : L->sec == S_NEG   ? ET_NEG
               : L->sec == S_INT   ? ET_INT
               : L->sec == S_BUT   ? ET_BUT
                                   : ET_STOP;
    float w = type == ET_INT ? 1.5f : 1.0f;
    int opts = 0;
    if (rest) {
        trim(&rest, &rn);
        size_t k = 0;
        while (k < rn && !is_space(rest[k]))
            k++;
        if (k == 0) {
            ERR(L, "missing weight after '='");
            return;
        }
        if (type == ET_NEG || type == ET_BUT || type == ET_STOP) {
            ERR(L, "entries in this section take no weight");
            return;
        }
        if (parse_num(rest, k, &w)) {
            ERR(L, "weight '%.*s' is not a number", (int)k, rest);
            return;
        }
        float lo = type == ET_INT ? 0.0f : 0.01f, hi = type == ET_INT ? 5.0f : 10.0f;
        if (!(w >= lo && w <= hi)) {
            ERR(L, "weight %g out of range [%g, %g]", (double)w, (double)lo, (double)hi);
            return;
        }
        const char *f = rest + k;
        size_t fn = rn - k;
        while (fn) {
            trim(&f, &fn);
            size_t e = 0;
            while (e < fn && !is_space(f[e]))
                e++;
            if (!e)
                break;
            if (eq(f, e, "start") && type == ET_CLASS) {
                opts |= RL_OPT_START;
            } else {
                ERR(L, "unknown option '%.*s'%s", (int)e, f,
                    type == ET_CLASS ? " (expected: start)" : " (this section has no options)");
                return;
            }
            f += e;
            fn -= e;
        }
    }
    if (tn > 256) {
        ERR(L, "term longer than 256 bytes");
        return;
    }
    if (wc_normalize(&L->norm, term, tn)) {
        ERR(L, "out of memory");
        return;
    }
    const wc_norm_t *nm = &L->norm;
    if (nm->ntok == 0) {
        ERR(L, "entry '%.*s' contains no word, emoji, '?' or '!'", (int)tn, term);
        return;
    }
    if (nm->ntok > RL_MAX_PHRASE) {
        ERR(L, "phrase has %u words (max %d)", nm->ntok, RL_MAX_PHRASE);
        return;
    }
    if (nm->is_retweet) {
        ERR(L, "entry starts with 'RT @handle:'");
        return;
    }
    ent_t e = {.w = w, .type = (uint8_t)type, .opts = (uint8_t)opts, .n = (uint8_t)nm->ntok};
    char idtext[300];
    size_t il = 0;
    for (uint32_t i = 0; i < nm->ntok; i++) {
        const wc_token_t *t = &nm->tok[i];
        const char *tp = nm->folded + t->off;
        size_t tl = t->len;
        uint64_t key = t->hash;
        if (t->kind == WC_TOK_HANDLE || t->kind == WC_TOK_URL) {
            ERR(L, "@handles and URLs cannot be lexicon entries (use [vip] for authors)");
            return;
        }
        if (t->kind == WC_TOK_PUNCT) {
            if (nm->ntok > 1) {
                ERR(L, "'?' and '!' must be entries on their own, not part of a phrase");
                return;
            }
            tp = punct_canon(tp, tl);
            tl = strlen(tp);
            key = wc_hash64(tp, tl, WC_NORM_HASH_SEED);
        }
        if (t->kind == WC_TOK_HASHTAG && nm->ntok == 1)
            key ^= RL_SALT_TAG;
        if (type == ET_STOP && (nm->ntok > 1 || t->kind != WC_TOK_WORD)) {
            ERR(L, "stopwords must be single words");
            return;
        }
        e.keys[i] = rl_key(key);
        if (il + tl + 3 >= sizeof(idtext)) {
            ERR(L, "term too long");
            return;
        }
        if (i)
            idtext[il++] = ' ';
        if (t->kind == WC_TOK_HASHTAG && nm->ntok == 1)
            idtext[il++] = '#';
        memcpy(idtext + il, tp, tl);
        il += tl;
    }
    if (e.n == 1) {
        e.key = e.keys[0];
    } else {
        uint64_t h = e.keys[0];
        for (int i = 1; i < e.n; i++)
            h = rl_phrase_step(h, e.keys[i]);
        e.key = rl_key(h);
    }
    e.lang = (uint8_t)L->sec_lang;
    char id[400];
    if (type == ET_CLASS)
        snprintf(id, sizeof(id), "%s:%s:%.*s", class_names[L->sec_cls], lang_names[e.lang], (int)il,
                 idtext);
    else if (type == ET_TOPIC)
        snprintf(id, sizeof(id), "topic:%s:%.*s", L->r->topic_name[L->sec_topic], (int)il, idtext);
    else
        snprintf(id, sizeof(id), "%s:%s:%.*s", sec_prefix[L->sec], lang_names[e.lang], (int)il,
                 idtext);
    e.cls = (uint8_t)(type == ET_CLASS ? L->sec_cls : 0);
    e.topic = (uint16_t)(type == ET_TOPIC ? L->sec_topic : 0);
    e.id = adup(L, id, strlen(id));
    e.file = L->file;
    e.line = L->line;
    if (!e.id)
        return;
    if (L->nents >= MAX_ENTRIES) {
        ERR(L, "too many entries (max %u)", MAX_ENTRIES);
        return;
    }
    ent_t *ne = grow(L->ents, &L->ents_cap, L->nents, sizeof(ent_t));
    if (!ne) {
        ERR(L, "out of memory");
        return;
    }
    L->ents = ne;
    e.seq = (uint32_t)L->nents;
    L->ents[L->nents++] = e;
}

/* ---- key = value sections ---------------------------------------------- */

static int split_kv(ld_t *L, const char *s, size_t n, const char **k, size_t *kn, const char **v,
                    size_t *vn)
{
    const char *eqp = memchr(s, '=', n);
    if (!eqp) {
        ERR(L, "expected 'key = value'");
        return -1;
    }
    *k = s;
    *kn = (size_t)(eqp - s);
    *v = eqp + 1;
    *vn = n - *kn - 1;
    trim(k, kn);
    trim(v, vn);
    if (!*kn || !*vn) {
        ERR(L, "expected 'key = value'");
        return -1;
    }
    return 0;
}

static void setting_line(ld_t *L, const char *s, size_t n)
{
    const char *k, *v;
    size_t kn, vn;
    if (split_kv(L, s, n, &k, &kn, &v, &vn))
        return;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting_def_t *d = &settings[i];
        if (strcmp(d->section, L->sec_setting) || !eq(k, kn, d->key))
            continue;
        float f;
        if (parse_num(v, vn, &f)) {
            ERR(L, "%s: '%.*s' is not a number", d->key, (int)vn, v);
            return;
        }
        if (!(f >= d->min && f <= d->max)) {
            ERR(L, "%s: %g out of range [%g, %g]", d->key, (double)f, (double)d->min,
                (double)d->max);
            return;
        }
        if (L->set_loc[i].file) {
            ERR(L, "%s already set at %s:%d", d->key, L->set_loc[i].file, L->set_loc[i].line);
            return;
        }
        L->set_loc[i] = (loc_t){L->file, L->line};
        memcpy((char *)&L->r->set + d->off, &f, sizeof(f));
        return;
    }
    char known[1024];
    size_t kl = 0;
    known[0] = 0;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (!strcmp(settings[i].section, L->sec_setting) && kl < sizeof(known) - 40)
            kl += (size_t)snprintf(known + kl, sizeof(known) - kl, "%s%s", kl ? ", " : "",
                                   settings[i].key);
    ERR(L, "unknown key '%.*s' in [%s] (known: %s)", (int)kn, k, L->sec_setting, known);
}

/* "angry" or "angry.nl" / "angry.twitter": returns class, *sub = rest */
static int class_dot(ld_t *L, const char *k, size_t kn, const char **sub, size_t *subn)
{
    const char *dot = memchr(k, '.', kn);
    size_t cn = dot ? (size_t)(dot - k) : kn;
    int cls = wc_class_parse(k, cn);
    if (cls < 0) {
        ERR(L, "unknown class '%.*s' (expected happy, neutral, angry, question)", (int)cn, k);
        return -1;
    }
    *sub = dot ? dot + 1 : NULL;
    *subn = dot ? kn - cn - 1 : 0;
    return cls;
}

static void hint_line(ld_t *L, const char *s, size_t n)
{
    const char *k, *v, *sub;
    size_t kn, vn, subn;
    if (split_kv(L, s, n, &k, &kn, &v, &vn))
        return;
    int cls = class_dot(L, k, kn, &sub, &subn);
    if (cls < 0)
        return;
    int lang = RL_LANG_ANY;
    if (sub && ((lang = lang_parse(sub, subn)) <= 0)) {
        ERR(L, "reply hint language must be nl or en ('%.*s')", (int)kn, k);
        return;
    }
    if (vn > 1000) {
        ERR(L, "reply hint longer than 1000 bytes");
        return;
    }
    if (L->hint_loc[cls][lang].file) {
        ERR(L, "reply hint '%.*s' already set at %s:%d", (int)kn, k, L->hint_loc[cls][lang].file,
            L->hint_loc[cls][lang].line);
        return;
    }
    L->hint_loc[cls][lang] = (loc_t){L->file, L->line};
    L->r->reply_hint[cls][lang] = adup(L, v, vn);
}

static int parse_duration_ms(const char *v, size_t vn, int64_t *out)
{
    if (eq(v, vn, "none") || eq(v, vn, "0")) {
        *out = 0;
        return 0;
    }
    if (vn < 2 || vn > 12)
        return -1;
    int64_t mult;
    switch (v[vn - 1]) {
    case 's': mult = 1000; break;
    case 'm': mult = 60 * 1000; break;
    case 'h': mult = 3600 * 1000; break;
    case 'd': mult = 86400 * 1000; break;
    default: return -1;
    }
    int64_t x = 0;
    for (size_t i = 0; i + 1 < vn; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    x *= mult;
    if (x <= 0 || x > 30LL * 86400 * 1000)
        return -1;
    *out = x;
    return 0;
}

static void sla_line(ld_t *L, const char *s, size_t n)
{
    const char *k, *v, *sub;
    size_t kn, vn, subn;
    if (split_kv(L, s, n, &k, &kn, &v, &vn))
        return;
    int cls = class_dot(L, k, kn, &sub, &subn);
    if (cls < 0)
        return;
    int ch = WC_CH__COUNT; /* class default */
    if (sub) {
        wc_channel_t c;
        if (wc_channel_parse(sub, subn, &c)) {
            ERR(L, "unknown channel '%.*s' (twitter, facebook, instagram, forum, review, news, "
                   "whatsapp, other)",
                (int)subn, sub);
            return;
        }
        ch = (int)c;
    }
    int64_t ms;
    if (parse_duration_ms(v, vn, &ms)) {
        ERR(L, "SLA '%.*s': expected a duration like 30m, 2h, 1d (max 30d) or 'none'", (int)vn, v);
        return;
    }
    if (L->sla_loc[cls][ch].file) {
        ERR(L, "SLA '%.*s' already set at %s:%d", (int)kn, k, L->sla_loc[cls][ch].file,
            L->sla_loc[cls][ch].line);
        return;
    }
    L->sla_loc[cls][ch] = (loc_t){L->file, L->line};
    if (ch == WC_CH__COUNT)
        L->sla_class[cls] = ms;
    else
        L->sla_chan[cls][ch] = ms;
}

static void defroute_line(ld_t *L, const char *s, size_t n)
{
    const char *k, *v;
    size_t kn, vn;
    if (split_kv(L, s, n, &k, &kn, &v, &vn))
        return;
    int cls = wc_class_parse(k, kn);
    if (cls < 0) {
        ERR(L, "unknown class '%.*s' (expected happy, neutral, angry, question)", (int)kn, k);
        return;
    }
    if (!kafka_topic_ok(v, vn)) {
        ERR(L, "invalid output topic '%.*s' (a-z A-Z 0-9 . _ -, max 249)", (int)vn, v);
        return;
    }
    if (L->defroute_loc[cls].file) {
        ERR(L, "default route for %s already set at %s:%d", class_names[cls],
            L->defroute_loc[cls].file, L->defroute_loc[cls].line);
        return;
    }
    L->defroute_loc[cls] = (loc_t){L->file, L->line};
    L->r->default_route[cls] = adup(L, v, vn);
}

static void vip_line(ld_t *L, const char *s, size_t n)
{
    const char *term = s, *rest = NULL;
    size_t tn = n, rn = 0;
    const char *eqp = memchr(s, '=', n);
    if (eqp) {
        tn = (size_t)(eqp - s);
        rest = eqp + 1;
        rn = n - tn - 1;
        trim(&term, &tn);
    }
    float bonus = -1; /* -1: use priority.vip */
    if (rest && (parse_num(rest, rn, &bonus) || bonus < 0 || bonus > 100)) {
        ERR(L, "VIP bonus must be a number 0..100");
        return;
    }
    uint64_t key;
    char id[300];
    int is_handle = tn >= 2 && term[0] == '@';
    if (is_handle) {
        char h[128];
        if (tn > 101) {
            ERR(L, "handle too long");
            return;
        }
        for (size_t i = 1; i < tn; i++) {
            char c = term[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.')) {
                ERR(L, "invalid character in handle '%.*s'", (int)tn, term);
                return;
            }
            h[i - 1] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        }
        key = wc_hash64(h, tn - 1, RL_SALT_VIP_HANDLE);
        snprintf(id, sizeof(id), "vip:@%.*s", (int)(tn - 1), h);
    } else if (tn > 3 && !memcmp(term, "id:", 3)) {
        if (tn > 259) {
            ERR(L, "author id too long");
            return;
        }
        key = wc_hash64(term + 3, tn - 3, RL_SALT_VIP_ID);
        snprintf(id, sizeof(id), "vip:%.*s", (int)tn, term);
    } else {
        ERR(L, "VIP entry must be '@handle' or 'id:AUTHOR_ID'");
        return;
    }
    vip_tmp_t *nv = grow(L->vips, &L->vips_cap, L->nvips, sizeof(vip_tmp_t));
    if (!nv) {
        ERR(L, "out of memory");
        return;
    }
    L->vips = nv;
    const char *aid = adup(L, id, strlen(id));
    if (!aid)
        return;
    L->vips[L->nvips++] = (vip_tmp_t){.key = rl_key(key),
                                      .len = (uint32_t)(is_handle ? tn - 1 : tn - 3),
                                      .is_handle = is_handle,
                                      .bonus = bonus,
                                      .id = aid,
                                      .file = L->file,
                                      .line = L->line};
}

/* route: "key=value[,value] ... -> topic" */
static void route_line(ld_t *L, const char *s, size_t n)
{
    const char *arrow = NULL;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '-' && s[i + 1] == '>')
            arrow = s + i;
    if (!arrow) {
        ERR(L, "route must end with '-> output.topic'");
        return;
    }
    const char *out = arrow + 2;
    size_t on = n - (size_t)(out - s);
    trim(&out, &on);
    if (!kafka_topic_ok(out, on)) {
        ERR(L, "invalid output topic '%.*s' (a-z A-Z 0-9 . _ -, max 249)", (int)on, out);
        return;
    }
    if (L->nroutes >= RL_MAX_ROUTES) {
        ERR(L, "too many routes (max %d)", RL_MAX_ROUTES);
        return;
    }
    route_tmp_t rt = {.file = L->file, .line = L->line};
    const char *c = s;
    size_t cn = (size_t)(arrow - s);
    int seen = 0, nconds = 0;
    while (cn) {
        trim(&c, &cn);
        size_t e = 0;
        while (e < cn && !is_space(c[e]))
            e++;
        if (!e)
            break;
        const char *eqp = memchr(c, '=', e);
        if (!eqp || eqp == c || eqp == c + e - 1) {
            ERR(L, "route condition '%.*s' must be key=value (class, topic, channel, lang, brand, "
                   "min_priority)",
                (int)e, c);
            goto fail;
        }
        const char *k = c, *v = eqp + 1;
        size_t kn = (size_t)(eqp - c), vn = e - kn - 1;
        static const char *const keys[] = {"class", "topic", "channel", "lang", "brand",
                                           "min_priority"};
        int ki = -1;
        for (int i = 0; i < 6; i++)
            if (eq(k, kn, keys[i]))
                ki = i;
        if (ki < 0) {
            ERR(L, "unknown route condition '%.*s' (class, topic, channel, lang, brand, "
                   "min_priority)",
                (int)kn, k);
            goto fail;
        }
        if (seen & (1 << ki)) {
            ERR(L, "route condition '%s' given twice", keys[ki]);
            goto fail;
        }
        seen |= 1 << ki;
        nconds++;
        if (ki == 5) {
            float p;
            if (parse_num(v, vn, &p) || p < 0 || p > 100 || p != (float)(int)p) {
                ERR(L, "min_priority must be an integer 0..100");
                goto fail;
            }
            rt.rt.min_prio = (uint8_t)p;
        } else if (ki == 1) {
            rt.topics = strndup(v, vn);
            if (!rt.topics) {
                ERR(L, "out of memory");
                goto fail;
            }
        } else {
            size_t vi = 0;
            while (vi <= vn) {
                size_t ve = vi;
                while (ve < vn && v[ve] != ',')
                    ve++;
                const char *item = v + vi;
                size_t il = ve - vi;
                if (!il) {
                    ERR(L, "empty value in '%.*s'", (int)e, c);
                    goto fail;
                }
                if (ki == 0) {
                    int cl = wc_class_parse(item, il);
                    if (cl < 0) {
                        ERR(L, "unknown class '%.*s'", (int)il, item);
                        goto fail;
                    }
                    rt.rt.cls_mask |= (uint8_t)(1u << cl);
                } else if (ki == 2) {
                    wc_channel_t ch;
                    if (wc_channel_parse(item, il, &ch)) {
                        ERR(L, "unknown channel '%.*s'", (int)il, item);
                        goto fail;
                    }
                    rt.rt.chan_mask |= (uint16_t)(1u << ch);
                } else if (ki == 3) {
                    int lg = eq(item, il, "und") ? 0 : lang_parse(item, il);
                    if (lg < 0 || (lg == 0 && !eq(item, il, "und"))) {
                        ERR(L, "unknown lang '%.*s' (nl, en, und)", (int)il, item);
                        goto fail;
                    }
                    rt.rt.lang_mask |= (uint8_t)(1u << lg);
                } else {
                    uint64_t *nb = realloc(rt.rt.brands, (rt.rt.nbrands + 1) * sizeof(uint64_t));
                    if (!nb) {
                        ERR(L, "out of memory");
                        goto fail;
                    }
                    rt.rt.brands = nb;
                    rt.rt.brands[rt.rt.nbrands++] = wc_hash64(item, il, 0);
                }
                vi = ve + 1;
            }
        }
        c += e;
        cn -= e;
    }
    if (!nconds) {
        ERR(L, "route without conditions: use [default_routes] for per-class defaults");
        goto fail;
    }
    rt.rt.out = adup(L, out, on);
    if (!rt.rt.out)
        goto fail;
    route_tmp_t *nr = grow(L->routes, &L->routes_cap, L->nroutes, sizeof(route_tmp_t));
    if (!nr) {
        ERR(L, "out of memory");
        goto fail;
    }
    L->routes = nr;
    L->routes[L->nroutes++] = rt;
    return;
fail:
    free(rt.topics);
    free(rt.rt.brands);
}

static void preamble_line(ld_t *L, const char *s, size_t n)
{
    const char *k, *v;
    size_t kn, vn;
    if (split_kv(L, s, n, &k, &kn, &v, &vn))
        return;
    if (!eq(k, kn, "language")) {
        ERR(L, "unknown key '%.*s' before the first section (only 'language = nl|en|any')",
            (int)kn, k);
        return;
    }
    int lang = lang_parse(v, vn);
    if (lang < 0) {
        ERR(L, "unknown language '%.*s' (expected nl, en or any)", (int)vn, v);
        return;
    }
    L->file_lang = lang;
}

/* ---- file driver ---------------------------------------------------------- */

/* Strip a comment: '#' followed by space/tab/end/'#' at line start, or such
 * a '#' preceded by a space. "#fail" stays an entry. */
static size_t strip_comment(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '#')
            continue;
        int after_ok = i + 1 >= n || is_space(s[i + 1]) || s[i + 1] == '#';
        int before_ok = i == 0 || is_space(s[i - 1]);
        int at_start = 1;
        for (size_t j = 0; j < i; j++)
            if (!is_space(s[j]))
                at_start = 0;
        if (after_ok && (before_ok || at_start))
            return i;
    }
    return n;
}

static void parse_file(ld_t *L, const char *name, const char *data, size_t len)
{
    L->file = adup(L, name, strlen(name));
    if (!L->file)
        return;
    L->line = 0;
    L->sec = S_NONE;
    L->file_lang = RL_LANG_ANY;
    L->seen_section = 0;
    if (len > RL_MAX_FILE) {
        ERR(L, "file larger than %u bytes", RL_MAX_FILE);
        return;
    }
    size_t pos = 0;
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
        pos = 3;
    while (pos < len && L->nerr < MAX_ERRORS) {
        const char *ls = data + pos;
        const char *nl = memchr(ls, '\n', len - pos);
        size_t ln = nl ? (size_t)(nl - ls) : len - pos;
        pos += ln + (nl ? 1 : 0);
        L->line++;
        if (ln && ls[ln - 1] == '\r')
            ln--;
        if (ln > RL_MAX_LINE) {
            ERR(L, "line longer than %d bytes", RL_MAX_LINE);
            continue;
        }
        if (!utf8_valid((const unsigned char *)ls, ln)) {
            ERR(L, "invalid UTF-8 (or NUL byte)");
            continue;
        }
        ln = strip_comment(ls, ln);
        trim(&ls, &ln);
        if (!ln)
            continue;
        if (ls[0] == '[') {
            if (ls[ln - 1] != ']') {
                ERR(L, "section header must end with ']'");
                L->sec = -1;
                continue;
            }
            section_header(L, ls + 1, ln - 2);
            continue;
        }
        switch (L->sec) {
        case -1: break; /* after a bad header: already reported */
        case S_NONE:
            if (L->seen_section)
                break;
            preamble_line(L, ls, ln);
            break;
        case S_CLASS:
        case S_NEG:
        case S_INT:
        case S_BUT:
        case S_STOP:
        case S_TOPIC: lex_entry(L, ls, ln); break;
        case S_VIP: vip_line(L, ls, ln); break;
        case S_ROUTES: route_line(L, ls, ln); break;
        case S_DEFROUTES: defroute_line(L, ls, ln); break;
        case S_HINTS: hint_line(L, ls, ln); break;
        case S_SLA: sla_line(L, ls, ln); break;
        case S_SETTINGS: setting_line(L, ls, ln); break;
        }
    }
}

/* ---- compile ------------------------------------------------------------- */

static int ent_cmp(const void *a, const void *b)
{
    const ent_t *x = a, *y = b;
    if ((x->n > 1) != (y->n > 1))
        return (x->n > 1) - (y->n > 1);
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint32_t pow2_for(size_t n)
{
    uint32_t c = 16;
    while (c < n * 2)
        c <<= 1;
    return c;
}

static rl_slot_t *slot_insert(rl_slot_t *tab, uint32_t mask, uint64_t key)
{
    uint32_t i = (uint32_t)(key ^ (key >> 32)) & mask;
    while (tab[i].key && tab[i].key != key)
        i = (i + 1) & mask;
    tab[i].key = key;
    return &tab[i];
}

static int same_rule(const ent_t *a, const ent_t *b)
{
    return a->key == b->key && a->n == b->n && a->type == b->type && a->lang == b->lang &&
           a->cls == b->cls && a->topic == b->topic;
}

static void compile(ld_t *L)
{
    wc_rules_t *r = L->r;
    if (L->nents)
        qsort(L->ents, L->nents, sizeof(ent_t), ent_cmp);

    /* duplicates: same key, section and language */
    for (size_t i = 0; i < L->nents; i++) {
        for (size_t j = i + 1; j < L->nents && L->ents[j].key == L->ents[i].key; j++) {
            if (same_rule(&L->ents[i], &L->ents[j])) {
                const ent_t *a = &L->ents[i], *b = &L->ents[j];
                const ent_t *first = a->seq < b->seq ? a : b, *second = a->seq < b->seq ? b : a;
                err_at(L, second->file, second->line, "duplicate entry '%s' (first at %s:%d)",
                       second->id, first->file, first->line);
            }
        }
    }
    if (L->nerr)
        return;

    size_t nuni = 0, nphr = 0, nact = 0;
    for (size_t i = 0; i < L->nents; i++) {
        int newkey = i == 0 || L->ents[i].key != L->ents[i - 1].key ||
                     (L->ents[i].n > 1) != (L->ents[i - 1].n > 1);
        if (L->ents[i].n > 1) {
            nphr += newkey;
            nuni++; /* head slot (upper bound) */
        } else {
            nuni += newkey;
        }
        if (L->ents[i].type != ET_STOP)
            nact++;
    }
    /* proper prefixes (2+ words) of longer phrases also get a phrase slot
     * (upper bound: each phrase of n words adds n - 2), see below */
    for (size_t i = 0; i < L->nents; i++)
        if (L->ents[i].n > 2)
            nphr += L->ents[i].n - 2u;
    /* the unigram table at load <= 1/4 (64 KiB -> 128 KiB for the shipped
     * rules): fewer lookups walk past an occupied home slot; the hot words
     * stay in cache either way */
    r->uni_mask = pow2_for(nuni * 2) - 1;
    r->phr_mask = pow2_for(nphr) - 1;
    r->uni = wc_arena_alloc(&r->arena, sizeof(rl_slot_t) * (r->uni_mask + 1));
    r->phr = wc_arena_alloc(&r->arena, sizeof(rl_slot_t) * (r->phr_mask + 1));
    r->act = wc_arena_alloc(&r->arena, sizeof(rl_action_t) * (nact ? nact : 1));
    if (!r->uni || !r->phr || !r->act) {
        ERR(L, "out of memory");
        return;
    }
    memset(r->uni, 0, sizeof(rl_slot_t) * (r->uni_mask + 1));
    memset(r->phr, 0, sizeof(rl_slot_t) * (r->phr_mask + 1));

    rl_slot_t *cur = NULL;
    for (size_t i = 0; i < L->nents; i++) {
        const ent_t *e = &L->ents[i];
        int newkey = i == 0 || e->key != L->ents[i - 1].key || (e->n > 1) != (L->ents[i - 1].n > 1);
        if (newkey) {
            cur = slot_insert(e->n > 1 ? r->phr : r->uni, e->n > 1 ? r->phr_mask : r->uni_mask,
                              e->key);
            if (cur->nact == 0)
                cur->act = r->nact;
            if (e->n > 1)
                cur->span = e->n;
        }
        r->stats.entries += e->type != ET_STOP;
        if (e->type != ET_STOP)
            r->stats.entries_lang[e->lang]++;
        if (e->type == ET_STOP)
            r->stats.stopwords++;
        if (e->n > 1 && newkey)
            r->stats.phrases++;
        /* language evidence: every single word listed for one language
         * (stopwords, function words, lexicon and topic words of a
         * language-specific section); words listed for both are cleared below */
        if (e->n == 1 && e->lang != RL_LANG_ANY)
            cur->flags |= e->lang == RL_LANG_NL ? RL_F_NL : RL_F_EN;
        if (e->type == ET_STOP)
            continue;
        if (cur->nact == UINT16_MAX) {
            err_at(L, e->file, e->line, "too many rules for one term");
            return;
        }
        r->act[r->nact++] = (rl_action_t){.id = e->id,
                                          .w = e->w,
                                          .type = e->type,
                                          .cls = e->cls,
                                          .lang = e->lang,
                                          .opts = e->opts,
                                          .topic = e->topic};
        cur->nact++;
    }
    /* words that are evidence for both languages are evidence for neither */
    for (uint32_t i = 0; i <= r->uni_mask; i++)
        if ((r->uni[i].flags & (RL_F_NL | RL_F_EN)) == (RL_F_NL | RL_F_EN))
            r->uni[i].flags &= (uint8_t) ~(RL_F_NL | RL_F_EN);
    /* phrase heads; in the phrase table, RL_F_PHEAD marks a word sequence
     * that a longer phrase continues: every proper prefix of 2+ words of a
     * phrase is there (a prefix that is no phrase itself has span 0 and no
     * actions, so it never matches), and matching stops at the first
     * sequence that is absent or not flagged (classify.c match_phrase) */
    for (size_t i = 0; i < L->nents; i++) {
        const ent_t *e = &L->ents[i];
        if (e->n < 2)
            continue;
        rl_slot_t *h = slot_insert(r->uni, r->uni_mask, e->keys[0]);
        h->flags |= RL_F_PHEAD;
        if (h->span < e->n)
            h->span = e->n;
        uint64_t ph = e->keys[0];
        for (int l = 2; l < e->n; l++) {
            ph = rl_phrase_step(ph, e->keys[l - 1]);
            slot_insert(r->phr, r->phr_mask, rl_key(ph))->flags |= RL_F_PHEAD;
        }
    }

    /* VIP */
    if (L->nvips) {
        r->vip_mask = pow2_for(L->nvips) - 1;
        r->vip = wc_arena_alloc(&r->arena, sizeof(rl_vip_t) * (r->vip_mask + 1));
        if (!r->vip) {
            ERR(L, "out of memory");
            return;
        }
        memset(r->vip, 0, sizeof(rl_vip_t) * (r->vip_mask + 1));
        for (size_t i = 0; i < L->nvips; i++) {
            const vip_tmp_t *v = &L->vips[i];
            uint32_t k = (uint32_t)(v->key ^ (v->key >> 32)) & r->vip_mask;
            while (r->vip[k].key && r->vip[k].key != v->key)
                k = (k + 1) & r->vip_mask;
            if (r->vip[k].key) {
                err_at(L, v->file, v->line, "duplicate VIP entry '%s'", v->id);
                continue;
            }
            r->vip[k] = (rl_vip_t){v->key, v->bonus, v->id};
            if (v->is_handle)
                r->vip_handle_lens |= 1ULL << (v->len & 63);
            else
                r->vip_id_lens |= 1ULL << (v->len & 63);
        }
        r->stats.vip = (uint32_t)L->nvips;
    }

    /* routes: resolve topic names */
    r->routes = wc_arena_alloc(&r->arena, sizeof(rl_route_t) * (L->nroutes ? L->nroutes : 1));
    if (!r->routes) {
        ERR(L, "out of memory");
        return;
    }
    for (size_t i = 0; i < L->nroutes; i++) {
        route_tmp_t *rt = &L->routes[i];
        rl_route_t *d = &r->routes[r->nroutes];
        *d = rt->rt;
        if (rt->topics) {
            char *p = rt->topics;
            for (;;) {
                char *comma = strchr(p, ',');
                size_t pl = comma ? (size_t)(comma - p) : strlen(p);
                if (eq(p, pl, "none")) {
                    d->topic_mask |= 1ULL << RL_TOPIC_NONE_BIT;
                } else {
                    int t = topic_find(r, p, pl);
                    if (t < 0) {
                        err_at(L, rt->file, rt->line, "route uses unknown topic '%.*s'", (int)pl,
                               p);
                        break;
                    }
                    d->topic_mask |= 1ULL << t;
                }
                if (!comma)
                    break;
                p = comma + 1;
            }
        }
        if (d->nbrands) {
            uint64_t *b = wc_arena_alloc(&r->arena, sizeof(uint64_t) * d->nbrands);
            if (!b) {
                ERR(L, "out of memory");
                return;
            }
            memcpy(b, rt->rt.brands, sizeof(uint64_t) * d->nbrands);
            d->brands = b;
            r->routes_need_brand = 1;
        }
        r->nroutes++;
    }
    r->stats.routes = r->nroutes;

    /* defaults, output allow-list */
    for (int c = 0; c < WC_CLASS__COUNT; c++) {
        if (!r->default_route[c])
            r->default_route[c] = builtin_route[c];
        if (!r->reply_hint[c][RL_LANG_ANY])
            r->reply_hint[c][RL_LANG_ANY] = builtin_hint[c];
        int64_t def = L->sla_class[c] >= 0 ? L->sla_class[c] : builtin_sla_min[c] * 60 * 1000;
        for (int ch = 0; ch < WC_CH__COUNT; ch++)
            r->sla_ms[c][ch] = L->sla_chan[c][ch] >= 0 ? L->sla_chan[c][ch] : def;
    }
    size_t nout = 0;
    r->output_topics = wc_arena_alloc(&r->arena, sizeof(char *) * (r->nroutes + WC_CLASS__COUNT + 1));
    if (!r->output_topics) {
        ERR(L, "out of memory");
        return;
    }
    for (size_t i = 0; i < r->nroutes + WC_CLASS__COUNT; i++) {
        const char *t = i < r->nroutes ? r->routes[i].out : r->default_route[i - r->nroutes];
        size_t k;
        for (k = 0; k < nout; k++)
            if (!strcmp(r->output_topics[k], t))
                break;
        if (k == nout)
            r->output_topics[nout++] = t;
    }
    r->output_topics[nout] = NULL;
    r->stats.topics = r->ntopics;

    r->key_q = rl_key(wc_hash64("?", 1, WC_NORM_HASH_SEED));
    r->key_qx = rl_key(wc_hash64("?!", 2, WC_NORM_HASH_SEED));
    r->key_x = rl_key(wc_hash64("!", 1, WC_NORM_HASH_SEED));
    r->key_xx = rl_key(wc_hash64("!!", 2, WC_NORM_HASH_SEED));
}

static void ld_free_tmp(ld_t *L)
{
    for (size_t i = 0; i < L->nroutes; i++) {
        free(L->routes[i].topics);
        free(L->routes[i].rt.brands);
    }
    free(L->routes);
    free(L->ents);
    free(L->vips);
    wc_norm_deinit(&L->norm);
}

static void rules_free(wc_rules_t *r)
{
    if (!r)
        return;
    wc_arena_deinit(&r->arena);
    free(r);
}

wc_rules_t *wc_rules_load_mem(const wc_rules_file_t *files, size_t nfiles, wc_rules_diag_fn fn,
                              void *opaque, char *errstr, size_t errstr_size)
{
    ld_t L;
    memset(&L, 0, sizeof(L));
    L.fn = fn;
    L.opaque = opaque;
    L.errstr = errstr;
    L.errsz = errstr_size;
    wc_norm_init(&L.norm);
    if (errstr && errstr_size)
        errstr[0] = 0;
    wc_rules_t *r = calloc(1, sizeof(*r));
    if (!r) {
        ERR(&L, "out of memory");
        goto fail;
    }
    L.r = r;
    r->refcnt = 1;
    wc_arena_init(&r->arena, 256 * 1024);
    for (size_t i = 0; i < NSETTINGS; i++)
        memcpy((char *)&r->set + settings[i].off, &settings[i].def, sizeof(float));
    for (int c = 0; c < WC_CLASS__COUNT; c++) {
        L.sla_class[c] = -1;
        for (int ch = 0; ch < WC_CH__COUNT; ch++)
            L.sla_chan[c][ch] = -1;
    }
    uint64_t ver = 0x243f6a8885a308d3ULL;
    for (size_t i = 0; i < nfiles && L.nerr < MAX_ERRORS; i++) {
        parse_file(&L, files[i].name, files[i].data, files[i].len);
        /* the base name only: the same files give the same version in any directory */
        const char *base = strrchr(files[i].name, '/');
        base = base ? base + 1 : files[i].name;
        ver = wc_hash64(base, strlen(base), ver);
        ver = wc_hash64(files[i].data, files[i].len, ver);
    }
    L.file = NULL;
    if (nfiles == 0)
        ERR(&L, "no rule files");
    if (!L.nerr)
        compile(&L);
    if (L.nerr) {
        if (L.nerr > 1 && errstr && errstr_size) {
            size_t el = strlen(errstr);
            snprintf(errstr + el, errstr_size - el, " (and %d more error%s)", L.nerr - 1,
                     L.nerr > 2 ? "s" : "");
        }
        goto fail;
    }
    r->stats.files = (uint32_t)nfiles;
    snprintf(r->version, sizeof(r->version), "%016llx", (unsigned long long)ver);
    ld_free_tmp(&L);
    return r;
fail:
    ld_free_tmp(&L);
    rules_free(r);
    return NULL;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

wc_rules_t *wc_rules_load_diag(const char *dir, wc_rules_diag_fn fn, void *opaque, char *errstr,
                               size_t errstr_size)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    wc_rules_file_t *files = NULL;
    wc_rules_t *r = NULL;
    char msg[600];
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(msg, sizeof(msg), "%s: cannot open rules directory: %s", dir, strerror(errno));
        goto fail_msg;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 7 || strcmp(de->d_name + l - 6, ".rules"))
            continue;
        char **nn = grow(names, &cap, n, sizeof(char *));
        if (!nn)
            break;
        names = nn;
        if (!(names[n] = malloc(strlen(dir) + l + 2)))
            break;
        sprintf(names[n], "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n == 0) {
        snprintf(msg, sizeof(msg), "%s: no *.rules files", dir);
        goto fail_msg;
    }
    qsort(names, n, sizeof(char *), name_cmp);
    files = calloc(n, sizeof(*files));
    if (!files) {
        snprintf(msg, sizeof(msg), "%s: out of memory", dir);
        goto fail_msg;
    }
    for (size_t i = 0; i < n; i++) {
        files[i].name = names[i];
        FILE *f = fopen(names[i], "rb");
        struct stat st;
        if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
            snprintf(msg, sizeof(msg), "%s: cannot read: %s", names[i],
                     f ? "not a regular file" : strerror(errno));
            if (f)
                fclose(f);
            goto fail_msg;
        }
        if ((uint64_t)st.st_size > RL_MAX_FILE) {
            fclose(f);
            snprintf(msg, sizeof(msg), "%s: file larger than %u bytes", names[i], RL_MAX_FILE);
            goto fail_msg;
        }
        char *buf = malloc((size_t)st.st_size + 1);
        size_t got = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
        int bad = !buf || ferror(f) || got != (size_t)st.st_size;
        fclose(f);
        files[i].data = buf;
        files[i].len = got;
        if (bad) {
            snprintf(msg, sizeof(msg), "%s: read error", names[i]);
            goto fail_msg;
        }
    }
    r = wc_rules_load_mem(files, n, fn, opaque, errstr, errstr_size);
    goto out;
fail_msg:
    wc_errstr_set(errstr, errstr_size, "%s", msg);
    if (fn)
        fn(opaque, 1, msg);
out:
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        if (files)
            free((void *)files[i].data);
    }
    free(names);
    free(files);
    return r;
}

wc_rules_t *wc_rules_load(const char *dir, char *errstr, size_t errstr_size)
{
    return wc_rules_load_diag(dir, NULL, NULL, errstr, errstr_size);
}

wc_rules_t *wc_rules_keep(wc_rules_t *r)
{
    __atomic_add_fetch(&r->refcnt, 1, __ATOMIC_RELAXED);
    return r;
}

void wc_rules_release(wc_rules_t *r)
{
    if (r && __atomic_sub_fetch(&r->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        rules_free(r);
}

const char *const *wc_rules_output_topics(const wc_rules_t *r)
{
    return r->output_topics;
}

void wc_rules_stats(const wc_rules_t *r, wc_rules_stats_t *out)
{
    *out = r->stats;
}

const char *wc_rules_version(const wc_rules_t *r)
{
    return r->version;
}
