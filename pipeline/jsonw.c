/*
 * jsonw.c - JSON writer slow paths (see jsonw.h).
 *
 * String escaping scans for bytes that need escaping and copies clean runs
 * with memcpy; typical mention texts are one or two runs.
 */
#include "pipeline/jsonw.h"
#include "pipeline/mention.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void wc_jsonw_init(wc_jsonw_t *w, size_t initial)
{
    w->buf = NULL;
    w->len = w->cap = 0;
    w->failed = 0;
    if (initial)
        wc_jsonw_grow(w, initial);
}

void wc_jsonw_deinit(wc_jsonw_t *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

int wc_jsonw_grow(wc_jsonw_t *w, size_t need)
{
    if (w->failed)
        return -1;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < need)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->failed = 1;
        return -1;
    }
    w->buf = b;
    w->cap = cap;
    return 0;
}

static const char hexd[] = "0123456789abcdef";

void wc_jsonw_str(wc_jsonw_t *w, const char *s, size_t n)
{
    /* Worst case every byte becomes \u00XX (6 bytes) + quotes. */
    if (wc_jsonw_reserve(w, n * 6 + 2))
        return;
    char *o = w->buf + w->len;
    *o++ = '"';
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (WC_LIKELY(c >= 0x20 && c != '"' && c != '\\')) {
            i++;
            continue;
        }
        if (i > run) {
            memcpy(o, s + run, i - run);
            o += i - run;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
        run = ++i;
    }
    if (n > run) {
        memcpy(o, s + run, n - run);
        o += n - run;
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

void wc_jsonw_u64(wc_jsonw_t *w, uint64_t v)
{
    char tmp[24];
    int i = 24;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    wc_jsonw_raw(w, tmp + i, (size_t)(24 - i));
}

void wc_jsonw_i64(wc_jsonw_t *w, int64_t v)
{
    if (v < 0) {
        wc_jsonw_char(w, '-');
        wc_jsonw_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        wc_jsonw_u64(w, (uint64_t)v);
    }
}

void wc_jsonw_fixed(wc_jsonw_t *w, double v, int decimals)
{
    static const double pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (!isfinite(v))
        v = 0;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    if (v < 0) {
        wc_jsonw_char(w, '-');
        v = -v;
    }
    uint64_t scaled = (uint64_t)llround(v * pow10[decimals]);
    uint64_t ip = scaled / (uint64_t)pow10[decimals];
    uint64_t fp = scaled % (uint64_t)pow10[decimals];
    wc_jsonw_u64(w, ip);
    if (decimals) {
        char tmp[8];
        wc_jsonw_char(w, '.');
        for (int i = decimals - 1; i >= 0; i--) {
            tmp[i] = (char)('0' + fp % 10);
            fp /= 10;
        }
        wc_jsonw_raw(w, tmp, (size_t)decimals);
    }
}

void wc_jsonw_time(wc_jsonw_t *w, int64_t epoch_ms)
{
    char tmp[32];
    int n = wc_format_rfc3339(epoch_ms, tmp);
    wc_jsonw_char(w, '"');
    wc_jsonw_raw(w, tmp, (size_t)n);
    wc_jsonw_char(w, '"');
}
