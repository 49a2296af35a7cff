/*
 * metrics.c - shard allocation and Prometheus rendering (see metrics.h).
 */
#include "daemon/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

struct wc_metrics {
    int nshards;
    wc_metrics_shard_t *shards;
};

static const struct {
    const char *name;
    const char *help;
} metric_desc[WC_M__COUNT] = {
    [WC_M_CONSUMED] = {"webcared_consumed_total", "Input messages consumed (counted when a worker starts on them)."},
    [WC_M_CONSUME_ERRORS] = {"webcared_consume_errors_total", "Consumer errors reported by librdkafka."},
    [WC_M_PRODUCED] = {"webcared_produced_total", "Output messages acknowledged by Kafka."},
    [WC_M_PRODUCE_FAILED] = {"webcared_produce_failed_total", "Failed deliveries (the output is produced again)."},
    [WC_M_PRODUCE_QFULL] = {"webcared_produce_queue_full_total", "Waits on a full local producer queue."},
    [WC_M_PRODUCE_UNCONFIRMED] = {"webcared_produce_unconfirmed_total",
                                  "Delivery reports without an error but without an offset (not trusted: the output is produced again)."},
    [WC_M_CASES_CREATED] = {"webcared_cases_created_total", "New cases."},
    [WC_M_CASES_REPLAYED] = {"webcared_cases_replayed_total", "Cases re-emitted for replayed uncommitted input."},
    [WC_M_DEDUP_EXACT] = {"webcared_dedup_exact_total", "Exact redeliveries recognised (no new case)."},
    [WC_M_DEDUP_NEAR] = {"webcared_dedup_near_total", "Near-duplicates folded into an existing case."},
    [WC_M_DEDUP_REMOTE_HITS] = {"webcared_dedup_remote_hits_total", "Exact duplicates recognised through Redis (other instance or restart)."},
    [WC_M_DLQ] = {"webcared_dlq_produced_total", "Records sent to the dead-letter topic."},
    [WC_M_REDIS_ERRORS] = {"webcared_redis_errors_total", "Redis connection or command errors."},
    [WC_M_RULES_RELOADS] = {"webcared_rules_reloads_total", "Successful rule reloads."},
    [WC_M_RULES_RELOAD_FAILS] = {"webcared_rules_reload_failures_total", "Rejected rule reloads (old rules kept)."},
    [WC_M_OFFSETS_COMMITTED] = {"webcared_offset_commits_total", "Successful offset commits."},
    [WC_M_COMMIT_ERRORS] = {"webcared_offset_commit_errors_total", "Failed offset commits."},
    [WC_M_REBALANCES] = {"webcared_rebalances_total", "Consumer group rebalances (assign + revoke)."},
    [WC_M_RESPONSES] = {"webcared_responses_total", "Valid brand responses consumed."},
    [WC_M_DEDUP_REMOTE_ERRORS] = {"webcared_dedup_remote_errors_total", "Failed Redis dedup claims (the local result was used: a duplicate may pass, nothing is lost)."},
    [WC_M_DEDUP_REMOTE_COMMANDS] = {"webcared_dedup_remote_commands_total", "Redis dedup claim commands (one per worker batch and brand)."},
    [WC_M_ALERTS] = {"webcared_alerts_total", "Alert events (clusters, escalations, SLA) produced from the Redis windows."},
    [WC_M_WINDOW_FLUSHES] = {"webcared_window_flushes_total", "Window calls (FCALL wc_apply: per brand and flush, a large flush in several) applied."},
};

static const char *const stage_names[WC_STAGE__COUNT] = {"decode", "classify", "dedup", "emit"};

void wc_metrics_stage(wc_metrics_shard_t *s, wc_stage_t st, uint64_t total_ns, uint64_t n)
{
    if (!n)
        return;
    uint64_t avg = total_ns / n;
    int b = 0;
    uint64_t bound = 125;
    while (b < WC_HIST_BUCKETS && avg > bound) {
        bound <<= 1;
        b++;
    }
    wc_metric_add(&s->stage_bucket[st][b], n);
    wc_metric_add(&s->stage_sum_ns[st], total_ns);
    wc_metric_add(&s->stage_count[st], n);
}

static const char *const span_names[WC_SPAN__COUNT] = {"fetch", "queue", "claim",
                                                        "worker", "delivered", "window"};
static const uint32_t wc_lat_bounds_us[WC_LAT_BUCKETS] = {
    250, 500, 1000, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 50000,
    75000, 100000, 200000, 500000, 1000000, 5000000};

void wc_metrics_latency(wc_metrics_shard_t *s, wc_span_t sp, int64_t us, uint64_t n)
{
    if (!n)
        return;
    if (us < 0)
        us = 0; /* "fetch" compares two wall clocks */
    int b = 0;
    while (b < WC_LAT_BUCKETS && (uint64_t)us > wc_lat_bounds_us[b])
        b++;
    wc_metric_add(&s->lat_bucket[sp][b], n);
    wc_metric_add(&s->lat_sum_us[sp], (uint64_t)us * n);
    wc_metric_add(&s->lat_count[sp], n);
}

wc_metrics_t *wc_metrics_create(int nshards)
{
    wc_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nshards = nshards;
    m->shards = aligned_alloc(WC_CACHELINE, sizeof(wc_metrics_shard_t) * (size_t)nshards);
    if (!m->shards) {
        free(m);
        return NULL;
    }
    memset(m->shards, 0, sizeof(wc_metrics_shard_t) * (size_t)nshards);
    return m;
}

void wc_metrics_destroy(wc_metrics_t *m)
{
    if (!m)
        return;
    free(m->shards);
    free(m);
}

wc_metrics_shard_t *wc_metrics_shard(wc_metrics_t *m, int i)
{
    return &m->shards[i];
}

static uint64_t sum_at(const wc_metrics_t *m, size_t byte_off)
{
    uint64_t s = 0;
    for (int i = 0; i < m->nshards; i++) {
        _Atomic uint64_t *p = (_Atomic uint64_t *)((char *)&m->shards[i] + byte_off);
        s += atomic_load_explicit(p, memory_order_relaxed);
    }
    return s;
}

uint64_t wc_metrics_sum(const wc_metrics_t *m, wc_metric_t which)
{
    return sum_at(m, offsetof(wc_metrics_shard_t, c) + sizeof(uint64_t) * (size_t)which);
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf_t;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 16384;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return;
        b->p = np;
        b->cap = cap;
    }
}

static uint64_t stage_bound_ns(int k)
{
    return (uint64_t)125 << k;
}

static uint64_t lat_bound_us(int k)
{
    return wc_lat_bounds_us[k];
}

/* One series of a histogram family (label="value"), summed over the shards:
 * nbuckets cumulative buckets with upper bound bound(k), then +Inf, _sum and
 * _count. Bounds and sum are in units of 1/scale s, printed with prec
 * decimals; the offsets are those of the series' bucket row, sum and count
 * in a shard. */
static void render_hist(sbuf_t *b, const wc_metrics_t *m, const char *name, const char *label,
                        const char *value, uint64_t (*bound)(int k), int nbuckets, double scale,
                        int prec, size_t bucket_off, size_t sum_off, size_t count_off)
{
    uint64_t cum = 0;
    for (int k = 0; k <= nbuckets; k++) {
        cum += sum_at(m, bucket_off + sizeof(uint64_t) * (size_t)k);
        if (k < nbuckets)
            sb_printf(b, "%s_bucket{%s=\"%s\",le=\"%.*f\"} %llu\n", name, label, value, prec,
                      (double)bound(k) / scale, (unsigned long long)cum);
        else
            sb_printf(b, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label, value,
                      (unsigned long long)cum);
    }
    sb_printf(b, "%s_sum{%s=\"%s\"} %.*f\n", name, label, value, prec,
              (double)sum_at(m, sum_off) / scale);
    sb_printf(b, "%s_count{%s=\"%s\"} %llu\n", name, label, value,
              (unsigned long long)sum_at(m, count_off));
}

/* A histogram family: HELP and TYPE, then one render_hist series per
 * label value; the offsets are those of the family's first row (bucket
 * rows of nbuckets + 1, sums and counts one uint64_t per series). */
static void render_hist_family(sbuf_t *b, const wc_metrics_t *m, const char *name,
                               const char *help, const char *label, const char *const *values,
                               int nvalues, uint64_t (*bound)(int k), int nbuckets, double scale,
                               int prec, size_t bucket_off, size_t sum_off, size_t count_off)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (int i = 0; i < nvalues; i++)
        render_hist(b, m, name, label, values[i], bound, nbuckets, scale, prec,
                    bucket_off + sizeof(uint64_t) * (size_t)i * (size_t)(nbuckets + 1),
                    sum_off + sizeof(uint64_t) * (size_t)i,
                    count_off + sizeof(uint64_t) * (size_t)i);
}

const char *wc_block_reason_name(wc_block_reason_t r)
{
    static const char *const names[WC_BLOCK__COUNT] = {
        "none", "not_running", "rebalance", "fatal", "redis_down", "transaction_cut",
        "max_inflight", "worker_queue_full"};
    return r < WC_BLOCK__COUNT ? names[r] : "unknown";
}

char *wc_metrics_render(const wc_metrics_t *m, const wc_metrics_gauges_t *g, size_t *len)
{
    sbuf_t b = {0};
    for (int i = 0; i < WC_M__COUNT; i++) {
        sb_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", metric_desc[i].name,
                  metric_desc[i].help, metric_desc[i].name, metric_desc[i].name,
                  (unsigned long long)wc_metrics_sum(m, (wc_metric_t)i));
    }
    sb_printf(&b, "# HELP webcared_dlq_total Input messages sent to the dead-letter topic, by reason.\n"
                  "# TYPE webcared_dlq_total counter\n");
    for (int r = 1; r < WC_DLQ__COUNT; r++)
        sb_printf(&b, "webcared_dlq_total{reason=\"%s\"} %llu\n",
                  wc_dlq_reason_name((wc_dlq_reason_t)r),
                  (unsigned long long)sum_at(m, offsetof(wc_metrics_shard_t, dlq) +
                                                    sizeof(uint64_t) * (size_t)r));
    sb_printf(&b, "# HELP webcared_classified_total Mentions classified, by class.\n"
                  "# TYPE webcared_classified_total counter\n");
    for (int c = 0; c < WC_CLASS__COUNT; c++)
        sb_printf(&b, "webcared_classified_total{class=\"%s\"} %llu\n",
                  wc_class_name((wc_class_t)c),
                  (unsigned long long)sum_at(m, offsetof(wc_metrics_shard_t, cls) +
                                                    sizeof(uint64_t) * (size_t)c));
    render_hist_family(&b, m, "webcared_stage_seconds",
                       "Per-mention processing time by stage (batch averages).", "stage",
                       stage_names, WC_STAGE__COUNT, stage_bound_ns, WC_HIST_BUCKETS, 1e9, 9,
                       offsetof(wc_metrics_shard_t, stage_bucket),
                       offsetof(wc_metrics_shard_t, stage_sum_ns),
                       offsetof(wc_metrics_shard_t, stage_count));
    render_hist_family(&b, m, "webcared_latency_seconds",
                       "Where a mention's time goes, per mention: "
                       "fetch = Kafka CreateTime to consumed, queue = consumed to worker batch "
                       "start, claim = Redis dedup claim round trip, worker = consumed to outputs "
                       "produced, delivered = consumed to output acknowledged, window = window "
                       "call round trip.",
                       "span", span_names, WC_SPAN__COUNT, lat_bound_us, WC_LAT_BUCKETS, 1e6, 6,
                       offsetof(wc_metrics_shard_t, lat_bucket),
                       offsetof(wc_metrics_shard_t, lat_sum_us),
                       offsetof(wc_metrics_shard_t, lat_count));
    sb_printf(&b,
              "# HELP webcared_inflight Input messages consumed but not yet fully acknowledged.\n"
              "# TYPE webcared_inflight gauge\nwebcared_inflight %llu\n"
              "# HELP webcared_consumer_lag Sum of consumer lag over assigned partitions (-1 unknown).\n"
              "# TYPE webcared_consumer_lag gauge\nwebcared_consumer_lag %lld\n"
              "# HELP webcared_ready 1 when Kafka and Redis are reachable and input flows.\n"
              "# TYPE webcared_ready gauge\nwebcared_ready %d\n"
              "# HELP webcared_kafka_up 1 when at least one broker is reachable.\n"
              "# TYPE webcared_kafka_up gauge\nwebcared_kafka_up %d\n"
              "# HELP webcared_redis_up 1 when the Redis connection is established.\n"
              "# TYPE webcared_redis_up gauge\nwebcared_redis_up %d\n"
              "# HELP webcared_workers Worker threads.\n"
              "# TYPE webcared_workers gauge\nwebcared_workers %d\n"
              "# HELP webcared_assigned_partitions Input partitions assigned to this instance.\n"
              "# TYPE webcared_assigned_partitions gauge\nwebcared_assigned_partitions %llu\n"
              "# HELP webcared_rules_loaded_timestamp_seconds When the active rules were loaded.\n"
              "# TYPE webcared_rules_loaded_timestamp_seconds gauge\n"
              "webcared_rules_loaded_timestamp_seconds %.3f\n",
              (unsigned long long)g->inflight, (long long)g->consumer_lag, g->ready, g->kafka_up,
              g->redis_up, g->workers, (unsigned long long)g->assigned_partitions,
              (double)g->rules_loaded_at_ms / 1000.0);
    sb_printf(&b, "# HELP webcared_input_blocked_seconds_total Time input consumption was held "
                  "back, by reason: max_inflight (kafka.max.inflight reached: outputs or window "
                  "events wait, e.g. for Redis), worker_queue_full, redis_down, rebalance, "
                  "transaction_cut (exactly-once commit), not_running (draining), fatal.\n"
                  "# TYPE webcared_input_blocked_seconds_total counter\n");
    for (int r = 1; r < WC_BLOCK__COUNT; r++)
        sb_printf(&b, "webcared_input_blocked_seconds_total{reason=\"%s\"} %.3f\n",
                  wc_block_reason_name((wc_block_reason_t)r), (double)g->input_blocked_ns[r] / 1e9);
    sb_printf(&b,
              "# HELP webcared_window_pending_events Window events not yet applied in Redis "
              "(their input offsets are not committed before).\n"
              "# TYPE webcared_window_pending_events gauge\nwebcared_window_pending_events %llu\n",
              (unsigned long long)g->window_pending);
    const wc_dedup_stats_t *dd = &g->dedup;
    sb_printf(&b,
              "# HELP webcared_dedup_table_capacity Records in the in-process dedup table "
              "(dedup.capacity rounded up to a power of two).\n"
              "# TYPE webcared_dedup_table_capacity gauge\nwebcared_dedup_table_capacity %u\n"
              "# HELP webcared_dedup_table_memory_bytes Memory mapped for the dedup table.\n"
              "# TYPE webcared_dedup_table_memory_bytes gauge\nwebcared_dedup_table_memory_bytes %zu\n"
              "# HELP webcared_dedup_table_inserted_total Records handed out (first sightings and "
              "near-copies; counted per allocation chunk of 32).\n"
              "# TYPE webcared_dedup_table_inserted_total counter\n"
              "webcared_dedup_table_inserted_total %llu\n"
              "# HELP webcared_dedup_table_evicted_live_total Records recycled before "
              "dedup.window.s passed: the table is full and remembers capacity / rate, not the window.\n"
              "# TYPE webcared_dedup_table_evicted_live_total counter\n"
              "webcared_dedup_table_evicted_live_total %llu\n"
              "# HELP webcared_dedup_table_slot_full_total Index publishes that found their bucket "
              "full (one slot evicted).\n"
              "# TYPE webcared_dedup_table_slot_full_total counter\n"
              "webcared_dedup_table_slot_full_total %llu\n"
              "# HELP webcared_dedup_table_slot_evicted_live_total Of those, slots of live entries "
              "(approximate).\n"
              "# TYPE webcared_dedup_table_slot_evicted_live_total counter\n"
              "webcared_dedup_table_slot_evicted_live_total %llu\n"
              "# HELP webcared_dedup_table_publish_failed_total Index publishes that failed (bucket "
              "full of in-flight claims: a concurrent near-copy may be missed).\n"
              "# TYPE webcared_dedup_table_publish_failed_total counter\n"
              "webcared_dedup_table_publish_failed_total %llu\n"
              "# HELP webcared_dedup_table_author_evicted_total Distinct-author set entries "
              "overwritten (bucket full: distinct_authors may count an author twice).\n"
              "# TYPE webcared_dedup_table_author_evicted_total counter\n"
              "webcared_dedup_table_author_evicted_total %llu\n",
              dd->capacity, dd->memory_bytes, (unsigned long long)dd->inserted,
              (unsigned long long)dd->evicted_live, (unsigned long long)dd->slot_full,
              (unsigned long long)dd->slot_evicted_live, (unsigned long long)dd->publish_failed,
              (unsigned long long)dd->author_evicted);
    *len = b.len;
    return b.p;
}
