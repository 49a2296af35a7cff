/*
 * window.c - window event buffers and the per-brand flush payload.
 *
 * Design: see window.h. The encoder makes one pass to find the chunks (a
 * chunk = events of one input partition) and, per chunk, aggregates cluster
 * contributions in a small open-addressing table keyed by (kind, topic,
 * minute). Sizes are bounded by one flush of one brand, so the tables are
 * allocated per call and freed at the end; the cost per mention is a hash
 * and a probe (see bench/bench_window.c).
 */
#include "pipeline/window.h"
#include "pipeline/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cls_names[] = {"happy", "neutral", "angry", "question"};

void wc_wbuf_init(wc_wbuf_t *b)
{
    memset(b, 0, sizeof(*b));
}

void wc_wbuf_free(wc_wbuf_t *b)
{
    free(b->ev);
    free(b->s);
    memset(b, 0, sizeof(*b));
}

void wc_wbuf_clear(wc_wbuf_t *b)
{
    b->n = 0;
    b->slen = b->s ? 1 : 0;
    b->oom = 0;
}

wc_wev_t *wc_wbuf_add(wc_wbuf_t *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        wc_wev_t *p = realloc(b->ev, cap * sizeof(*p));
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->ev = p;
        b->cap = cap;
    }
    wc_wev_t *e = &b->ev[b->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

uint32_t wc_wbuf_str(wc_wbuf_t *b, const char *s, size_t n)
{
    if (!n)
        return 0;
    if (!b->s) {
        b->scap = 4096;
        b->s = malloc(b->scap);
        if (!b->s) {
            b->oom = 1;
            return 0;
        }
        b->s[0] = '\0';
        b->slen = 1;
    }
    if (b->slen + n + 1 > b->scap) {
        size_t cap = b->scap;
        while (b->slen + n + 1 > cap)
            cap *= 2;
        if (cap > UINT32_MAX) {
            b->oom = 1;
            return 0;
        }
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return 0;
        }
        b->s = p;
        b->scap = cap;
    }
    uint32_t off = (uint32_t)b->slen;
    memcpy(b->s + off, s, n);
    b->s[off + n] = '\0';
    b->slen += n + 1;
    return off;
}

void wc_window_chunk_key(const wc_wev_t *e, char *buf, size_t size)
{
    snprintf(buf, size, "%c%d", e->input ? 'r' : 'm', (int)e->partition);
}

/* ---- cluster aggregation ------------------------------------------------ */

typedef struct agg {
    uint64_t h;        /* 0 = free */
    const char *kind;
    const char *topic;
    int64_t minute;
    uint32_t count;
    const char *example;
    const char *phrase[4];
    int nphrase;
} agg_t;

typedef struct aggtab {
    agg_t *t;
    size_t cap, n;
    uint32_t *order; /* insertion order, for stable output */
} aggtab_t;

static int agg_init(aggtab_t *a, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    a->t = calloc(cap, sizeof(*a->t));
    a->order = malloc(cap * sizeof(*a->order));
    a->cap = cap;
    a->n = 0;
    return a->t && a->order ? 0 : WC_ERR_NOMEM;
}

static void agg_free(aggtab_t *a)
{
    free(a->t);
    free(a->order);
}

static agg_t *agg_get(aggtab_t *a, const char *kind, const char *topic, int64_t minute)
{
    uint64_t h = wc_hash64(topic, strlen(topic), (uint64_t)minute * 4 + (kind[0] == 'q'));
    h |= 1;
    size_t i = h & (a->cap - 1);
    for (;;) {
        agg_t *e = &a->t[i];
        if (!e->h) {
            e->h = h;
            e->kind = kind;
            e->topic = topic;
            e->minute = minute;
            a->order[a->n++] = (uint32_t)i;
            return e;
        }
        if (e->h == h && e->minute == minute && e->kind == kind && !strcmp(e->topic, topic))
            return e;
        i = (i + 1) & (a->cap - 1);
    }
}

/* ---- encoder ------------------------------------------------------------- */

/* An event's number as a JSON string: the Lua side stores most of them as
 * they are (no number formatting in Redis, the costliest part of storing
 * them) and parses only those it computes with. */
static void put_num_str(wc_jsonw_t *out, int64_t v)
{
    wc_jsonw_char(out, '"');
    wc_jsonw_i64(out, v);
    wc_jsonw_char(out, '"');
}

static int cmp_ref(const void *pa, const void *pb)
{
    const wc_wref_t *a = pa, *b = pb;
    const wc_wev_t *x = &a->b->ev[a->i], *y = &b->b->ev[b->i];
    if (x->input != y->input)
        return x->input < y->input ? -1 : 1;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return 0;
}

int wc_window_encode(const wc_wref_t *refs_in, size_t n, wc_jsonw_t *out)
{
    wc_jsonw_reset(out);
    wc_wref_t *refs = malloc((n ? n : 1) * sizeof(*refs));
    if (!refs)
        return WC_ERR_NOMEM;
    if (n)
        memcpy(refs, refs_in, n * sizeof(*refs));
    qsort(refs, n, sizeof(*refs), cmp_ref);

    wc_jsonw_lit(out, "{\"ch\":[");
    size_t i = 0;
    int rc = 0;
    bool first_chunk = true;
    while (i < n) {
        const wc_wev_t *e0 = &refs[i].b->ev[refs[i].i];
        size_t j = i;
        while (j < n) {
            const wc_wev_t *e = &refs[j].b->ev[refs[j].i];
            if (e->input != e0->input || e->partition != e0->partition)
                break;
            j++;
        }
        /* chunk [i, j) */
        aggtab_t agg;
        if (agg_init(&agg, j - i)) {
            agg_free(&agg);
            rc = WC_ERR_NOMEM;
            break;
        }
        int64_t lo = INT64_MAX, hi = INT64_MIN, mn = INT64_MAX, mx = 0;
        uint64_t sc[5] = {0};
        for (size_t k = i; k < j; k++) {
            const wc_wbuf_t *b = refs[k].b;
            const wc_wev_t *e = &b->ev[refs[k].i];
            lo = e->offset < lo ? e->offset : lo;
            hi = e->offset > hi ? e->offset : hi;
            if (e->ts_ms > 0) {
                mn = e->ts_ms < mn ? e->ts_ms : mn;
                mx = e->ts_ms > mx ? e->ts_ms : mx;
            }
            if (e->type != WC_WEV_MENTION)
                continue;
            if (e->cls < 4)
                sc[e->cls]++;
            if (e->dup)
                sc[4]++;
            if (e->cls != 2 && e->cls != 3)
                continue;
            const char *kind = cls_names[e->cls];
            int64_t minute = e->ts_ms / 60000;
            int nt = e->ntopics ? e->ntopics : 1;
            for (int t = 0; t < nt; t++) {
                const char *topic = e->ntopics ? wc_wbuf_s(b, e->topics[t]) : "general";
                agg_t *a = agg_get(&agg, kind, topic, minute);
                a->count++;
                if (!a->example && e->mid)
                    a->example = wc_wbuf_s(b, e->mid);
                for (int p = 0; p < e->nphrases && a->nphrase < 4; p++) {
                    const char *ph = wc_wbuf_s(b, e->phrases[p]);
                    bool seen = false;
                    for (int q = 0; q < a->nphrase; q++)
                        seen |= !strcmp(a->phrase[q], ph);
                    if (!seen && *ph)
                        a->phrase[a->nphrase++] = ph;
                }
            }
        }
        char key[24];
        wc_window_chunk_key(e0, key, sizeof(key));
        if (!first_chunk)
            wc_jsonw_char(out, ',');
        first_chunk = false;
        wc_jsonw_lit(out, "{\"p\":");
        wc_jsonw_cstr(out, key);
        wc_jsonw_lit(out, ",\"lo\":");
        wc_jsonw_i64(out, lo);
        wc_jsonw_lit(out, ",\"hi\":");
        wc_jsonw_i64(out, hi);
        wc_jsonw_lit(out, ",\"mn\":");
        wc_jsonw_i64(out, mn == INT64_MAX ? 0 : mn);
        wc_jsonw_lit(out, ",\"mx\":");
        wc_jsonw_i64(out, mx);
        wc_jsonw_lit(out, ",\"sc\":[");
        for (int c = 0; c < 5; c++) {
            if (c)
                wc_jsonw_char(out, ',');
            wc_jsonw_i64(out, (int64_t)sc[c]);
        }
        wc_jsonw_lit(out, "],\"cl\":[");
        for (size_t k = 0; k < agg.n; k++) {
            const agg_t *a = &agg.t[agg.order[k]];
            if (k)
                wc_jsonw_char(out, ',');
            wc_jsonw_char(out, '[');
            wc_jsonw_cstr(out, a->kind);
            wc_jsonw_char(out, ',');
            wc_jsonw_cstr(out, a->topic);
            wc_jsonw_char(out, ',');
            wc_jsonw_i64(out, a->minute);
            wc_jsonw_char(out, ',');
            wc_jsonw_i64(out, a->count);
            wc_jsonw_char(out, ',');
            wc_jsonw_cstr(out, a->example ? a->example : "");
            for (int p = 0; p < a->nphrase; p++) {
                wc_jsonw_char(out, ',');
                wc_jsonw_cstr(out, a->phrase[p]);
            }
            wc_jsonw_char(out, ']');
        }
        agg_free(&agg);
        wc_jsonw_lit(out, "],\"ev\":[");
        bool first_ev = true;
        for (size_t k = i; k < j; k++) {
            const wc_wbuf_t *b = refs[k].b;
            const wc_wev_t *e = &b->ev[refs[k].i];
            if (e->type == WC_WEV_MENTION) {
                if (!e->dup && e->cls == 1)
                    continue; /* neutral originals only count in "sc" */
                if (!first_ev)
                    wc_jsonw_char(out, ',');
                first_ev = false;
                wc_jsonw_lit(out, "[\"m\",");
                wc_jsonw_cstr(out, wc_wbuf_s(b, e->cid));
                wc_jsonw_char(out, ',');
                wc_jsonw_cstr(out, wc_wbuf_s(b, e->author));
                wc_jsonw_char(out, ',');
                wc_jsonw_cstr(out, e->cls < 4 ? cls_names[e->cls] : "neutral");
                wc_jsonw_char(out, ',');
                put_num_str(out, e->ts_ms);
                wc_jsonw_char(out, ',');
                put_num_str(out, (int64_t)e->followers);
                wc_jsonw_char(out, ',');
                put_num_str(out, (int64_t)e->reshares);
                wc_jsonw_char(out, ',');
                put_num_str(out, e->due_ms);
                wc_jsonw_char(out, ',');
                wc_jsonw_cstr(out, wc_wbuf_s(b, e->mid));
                wc_jsonw_char(out, ',');
                wc_jsonw_cstr(out, e->dup ? wc_wbuf_s(b, e->dup_of) : "");
                wc_jsonw_char(out, ']');
            } else {
                if (!first_ev)
                    wc_jsonw_char(out, ',');
                first_ev = false;
                wc_jsonw_lit(out, "[\"r\",");
                wc_jsonw_cstr(out, wc_wbuf_s(b, e->cid));
                wc_jsonw_char(out, ',');
                wc_jsonw_cstr(out, wc_wbuf_s(b, e->agent));
                wc_jsonw_char(out, ',');
                put_num_str(out, e->ts_ms);
                wc_jsonw_char(out, ',');
                wc_jsonw_i64(out, e->resolved);
                wc_jsonw_char(out, ']');
            }
        }
        wc_jsonw_lit(out, "]}");
        i = j;
    }
    wc_jsonw_lit(out, "]}");
    free(refs);
    if (!rc && wc_jsonw_failed(out))
        rc = WC_ERR_NOMEM;
    return rc;
}
