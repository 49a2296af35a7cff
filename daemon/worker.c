/*
 * worker.c - worker threads: decode, classify, dedup, emit.
 *
 * Threads and ownership
 *   Each worker owns one input ring (SPSC, producer = main thread), an
 *   arena, a classifier scratch, a JSON writer, a metrics shard and a small
 *   cache of producer topic handles. It shares read-only the rules snapshot
 *   (epoch-protected, see below) and the lock-free dedup table, and calls
 *   the thread-safe librdkafka producer directly (no hand-back to the main
 *   thread for produce). Delivery reports arrive on the main thread and
 *   release the tracking references taken here.
 *
 * Batches
 *   A worker pops up to WC_WORKER_BATCH jobs and runs the stages batch-wise
 *   (decode+classify+local dedup for all, then emit for all) so per-batch
 *   costs (rules snapshot, Redis round trips, timing) are amortised.
 *
 * Sleep / wake protocol (Dekker style, both sides seq_cst)
 *   worker: sleeping = 1; if ring non-empty (seq_cst re-read) -> sleeping = 0
 *           else poll(eventfd, 100 ms)
 *   main:   push (release), seq_cst fence, if sleeping -> write(eventfd)
 *   Either the worker sees the new tail or the main thread sees sleeping=1.
 *
 * Rules snapshot (epoch-based reclamation)
 *   Before a batch the worker publishes quiescent = global epoch (seq_cst)
 *   and then loads the rules pointer; after the batch it publishes
 *   quiescent = UINT64_MAX (idle). A reload swaps the pointer, then bumps
 *   the epoch to E and retires the old snapshot with E; it is released once
 *   every worker's quiescent value is >= E.
 *
 * Dedup
 *   The shared lock-free table (pipeline/dedup.c) decides per mention;
 *   the mentions it calls first sightings (NEW, and NEAR: the near-copy's
 *   own id) are then claimed in Redis by this worker's synchronous
 *   connection, one command per brand for the whole batch
 *   (pipeline/dedup_remote.c), which recognises redeliveries seen by
 *   another instance or before a restart. Redis errors fail open: the
 *   local result stands (a duplicate may pass, a mention is never lost);
 *   counted in webcared_dedup_remote_errors_total, logged at most every
 *   10 s.
 *
 * Nothing lost: every job ends with at least one output produced (case,
 * duplicate update or DLQ record), or a counted exact-duplicate drop, before
 * its initial tracking reference is released.
 */
#include "daemon/app_internal.h"
#include "daemon/windows.h"
#include "pipeline/arena.h"
#include "pipeline/dedup_remote.h"
#include "pipeline/emit.h"
#include "pipeline/hash.h"
#include "pipeline/jsonw.h"
#include "pipeline/log.h"
#include "pipeline/response.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WC_WORKER_BATCH 256
#define WC_WORKER_RING 16384
#define WC_WORKER_RKT_CACHE 32

typedef struct rkt_cache_entry {
    const char *name; /* pointer identity within one rules snapshot */
    rd_kafka_topic_t *rkt;
    bool allowed;
} rkt_cache_entry_t;

typedef enum job_status {
    JOB_OK = 0,
    JOB_DLQ,
} job_status_t;

typedef struct job_state {
    job_status_t status;
    wc_decode_err_t err;
    wc_mention_t m;
    wc_verdict_t v;
    wc_dedup_key_t k;
    wc_dedup_result_t d;
} job_state_t;

struct wc_worker {
    wc_app_t *app;
    int index;
    pthread_t thread;
    bool started;
    wc_ring_t ring;
    int efd;
    _Atomic int sleeping;
    _Atomic int stop;
    _Atomic uint64_t quiescent;

    wc_arena_t arena;
    wc_classifier_t *classifier;
    wc_jsonw_t jw;
    wc_metrics_shard_t *ms;
    wc_dedup_remote_t *remote; /* NULL: dedup.remote off or no Redis configured */
    int64_t remote_log_ms;     /* last remote error logged (rate limit) */
    wc_dedup_claim_t claims[WC_WORKER_BATCH];
    uint16_t claim_job[WC_WORKER_BATCH];
    const wc_dedup_key_t *dd_keys[WC_WORKER_BATCH]; /* wc_dedup_check_batch arguments */
    wc_dedup_result_t *dd_res[WC_WORKER_BATCH];
    const wc_rules_t *cache_rules;
    rkt_cache_entry_t rkt_cache[WC_WORKER_RKT_CACHE];
    int rkt_n;

    wc_job_t *jobs[WC_WORKER_BATCH];
    job_state_t st[WC_WORKER_BATCH];
};

wc_worker_t *wc_worker_create(wc_app_t *app, int index, char *errstr, size_t errstr_size)
{
    wc_worker_t *w = calloc(1, sizeof(*w));
    if (!w) {
        wc_errstr_set(errstr, errstr_size, "worker %d: out of memory", index);
        return NULL;
    }
    w->app = app;
    w->index = index;
    w->efd = -1;
    atomic_init(&w->quiescent, UINT64_MAX);
    if (wc_ring_init(&w->ring, WC_WORKER_RING))
        goto fail;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0)
        goto fail;
    wc_arena_init(&w->arena, 256 * 1024);
    w->classifier = wc_classifier_create();
    if (!w->classifier)
        goto fail;
    wc_jsonw_init(&w->jw, 4096);
    w->ms = wc_metrics_shard(app->metrics, index + 1);
    const wc_config_t *cfg = app->cfg;
    bool own = cfg->dedup_redis_addr && *cfg->dedup_redis_addr;
    const char *raddr = own ? cfg->dedup_redis_addr : cfg->redis_addr;
    if (cfg->dedup_remote && raddr && *raddr) {
        w->remote = wc_dedup_remote_create(raddr, own ? cfg->dedup_redis_password : cfg->redis_password,
                                           cfg->redis_timeout_ms, (int64_t)cfg->dedup_window_s * 1000,
                                           errstr, errstr_size);
        if (!w->remote) {
            wc_worker_destroy(w);
            return NULL;
        }
    }
    return w;
fail:
    wc_errstr_set(errstr, errstr_size, "worker %d: cannot allocate resources: %s", index,
                  strerror(errno ? errno : ENOMEM));
    wc_worker_destroy(w);
    return NULL;
}

static void rkt_cache_flush(wc_worker_t *w)
{
    for (int i = 0; i < w->rkt_n; i++)
        if (w->rkt_cache[i].rkt)
            rd_kafka_topic_destroy(w->rkt_cache[i].rkt);
    w->rkt_n = 0;
}

void wc_worker_destroy(wc_worker_t *w)
{
    if (!w)
        return;
    rkt_cache_flush(w);
    wc_ring_deinit(&w->ring);
    if (w->efd >= 0)
        close(w->efd);
    wc_arena_deinit(&w->arena);
    wc_classifier_destroy(w->classifier);
    wc_jsonw_deinit(&w->jw);
    wc_dedup_remote_destroy(w->remote);
    free(w);
}

size_t wc_worker_push(wc_worker_t *w, wc_job_t *const *jobs, size_t n)
{
    return wc_ring_push_n(&w->ring, (void *const *)jobs, n);
}

size_t wc_worker_free_space(wc_worker_t *w)
{
    return wc_ring_free_space(&w->ring);
}

void wc_worker_kick(wc_worker_t *w)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->sleeping, memory_order_seq_cst)) {
        uint64_t one = 1;
        ssize_t r = write(w->efd, &one, sizeof(one));
        (void)r;
    }
}

uint64_t wc_worker_quiescent_epoch(wc_worker_t *w)
{
    return atomic_load_explicit(&w->quiescent, memory_order_seq_cst);
}

/* Topic handle for an output topic of the current snapshot; also checks the
 * routing allow-list (output topics only from the routing table). */
static rkt_cache_entry_t *worker_topic(wc_worker_t *w, const wc_rules_t *rules, const char *name)
{
    if (w->cache_rules != rules) {
        rkt_cache_flush(w);
        w->cache_rules = rules;
    }
    for (int i = 0; i < w->rkt_n; i++)
        if (w->rkt_cache[i].name == name)
            return &w->rkt_cache[i];
    bool allowed = false;
    for (const char *const *t = wc_rules_output_topics(rules); t && *t; t++)
        if (!strcmp(*t, name)) {
            allowed = true;
            break;
        }
    if (w->rkt_n == WC_WORKER_RKT_CACHE)
        rkt_cache_flush(w);
    rkt_cache_entry_t *e = &w->rkt_cache[w->rkt_n++];
    e->name = name;
    e->allowed = allowed;
    e->rkt = allowed ? rd_kafka_topic_new(w->app->producer, name, NULL) : NULL;
    if (allowed && !e->rkt)
        e->allowed = false;
    return e;
}

/* Produce; on a full local queue wait (the main thread serves delivery
 * reports meanwhile). */
static void worker_produce(wc_worker_t *w, rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                           const void *payload, size_t len, rd_kafka_headers_t *hdrs,
                           wc_job_t *job)
{
    for (;;) {
        int err = wc_output_produce(w->app, rkt, key, keylen, payload, len, hdrs, job);
        if (err == 0)
            return;
        if (err == WC_ERR_FULL) {
            WC_METRIC_INC(w->ms, WC_M_PRODUCE_QFULL);
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        /* Fatal producer error: the main loop shuts down; the input offset
         * is never committed because the job reference is still held by
         * the caller until it releases, and app->fatal stops commits. */
        wc_err("worker", "produce to %s failed: %s (partition %d offset %lld)",
               rd_kafka_topic_name(rkt), wc_strerror(err), job->partition,
               (long long)job->offset);
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        atomic_store(&w->app->fatal, 1);
        return;
    }
}

static void worker_dlq(wc_worker_t *w, wc_job_t *job, const wc_decode_err_t *err)
{
    rd_kafka_message_t *msg = job->ref;
    wc_app_t *app = w->app;
    char num[32];
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    const char *reason = wc_dlq_reason_name(err->reason);
    size_t len = msg->len;
    bool truncated = false;

    rd_kafka_header_add(h, "wc.reason", -1, reason, -1);
    rd_kafka_header_add(h, "wc.detail", -1, err->detail, -1);
    if (err->field)
        rd_kafka_header_add(h, "wc.field", -1, err->field, -1);
    rd_kafka_header_add(h, "wc.source.topic", -1, rd_kafka_topic_name(msg->rkt), -1);
    snprintf(num, sizeof(num), "%d", msg->partition);
    rd_kafka_header_add(h, "wc.source.partition", -1, num, -1);
    snprintf(num, sizeof(num), "%lld", (long long)msg->offset);
    rd_kafka_header_add(h, "wc.source.offset", -1, num, -1);
    snprintf(num, sizeof(num), "%zu", err->offset);
    rd_kafka_header_add(h, "wc.error.offset", -1, num, -1);
    snprintf(num, sizeof(num), "%zu", msg->len);
    rd_kafka_header_add(h, "wc.original.size", -1, num, -1);
    if (len > app->limits.max_bytes) {
        /* The original stays in the input topic at the recorded offset; the
         * DLQ copy is cut so it fits a default broker message size. */
        len = app->limits.max_bytes;
        truncated = true;
    }
    rd_kafka_header_add(h, "wc.truncated", -1, truncated ? "true" : "false", -1);
    wc_metric_add(&w->ms->dlq[err->reason], 1);
    WC_METRIC_INC(w->ms, WC_M_DLQ);
    wc_dbg(WC_DBG_WORKER, "worker", "dlq partition %d offset %lld: %s %s", msg->partition,
           (long long)msg->offset, reason, err->detail);
    worker_produce(w, app->rkt_dlq, msg->key, msg->key_len, msg->payload, len, h, job);
}

/* Responses (the brand's replies): validated here; bad ones go to the DLQ
 * like bad mentions. Returns with the response jobs removed from w->jobs
 * (compacted in place), so the mention stages see mentions only. */
static size_t worker_responses(wc_worker_t *w, size_t n)
{
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        wc_job_t *job = w->jobs[i];
        if (job->topic != WC_TOPIC_RESPONSES) {
            w->jobs[keep++] = job;
            continue;
        }
        rd_kafka_message_t *msg = job->ref;
        wc_response_t r;
        wc_decode_err_t err;
        if (wc_response_decode(&r, msg->payload, msg->len, w->app->limits.max_bytes, &err))
            worker_dlq(w, job, &err);
        else {
            WC_METRIC_INC(w->ms, WC_M_RESPONSES);
            wc_wsink_t *ws = wc_windows_sink(w->app->windows, w->index);
            if (ws) {
                wc_wsink_lock(ws);
                wc_wsink_add_response(ws, &r, msg->partition, msg->offset, job);
                wc_wsink_unlock(ws);
            }
        }
        rd_kafka_message_destroy(msg);
        job->ref = NULL;
        wc_track_release(job);
    }
    return keep;
}

/* Cross-instance exact claims for the batch's local first sightings. A
 * claim another delivery made first turns the result into EXACT (no new
 * case, no second duplicate update); our own earlier claim (same
 * partition:offset, e.g. replay after a restart) into REPLAY (re-emit). */
static void worker_remote_claims(wc_worker_t *w, size_t n, int64_t now_ms)
{
    char err[256];
    uint64_t before = 0;
    wc_dedup_remote_stats_t st;
    wc_dedup_remote_stats(w->remote, &st);
    before = st.commands;
    int64_t t0 = wc_mono_ns();
    int rc = wc_dedup_remote_claim(w->remote, w->claims, n, now_ms, err, sizeof(err));
    wc_metrics_latency(w->ms, WC_SPAN_CLAIM, (wc_mono_ns() - t0) / 1000, n);
    wc_dedup_remote_stats(w->remote, &st);
    WC_METRIC_ADD(w->ms, WC_M_DEDUP_REMOTE_COMMANDS, st.commands - before);
    if (rc) {
        WC_METRIC_INC(w->ms, WC_M_DEDUP_REMOTE_ERRORS);
        int64_t t = wc_mono_ns() / 1000000;
        if (!w->remote_log_ms || t - w->remote_log_ms >= 10000) {
            w->remote_log_ms = t;
            wc_warn("dedup", "worker %d: redis claim of %zu ids failed (%s): using local results",
                    w->index, n, err);
        }
        return;
    }
    for (size_t j = 0; j < n; j++) {
        job_state_t *s = &w->st[w->claim_job[j]];
        if (w->claims[j].state == WC_DEDUP_CLAIM_NEW)
            continue;
        wc_dedup_kind_t first = s->d.kind;
        s->d.first_kind = first;
        if (w->claims[j].state == WC_DEDUP_CLAIM_EXISTS) {
            s->d.kind = WC_DEDUP_EXACT;
            WC_METRIC_INC(w->ms, WC_M_DEDUP_REMOTE_HITS);
        } else {
            s->d.kind = WC_DEDUP_REPLAY;
        }
    }
}

static void worker_decode_classify(wc_worker_t *w, const wc_rules_t *rules, size_t n,
                                   int64_t now_ms)
{
    wc_app_t *app = w->app;
    int64_t t0 = wc_mono_ns(), t1, t2, t3;
    size_t ok = 0, nclaims = 0;

    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *msg = w->jobs[i]->ref;
        job_state_t *s = &w->st[i];
        s->status = JOB_OK;
        if (!msg->payload || msg->len == 0) {
            s->status = JOB_DLQ;
            memset(&s->err, 0, sizeof(s->err));
            s->err.reason = WC_DLQ_EMPTY;
            snprintf(s->err.detail, sizeof(s->err.detail), "empty or null payload");
            continue;
        }
        if (wc_mention_decode(&s->m, msg->payload, msg->len, &app->limits, &w->arena, &s->err)) {
            s->status = JOB_DLQ;
            continue;
        }
        ok++;
    }
    t1 = wc_mono_ns();
    for (size_t i = 0; i < n; i++) {
        job_state_t *s = &w->st[i];
        if (s->status != JOB_OK)
            continue;
        wc_classify(rules, w->classifier, &s->m, now_ms, &s->v);
        wc_metric_add(&w->ms->cls[s->v.cls], 1);

        /* the dedup key needs this mention's normalised text: build it now */
        rd_kafka_message_t *msg = w->jobs[i]->ref;
        wc_dedup_key_init(&s->k, &s->m, wc_classifier_norm(w->classifier),
                          app->cfg->dedup_min_tokens);
        s->k.partition = msg->partition;
        s->k.offset = msg->offset;
        s->k.route_id = s->v.route_id;
    }
    t2 = wc_mono_ns();

    /* Dedup: the shared lock-free table checks the batch in order (it
     * prefetches the lines of mention i + 4 while checking i), then one
     * Redis claim round trip for the first sightings. */
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        if (w->st[i].status != JOB_OK)
            continue;
        w->dd_keys[nk] = &w->st[i].k;
        w->dd_res[nk++] = &w->st[i].d;
    }
    wc_dedup_check_batch(app->dedup, w->dd_keys, w->dd_res, nk, now_ms);
    for (size_t i = 0; i < n; i++) {
        job_state_t *s = &w->st[i];
        if (s->status != JOB_OK)
            continue;
        if (w->remote && (s->d.kind == WC_DEDUP_NEW || s->d.kind == WC_DEDUP_NEAR)) {
            wc_dedup_claim_t *c = &w->claims[nclaims];
            c->brand = s->m.brand.p;
            c->brand_len = s->m.brand.len;
            c->id_hash = s->k.id_hash;
            c->partition = s->k.partition;
            c->offset = s->k.offset;
            w->claim_job[nclaims++] = (uint16_t)i;
        }
    }
    if (nclaims)
        worker_remote_claims(w, nclaims, now_ms);
    t3 = wc_mono_ns();
    wc_metrics_stage(w->ms, WC_STAGE_DECODE, (uint64_t)(t1 - t0), n);
    wc_metrics_stage(w->ms, WC_STAGE_CLASSIFY, (uint64_t)(t2 - t1), ok);
    wc_metrics_stage(w->ms, WC_STAGE_DEDUP, (uint64_t)(t3 - t2), ok);
}

static void worker_emit(wc_worker_t *w, const wc_rules_t *rules, size_t n, int64_t now_ms)
{
    wc_app_t *app = w->app;
    int64_t t0 = wc_mono_ns();

    wc_wsink_t *ws = wc_windows_sink(app->windows, w->index);
    if (ws)
        wc_wsink_lock(ws);
    for (size_t i = 0; i < n; i++) {
        wc_job_t *job = w->jobs[i];
        rd_kafka_message_t *msg = job->ref;
        job_state_t *s = &w->st[i];
        if (s->status == JOB_DLQ) {
            worker_dlq(w, job, &s->err);
            continue;
        }
        if (s->d.kind == WC_DEDUP_EXACT) {
            WC_METRIC_INC(w->ms, WC_M_DEDUP_EXACT);
            continue;
        }
        rkt_cache_entry_t *te = worker_topic(w, rules, s->v.route_topic);
        if (!te->allowed) {
            wc_decode_err_t e = {.reason = WC_DLQ_NO_ROUTE, .field = NULL, .offset = 0};
            snprintf(e.detail, sizeof(e.detail), "route topic \"%.64s\" not in allow-list",
                     s->v.route_topic);
            worker_dlq(w, job, &e);
            continue;
        }
        wc_case_ctx_t c = {
            .m = &s->m,
            .v = &s->v,
            .d = &s->d,
            .source_topic = rd_kafka_topic_name(msg->rkt),
            .partition = msg->partition,
            .offset = msg->offset,
            .now_ms = now_ms,
        };
        char cid[WC_CASE_ID_LEN + 1];
        wc_case_id_format(s->d.case_id, cid);
        wc_jsonw_reset(&w->jw);
        if (s->d.kind == WC_DEDUP_NEAR ||
            (s->d.kind == WC_DEDUP_REPLAY && s->d.first_kind == WC_DEDUP_NEAR)) {
            /* a replayed near-copy re-emits its update, never a case */
            wc_emit_duplicate(&w->jw, &c);
            WC_METRIC_INC(w->ms, s->d.kind == WC_DEDUP_NEAR ? WC_M_DEDUP_NEAR
                                                             : WC_M_CASES_REPLAYED);
        } else {
            wc_emit_case(&w->jw, &c);
            WC_METRIC_INC(w->ms, s->d.kind == WC_DEDUP_REPLAY ? WC_M_CASES_REPLAYED
                                                               : WC_M_CASES_CREATED);
        }
        if (wc_jsonw_failed(&w->jw)) {
            wc_err("worker", "out of memory formatting case (partition %d offset %lld)",
                   msg->partition, (long long)msg->offset);
            atomic_store(&app->fatal, 1);
            continue;
        }
        worker_produce(w, te->rkt, cid, WC_CASE_ID_LEN, w->jw.buf, w->jw.len, NULL, job);
        if (ws) {
            uint64_t own[2];
            wc_case_id(s->m.brand.p, s->m.brand.len, s->m.id.p, s->m.id.len, own);
            wc_wsink_add_mention(ws, &s->m, &s->v, &s->d, own, msg->partition, msg->offset, job);
        }
    }
    if (ws)
        wc_wsink_unlock(ws);
    wc_metrics_stage(w->ms, WC_STAGE_EMIT, (uint64_t)(wc_mono_ns() - t0), n);
}

static void worker_batch(wc_worker_t *w, size_t n)
{
    wc_app_t *app = w->app;
    int64_t now_ms = wc_now_ms();

    atomic_store_explicit(&w->quiescent, atomic_load(&app->rules_epoch), memory_order_seq_cst);
    const wc_rules_t *rules = atomic_load_explicit(&app->rules, memory_order_seq_cst);

    wc_arena_reset(&w->arena);
    WC_METRIC_ADD(w->ms, WC_M_CONSUMED, n);
    int64_t t_start = wc_mono_ns();
    for (size_t i = 0; i < n; i++)
        if (w->jobs[i]->t_ns)
            wc_metrics_latency(w->ms, WC_SPAN_QUEUE, (t_start - w->jobs[i]->t_ns) / 1000, 1);
    n = worker_responses(w, n);
    worker_decode_classify(w, rules, n, now_ms);
    worker_emit(w, rules, n, now_ms);

    int64_t t_end = wc_mono_ns();
    for (size_t i = 0; i < n; i++) {
        wc_job_t *job = w->jobs[i];
        if (job->t_ns)
            wc_metrics_latency(w->ms, WC_SPAN_WORKER, (t_end - job->t_ns) / 1000, 1);
        rd_kafka_message_destroy(job->ref);
        job->ref = NULL;
        wc_track_release(job);
    }
    atomic_store_explicit(&w->quiescent, UINT64_MAX, memory_order_seq_cst);
    if (atomic_load_explicit(&app->wake_wanted, memory_order_relaxed))
        ev_async_send(app->loop, &app->wake);
}

static void *worker_main(void *arg)
{
    wc_worker_t *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "wc-worker-%d", w->index);
    pthread_setname_np(pthread_self(), name);

    for (;;) {
        size_t n = wc_ring_pop_n(&w->ring, (void **)w->jobs, WC_WORKER_BATCH);
        if (n) {
            worker_batch(w, n);
            continue;
        }
        if (atomic_load(&w->stop))
            break;
        atomic_store_explicit(&w->sleeping, 1, memory_order_seq_cst);
        if (!wc_ring_empty_consumer(&w->ring) || atomic_load(&w->stop)) {
            atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
            continue;
        }
        struct pollfd pfd = {.fd = w->efd, .events = POLLIN};
        poll(&pfd, 1, 100);
        uint64_t v;
        ssize_t r = read(w->efd, &v, sizeof(v));
        (void)r;
        atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
    }
    return NULL;
}

int wc_worker_start(wc_worker_t *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w))
        return WC_ERR_NOMEM;
    w->started = true;
    return 0;
}

void wc_worker_stop_join(wc_worker_t *w)
{
    if (!w->started)
        return;
    atomic_store(&w->stop, 1);
    uint64_t one = 1;
    ssize_t r = write(w->efd, &one, sizeof(one));
    (void)r;
    pthread_join(w->thread, NULL);
    w->started = false;
}
