/*
 * window.c - window event buffers and the per-brand flush payload.
 *
 * Design: see window.h. The encoder makes one pass to find the chunks (a
 * chunk = events of one input partition) and, per chunk, aggregates cluster
 * contributions in a small open-addressing table keyed by (kind, topic,
 * minute). Sizes are bounded by one flush of one brand, so the tables are
 * allocated per call and freed at the end; the cost per mention is a hash
 * and a probe (see bench/bench_window.c). The payload is a list of
 * arguments (wc_wargs_t: one byte area + offsets) that the daemon passes
 * to FCALL as they are.
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

/* ---- payload arguments -------------------------------------------------- */

void wc_wargs_init(wc_wargs_t *a)
{
    memset(a, 0, sizeof(*a));
}

void wc_wargs_deinit(wc_wargs_t *a)
{
    free(a->buf);
    free(a->off);
    memset(a, 0, sizeof(*a));
}

void wc_wargs_reset(wc_wargs_t *a)
{
    a->len = 0;
    a->n = 0;
    a->oom = 0;
    if (a->off)
        a->off[0] = 0;
}

static void wargs_put(wc_wargs_t *a, const char *s, size_t n)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->ncap) {
        size_t cap = a->ncap ? a->ncap * 2 : 1024;
        size_t *p = realloc(a->off, cap * sizeof(*p));
        if (!p) {
            a->oom = 1;
            return;
        }
        if (!a->off)
            p[0] = 0;
        a->off = p;
        a->ncap = cap;
    }
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap : 16384;
        while (a->len + n > cap)
            cap *= 2;
        char *p = realloc(a->buf, cap);
        if (!p) {
            a->oom = 1;
            return;
        }
        a->buf = p;
        a->cap = cap;
    }
    if (n)
        memcpy(a->buf + a->len, s, n);
    a->len += n;
    a->off[++a->n] = a->len;
}

static void wargs_str(wc_wargs_t *a, const char *s)
{
    wargs_put(a, s, strlen(s));
}

static void wargs_i64(wc_wargs_t *a, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    wargs_put(a, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* ---- encoder ------------------------------------------------------------- */

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

/* Events of a chunk that Redis applies one by one: everything but neutral
 * originals (those only count in the chunk's class counters). */
static bool is_event(const wc_wev_t *e)
{
    return e->type != WC_WEV_MENTION || e->dup || e->cls != 1;
}

int wc_window_encode(const wc_wref_t *refs_in, size_t n, wc_wargs_t *out)
{
    wc_wargs_reset(out);
    wc_wref_t *refs = malloc((n ? n : 1) * sizeof(*refs));
    if (!refs)
        return WC_ERR_NOMEM;
    if (n)
        memcpy(refs, refs_in, n * sizeof(*refs));
    qsort(refs, n, sizeof(*refs), cmp_ref);

    size_t i = 0;
    int rc = 0;
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
        size_t nev = 0, ncl = 0;
        for (size_t k = i; k < j; k++) {
            const wc_wbuf_t *b = refs[k].b;
            const wc_wev_t *e = &b->ev[refs[k].i];
            lo = e->offset < lo ? e->offset : lo;
            hi = e->offset > hi ? e->offset : hi;
            if (e->ts_ms > 0) {
                mn = e->ts_ms < mn ? e->ts_ms : mn;
                mx = e->ts_ms > mx ? e->ts_ms : mx;
            }
            if (is_event(e))
                nev += e->type == WC_WEV_MENTION ? 10 : 5;
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
        for (size_t k = 0; k < agg.n; k++)
            ncl += 6 + (size_t)agg.t[agg.order[k]].nphrase;
        char key[24];
        wc_window_chunk_key(e0, key, sizeof(key));
        wargs_str(out, key);
        wargs_i64(out, lo);
        wargs_i64(out, hi);
        wargs_i64(out, mn == INT64_MAX ? 0 : mn);
        wargs_i64(out, mx);
        for (int c = 0; c < 5; c++)
            wargs_i64(out, (int64_t)sc[c]);
        wargs_i64(out, (int64_t)ncl);
        wargs_i64(out, (int64_t)nev);
        for (size_t k = 0; k < agg.n; k++) {
            const agg_t *a = &agg.t[agg.order[k]];
            wargs_str(out, a->kind);
            wargs_str(out, a->topic);
            wargs_i64(out, a->minute);
            wargs_i64(out, a->count);
            wargs_str(out, a->example ? a->example : "");
            wargs_i64(out, a->nphrase);
            for (int p = 0; p < a->nphrase; p++)
                wargs_str(out, a->phrase[p]);
        }
        agg_free(&agg);
        for (size_t k = i; k < j; k++) {
            const wc_wbuf_t *b = refs[k].b;
            const wc_wev_t *e = &b->ev[refs[k].i];
            if (!is_event(e))
                continue;
            if (e->type == WC_WEV_MENTION) {
                wargs_put(out, "m", 1);
                wargs_str(out, wc_wbuf_s(b, e->cid));
                wargs_str(out, wc_wbuf_s(b, e->author));
                wargs_str(out, e->cls < 4 ? cls_names[e->cls] : "neutral");
                wargs_i64(out, e->ts_ms);
                wargs_i64(out, (int64_t)e->followers);
                wargs_i64(out, (int64_t)e->reshares);
                wargs_i64(out, e->due_ms);
                wargs_str(out, wc_wbuf_s(b, e->mid));
                wargs_str(out, e->dup ? wc_wbuf_s(b, e->dup_of) : "");
            } else {
                wargs_put(out, "r", 1);
                wargs_str(out, wc_wbuf_s(b, e->cid));
                wargs_str(out, wc_wbuf_s(b, e->agent));
                wargs_i64(out, e->ts_ms);
                wargs_i64(out, e->resolved);
            }
        }
        i = j;
    }
    free(refs);
    if (!rc && out->oom)
        rc = WC_ERR_NOMEM;
    return rc;
}
