/*
 * wcbench.c - webcared-bench: end-to-end benchmark driver. Generates the
 * mention firehose (firehose.c), produces it to the input topic at a fixed
 * rate or flat out, consumes the outputs, and reports sustained throughput,
 * end-to-end latency percentiles, lag, CPU/RSS of watched processes and
 * Redis commands per mention, with a progress line every second and a JSON
 * result (including a per-second series that bench/report.py plots).
 * --redis may be given more than once (e.g. the main Redis and the one that
 * holds only the dedup claims, dedup.redis.addr): every Redis figure is then
 * the sum over the servers, and "servers" in the JSON has each one's share.
 *
 *   webcared-bench --bootstrap B [--input mentions] [--outputs t1,t2,...]
 *                  (--rate R | --flat) [--warmup S] [--duration S] ...
 *   (--help lists every option)
 *
 * Latency: every input message is produced with its produce time (µs since
 * the start, monotonic) as the message opaque; the delivery report files it
 * under (partition, offset) in a per-partition ring of slots. An output
 * names its input: a case / duplicate event carries
 * "source":{"topic","partition","offset"} (pipeline/emit.c), a DLQ record the
 * headers wc.source.partition / wc.source.offset; with --match same-offset
 * (the passthrough) the output's own partition and offset equal the input's.
 * Latency = time the output was consumed - produce time of its input, both
 * on this process's monotonic clock, so no clock skew is involved. An
 * output that arrives before its delivery report was seen waits in a small
 * pending list. Inputs for which no output is expected (exact
 * redeliveries, which webcared drops) carry a flag in their slot. A slot
 * also holds its offset's lap of the ring (offset >> WCB_SLOT_BITS): a
 * 4-partition topic goes round the ring within a run, and an output that
 * beat its delivery report must not take the value a redelivery one lap
 * earlier left there (that showed up as one "unexpected" output plus one
 * "missing" input).
 *
 * Rates: "out" counts outputs matched to an input (one per input, except
 * exact redeliveries), per second of consumption. The result window is
 * [warmup, warmup + duration) by consumption time for throughput, and by
 * produce time for latency (so the drain after the window is included for
 * the messages produced inside it). --flat is a closed loop: the producer
 * keeps at most --max-lag inputs without an output outstanding, so the
 * measured rate is what the consumer side sustains and the mock cluster's
 * per-partition retention (~5 MB) is never exceeded.
 *
 * Threads: the main thread generates and produces (and serves the producer's
 * delivery reports through rd_kafka_poll); the collector thread consumes
 * the outputs, matches them, keeps the histograms, samples /proc and Redis
 * once per second, prints progress, and decides when the window ends. They
 * share the slot rings (relaxed atomics: a slot is written by the delivery
 * report and exchanged to 0 by the collector) and a few atomic counters.
 */
#include "bench/firehose.h"
#include "bench/consume.h"
#include "bench/hist.h"

#include <librdkafka/rdkafka.h>
#include <hiredis/hiredis.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WCB_SLOT_BITS 17 /* per partition: 131072 inputs in flight */
#define WCB_SLOT_MASK ((1u << WCB_SLOT_BITS) - 1)
#define WCB_NO_OUTPUT 0x80000000u
#define WCB_MAX_PARTS 1024
#define WCB_MAX_WATCH 6
#define WCB_MAX_SERIES 7200
#define WCB_MAX_OUT_TOPICS 32
#define WCB_PENDING_MAX 65536
#define WCB_MAX_REDIS 4
#define WCB_MAX_CMDSTATS 512

typedef struct opts {
    const char *bootstrap, *input, *outputs, *label, *json_path, *responses_topic;
    const char *redis[WCB_MAX_REDIS]; /* --redis, repeatable */
    int nredis;
    const char *match; /* "source" (default) or "same-offset" */
    double rate;       /* 0 = flat */
    int warmup_s, duration_s, drain_s;
    long max_lag;
    bool expect_all; /* every input yields an output (passthrough) */
    bool quiet;
    wcb_conf_list_t prod_conf, cons_conf; /* --producer-conf / --consumer-conf */
    wcb_gen_opts_t gen;
    int nwatch;
    char *watch_name[WCB_MAX_WATCH];
    int watch_pid[WCB_MAX_WATCH];
} opts_t;

typedef struct proc_sample {
    double cpu_s; /* utime + stime */
    double rss_mb, hwm_mb;
    bool ok;
} proc_sample_t;

typedef struct series_row {
    double t;
    double in_rate, out_rate;
    long lag;
    uint64_t p50, p99, p999, max;
    double cpu[WCB_MAX_WATCH];
    double rss_mb[WCB_MAX_WATCH];
    double redis_cps;
} series_row_t;

typedef struct pending {
    int32_t partition;
    int64_t offset;
    uint64_t recv_us;
} pending_t;

typedef struct bench {
    opts_t o;
    uint64_t t0_ns;
    rd_kafka_t *prod, *cons;
    int nparts;
    _Atomic uint64_t *slots; /* nparts << WCB_SLOT_BITS: lap << 32 | value */

    /* producer side (main thread writes, collector reads) */
    _Atomic uint64_t produced, produced_expected, acked, acked_expected, dr_failed;
    _Atomic uint64_t kind_count[WCB_KIND_COUNT];
    _Atomic uint64_t responses;
    _Atomic bool stop_producing, collector_stop;

    /* collector side (collector thread only, until joined) */
    _Atomic uint64_t matched_expected; /* read by the producer for --flat */
    uint64_t matched, unexpected, unmatched, late_pending, other_outputs, foreign;
    wcb_hist_t total, interval;
    pending_t *pending;
    size_t npending;
    char *out_topic_name[WCB_MAX_OUT_TOPICS];
    uint64_t out_topic_count[WCB_MAX_OUT_TOPICS];
    int nout_topics;
    series_row_t *series;
    int nseries;
    long lag_max;

    /* window snapshots */
    bool win_started, win_ended;
    uint64_t win_matched0, win_matched1, win_produced0, win_produced1;
    /* per Redis server: total_commands_processed at the window edges, the
     * bench's own INFO calls inside the window, INFO commandstats */
    uint64_t win_redis0[WCB_MAX_REDIS], win_redis1[WCB_MAX_REDIS];
    uint64_t win_redis_info_calls[WCB_MAX_REDIS];
    char *win_cmdstats0[WCB_MAX_REDIS], *win_cmdstats1[WCB_MAX_REDIS];
    proc_sample_t win_proc0[WCB_MAX_WATCH], win_proc1[WCB_MAX_WATCH];
    double win_rss_max[WCB_MAX_WATCH];
    double win_t0, win_t1;
    char loadavg0[64], loadavg1[64];

    redisContext *redis[WCB_MAX_REDIS]; /* all of o.redis[], or none */
    int nredis;                         /* connected: o.nredis or 0 */
} bench_t;

static volatile sig_atomic_t g_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t bench_us(const bench_t *b)
{
    return (mono_ns() - b->t0_ns) / 1000;
}

static void read_loadavg(char *out, size_t cap)
{
    FILE *f = fopen("/proc/loadavg", "r");
    out[0] = '\0';
    if (f) {
        if (fgets(out, (int)cap, f))
            out[strcspn(out, "\n")] = '\0';
        fclose(f);
    }
}

/* ------------------------------------------------------------------ */
/* /proc and Redis sampling                                             */

static proc_sample_t proc_sample(int pid)
{
    proc_sample_t s = {0};
    char path[64], buf[4096];
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (!(f = fopen(path, "r")))
        return s;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return s;
    /* after ")": state(3) ... utime(14) stime(15) */
    unsigned long long ut = 0, st = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 14)
            ut = strtoull(tok, NULL, 10);
        else if (field == 15) {
            st = strtoull(tok, NULL, 10);
            break;
        }
    }
    s.cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    if ((f = fopen(path, "r"))) {
        while (fgets(buf, sizeof(buf), f)) {
            if (!strncmp(buf, "VmRSS:", 6))
                s.rss_mb = strtod(buf + 6, NULL) / 1024.0;
            else if (!strncmp(buf, "VmHWM:", 6))
                s.hwm_mb = strtod(buf + 6, NULL) / 1024.0;
        }
        fclose(f);
    }
    s.ok = true;
    return s;
}

static redisContext *redis_connect_one(const char *addr)
{
    char host[256];
    int port = 6379;
    snprintf(host, sizeof(host), "%s", addr);
    char *colon = strrchr(host, ':');
    if (colon) {
        *colon = '\0';
        port = atoi(colon + 1);
    }
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        fprintf(stderr, "webcared-bench: redis %s: %s (Redis figures disabled)\n", addr,
                c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

/* Connect to every --redis server; if one fails, the Redis figures are off
 * altogether (a sum over some of the servers would look complete). */
static void redis_connect(bench_t *b)
{
    for (int i = 0; i < b->o.nredis; i++) {
        if (!(b->redis[i] = redis_connect_one(b->o.redis[i]))) {
            for (int j = 0; j < i; j++) {
                redisFree(b->redis[j]);
                b->redis[j] = NULL;
            }
            return;
        }
    }
    b->nredis = b->o.nredis;
}

/* INFO <section> on server i; returns a malloc'ed copy of the reply or NULL. */
static char *redis_info(bench_t *b, int i, const char *section)
{
    if (i >= b->nredis || !b->redis[i])
        return NULL;
    redisReply *r = redisCommand(b->redis[i], "INFO %s", section);
    char *out = NULL;
    if (r && r->type == REDIS_REPLY_STRING)
        out = strndup(r->str, r->len);
    if (r)
        freeReplyObject(r);
    if (b->win_started && !b->win_ended)
        b->win_redis_info_calls[i]++;
    return out;
}

/* total_commands_processed of server i */
static uint64_t redis_total_commands_of(bench_t *b, int i)
{
    char *s = redis_info(b, i, "stats");
    uint64_t v = 0;
    if (s) {
        const char *p = strstr(s, "total_commands_processed:");
        if (p)
            v = strtoull(p + 25, NULL, 10);
        free(s);
    }
    return v;
}

/* the sum over all servers */
static uint64_t redis_total_commands(bench_t *b)
{
    uint64_t sum = 0;
    for (int i = 0; i < b->nredis; i++)
        sum += redis_total_commands_of(b, i);
    return sum;
}

/* ------------------------------------------------------------------ */
/* producer side                                                        */

static _Atomic uint64_t *slot_of(bench_t *b, int32_t partition, int64_t offset)
{
    if (partition < 0 || partition >= b->nparts || offset < 0)
        return NULL;
    return &b->slots[((size_t)partition << WCB_SLOT_BITS) | ((uint64_t)offset & WCB_SLOT_MASK)];
}

/* The lap of the slot ring an offset is in, never 0 (0 = empty slot). */
static uint64_t slot_lap(int64_t offset)
{
    return (((uint64_t)offset >> WCB_SLOT_BITS) + 1) << 32;
}

/* Take the value the delivery report of (this slot's) offset left, or 0
 * when it has not been seen yet (an empty slot or one of an earlier lap). */
static uint32_t slot_take(_Atomic uint64_t *s, int64_t offset)
{
    uint64_t cur = atomic_load_explicit(s, memory_order_acquire);
    while (cur && (cur & ~0xffffffffULL) == slot_lap(offset)) {
        if (atomic_compare_exchange_weak_explicit(s, &cur, 0, memory_order_acq_rel,
                                                  memory_order_acquire))
            return (uint32_t)cur;
    }
    return 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    bench_t *b = opaque;
    uint32_t v = (uint32_t)(uintptr_t)m->_private;
    if (m->err) {
        if (atomic_fetch_add(&b->dr_failed, 1) == 0)
            fprintf(stderr, "webcared-bench: delivery failed: %s\n", rd_kafka_err2str(m->err));
        return;
    }
    if (!v) /* responses */
        return;
    _Atomic uint64_t *s = slot_of(b, m->partition, m->offset);
    if (s)
        atomic_store_explicit(s, slot_lap(m->offset) | v, memory_order_release);
    atomic_fetch_add_explicit(&b->acked, 1, memory_order_relaxed);
    if (!(v & WCB_NO_OUTPUT) || b->o.expect_all)
        atomic_fetch_add_explicit(&b->acked_expected, 1, memory_order_relaxed);
}

static int produce_one(bench_t *b, rd_kafka_topic_t *rkt, const wcb_msg_t *m, uint32_t slotv)
{
    for (;;) {
        if (!rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)m->value,
                              m->len, m->key, m->key_len, (void *)(uintptr_t)slotv))
            return 0;
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "webcared-bench: produce: %s\n", rd_kafka_err2str(err));
            return -1;
        }
        rd_kafka_poll(b->prod, 1);
    }
}

static int run_producer(bench_t *b)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(b->prod, b->o.input, NULL);
    rd_kafka_topic_t *rkt_resp =
        b->o.responses_topic ? rd_kafka_topic_new(b->prod, b->o.responses_topic, NULL) : NULL;
    wcb_gen_t *g = wcb_gen_create(&b->o.gen);
    uint64_t n = 0, last_poll = 0;
    double resp_acc = 0;
    int rc = 0;
    if (!g) {
        fprintf(stderr, "webcared-bench: out of memory\n");
        return -1;
    }
    while (!atomic_load(&b->stop_producing) && !g_interrupted) {
        uint64_t now = mono_ns();
        double t_s = (double)(now - b->t0_ns) / 1e9;
        uint64_t due;
        if (b->o.rate > 0) {
            due = (uint64_t)(t_s * b->o.rate);
        } else {
            uint64_t outstanding = atomic_load(&b->produced_expected) -
                                   atomic_load(&b->matched_expected);
            due = outstanding < (uint64_t)b->o.max_lag ? n + 256 : n;
        }
        if (due <= n) {
            rd_kafka_poll(b->prod, 0);
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 200000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (due - n > 100000) /* fell behind by far: do not burst forever */
            due = n + 100000;
        int64_t now_ms = wall_ms();
        for (; n < due; n++) {
            wcb_msg_t m;
            wcb_gen_next(g, t_s, now_ms, &m);
            uint64_t us = bench_us(b);
            uint32_t v = (uint32_t)((us + 1) & 0x7fffffffu);
            if (!v)
                v = 1;
            bool no_out = m.kind == WCB_KIND_REDELIVERY;
            if (no_out)
                v |= WCB_NO_OUTPUT;
            if (produce_one(b, rkt, &m, v)) {
                rc = -1;
                goto out;
            }
            atomic_fetch_add_explicit(&b->produced, 1, memory_order_relaxed);
            if (!no_out || b->o.expect_all)
                atomic_fetch_add_explicit(&b->produced_expected, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&b->kind_count[m.kind], 1, memory_order_relaxed);
            if (rkt_resp && (resp_acc += b->o.gen.response_pct / 100.0) >= 1.0) {
                resp_acc -= 1.0;
                wcb_msg_t r;
                if (wcb_gen_response(g, now_ms, &r) && !produce_one(b, rkt_resp, &r, 0))
                    atomic_fetch_add_explicit(&b->responses, 1, memory_order_relaxed);
            }
            if (n - last_poll >= 1024) {
                rd_kafka_poll(b->prod, 0);
                last_poll = n;
            }
        }
        rd_kafka_poll(b->prod, 0);
    }
out:
    /* deliver what is queued; delivery reports complete the slots */
    for (int i = 0; i < 300 && rd_kafka_outq_len(b->prod) > 0 && !g_interrupted; i++)
        rd_kafka_poll(b->prod, 100);
    if (!b->o.quiet)
        fprintf(stderr, "webcared-bench: produced %llu messages, avg %.0f bytes\n",
                (unsigned long long)atomic_load(&b->produced), wcb_gen_avg_bytes(g));
    wcb_gen_destroy(g);
    rd_kafka_topic_destroy(rkt);
    if (rkt_resp)
        rd_kafka_topic_destroy(rkt_resp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* collector                                                            */

static bool hdr_num(rd_kafka_headers_t *h, const char *name, long long *out)
{
    const void *v;
    size_t len;
    char tmp[32];
    if (!h || rd_kafka_header_get_last(h, name, &v, &len) || !v || len == 0 || len >= sizeof(tmp))
        return false;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    *out = strtoll(tmp, NULL, 10);
    return true;
}

/* Find "source":{"topic":"T","partition":P,"offset":O} near the end of a
 * JSON output. */
static bool json_source(const bench_t *b, const char *p, size_t len, int32_t *part, int64_t *off)
{
    static const char key[] = "\"source\":{\"topic\":\"";
    if (!p || len < sizeof(key))
        return false;
    size_t from = len > 400 ? len - 400 : 0;
    const char *s = NULL;
    for (const char *q = p + from; (q = memmem(q, len - (size_t)(q - p), key, sizeof(key) - 1));
         q++)
        s = q;
    if (!s)
        return false;
    s += sizeof(key) - 1;
    size_t tl = strlen(b->o.input);
    if ((size_t)(p + len - s) < tl + 2 || memcmp(s, b->o.input, tl) || s[tl] != '"')
        return false;
    const char *e = p + len;
    const char *pp = memmem(s, (size_t)(e - s), "\"partition\":", 12);
    const char *oo = memmem(s, (size_t)(e - s), "\"offset\":", 9);
    if (!pp || !oo)
        return false;
    *part = (int32_t)strtol(pp + 12, NULL, 10);
    *off = strtoll(oo + 9, NULL, 10);
    return true;
}

static void record(bench_t *b, uint32_t v, uint64_t recv_us)
{
    uint64_t prod_us = (uint64_t)((v & 0x7fffffffu) - 1);
    uint64_t lat = recv_us > prod_us ? recv_us - prod_us : 0;
    bool expected = !(v & WCB_NO_OUTPUT) || b->o.expect_all;
    if (!expected) {
        b->unexpected++;
        return;
    }
    b->matched++;
    atomic_fetch_add_explicit(&b->matched_expected, 1, memory_order_relaxed);
    wcb_hist_record(&b->interval, lat);
    double pt = (double)prod_us / 1e6;
    if (pt >= b->o.warmup_s && pt < b->o.warmup_s + b->o.duration_s)
        wcb_hist_record(&b->total, lat);
}

static void try_match(bench_t *b, int32_t part, int64_t off, uint64_t recv_us)
{
    _Atomic uint64_t *s = slot_of(b, part, off);
    if (!s) {
        b->foreign++;
        return;
    }
    uint32_t v = slot_take(s, off);
    if (v) {
        record(b, v, recv_us);
        return;
    }
    if (b->npending < WCB_PENDING_MAX)
        b->pending[b->npending++] = (pending_t){.partition = part, .offset = off,
                                                .recv_us = recv_us};
    else
        b->unmatched++;
}

static void retry_pending(bench_t *b, uint64_t now_us, bool final)
{
    size_t keep = 0;
    for (size_t i = 0; i < b->npending; i++) {
        pending_t *p = &b->pending[i];
        _Atomic uint64_t *s = slot_of(b, p->partition, p->offset);
        uint32_t v = slot_take(s, p->offset);
        if (v)
            record(b, v, p->recv_us);
        else if (final || now_us - p->recv_us > 10000000)
            b->unmatched++; /* second output for one input, or a stale one */
        else
            b->pending[keep++] = *p;
    }
    b->npending = keep;
}

static void count_topic(bench_t *b, const char *name)
{
    for (int i = 0; i < b->nout_topics; i++)
        if (!strcmp(b->out_topic_name[i], name)) {
            b->out_topic_count[i]++;
            return;
        }
}

static void handle_output(bench_t *b, rd_kafka_message_t *m, uint64_t recv_us)
{
    int32_t part;
    int64_t off;
    long long hp, ho;
    rd_kafka_headers_t *h = NULL;
    count_topic(b, rd_kafka_topic_name(m->rkt));
    if (!strcmp(b->o.match, "same-offset")) {
        try_match(b, m->partition, m->offset, recv_us);
        return;
    }
    if (json_source(b, m->payload, m->len, &part, &off)) {
        try_match(b, part, off, recv_us);
        return;
    }
    if (!rd_kafka_message_headers(m, &h) && hdr_num(h, "wc.source.partition", &hp) &&
        hdr_num(h, "wc.source.offset", &ho)) {
        try_match(b, (int32_t)hp, (int64_t)ho, recv_us);
        return;
    }
    b->other_outputs++; /* alerts, stats */
}

static void sample_window_edge(bench_t *b, bool start, double t)
{
    uint64_t m = b->matched, p = atomic_load(&b->produced);
    uint64_t rc[WCB_MAX_REDIS] = {0};
    char *cs[WCB_MAX_REDIS] = {0};
    for (int i = 0; i < b->nredis; i++) {
        rc[i] = redis_total_commands_of(b, i);
        cs[i] = redis_info(b, i, "commandstats");
    }
    for (int i = 0; i < b->o.nwatch; i++) {
        proc_sample_t s = proc_sample(b->o.watch_pid[i]);
        if (start)
            b->win_proc0[i] = s;
        else
            b->win_proc1[i] = s;
    }
    if (start) {
        b->win_matched0 = m;
        b->win_produced0 = p;
        for (int i = 0; i < WCB_MAX_REDIS; i++) {
            b->win_redis0[i] = rc[i];
            b->win_cmdstats0[i] = cs[i];
            b->win_redis_info_calls[i] = 0;
        }
        b->win_t0 = t;
        read_loadavg(b->loadavg0, sizeof(b->loadavg0));
        b->win_started = true;
    } else {
        b->win_matched1 = m;
        b->win_produced1 = p;
        for (int i = 0; i < WCB_MAX_REDIS; i++) {
            b->win_redis1[i] = rc[i];
            b->win_cmdstats1[i] = cs[i];
        }
        b->win_t1 = t;
        read_loadavg(b->loadavg1, sizeof(b->loadavg1));
        b->win_ended = true;
    }
}

static void *collector_main(void *arg)
{
    bench_t *b = arg;
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(b->cons);
    rd_kafka_message_t *batch[1024];
    proc_sample_t prev[WCB_MAX_WATCH];
    uint64_t prev_in = 0, prev_out = 0, prev_redis = redis_total_commands(b);
    int next_tick = 1;
    double prev_t = 0;
    for (int i = 0; i < b->o.nwatch; i++)
        prev[i] = proc_sample(b->o.watch_pid[i]);

    while (!atomic_load(&b->collector_stop)) {
        ssize_t n = wcb_consume_some(q, 50, batch, 1024);
        uint64_t now_us = bench_us(b);
        for (ssize_t i = 0; i < n; i++) {
            if (!batch[i]->err)
                handle_output(b, batch[i], now_us);
            else if (batch[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "webcared-bench: consume: %s\n", rd_kafka_message_errstr(batch[i]));
            rd_kafka_message_destroy(batch[i]);
        }
        if (b->npending)
            retry_pending(b, now_us, false);

        double t = (double)now_us / 1e6;
        if (t < next_tick)
            continue;
        /* once per second */
        next_tick = (int)t + 1;
        series_row_t row = {.t = t};
        double dt = t - prev_t;
        uint64_t in = atomic_load(&b->produced), out = b->matched;
        uint64_t rc = redis_total_commands(b);
        row.in_rate = (double)(in - prev_in) / dt;
        row.out_rate = (double)(out - prev_out) / dt;
        row.redis_cps = rc >= prev_redis ? (double)(rc - prev_redis) / dt : 0;
        row.lag = (long)(atomic_load(&b->acked_expected) - atomic_load(&b->matched_expected));
        if (row.lag < 0)
            row.lag = 0;
        row.p50 = wcb_hist_quantile(&b->interval, 0.50);
        row.p99 = wcb_hist_quantile(&b->interval, 0.99);
        row.p999 = wcb_hist_quantile(&b->interval, 0.999);
        row.max = b->interval.max;
        for (int i = 0; i < b->o.nwatch; i++) {
            proc_sample_t s = proc_sample(b->o.watch_pid[i]);
            row.cpu[i] = s.ok && prev[i].ok ? (s.cpu_s - prev[i].cpu_s) / dt * 100.0 : 0;
            row.rss_mb[i] = s.rss_mb;
            if (b->win_started && !b->win_ended && s.rss_mb > b->win_rss_max[i])
                b->win_rss_max[i] = s.rss_mb;
            prev[i] = s;
        }
        if (b->nseries < WCB_MAX_SERIES)
            b->series[b->nseries++] = row;
        if (b->win_started && !b->win_ended && row.lag > b->lag_max)
            b->lag_max = row.lag;
        if (!b->o.quiet) {
            char watch[256] = "";
            size_t wl = 0;
            for (int i = 0; i < b->o.nwatch && wl < sizeof(watch) - 64; i++)
                wl += (size_t)snprintf(watch + wl, sizeof(watch) - wl, " %s %3.0f%% %4.0fMB",
                                       b->o.watch_name[i], row.cpu[i], row.rss_mb[i]);
            const char *phase = !b->win_started ? "warmup" : !b->win_ended ? "measure" : "drain";
            fprintf(stderr,
                    "[%s %5.1fs %-7s] in %7.0f/s out %7.0f/s lag %7ld p50 %6.2fms p99 %7.2fms "
                    "max %7.2fms redis %6.0f/s%s\n",
                    b->o.label, t, phase, row.in_rate, row.out_rate, row.lag,
                    (double)row.p50 / 1000, (double)row.p99 / 1000, (double)row.max / 1000,
                    row.redis_cps, watch);
        }
        wcb_hist_reset(&b->interval);
        prev_in = in;
        prev_out = out;
        prev_redis = rc;
        prev_t = t;

        if (!b->win_started && t >= b->o.warmup_s)
            sample_window_edge(b, true, t);
        else if (b->win_started && !b->win_ended && t >= b->o.warmup_s + b->o.duration_s) {
            sample_window_edge(b, false, t);
            atomic_store(&b->stop_producing, true);
        }
    }
    retry_pending(b, bench_us(b), true);
    rd_kafka_queue_destroy(q);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* setup                                                                */

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char e[256];
    if (rd_kafka_conf_set(c, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "webcared-bench: %s: %s\n", k, e);
        return -1;
    }
    return 0;
}

static int setup_producer(bench_t *b)
{
    char e[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    /* same producer settings as the daemon (daemon/app.c) */
    if (conf_set(c, "bootstrap.servers", b->o.bootstrap) || conf_set(c, "linger.ms", "5") ||
        conf_set(c, "enable.idempotence", "true") ||
        conf_set(c, "batch.num.messages", "10000") ||
        conf_set(c, "queue.buffering.max.messages", "1000000") ||
        conf_set(c, "queue.buffering.max.kbytes", "262144") ||
        conf_set(c, "client.id", "webcared-bench") ||
        wcb_conf_apply(c, &b->o.prod_conf, "webcared-bench")) {
        rd_kafka_conf_destroy(c);
        return -1;
    }
    rd_kafka_conf_set_opaque(c, b);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    if (!(b->prod = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof(e)))) {
        fprintf(stderr, "webcared-bench: producer: %s\n", e);
        rd_kafka_conf_destroy(c);
        return -1;
    }
    /* partition count of the input topic */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(b->prod, b->o.input, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(b->prod, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (err || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        fprintf(stderr, "webcared-bench: no metadata for input topic %s\n", b->o.input);
        if (md)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    b->nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    if (b->nparts > WCB_MAX_PARTS) {
        fprintf(stderr, "webcared-bench: input topic has too many partitions (%d)\n", b->nparts);
        return -1;
    }
    b->slots = calloc((size_t)b->nparts << WCB_SLOT_BITS, sizeof(*b->slots));
    return b->slots ? 0 : -1;
}

/* Assign every partition of every output topic at its current high
 * watermark (so earlier runs' outputs are skipped and nothing new is). */
static int setup_consumer(bench_t *b)
{
    char e[512], group[96];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    snprintf(group, sizeof(group), "webcared-bench-%d-%lld", (int)getpid(), (long long)wall_ms());
    if (conf_set(c, "bootstrap.servers", b->o.bootstrap) || conf_set(c, "group.id", group) ||
        conf_set(c, "enable.auto.commit", "false") || conf_set(c, "fetch.wait.max.ms", "10") ||
        conf_set(c, "client.id", "webcared-bench-collector") ||
        wcb_conf_apply(c, &b->o.cons_conf, "webcared-bench")) {
        rd_kafka_conf_destroy(c);
        return -1;
    }
    if (!(b->cons = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof(e)))) {
        fprintf(stderr, "webcared-bench: consumer: %s\n", e);
        rd_kafka_conf_destroy(c);
        return -1;
    }
    rd_kafka_poll_set_consumer(b->cons);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(64);
    char *list = strdup(b->o.outputs);
    int rc = -1;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(b->cons, t, NULL);
        rd_kafka_resp_err_t err = rd_kafka_metadata(b->cons, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        if (err || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "webcared-bench: no metadata for output topic %s\n", t);
            if (md)
                rd_kafka_metadata_destroy(md);
            goto out;
        }
        if (b->nout_topics < WCB_MAX_OUT_TOPICS)
            b->out_topic_name[b->nout_topics++] = strdup(t);
        for (int i = 0; i < md->topics[0].partition_cnt; i++) {
            int32_t p = md->topics[0].partitions[i].id;
            int64_t lo = 0, hi = 0;
            err = rd_kafka_query_watermark_offsets(b->cons, t, p, &lo, &hi, 10000);
            if (err) {
                fprintf(stderr, "webcared-bench: watermarks %s/%d: %s\n", t, p,
                        rd_kafka_err2str(err));
                rd_kafka_metadata_destroy(md);
                goto out;
            }
            rd_kafka_topic_partition_list_add(parts, t, p)->offset = hi;
        }
        rd_kafka_metadata_destroy(md);
    }
    if (rd_kafka_assign(b->cons, parts)) {
        fprintf(stderr, "webcared-bench: assign failed\n");
        goto out;
    }
    rc = 0;
out:
    free(list);
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

/* ------------------------------------------------------------------ */
/* result                                                               */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* "cmdstat_get:calls=12,usec=..." lines -> calls per command. */
static long long cmdstat_calls(const char *info, const char *cmd)
{
    char key[96];
    if (!info)
        return 0;
    snprintf(key, sizeof(key), "cmdstat_%s:calls=", cmd);
    const char *p = strstr(info, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* The commandstats diff over the window of servers [from, to): calls per
 * command name, summed over the servers (in the order the first server that
 * has a command lists it; one server: its own order), the bench's INFO
 * calls subtracted. */
static void write_cmdstats(FILE *f, const bench_t *b, int from, int to)
{
    static struct {
        char name[80];
        long long calls;
    } cs[WCB_MAX_CMDSTATS];
    int ncs = 0;
    long long info_calls = 0;
    for (int r = from; r < to; r++) {
        info_calls += (long long)b->win_redis_info_calls[r];
        const char *s = b->win_cmdstats1[r];
        while (s && (s = strstr(s, "cmdstat_"))) {
            const char *colon = strchr(s, ':');
            if (!colon)
                break;
            char cmd[80];
            size_t l = (size_t)(colon - s - 8);
            if (l >= sizeof(cmd))
                l = sizeof(cmd) - 1;
            memcpy(cmd, s + 8, l);
            cmd[l] = '\0';
            long long d = cmdstat_calls(b->win_cmdstats1[r], cmd) -
                          cmdstat_calls(b->win_cmdstats0[r], cmd);
            int k = 0;
            while (k < ncs && strcmp(cs[k].name, cmd))
                k++;
            if (k == ncs && ncs < WCB_MAX_CMDSTATS) {
                snprintf(cs[k].name, sizeof(cs[k].name), "%s", cmd);
                cs[k].calls = 0;
                ncs++;
            }
            if (k < ncs)
                cs[k].calls += d;
            s = colon;
        }
    }
    fputc('{', f);
    bool first = true;
    for (int k = 0; k < ncs; k++) {
        long long d = cs[k].calls;
        if (!strcmp(cs[k].name, "info"))
            d -= info_calls;
        if (d > 0) {
            fprintf(f, "%s", first ? "" : ",");
            json_str(f, cs[k].name);
            fprintf(f, ":%lld", d);
            first = false;
        }
    }
    fputc('}', f);
}

/* commands of server i in the window, without the bench's INFO calls */
static long long redis_window_commands(const bench_t *b, int i)
{
    return (long long)(b->win_redis1[i] - b->win_redis0[i]) -
           (long long)b->win_redis_info_calls[i];
}

static int write_result(bench_t *b, FILE *f, double wall_s)
{
    double win = b->win_t1 - b->win_t0;
    uint64_t outw = b->win_matched1 - b->win_matched0;
    uint64_t inw = b->win_produced1 - b->win_produced0;
    long long redis_cmds = 0;
    for (int i = 0; i < b->nredis; i++)
        redis_cmds += redis_window_commands(b, i);
    uint64_t lost = atomic_load(&b->acked_expected) > b->matched
                        ? atomic_load(&b->acked_expected) - b->matched
                        : 0;
    fprintf(f, "{\n  \"label\": ");
    json_str(f, b->o.label);
    fprintf(f, ",\n  \"mode\": \"%s\", \"target_rate\": %.0f, \"max_lag\": %ld,\n",
            b->o.rate > 0 ? "rate" : "flat", b->o.rate, b->o.max_lag);
    fprintf(f, "  \"input_topic\": ");
    json_str(f, b->o.input);
    fprintf(f, ", \"input_partitions\": %d, \"match\": ", b->nparts);
    json_str(f, b->o.match);
    fprintf(f, ",\n  \"warmup_s\": %d, \"duration_s\": %d, \"window_s\": %.3f, \"wall_s\": %.1f,\n",
            b->o.warmup_s, b->o.duration_s, win, wall_s);
    fprintf(f, "  \"window_complete\": %s,\n", b->win_ended ? "true" : "false");
    fprintf(f, "  \"produced\": %llu, \"acked\": %llu, \"delivery_failed\": %llu, "
               "\"responses_produced\": %llu,\n",
            (unsigned long long)atomic_load(&b->produced),
            (unsigned long long)atomic_load(&b->acked),
            (unsigned long long)atomic_load(&b->dr_failed),
            (unsigned long long)atomic_load(&b->responses));
    fprintf(f, "  \"mix\": {");
    for (int k = 0; k < WCB_KIND_COUNT; k++)
        fprintf(f, "%s\"%s\": %llu", k ? ", " : "", wcb_kind_names[k],
                (unsigned long long)atomic_load(&b->kind_count[k]));
    fprintf(f, "},\n");
    fprintf(f, "  \"outputs_matched\": %llu, \"outputs_unexpected\": %llu, "
               "\"outputs_unmatched\": %llu, \"outputs_other\": %llu, \"outputs_foreign\": %llu, "
               "\"missing_after_drain\": %llu,\n",
            (unsigned long long)b->matched, (unsigned long long)b->unexpected,
            (unsigned long long)b->unmatched, (unsigned long long)b->other_outputs,
            (unsigned long long)b->foreign, (unsigned long long)lost);
    fprintf(f, "  \"outputs_by_topic\": {");
    for (int i = 0; i < b->nout_topics; i++) {
        fprintf(f, "%s", i ? ", " : "");
        json_str(f, b->out_topic_name[i]);
        fprintf(f, ": %llu", (unsigned long long)b->out_topic_count[i]);
    }
    fprintf(f, "},\n");
    fprintf(f, "  \"throughput_in_per_s\": %.0f, \"throughput_out_per_s\": %.0f,\n",
            win > 0 ? (double)inw / win : 0, win > 0 ? (double)outw / win : 0);
    fprintf(f, "  \"latency_us\": {\"count\": %llu, \"min\": %llu, \"mean\": %.0f, \"p50\": %llu, "
               "\"p90\": %llu, \"p99\": %llu, \"p999\": %llu, \"max\": %llu},\n",
            (unsigned long long)b->total.count,
            (unsigned long long)(b->total.count ? b->total.min : 0),
            b->total.count ? b->total.sum / (double)b->total.count : 0,
            (unsigned long long)wcb_hist_quantile(&b->total, 0.5),
            (unsigned long long)wcb_hist_quantile(&b->total, 0.9),
            (unsigned long long)wcb_hist_quantile(&b->total, 0.99),
            (unsigned long long)wcb_hist_quantile(&b->total, 0.999),
            (unsigned long long)b->total.max);
    fprintf(f, "  \"lag_max\": %ld,\n", b->lag_max);
    fprintf(f, "  \"processes\": {");
    for (int i = 0; i < b->o.nwatch; i++) {
        const proc_sample_t *s0 = &b->win_proc0[i], *s1 = &b->win_proc1[i];
        fprintf(f, "%s", i ? ", " : "");
        json_str(f, b->o.watch_name[i]);
        fprintf(f, ": {\"pid\": %d, \"cpu_cores\": %.3f, \"rss_max_mb\": %.1f, "
                   "\"rss_end_mb\": %.1f, \"hwm_mb\": %.1f, \"cpu_us_per_output\": %.2f}",
                b->o.watch_pid[i],
                s0->ok && s1->ok && win > 0 ? (s1->cpu_s - s0->cpu_s) / win : 0,
                b->win_rss_max[i], s1->rss_mb, s1->hwm_mb,
                s0->ok && s1->ok && outw ? (s1->cpu_s - s0->cpu_s) * 1e6 / (double)outw : 0);
    }
    fprintf(f, "},\n");
    fprintf(f, "  \"redis\": {\"enabled\": %s, \"commands\": %lld, \"commands_per_mention\": %.4f, "
               "\"commandstats\": ",
            b->nredis ? "true" : "false", redis_cmds,
            outw ? (double)redis_cmds / (double)outw : 0);
    write_cmdstats(f, b, 0, b->nredis);
    /* each server's share (in --redis order) */
    fprintf(f, ", \"servers\": [");
    for (int i = 0; i < b->nredis; i++) {
        long long c = redis_window_commands(b, i);
        fprintf(f, "%s{\"addr\": ", i ? ", " : "");
        json_str(f, b->o.redis[i]);
        fprintf(f, ", \"commands\": %lld, \"commands_per_mention\": %.4f, \"commandstats\": ", c,
                outw ? (double)c / (double)outw : 0);
        write_cmdstats(f, b, i, i + 1);
        fputc('}', f);
    }
    fprintf(f, "]},\n  \"loadavg_start\": ");
    json_str(f, b->loadavg0);
    fprintf(f, ", \"loadavg_end\": ");
    json_str(f, b->loadavg1);
    fprintf(f, ",\n  \"series\": [\n");
    for (int i = 0; i < b->nseries; i++) {
        const series_row_t *r = &b->series[i];
        fprintf(f, "    {\"t\": %.2f, \"in\": %.0f, \"out\": %.0f, \"lag\": %ld, \"p50_us\": %llu, "
                   "\"p99_us\": %llu, \"p999_us\": %llu, \"max_us\": %llu, \"redis_cps\": %.0f, "
                   "\"cpu_pct\": [",
                r->t, r->in_rate, r->out_rate, r->lag, (unsigned long long)r->p50,
                (unsigned long long)r->p99, (unsigned long long)r->p999,
                (unsigned long long)r->max, r->redis_cps);
        for (int w = 0; w < b->o.nwatch; w++)
            fprintf(f, "%s%.1f", w ? ", " : "", r->cpu[w]);
        fprintf(f, "], \"rss_mb\": [");
        for (int w = 0; w < b->o.nwatch; w++)
            fprintf(f, "%s%.1f", w ? ", " : "", r->rss_mb[w]);
        fprintf(f, "]}%s\n", i + 1 < b->nseries ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fputs("usage: webcared-bench --bootstrap HOST:PORT[,..] (--rate R | --flat) [options]\n"
          "  --input TOPIC            input topic (default mentions)\n"
          "  --outputs T1,T2,..       output topics to consume (default cases.complaints,\n"
          "                           cases.questions,cases.praise,cases.neutral,mentions.dlq,\n"
          "                           alerts.clusters,alerts.escalations,alerts.sla)\n"
          "  --match source|same-offset  how an output names its input (default source:\n"
          "                           JSON \"source\" or wc.source.* headers; same-offset: the\n"
          "                           output's partition/offset = the input's, for the passthrough)\n"
          "  --expect-all             every input yields one output (passthrough: no dedup)\n"
          "  --rate R                 fixed input rate (messages/s)\n"
          "  --flat                   flat out, closed loop with at most --max-lag outstanding\n"
          "  --max-lag N              (default 50000)\n"
          "  --warmup S --duration S  seconds (default 5 and 30)\n"
          "  --drain S                wait at most S seconds for outputs after the window (10)\n"
          "  --watch NAME:PID         sample CPU and RSS of a process (repeatable, max 5;\n"
          "                           the bench itself is always added as \"bench\")\n"
          "  --redis HOST:PORT        count Redis commands (INFO stats/commandstats);\n"
          "                           repeatable (max 4, e.g. the main Redis and the dedup\n"
          "                           one of dedup.redis.addr): every Redis figure (commands,\n"
          "                           commandstats, redis N/s) is then the sum over them, and\n"
          "                           the JSON's redis.servers has each server's share\n"
          "  --responses TOPIC        also produce brand responses (resolved complaints)\n"
          "  --label NAME --json FILE result label and JSON result file (default stdout)\n"
          "  --seed N --dup-pct P --retweet-pct P --malformed-pct P --boomerang-pct P\n"
          "  --burst-period S --burst-len S --burst-share F --response-pct P\n"
          "  --producer-conf K=V      librdkafka property for the generator's producer\n"
          "                           (repeatable; overrides linger.ms 5 etc.)\n"
          "  --consumer-conf K=V      the same for the collector (e.g. fetch.wait.max.ms)\n"
          "  --quiet                  no progress lines\n"
          "  --dump N                 print N generated messages (kind, key, value; TAB\n"
          "                           separated, one per line; at 1000 msg/s of fake time)\n",
          f);
}

int main(int argc, char **argv)
{
    enum {
        O_INPUT = 256, O_OUTPUTS, O_MATCH, O_EXPECT_ALL, O_RATE, O_FLAT, O_MAXLAG, O_WARMUP,
        O_DURATION, O_DRAIN, O_WATCH, O_REDIS, O_RESP, O_LABEL, O_JSON, O_SEED, O_DUP, O_RT,
        O_BAD, O_BOOM, O_BPERIOD, O_BLEN, O_BSHARE, O_RESPPCT, O_QUIET, O_BOOT, O_HELP, O_DUMP,
        O_PCONF, O_CCONF
    };
    static const struct option lo[] = {
        {"bootstrap", required_argument, NULL, O_BOOT}, {"input", required_argument, NULL, O_INPUT},
        {"outputs", required_argument, NULL, O_OUTPUTS}, {"match", required_argument, NULL, O_MATCH},
        {"expect-all", no_argument, NULL, O_EXPECT_ALL}, {"rate", required_argument, NULL, O_RATE},
        {"flat", no_argument, NULL, O_FLAT}, {"max-lag", required_argument, NULL, O_MAXLAG},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"duration", required_argument, NULL, O_DURATION},
        {"drain", required_argument, NULL, O_DRAIN}, {"watch", required_argument, NULL, O_WATCH},
        {"redis", required_argument, NULL, O_REDIS},
        {"responses", required_argument, NULL, O_RESP},
        {"label", required_argument, NULL, O_LABEL}, {"json", required_argument, NULL, O_JSON},
        {"seed", required_argument, NULL, O_SEED}, {"dup-pct", required_argument, NULL, O_DUP},
        {"retweet-pct", required_argument, NULL, O_RT},
        {"malformed-pct", required_argument, NULL, O_BAD},
        {"boomerang-pct", required_argument, NULL, O_BOOM},
        {"burst-period", required_argument, NULL, O_BPERIOD},
        {"burst-len", required_argument, NULL, O_BLEN},
        {"burst-share", required_argument, NULL, O_BSHARE},
        {"response-pct", required_argument, NULL, O_RESPPCT},
        {"quiet", no_argument, NULL, O_QUIET}, {"dump", required_argument, NULL, O_DUMP}, {"help", no_argument, NULL, O_HELP},
        {"producer-conf", required_argument, NULL, O_PCONF},
        {"consumer-conf", required_argument, NULL, O_CCONF},
        {NULL, 0, NULL, 0},
    };
    static bench_t bench; /* large; zero-initialised */
    bench_t *b = &bench;
    opts_t *o = &b->o;
    char run_id[32];
    bool flat = false;
    long dump = 0;
    int opt, rc = 1;

    *o = (opts_t){
        .input = "mentions",
        .outputs = "cases.complaints,cases.questions,cases.praise,cases.neutral,mentions.dlq,"
                   "alerts.clusters,alerts.escalations,alerts.sla",
        .label = "bench", .match = "source", .warmup_s = 5, .duration_s = 30, .drain_s = 10,
        .max_lag = 50000,
        .gen = {.seed = 1, .dup_pct = 2, .retweet_pct = 5, .malformed_pct = 1,
                .boomerang_pct = 0.3, .response_pct = 0.5, .burst_period_s = 60,
                .burst_len_s = 10, .burst_share = 0.3},
    };
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (opt) {
        case O_BOOT: o->bootstrap = optarg; break;
        case O_INPUT: o->input = optarg; break;
        case O_OUTPUTS: o->outputs = optarg; break;
        case O_MATCH: o->match = optarg; break;
        case O_EXPECT_ALL: o->expect_all = true; break;
        case O_RATE: o->rate = strtod(optarg, NULL); break;
        case O_FLAT: flat = true; break;
        case O_MAXLAG: o->max_lag = strtol(optarg, NULL, 10); break;
        case O_WARMUP: o->warmup_s = atoi(optarg); break;
        case O_DURATION: o->duration_s = atoi(optarg); break;
        case O_DRAIN: o->drain_s = atoi(optarg); break;
        case O_WATCH: {
            char *c = strrchr(optarg, ':');
            if (!c || o->nwatch >= WCB_MAX_WATCH - 1 || atoi(c + 1) <= 0) {
                fprintf(stderr, "webcared-bench: bad --watch %s (NAME:PID, max %d)\n", optarg,
                        WCB_MAX_WATCH);
                return 2;
            }
            o->watch_name[o->nwatch] = strndup(optarg, (size_t)(c - optarg));
            o->watch_pid[o->nwatch++] = atoi(c + 1);
            break;
        }
        case O_REDIS:
            if (o->nredis >= WCB_MAX_REDIS) {
                fprintf(stderr, "webcared-bench: more than %d --redis\n", WCB_MAX_REDIS);
                return 2;
            }
            o->redis[o->nredis++] = optarg;
            break;
        case O_RESP: o->responses_topic = optarg; break;
        case O_LABEL: o->label = optarg; break;
        case O_JSON: o->json_path = optarg; break;
        case O_SEED: o->gen.seed = strtoull(optarg, NULL, 10); break;
        case O_DUP: o->gen.dup_pct = strtod(optarg, NULL); break;
        case O_RT: o->gen.retweet_pct = strtod(optarg, NULL); break;
        case O_BAD: o->gen.malformed_pct = strtod(optarg, NULL); break;
        case O_BOOM: o->gen.boomerang_pct = strtod(optarg, NULL); break;
        case O_BPERIOD: o->gen.burst_period_s = atoi(optarg); break;
        case O_BLEN: o->gen.burst_len_s = atoi(optarg); break;
        case O_BSHARE: o->gen.burst_share = strtod(optarg, NULL); break;
        case O_RESPPCT: o->gen.response_pct = strtod(optarg, NULL); break;
        case O_QUIET: o->quiet = true; break;
        case O_PCONF:
            if (wcb_conf_add(&o->prod_conf, optarg, "webcared-bench"))
                return 2;
            break;
        case O_CCONF:
            if (wcb_conf_add(&o->cons_conf, optarg, "webcared-bench"))
                return 2;
            break;
        case O_DUMP: dump = strtol(optarg, NULL, 10); break;
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (dump > 0) {
        /* print the firehose as lines (kind<TAB>key<TAB>value), no Kafka */
        o->gen.run_id = "dump";
        wcb_gen_t *g = wcb_gen_create(&o->gen);
        if (!g)
            return 1;
        for (long i = 0; i < dump; i++) {
            wcb_msg_t m;
            wcb_gen_next(g, (double)i / 1000.0, wall_ms(), &m);
            printf("%s\t%.*s\t", wcb_kind_names[m.kind], (int)m.key_len, m.key);
            fwrite(m.value, 1, m.len, stdout);
            putchar('\n');
        }
        wcb_gen_destroy(g);
        return 0;
    }
    if (!o->bootstrap || (flat == (o->rate > 0)) || o->duration_s <= 0 || o->warmup_s < 0 ||
        o->max_lag <= 0 || (strcmp(o->match, "source") && strcmp(o->match, "same-offset")) ||
        o->warmup_s + o->duration_s + o->drain_s > 1800) {
        fputs("webcared-bench: need --bootstrap and exactly one of --rate R / --flat; "
              "warmup+duration+drain <= 1800 s\n",
              stderr);
        usage(stderr);
        return 2;
    }
    if (o->nwatch < WCB_MAX_WATCH) { /* the generator + collector itself */
        o->watch_name[o->nwatch] = strdup("bench");
        o->watch_pid[o->nwatch++] = (int)getpid();
    }
    if (o->max_lag > (long)WCB_SLOT_MASK / 2)
        o->max_lag = (long)WCB_SLOT_MASK / 2;
    snprintf(run_id, sizeof(run_id), "b%lx%x", (unsigned long)wall_ms() / 1000 % 0xfffff,
             (unsigned)getpid() & 0xfff);
    o->gen.run_id = run_id;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    wcb_hist_reset(&b->total);
    wcb_hist_reset(&b->interval);
    b->pending = calloc(WCB_PENDING_MAX, sizeof(*b->pending));
    b->series = calloc(WCB_MAX_SERIES, sizeof(*b->series));
    if (!b->pending || !b->series)
        return 1;
    redis_connect(b);
    if (setup_producer(b) || setup_consumer(b))
        goto out;

    /* Let the producer connect and fetch its idempotent producer id before
     * the clock starts (there is no "PID ready" API in librdkafka 2.0; the
     * warm-up window absorbs anything slower). */
    for (int i = 0; i < 15; i++)
        rd_kafka_poll(b->prod, 20);

    pthread_t th;
    b->t0_ns = mono_ns();
    if (pthread_create(&th, NULL, collector_main, b)) {
        fprintf(stderr, "webcared-bench: cannot start the collector thread\n");
        goto out;
    }
    int prc = run_producer(b);
    /* drain: wait for the outputs of everything acknowledged */
    uint64_t drain_end = mono_ns() + (uint64_t)o->drain_s * 1000000000ull;
    while (!g_interrupted && mono_ns() < drain_end &&
           atomic_load(&b->matched_expected) < atomic_load(&b->acked_expected)) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&b->collector_stop, true);
    pthread_join(th, NULL);
    double wall_s = (double)bench_us(b) / 1e6;
    if (!b->win_ended) {
        /* interrupted or producer failure: close the window now */
        if (!b->win_started)
            sample_window_edge(b, true, wall_s);
        sample_window_edge(b, false, wall_s);
        b->win_ended = false;
    }

    FILE *f = o->json_path ? fopen(o->json_path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "webcared-bench: %s: %s\n", o->json_path, strerror(errno));
        goto out;
    }
    int wrc = write_result(b, f, wall_s);
    if (f != stdout && fclose(f))
        wrc = -1;
    if (!o->quiet) {
        double win = b->win_t1 - b->win_t0;
        fprintf(stderr,
                "webcared-bench [%s]: out %.0f/s over %.1fs, latency p50 %.2f ms p99 %.2f ms "
                "p999 %.2f ms max %.2f ms, unmatched %llu, missing %llu\n",
                o->label, win > 0 ? (double)(b->win_matched1 - b->win_matched0) / win : 0, win,
                (double)wcb_hist_quantile(&b->total, 0.5) / 1000,
                (double)wcb_hist_quantile(&b->total, 0.99) / 1000,
                (double)wcb_hist_quantile(&b->total, 0.999) / 1000, (double)b->total.max / 1000,
                (unsigned long long)b->unmatched,
                (unsigned long long)(atomic_load(&b->acked_expected) - b->matched));
    }
    rc = prc || wrc || g_interrupted || !b->win_ended ? 1 : 0;
out:
    if (b->cons) {
        rd_kafka_consumer_close(b->cons);
        rd_kafka_destroy(b->cons);
    }
    if (b->prod) {
        rd_kafka_flush(b->prod, 5000);
        rd_kafka_destroy(b->prod);
    }
    for (int i = 0; i < b->nredis; i++)
        redisFree(b->redis[i]);
    free(b->slots);
    free(b->pending);
    free(b->series);
    for (int i = 0; i < WCB_MAX_REDIS; i++) {
        free(b->win_cmdstats0[i]);
        free(b->win_cmdstats1[i]);
    }
    for (int i = 0; i < b->nout_topics; i++)
        free(b->out_topic_name[i]);
    for (int i = 0; i < o->nwatch; i++)
        free(o->watch_name[i]);
    return rc;
}
