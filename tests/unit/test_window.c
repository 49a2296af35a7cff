/* test_window.c - window event buffers and the wc_apply payload encoder. */
#include "pipeline/window.h"
#include "wc_test.h"

#include <jansson.h>
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
    wc_jsonw_t w;
    wc_jsonw_init(&w, 64);
    WC_CHECK_EQ_INT(wc_window_encode(refs, 7, &w), 0);
    json_error_t je;
    json_t *root = json_loadb(w.buf, w.len, 0, &je);
    WC_CHECK(root != NULL);
    if (!root) {
        fprintf(stderr, "bad json: %s: %.*s\n", je.text, (int)w.len, w.buf);
        return;
    }
    json_t *ch = json_object_get(root, "ch");
    WC_CHECK_EQ_INT((int)json_array_size(ch), 3); /* m0, m1, r1 */
    json_t *m0 = json_array_get(ch, 0), *m1 = json_array_get(ch, 1), *r1 = json_array_get(ch, 2);
    WC_CHECK_STR(json_string_value(json_object_get(m0, "p")), "m0");
    WC_CHECK_STR(json_string_value(json_object_get(m1, "p")), "m1");
    WC_CHECK_STR(json_string_value(json_object_get(r1, "p")), "r1");
    WC_CHECK_EQ_INT((int)json_integer_value(json_object_get(m1, "lo")), 10);
    WC_CHECK_EQ_INT((int)json_integer_value(json_object_get(m1, "hi")), 13);
    /* m1: outage minute t: 2 (offsets 10, 12), minute t+1: 1 */
    json_t *cl = json_object_get(m1, "cl");
    WC_CHECK_EQ_INT((int)json_array_size(cl), 2);
    int sum = 0;
    for (size_t i = 0; i < json_array_size(cl); i++) {
        json_t *e = json_array_get(cl, i);
        WC_CHECK_STR(json_string_value(json_array_get(e, 0)), "angry");
        WC_CHECK_STR(json_string_value(json_array_get(e, 1)), "outage");
        WC_CHECK_STR(json_string_value(json_array_get(e, 5)), "storing");
        int64_t minute = json_integer_value(json_array_get(e, 2));
        int cnt = (int)json_integer_value(json_array_get(e, 3));
        WC_CHECK_EQ_INT(cnt, minute == t / 60000 ? 2 : 1);
        sum += cnt;
    }
    WC_CHECK_EQ_INT(sum, 3);
    /* sc of m1: happy 0, neutral 1, angry 3, question 0, dups 0 */
    json_t *sc = json_object_get(m1, "sc");
    WC_CHECK_EQ_INT((int)json_integer_value(json_array_get(sc, 1)), 1);
    WC_CHECK_EQ_INT((int)json_integer_value(json_array_get(sc, 2)), 3);
    /* neutral originals are not individual events */
    WC_CHECK_EQ_INT((int)json_array_size(json_object_get(m1, "ev")), 3);
    json_t *q = json_array_get(json_object_get(m0, "cl"), 1);
    WC_CHECK_STR(json_string_value(json_array_get(q, 0)), "question");
    WC_CHECK_STR(json_string_value(json_array_get(q, 1)), "general");
    json_t *rev = json_array_get(json_object_get(r1, "ev"), 0);
    WC_CHECK_STR(json_string_value(json_array_get(rev, 0)), "r");
    WC_CHECK_STR(json_string_value(json_array_get(rev, 1)), "c-9");
    WC_CHECK_EQ_INT((int)json_integer_value(json_array_get(rev, 4)), 1);
    /* the events' numbers are JSON strings (ts, followers, reshares, due) */
    char want[32];
    snprintf(want, sizeof(want), "%lld", (long long)t);
    WC_CHECK_STR(json_string_value(json_array_get(rev, 3)), want);
    json_t *mev = json_array_get(json_object_get(m0, "ev"), 1); /* the question at t */
    WC_CHECK_STR(json_string_value(json_array_get(mev, 0)), "m");
    WC_CHECK_STR(json_string_value(json_array_get(mev, 4)), want);
    for (int k = 5; k <= 7; k++)
        WC_CHECK(json_is_string(json_array_get(mev, k)));
    json_decref(root);
    wc_jsonw_deinit(&w);
    wc_wbuf_free(&b);
}

WC_TEST(strings_escape_and_grow)
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
    wc_jsonw_t w;
    wc_jsonw_init(&w, 64);
    WC_CHECK_EQ_INT(wc_window_encode(refs, b.n, &w), 0);
    json_error_t je;
    json_t *root = json_loadb(w.buf, w.len, 0, &je);
    WC_CHECK(root != NULL);
    json_t *c0 = json_array_get(json_object_get(root, "ch"), 0);
    WC_CHECK_EQ_INT((int)json_array_size(json_object_get(c0, "ev")), 5000);
    json_decref(root);
    wc_wbuf_clear(&b);
    WC_CHECK_EQ_INT((int)b.n, 0);
    WC_CHECK_EQ_INT(wc_window_encode(NULL, 0, &w), 0); /* idle-brand sweep */
    WC_CHECK_STRN(w.buf, w.len, "{\"ch\":[]}");
    free(refs);
    wc_jsonw_deinit(&w);
    wc_wbuf_free(&b);
}

int main(void)
{
    return wc_test_run_all();
}
