/*
 * jsonw.h - fast JSON writer into a growable per-thread buffer.
 *
 * Used for every output document on the hot path (cases, DLQ, alerts,
 * stats). Input strings must be valid UTF-8 (the decoder guarantees it for
 * mention fields); quotes, backslashes and control characters are escaped.
 * Allocation failure is sticky: wc_jsonw_failed() reports it once at the
 * end instead of checking every append.
 *
 * @locality any thread; a wc_jsonw_t is owned by one thread.
 */
#ifndef WC_JSONW_H
#define WC_JSONW_H

#include "pipeline/common.h"

#include <string.h>

typedef struct wc_jsonw {
    char *buf;
    size_t len;
    size_t cap;
    int failed;
} wc_jsonw_t;

void wc_jsonw_init(wc_jsonw_t *w, size_t initial);
void wc_jsonw_deinit(wc_jsonw_t *w);
int wc_jsonw_grow(wc_jsonw_t *w, size_t need);

static inline void wc_jsonw_reset(wc_jsonw_t *w)
{
    w->len = 0;
    w->failed = 0;
}

static inline int wc_jsonw_failed(const wc_jsonw_t *w)
{
    return w->failed;
}

static inline int wc_jsonw_reserve(wc_jsonw_t *w, size_t n)
{
    if (WC_LIKELY(w->cap - w->len >= n))
        return 0;
    return wc_jsonw_grow(w, n);
}

static inline void wc_jsonw_raw(wc_jsonw_t *w, const char *s, size_t n)
{
    if (wc_jsonw_reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

#define wc_jsonw_lit(w, s) wc_jsonw_raw((w), (s), sizeof(s) - 1)

static inline void wc_jsonw_char(wc_jsonw_t *w, char c)
{
    if (wc_jsonw_reserve(w, 1))
        return;
    w->buf[w->len++] = c;
}

/* Quoted, escaped string. */
void wc_jsonw_str(wc_jsonw_t *w, const char *s, size_t n);
static inline void wc_jsonw_cstr(wc_jsonw_t *w, const char *s)
{
    wc_jsonw_str(w, s, strlen(s));
}
void wc_jsonw_i64(wc_jsonw_t *w, int64_t v);
void wc_jsonw_u64(wc_jsonw_t *w, uint64_t v);
/* Fixed-point with `decimals` digits (0..6), no exponent. */
void wc_jsonw_fixed(wc_jsonw_t *w, double v, int decimals);
/* Timestamp as quoted RFC 3339 UTC with milliseconds. */
void wc_jsonw_time(wc_jsonw_t *w, int64_t epoch_ms);

/* `"key":` (key is a literal without characters needing escapes). */
#define wc_jsonw_key(w, k) wc_jsonw_lit((w), "\"" k "\":")

#endif
