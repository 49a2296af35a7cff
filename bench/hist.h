/*
 * hist.h - a small HDR-style log-linear latency histogram (header only).
 *
 * Values are unsigned integers (the bench records microseconds). Values
 * below 2*WCB_HIST_HALF land in their own bucket; above that every power of
 * two is split into WCB_HIST_HALF linear sub-buckets, so the relative error
 * of any reported value is at most 1/WCB_HIST_HALF (1.6 % with 64) and the
 * whole range up to 2^40 fits in WCB_HIST_BUCKETS counters (18 KiB). Same
 * layout as HdrHistogram with 2 significant digits; recording is a clz, a
 * shift and an increment.
 *
 * Threads: none; a histogram has one owner. Merging is plain addition.
 */
#ifndef WCB_HIST_H
#define WCB_HIST_H

#include <stdint.h>
#include <string.h>

#define WCB_HIST_SUB_BITS 6
#define WCB_HIST_HALF (1u << WCB_HIST_SUB_BITS)          /* 64 */
#define WCB_HIST_MAX_SHIFT 34                             /* 2^40 max value */
#define WCB_HIST_BUCKETS ((WCB_HIST_MAX_SHIFT + 2) * WCB_HIST_HALF)

typedef struct wcb_hist {
    uint64_t count;
    uint64_t max;
    uint64_t min;
    double sum;
    uint64_t b[WCB_HIST_BUCKETS];
} wcb_hist_t;

static inline void wcb_hist_reset(wcb_hist_t *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static inline unsigned wcb_hist_index(uint64_t v)
{
    if (v < 2 * WCB_HIST_HALF)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - WCB_HIST_SUB_BITS;
    if (shift > WCB_HIST_MAX_SHIFT)
        return WCB_HIST_BUCKETS - 1;
    return shift * WCB_HIST_HALF + (unsigned)(v >> shift);
}

/* Lowest value that maps to bucket i. */
static inline uint64_t wcb_hist_lower(unsigned i)
{
    if (i < 2 * WCB_HIST_HALF)
        return i;
    unsigned shift = i / WCB_HIST_HALF - 1;
    return (uint64_t)(i % WCB_HIST_HALF + WCB_HIST_HALF) << shift;
}

/* Highest value that maps to bucket i. */
static inline uint64_t wcb_hist_upper(unsigned i)
{
    if (i < 2 * WCB_HIST_HALF)
        return i;
    unsigned shift = i / WCB_HIST_HALF - 1;
    return wcb_hist_lower(i) + ((uint64_t)1 << shift) - 1;
}

static inline void wcb_hist_record(wcb_hist_t *h, uint64_t v)
{
    h->b[wcb_hist_index(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v > h->max)
        h->max = v;
    if (v < h->min)
        h->min = v;
}

static inline void wcb_hist_add(wcb_hist_t *dst, const wcb_hist_t *src)
{
    for (unsigned i = 0; i < WCB_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
    if (src->min < dst->min)
        dst->min = src->min;
}

/* Value at quantile q (0..1): the upper bound of the bucket holding the
 * ceil(q*count)-th value, clamped to the recorded maximum (so p100 = max,
 * and a reported percentile never understates). 0 when empty. */
static inline uint64_t wcb_hist_quantile(const wcb_hist_t *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (unsigned i = 0; i < WCB_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t u = wcb_hist_upper(i);
            return u > h->max ? h->max : u;
        }
    }
    return h->max;
}

#endif /* WCB_HIST_H */
