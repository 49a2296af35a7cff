/*
 * metrics.h - counters and histograms, sharded per thread, rendered in
 * Prometheus text format on /metrics.
 *
 * Each thread (main loop, every worker) owns one shard and is its only
 * writer: increments are a relaxed load + store (no lock prefix). The HTTP
 * handler on the main loop sums relaxed loads across shards; a scrape may
 * see a counter a few increments old, never a torn value.
 */
#ifndef WC_METRICS_H
#define WC_METRICS_H

#include "pipeline/classify.h"
#include "pipeline/common.h"
#include "pipeline/dedup.h"
#include "pipeline/mention.h"

#include <stdatomic.h>

typedef enum wc_metric {
    WC_M_CONSUMED = 0,     /* input messages consumed (counted by the worker, batch start) */
    WC_M_CONSUME_ERRORS,   /* consumer errors reported by librdkafka */
    WC_M_PRODUCED,         /* outputs acknowledged by Kafka */
    WC_M_PRODUCE_FAILED,   /* delivery reports with an error (output re-produced) */
    WC_M_PRODUCE_QFULL,    /* local producer queue full waits */
    WC_M_PRODUCE_UNCONFIRMED, /* "delivered" reports without an offset (output re-produced) */
    WC_M_CASES_CREATED,    /* new cases */
    WC_M_CASES_REPLAYED,   /* cases re-emitted for replayed own input */
    WC_M_DEDUP_EXACT,      /* exact redeliveries dropped */
    WC_M_DEDUP_NEAR,       /* near-duplicates folded into a case */
    WC_M_DEDUP_REMOTE_HITS,/* exact duplicates found only through Redis */
    WC_M_DLQ,              /* DLQ records produced (any reason) */
    WC_M_REDIS_ERRORS,     /* Redis command/connection errors */
    WC_M_RULES_RELOADS,    /* successful rule reloads */
    WC_M_RULES_RELOAD_FAILS,
    WC_M_OFFSETS_COMMITTED,/* offset commits that succeeded */
    WC_M_COMMIT_ERRORS,
    WC_M_REBALANCES,
    WC_M_RESPONSES,        /* valid responses consumed */
    WC_M_DEDUP_REMOTE_ERRORS,   /* failed Redis claim calls (local result used: fail open) */
    WC_M_DEDUP_REMOTE_COMMANDS, /* Redis claim commands sent (one per batch and brand) */
    WC_M_ALERTS,           /* alert events produced from Redis windows */
    WC_M_WINDOW_FLUSHES,   /* wc_apply calls acknowledged by Redis */
    WC_M__COUNT
} wc_metric_t;

typedef enum wc_stage {
    WC_STAGE_DECODE = 0,
    WC_STAGE_CLASSIFY,
    WC_STAGE_DEDUP,
    WC_STAGE_EMIT,
    WC_STAGE__COUNT
} wc_stage_t;

#define WC_HIST_BUCKETS 16 /* upper bounds in ns: 125,250,...,4096000 (x2), +Inf */

/* Where a mention's time goes, per mention (not batch averages): histogram
 * webcared_latency_seconds{span=...}. All spans but "fetch" are measured on
 * the monotonic clock from the moment the main thread consumed the input. */
typedef enum wc_span {
    WC_SPAN_FETCH = 0, /* Kafka CreateTime of the input -> consumed (wall clocks, ms) */
    WC_SPAN_QUEUE,     /* consumed -> its worker batch starts */
    WC_SPAN_CLAIM,     /* the Redis dedup claim round trip of its batch */
    WC_SPAN_WORKER,    /* consumed -> its outputs handed to the producer */
    WC_SPAN_DELIVERED, /* consumed -> an output acknowledged by Kafka (per output) */
    WC_SPAN_WINDOW,    /* a window call (FCALL wc_apply), sent -> reply, per mention in it */
    WC_SPAN__COUNT
} wc_span_t;

#define WC_LAT_BUCKETS 18 /* upper bounds in µs: see wc_lat_bounds_us in metrics.c, +Inf */

typedef struct wc_metrics_shard {
    _Alignas(WC_CACHELINE) _Atomic uint64_t c[WC_M__COUNT];
    _Atomic uint64_t dlq[WC_DLQ__COUNT];
    _Atomic uint64_t cls[WC_CLASS__COUNT];
    _Atomic uint64_t stage_bucket[WC_STAGE__COUNT][WC_HIST_BUCKETS + 1];
    _Atomic uint64_t stage_sum_ns[WC_STAGE__COUNT];
    _Atomic uint64_t stage_count[WC_STAGE__COUNT];
    _Atomic uint64_t lat_bucket[WC_SPAN__COUNT][WC_LAT_BUCKETS + 1];
    _Atomic uint64_t lat_sum_us[WC_SPAN__COUNT];
    _Atomic uint64_t lat_count[WC_SPAN__COUNT];
} wc_metrics_shard_t;

static inline void wc_metric_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

#define WC_METRIC_INC(shard, m) wc_metric_add(&(shard)->c[(m)], 1)
#define WC_METRIC_ADD(shard, m, n) wc_metric_add(&(shard)->c[(m)], (n))

/* Record n mentions that took total_ns together in a stage (per-mention
 * average goes into the histogram, weighted by n). @locality shard owner */
void wc_metrics_stage(wc_metrics_shard_t *s, wc_stage_t st, uint64_t total_ns, uint64_t n);

/* Record n mentions that each took us microseconds in a span.
 * @locality shard owner */
void wc_metrics_latency(wc_metrics_shard_t *s, wc_span_t sp, int64_t us, uint64_t n);

typedef struct wc_metrics wc_metrics_t;
wc_metrics_t *wc_metrics_create(int nshards);
void wc_metrics_destroy(wc_metrics_t *m);
wc_metrics_shard_t *wc_metrics_shard(wc_metrics_t *m, int i);
uint64_t wc_metrics_sum(const wc_metrics_t *m, wc_metric_t which);

/* Why input consumption is held back (webcared_input_blocked_seconds_total;
 * daemon/app.c, app_input_blocked). */
typedef enum wc_block_reason {
    WC_BLOCK_NONE = 0,
    WC_BLOCK_NOT_RUNNING,      /* draining (the loop runs once the daemon is running) */
    WC_BLOCK_REBALANCE,
    WC_BLOCK_FATAL,
    WC_BLOCK_REDIS_DOWN,
    WC_BLOCK_TRANSACTION_CUT,  /* exactly-once: a transaction is being committed */
    WC_BLOCK_MAX_INFLIGHT,     /* kafka.max.inflight: outputs or window events wait */
    WC_BLOCK_WORKER_QUEUE_FULL,
    WC_BLOCK__COUNT
} wc_block_reason_t;

const char *wc_block_reason_name(wc_block_reason_t r);

/* Gauges supplied by the caller at render time. */
typedef struct wc_metrics_gauges {
    uint64_t inflight;
    uint64_t input_blocked_ns[WC_BLOCK__COUNT]; /* incl. the block going on now */
    uint64_t window_pending;   /* window events not yet applied in Redis */
    int64_t consumer_lag;
    int ready;
    int kafka_up;
    int redis_up;
    int workers;
    int64_t rules_loaded_at_ms;
    uint64_t assigned_partitions;
    wc_dedup_stats_t dedup; /* the in-process dedup table (wc_dedup_stats) */
} wc_metrics_gauges_t;

/* Render Prometheus text exposition into a malloc'ed buffer. */
char *wc_metrics_render(const wc_metrics_t *m, const wc_metrics_gauges_t *g, size_t *len);

#endif
