/* test_window.c - window event buffers and the wc_apply payload encoder. */
#include "pipeline/window.h"
#include "wc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wc_wev_t *add(wc_wbuf_t *b, int cls, int32_t part, int64_t off, int64_t ts, const char *topic)
{
    wc_wev_t *e = wc_wbuf_add(b);
    e->type = WC_WEV_MENTION;
    e->cls = (uint8_t)cls;
    e->partition = part;
    e->offset = off;
    e->ts_ms = ts;
    e->brand = wc_wbuf_str(b, "acme", 4);
    char id[32];
    int n = snprintf(id, sizeof(id), "m-%d-%lld", part, (long long)off);
    e->mid = wc_wbuf_str(b, id, (size_t)n);
    e->cid = wc_wbuf_str(b, "c-1", 3);
    e->author = wc_wbuf_str(b, "au", 2);
    if (topic) {
        e->topics[0] = wc_wbuf_str(b, topic, strlen(topic));
        e->ntopics = 1;
    }
    e->phrases[0] = wc_wbuf_str(b, "storing", 7);
    e->nphrases = 1;
    return e;
}

/* The payload arguments (format in window.h) parsed back into chunks. */
typedef struct pchunk {
    char p[16];
    long long lo, hi, mn, mx, sc[5];
    size_t cs, es, ee; /* argument ranges: clusters [cs, es), events [es, ee) */
} pchunk_t;

static char argbuf[8][256];
static int argslot;

/* argument i as a C string (one of 8 rotating buffers) */
static const char *arg(const wc_wargs_t *w, size_t i)
{
    size_t n;
    const char *s = wc_wargs_get(w, i, &n);
    char *o = argbuf[argslot++ % 8];
    if (n > 255)
        n = 255;
    memcpy(o, s, n);
    o[n] = '\0';
    return o;
}

static long long iarg(const wc_wargs_t *w, size_t i)
{
    return strtoll(arg(w, i), NULL, 10);
}

static int parse(const wc_wargs_t *w, pchunk_t *ch, int max)
{
    size_t pos = 0;
    int n = 0;
    while (pos < w->n && n < max) {
        pchunk_t *c = &ch[n++];
        snprintf(c->p, sizeof(c->p), "%s", arg(w, pos));
        c->lo = iarg(w, pos + 1);
        c->hi = iarg(w, pos + 2);
        c->mn = iarg(w, pos + 3);
        c->mx = iarg(w, pos + 4);
        for (int k = 0; k < 5; k++)
            c->sc[k] = iarg(w, pos + 5 + (size_t)k);
        c->cs = pos + 12;
        c->es = c->cs + (size_t)iarg(w, pos + 10);
        c->ee = c->es + (size_t)iarg(w, pos + 11);
        pos = c->ee;
    }
    return pos == w->n ? n : -1;
}

/* number of events of a chunk (and the argument index of event k in *at) */
static int events(const wc_wargs_t *w, const pchunk_t *c, int k, size_t *at)
{
    int n = 0;
    for (size_t i = c->es; i < c->ee; i += !strcmp(arg(w, i), "m") ? 10 : 5) {
        if (n == k && at)
            *at = i;
        n++;
    }
    return n;
}

WC_TEST(encode_chunks_and_aggregates)
{
    wc_wbuf_t b;
    wc_wbuf_init(&b);
    int64_t t = 1795400000000; /* minute-aligned */
    add(&b, 2, 1, 12, t, "outage");
    add(&b, 2, 0, 5, t + 1000, "outage");
    add(&b, 2, 1, 10, t + 2000, "outage");
    add(&b, 2, 1, 11, t + 61000, "outage"); /* next minute */
    add(&b, 1, 1, 13, t, NULL);            /* neutral: counted in sc only */
    add(&b, 3, 0, 6, t, NULL);             /* question, no topic: "general" */
    wc_wev_t *r = wc_wbuf_add(&b);
    r->type = WC_WEV_RESPONSE;
    r->input = 1;
    r->partition = 1;
    r->offset = 99;
    r->ts_ms = t;
    r->cid = wc_wbuf_str(&b, "c-9", 3);
    r->resolved = 1;

    wc_wref_t refs[7];
    for (uint32_t i = 0; i < 7; i++)
        refs[i] = (wc_wref_t){&b, i};
    wc_wargs_t w;
    wc_wargs_init(&w);
    WC_CHECK_EQ_INT(wc_window_encode(refs, 7, &w), 0);
    pchunk_t ch[4];
    WC_CHECK_EQ_INT(parse(&w, ch, 4), 3); /* m0, m1, r1 */
    const pchunk_t *m0 = &ch[0], *m1 = &ch[1], *r1 = &ch[2];
    WC_CHECK_STR(m0->p, "m0");
    WC_CHECK_STR(m1->p, "m1");
    WC_CHECK_STR(r1->p, "r1");
    WC_CHECK_EQ_INT((int)m1->lo, 10);
    WC_CHECK_EQ_INT((int)m1->hi, 13);
    WC_CHECK(m1->mn == t && m1->mx == t + 61000);
    /* m1: outage minute t: 2 (offsets 10, 12), minute t+1: 1 */
    int sum = 0, ncl = 0;
    for (size_t i = m1->cs; i < m1->es; i += 6 + (size_t)iarg(&w, i + 5)) {
        WC_CHECK_STR(arg(&w, i), "angry");
        WC_CHECK_STR(arg(&w, i + 1), "outage");
        WC_CHECK_EQ_INT((int)iarg(&w, i + 5), 1);
        WC_CHECK_STR(arg(&w, i + 6), "storing");
        int64_t minute = iarg(&w, i + 2);
        int cnt = (int)iarg(&w, i + 3);
        WC_CHECK_EQ_INT(cnt, minute == t / 60000 ? 2 : 1);
        sum += cnt;
        ncl++;
    }
    WC_CHECK_EQ_INT(ncl, 2);
    WC_CHECK_EQ_INT(sum, 3);
    /* sc of m1: happy 0, neutral 1, angry 3, question 0, dups 0 */
    WC_CHECK_EQ_INT((int)m1->sc[1], 1);
    WC_CHECK_EQ_INT((int)m1->sc[2], 3);
    /* neutral originals are not individual events */
    WC_CHECK_EQ_INT(events(&w, m1, -1, NULL), 3);
    /* m0: the question's cluster entry is the second */
    size_t q = m0->cs + 6 + (size_t)iarg(&w, m0->cs + 5);
    WC_CHECK_STR(arg(&w, q), "question");
    WC_CHECK_STR(arg(&w, q + 1), "general");
    size_t rev = 0;
    WC_CHECK_EQ_INT(events(&w, r1, 0, &rev), 1);
    WC_CHECK_STR(arg(&w, rev), "r");
    WC_CHECK_STR(arg(&w, rev + 1), "c-9");
    WC_CHECK_EQ_INT((int)iarg(&w, rev + 4), 1);
    char want[32];
    snprintf(want, sizeof(want), "%lld", (long long)t);
    WC_CHECK_STR(arg(&w, rev + 3), want);
    size_t mev = 0;
    WC_CHECK_EQ_INT(events(&w, m0, 1, &mev), 2); /* the question at t */
    WC_CHECK_STR(arg(&w, mev), "m");
    WC_CHECK_STR(arg(&w, mev + 1), "c-1");
    WC_CHECK_STR(arg(&w, mev + 2), "au");
    WC_CHECK_STR(arg(&w, mev + 3), "question");
    WC_CHECK_STR(arg(&w, mev + 4), want);
    WC_CHECK_STR(arg(&w, mev + 8), "m-0-6");
    WC_CHECK_STR(arg(&w, mev + 9), "");
    wc_wargs_deinit(&w);
    wc_wbuf_free(&b);
}

WC_TEST(strings_verbatim_and_grow)
{
    wc_wbuf_t b;
    wc_wbuf_init(&b);
    for (int i = 0; i < 5000; i++) {
        wc_wev_t *e = add(&b, 2, 0, i, 1795400000000 + i * 1000LL, "out\"age\n");
        e->mid = wc_wbuf_str(&b, "id\"\\x", 5);
    }
    WC_CHECK(!b.oom);
    WC_CHECK_STR(wc_wbuf_s(&b, b.ev[4999].topics[0]), "out\"age\n");
    WC_CHECK_STR(wc_wbuf_s(&b, 0), "");
    wc_wref_t *refs = calloc(b.n, sizeof(*refs));
    for (uint32_t i = 0; i < b.n; i++)
        refs[i] = (wc_wref_t){&b, i};
    wc_wargs_t w;
    wc_wargs_init(&w);
    WC_CHECK_EQ_INT(wc_window_encode(refs, b.n, &w), 0);
    pchunk_t ch[2];
    WC_CHECK_EQ_INT(parse(&w, ch, 2), 1);
    WC_CHECK_EQ_INT(events(&w, &ch[0], -1, NULL), 5000);
    /* strings are arguments as they are: no escaping */
    WC_CHECK_STR(arg(&w, ch[0].cs + 1), "out\"age\n");
    size_t ev = 0;
    events(&w, &ch[0], 4999, &ev);
    WC_CHECK_STR(arg(&w, ev + 8), "id\"\\x");
    wc_wbuf_clear(&b);
    WC_CHECK_EQ_INT((int)b.n, 0);
    WC_CHECK_EQ_INT(wc_window_encode(NULL, 0, &w), 0); /* idle-brand sweep */
    WC_CHECK_EQ_INT((int)w.n, 0);
    free(refs);
    wc_wargs_deinit(&w);
    wc_wbuf_free(&b);
}

int main(void)
{
    return wc_test_run_all();
}
