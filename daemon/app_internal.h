/*
 * app_internal.h - state shared between the main loop (app.c), workers
 * (worker.c), output (output.c) and HTTP (http.c). Ownership per field is
 * noted; "main" = only the main thread touches it.
 */
#ifndef WC_APP_INTERNAL_H
#define WC_APP_INTERNAL_H

#include "daemon/app.h"
#include "daemon/metrics.h"
#include "daemon/track.h"
#include "pipeline/classify.h"
#include "pipeline/dedup.h"
#include "pipeline/mention.h"
#include "pipeline/ring.h"

#include <ev.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct wc_worker wc_worker_t;
typedef struct wc_http wc_http_t;
typedef struct wc_redis wc_redis_t;

/* Input topics: mentions (the firehose) and responses (the brand's own
 * replies); one offset tracker each. */
enum { WC_TOPIC_MENTIONS = 0, WC_TOPIC_RESPONSES = 1, WC_TOPIC__COUNT = 2 };

/* A job handed to a worker is the input message's tracking entry: te->ref
 * is the rd_kafka_message_t (destroyed by the worker), and the job holds the
 * entry's initial reference until the worker has produced every output. */
typedef wc_track_entry_t wc_job_t;

/* A rules snapshot retired by a reload, freed once every worker has passed
 * a quiescent point after the retirement epoch. */
typedef struct wc_retired_rules {
    wc_rules_t *rules;
    uint64_t epoch;
    struct wc_retired_rules *next;
} wc_retired_rules_t;

typedef enum wc_app_state {
    WC_APP_STARTING = 0,
    WC_APP_RUNNING,
    WC_APP_DRAINING,
    WC_APP_STOPPED,
} wc_app_state_t;

struct wc_app {
    wc_config_t *cfg;          /* main (immutable while shared; swapped on reload) */
    char *config_path;         /* main */
    struct ev_loop *loop;      /* main */

    /* Kafka */
    rd_kafka_t *consumer;      /* main: consume/assign/commit; any: thread-safe calls */
    rd_kafka_t *producer;      /* any thread (thread-safe) */
    rd_kafka_queue_t *cq;      /* consumer queue (main) */
    rd_kafka_queue_t *pq;      /* producer main queue, serves delivery reports (main) */
    int cq_pipe[2], pq_pipe[2];
    ev_io cq_watcher, pq_watcher;
    rd_kafka_topic_t *rkt_dlq; /* any */
    wc_decode_limits_t limits; /* immutable after start */

    /* Workers */
    int nworkers;
    wc_worker_t **workers;
    ev_async wake;             /* workers -> main: capacity freed / work done */
    _Atomic int wake_wanted;   /* main sets when paused for backpressure */

    /* Tracking and flow control (main) */
    wc_track_t *track[WC_TOPIC__COUNT];
    const char *topic_names[WC_TOPIC__COUNT];
    size_t consume_batch;
    rd_kafka_message_t **cbatch;
    wc_job_t ***dispatch_buf;  /* per worker staging arrays */
    size_t *dispatch_n;
    bool paused_backpressure;
    int64_t blocked_since_ms;  /* input blocked since (0 = not blocked) */
    wc_block_reason_t block_reason;            /* as of block_mark_ns */
    int64_t block_mark_ns;                     /* wc_mono_ns() of the last check */
    uint64_t blocked_ns[WC_BLOCK__COUNT];      /* time blocked, per reason */
    bool partitions_paused;    /* assignment paused in librdkafka (long block) */
    int rebalance_depth;       /* >0 while inside the rebalance callback */
    uint64_t assigned;         /* number of assigned partitions */
    rd_kafka_topic_partition_list_t *store_list;

    /* Rules (workers read through wc_app_rules_enter/exit) */
    _Atomic(wc_rules_t *) rules;
    _Atomic uint64_t rules_epoch;
    wc_retired_rules_t *retired; /* main */
    int64_t rules_loaded_at_ms;  /* main */

    /* Dedup (shared, lock-free) */
    wc_dedup_t *dedup;

    /* Redis (main loop) */
    wc_redis_t *redis;
    struct wc_windows *windows; /* Redis windows (NULL when window.enabled = false) */

    /* Metrics: shard 0 = main thread, 1..n = workers */
    wc_metrics_t *metrics;
    wc_metrics_shard_t *m_main;

    /* HTTP (main) */
    wc_http_t *http;

    /* Health */
    _Atomic int kafka_up;
    _Atomic int redis_up;
    _Atomic int fatal;          /* any thread may set; main acts */
    int64_t consumer_lag;       /* main, from statistics */
    wc_app_state_t state;       /* main */
    int exit_code;

    /* Signals and timers (main) */
    ev_signal sig_term, sig_int, sig_hup;
    ev_timer tick;
    ev_timer drain_timer;
    int64_t drain_deadline_ms;
    int64_t last_store_ms;
    bool sd_reload_pending;     /* send READY=1 again after a SIGHUP reload */

    /* Retry list for outputs whose re-produce hit a full local queue (main) */
    struct wc_retry *retry_head, *retry_tail;
    size_t retry_len;
};

/* --- worker.c --- */
wc_worker_t *wc_worker_create(wc_app_t *app, int index, char *errstr, size_t errstr_size);
int wc_worker_start(wc_worker_t *w);
/* Push jobs; returns how many fit. @locality main */
size_t wc_worker_push(wc_worker_t *w, wc_job_t *const *jobs, size_t n);
size_t wc_worker_free_space(wc_worker_t *w);
/* Wake the worker if it sleeps. @locality main */
void wc_worker_kick(wc_worker_t *w);
/* Ask to stop after draining its ring, and join. @locality main */
void wc_worker_stop_join(wc_worker_t *w);
void wc_worker_destroy(wc_worker_t *w);
/* Epoch the worker last passed a quiescent point at (UINT64_MAX when idle). */
uint64_t wc_worker_quiescent_epoch(wc_worker_t *w);

/* --- output.c: producing with tracking --- */
/* Produce one output for tracking entry te (holds a reference until the
 * delivery report). headers may be NULL (ownership passes to librdkafka on
 * success). Returns 0 or a negative WC_ERR_*. @locality any */
int wc_output_produce(wc_app_t *app, rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                      const void *payload, size_t len, rd_kafka_headers_t *headers,
                      wc_track_entry_t *te);
/* Delivery report callback (registered on the producer). @locality main */
void wc_output_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
/* Retry outputs waiting for local queue space. @locality main */
void wc_output_retry_pending(wc_app_t *app);

/* --- http.c --- */
wc_http_t *wc_http_create(wc_app_t *app, const char *bind, int port, char *errstr,
                          size_t errstr_size);
int wc_http_port(const wc_http_t *h);
void wc_http_destroy(wc_http_t *h);

/* --- app.c --- */
/* Topic index of an input topic name, -1 if not an input topic. @locality any */
int wc_app_topic_index(const wc_app_t *app, const char *name);
/* In-flight input messages over all topics. @locality main */
uint64_t wc_app_inflight(const wc_app_t *app);
/* Readiness used by http.c */
int wc_app_ready(const wc_app_t *app, char *why, size_t why_size);
void wc_app_gauges(const wc_app_t *app, wc_metrics_gauges_t *g);

#endif
