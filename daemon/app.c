/*
 * app.c - the daemon's main (I/O) thread.
 *
 * What runs here (one libev loop):
 *   - the librdkafka consumer: its queue signals a pipe when it becomes
 *     non-empty (rd_kafka_queue_io_event_enable), we read batches with
 *     rd_kafka_consume_batch_queue(timeout 0) and hand them to workers by
 *     partition (partition % workers, so one partition's messages stay in
 *     order within one worker); rebalance, error and statistics callbacks
 *     are served from the same queue, so they run on this thread too;
 *   - the producer's delivery reports (same pipe mechanism);
 *   - offset tracking: a tick advances each partition's contiguous
 *     low-water mark and stores it (enable.auto.offset.store=false;
 *     auto-commit commits what was stored);
 *   - Redis (hiredis async), HTTP (/metrics, /livez, /readyz), signals.
 *
 * Flow control: consumption pauses when kafka.max.inflight messages are in
 * flight, when a worker ring lacks room for a full batch, or while Redis is
 * down; it resumes from the tick, from delivery reports, or when a worker
 * signals progress (ev_async). librdkafka's own prefetch queue is bounded by
 * queued.max.messages.kbytes. Memory is therefore bounded at any input rate.
 *
 * Delivery: at-least-once. An input offset is stored only after every output
 * for it and every earlier message of its partition was acknowledged.
 * Revoke drains in-flight messages of the revoked partitions (bounded by
 * kafka.drain.timeout.ms) and commits synchronously before giving them up.
 * With kafka.exactly.once, outputs and offsets go into Kafka transactions
 * instead (section "exactly-once" below, docs/EOS.md).
 * SIGTERM stops consumption, drains, commits, leaves the group, exits 0;
 * a watchdog guarantees exit within drain timeout + 4 s.
 */
#include "daemon/app_internal.h"
#include "daemon/output.h"
#include "daemon/sdnotify.h"
#include "daemon/windows.h"
#include "daemon/redis.h"
#include "pipeline/log.h"
#include "wc_version.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static void consume_some(wc_app_t *app);

/* Exactly-once state (see "exactly-once" below); one application per
 * process, like consume_more. @locality main */
enum { EOS_OPEN = 0, EOS_CUTTING = 1 };
static const char EOS_CUT_REASON[] = "transaction commit";
enum { EOS_DONE = 0, EOS_RETRY = 1, EOS_FAILED = -1 };

static struct {
    bool on;
    int state;
    char tid[256];              /* transactional.id */
    uint64_t seq;               /* number of the open transaction */
    int64_t started_ms;
    int64_t cut_ms;             /* cutting since */
    uint64_t consumed;          /* input messages in the open transaction */
    int64_t *pos[WC_TOPIC__COUNT]; /* per partition: next offset after the last
                                    * committed transaction (rewind target), -1 unknown */
    int32_t npos[WC_TOPIC__COUNT];
    rd_kafka_topic_partition_list_t *offsets; /* offsets of the transaction being committed */
    bool offsets_sent;          /* send_offsets succeeded, commit to be (re)tried */
    bool aborting;              /* abort to be (re)tried */
    char abort_why[256];
    int64_t retry_at_ms;
    uint64_t commits, aborts;
    bool busy;                  /* inside a commit/abort/revoke (no re-entry from app_pump) */
} eos;

/* ------------------------------------------------------------------ */
/* logging / errors / statistics from librdkafka                       */

static void rk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    int l = level <= LOG_ERR ? WC_LOG_ERROR : level <= LOG_WARNING ? WC_LOG_WARN
          : level <= LOG_INFO ? WC_LOG_INFO : WC_LOG_DEBUG;
    if (l == WC_LOG_DEBUG)
        wc_dbg(WC_DBG_KAFKA, "kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
    else
        wc_log(l, "kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

static void rk_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    wc_app_t *app = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
        wc_err("kafka", "%s: fatal error %s: %s; shutting down", rd_kafka_name(rk),
               rd_kafka_err2name(orig), buf);
        atomic_store(&app->fatal, 1);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        atomic_store(&app->kafka_up, 0);
        wc_warn("kafka", "%s: all brokers down: %s", rd_kafka_name(rk), reason);
        return;
    }
    WC_METRIC_INC(app->m_main, WC_M_CONSUME_ERRORS);
    wc_warn("kafka", "%s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

/* Statistics: broker reachability and consumer lag, once a second. */
static int rk_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    wc_app_t *app = opaque;
    json_error_t jerr;
    json_t *root = json_loadb(json, json_len, 0, &jerr);
    if (!root)
        return 0;
    json_t *brokers = json_object_get(root, "brokers");
    const char *bname;
    json_t *b;
    int up = 0, known = 0;
    json_object_foreach(brokers, bname, b)
    {
        json_int_t nodeid = json_integer_value(json_object_get(b, "nodeid"));
        const char *state = json_string_value(json_object_get(b, "state"));
        if (nodeid < 0 || !state)
            continue;
        known++;
        if (!strcmp(state, "UP"))
            up++;
    }
    if (known)
        atomic_store(&app->kafka_up, up > 0);
    if (rk == app->consumer) {
        json_t *t = json_object_get(json_object_get(root, "topics"), app->cfg->topic_input);
        json_t *parts = json_object_get(t, "partitions");
        const char *pname;
        json_t *p;
        int64_t lag = 0;
        int nlag = 0;
        json_object_foreach(parts, pname, p)
        {
            json_int_t l = json_integer_value(json_object_get(p, "consumer_lag"));
            if (json_integer_value(json_object_get(p, "partition")) < 0 || l < 0)
                continue;
            lag += l;
            nlag++;
        }
        app->consumer_lag = nlag ? lag : -1;
    }
    json_decref(root);
    return 0;
}

/* ------------------------------------------------------------------ */
/* offsets                                                              */

int wc_app_topic_index(const wc_app_t *app, const char *name)
{
    for (int i = 0; i < WC_TOPIC__COUNT; i++)
        if (!strcmp(app->topic_names[i], name))
            return i;
    return -1;
}

uint64_t wc_app_inflight(const wc_app_t *app)
{
    uint64_t n = 0;
    for (int i = 0; i < WC_TOPIC__COUNT; i++)
        n += wc_track_inflight(app->track[i]);
    return n;
}

typedef struct store_ctx {
    wc_app_t *app;
    const char *topic;
} store_ctx_t;

static void store_cb(void *opaque, int32_t partition, int64_t next)
{
    store_ctx_t *sc = opaque;
    rd_kafka_topic_partition_list_add(sc->app->store_list, sc->topic, partition)->offset = next;
}

/* Advance every tracker (no offset store). @locality main */
static void app_advance(wc_app_t *app)
{
    for (int i = 0; i < WC_TOPIC__COUNT; i++)
        wc_track_advance(app->track[i], NULL, NULL);
}

/* Advance low-water marks and store offsets. @locality main */
static void app_store_offsets(wc_app_t *app)
{
    if (atomic_load(&app->fatal))
        return;
    if (eos.on) {
        /* Exactly-once: offsets go only into transactions (eos_finish). */
        app_advance(app);
        return;
    }
    rd_kafka_topic_partition_list_destroy(app->store_list);
    app->store_list = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; i < WC_TOPIC__COUNT; i++) {
        store_ctx_t sc = {app, app->topic_names[i]};
        wc_track_advance(app->track[i], store_cb, &sc);
    }
    if (app->store_list->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(app->consumer, app->store_list);
        if (err)
            wc_dbg(WC_DBG_KAFKA, "kafka", "offsets_store: %s", rd_kafka_err2str(err));
    }
}

static void rk_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    wc_app_t *app = opaque;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    if (err) {
        WC_METRIC_INC(app->m_main, WC_M_COMMIT_ERRORS);
        wc_warn("kafka", "offset commit failed: %s", rd_kafka_err2str(err));
        return;
    }
    WC_METRIC_INC(app->m_main, WC_M_OFFSETS_COMMITTED);
    if (wc_log_level >= WC_LOG_DEBUG && (wc_log_debug_mask & WC_DBG_KAFKA))
        for (int i = 0; i < offsets->cnt; i++)
            wc_dbg(WC_DBG_KAFKA, "kafka", "committed %s [%d] @ %lld", offsets->elems[i].topic,
                   offsets->elems[i].partition, (long long)offsets->elems[i].offset);
}

/* ------------------------------------------------------------------ */
/* pumping the loop while blocked in a rebalance or drain               */

static void app_pump(wc_app_t *app)
{
    rd_kafka_poll(app->producer, 10);
    wc_output_retry_pending(app);
    ev_run(app->loop, EVRUN_NOWAIT);
}

/* Wait until the given partitions have nothing in flight. Returns true if
 * drained. @locality main (inside the rebalance callback) */
static bool app_drain_partitions(wc_app_t *app, const rd_kafka_topic_partition_list_t *parts)
{
    int64_t deadline = wc_now_ms() + app->cfg->drain_timeout_ms;
    for (;;) {
        app_advance(app);
        uint64_t left = 0;
        for (int i = 0; i < parts->cnt; i++) {
            int t = wc_app_topic_index(app, parts->elems[i].topic);
            if (t >= 0)
                left += wc_track_inflight_partition(app->track[t], parts->elems[i].partition);
        }
        if (!left)
            return true;
        if (wc_now_ms() >= deadline) {
            wc_warn("kafka", "revoke: %llu messages still in flight after %d ms; they will be "
                             "reprocessed by the next owner",
                    (unsigned long long)left, app->cfg->drain_timeout_ms);
            return false;
        }
        app_pump(app);
    }
}

/* ------------------------------------------------------------------ */
/* exactly-once: Kafka transactions (kafka.exactly.once, docs/EOS.md)   */
/*
 * Consume-transform-produce with the input offsets in the transaction: all
 * outputs of a run of input messages are produced into one transaction,
 * rd_kafka_send_offsets_to_transaction() adds the input offsets (with the
 * consumer group metadata, so the group coordinator fences stale members),
 * and rd_kafka_commit_transaction() makes outputs and offsets visible
 * atomically. The consumer does not commit (enable.auto.commit=false).
 *
 * Cut at a quiescent point. A transaction may only commit offsets whose
 * outputs are all inside it, and it must not contain outputs of inputs
 * beyond those offsets (a crash after the commit would replay them:
 * duplicates). So after kafka.transaction.ms (or
 * kafka.transaction.max.messages inputs) the main loop stops taking input
 * ("cutting"), lets the workers, Redis window flushes and delivery reports
 * finish until nothing is in flight, then sends the low-water marks as the
 * offsets, commits and begins the next transaction. The input pause per
 * cut is the time the consumed messages still need (work, not idle
 * waiting) plus up to window.flush.ms for the last window events.
 *
 * Why the blocking calls run on the main loop and not on a dedicated
 * thread: during send_offsets/commit/abort nothing may be produced
 * (librdkafka refuses produce outside the IN_TRANSACTION state), and the
 * cut has already stopped input and drained the workers, so a commit
 * thread would have to hold back the main loop's own producers (alerts,
 * stats, outbox replay) anyway while adding a second owner of the
 * transaction state. Instead every call is bounded by
 * kafka.transaction.call.timeout.ms; a retriable failure (timeout, broker
 * unreachable) leaves the cut in place and is retried on the next tick, so
 * the loop keeps serving HTTP, Redis and signals in between. The stall per
 * commit is the coordinator's round trips (~1 ms on wc-localkafka).
 *
 * Errors: abortable (txn_requires_abort, a failed delivery, a refused
 * produce) -> abort the transaction, seek every partition back to the
 * offsets of the last committed transaction, reset its tracker, begin a new
 * transaction; the replay produces the same outputs again (deterministic
 * case ids; Redis windows skip already-applied offsets; alerts of the
 * aborted transaction are re-produced from output.c's copies). Fatal
 * (fenced by a newer producer with the same transactional.id, ...) -> log
 * it and exit 1 without committing. Rebalance: a revoke drains everything
 * and commits the transaction before the partitions go.
 */

static int64_t *eos_pos(int t, int32_t p)
{
    if (p < 0)
        return NULL;
    if (p >= eos.npos[t]) {
        int32_t n = eos.npos[t] ? eos.npos[t] : 16;
        while (n <= p)
            n *= 2;
        int64_t *a = realloc(eos.pos[t], (size_t)n * sizeof(*a));
        if (!a)
            return NULL;
        for (int32_t i = eos.npos[t]; i < n; i++)
            a[i] = -1;
        eos.pos[t] = a;
        eos.npos[t] = n;
    }
    return &eos.pos[t][p];
}

/* A tracked input message: remember where its partition started. */
static void eos_note_consumed(int t, int32_t partition, int64_t offset)
{
    eos.consumed++;
    int64_t *pos = eos_pos(t, partition);
    if (pos && *pos < 0)
        *pos = offset;
}

static void eos_log_error(const char *what, const rd_kafka_error_t *e)
{
    wc_warn("kafka", "exactly-once: %s transaction %s: %s: %s%s%s", what, wc_output_eos_name(),
            rd_kafka_err2name(rd_kafka_error_code(e)), rd_kafka_error_string(e),
            rd_kafka_error_is_retriable(e) ? " (retriable)" : "",
            rd_kafka_error_txn_requires_abort(e) ? " (abortable)" : "");
}

/* A fatal transactional error: the producer is unusable. */
static void eos_fatal(wc_app_t *app, const char *what, const rd_kafka_error_t *e)
{
    rd_kafka_resp_err_t code = e ? rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR__FATAL;
    char buf[512] = "";
    if (code == RD_KAFKA_RESP_ERR__FATAL)
        code = rd_kafka_fatal_error(app->producer, buf, sizeof(buf));
    bool fenced = code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                  code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
    wc_err("kafka", "exactly-once: %s transaction %s: fatal error %s: %s%s; exiting without "
                    "committing (the restart resumes from the last committed transaction)",
           what, wc_output_eos_name(), rd_kafka_err2name(code),
           *buf ? buf : e ? rd_kafka_error_string(e) : "",
           fenced ? "; fenced: another producer runs with the same kafka.transactional.id" : "");
    atomic_store(&app->fatal, 1);
    app->exit_code = 1;
}

static int eos_begin(wc_app_t *app)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(app->producer);
    if (e) {
        eos_fatal(app, "begin", e);
        rd_kafka_error_destroy(e);
        return EOS_FAILED;
    }
    eos.seq++;
    wc_output_eos_started(eos.seq);
    eos.state = EOS_OPEN;
    eos.started_ms = wc_now_ms();
    eos.consumed = 0;
    if (wc_output_eos_reproduce(app))
        wc_warn("kafka", "exactly-once: re-producing the alerts of the aborted transaction "
                         "failed; transaction %s will be aborted", wc_output_eos_name());
    return EOS_DONE;
}

/* rd_kafka_seek_partitions() timeout. librdkafka before 2.1.0 reads it as
 * microseconds (fixed upstream by confluentinc/librdkafka#4230): the 2,000 ms
 * of kafka.transaction.call.timeout.ms were 2 ms there, and seeks still queued
 * then came back as "timed out" with ERR__IN_PROGRESS per partition (it.eos
 * saw it after an abort: the rewind "failed" and the daemon exited). */
static int app_seek_timeout_ms(int ms)
{
    return rd_kafka_version() < 0x02010000 ? ms * 1000 : ms;
}

/* Seek every partition with a known position back to the end of the last
 * committed transaction and restart its tracker there. @locality main */
static int eos_rewind(wc_app_t *app)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (int t = 0; t < WC_TOPIC__COUNT; t++) {
        for (int32_t p = 0; p < eos.npos[t]; p++) {
            if (eos.pos[t][p] < 0 || !wc_track_get(app->track[t], p))
                continue;
            rd_kafka_topic_partition_list_add(l, app->topic_names[t], p)->offset = eos.pos[t][p];
            wc_track_revoke(app->track[t], p);
            wc_track_assign(app->track[t], p);
        }
    }
    int rc = 0;
    if (l->cnt) {
        rd_kafka_error_t *e =
            rd_kafka_seek_partitions(app->consumer, l,
                                     app_seek_timeout_ms(app->cfg->transaction_call_timeout_ms));
        if (e) {
            wc_err("kafka", "exactly-once: rewind of %d partition(s): %s", l->cnt,
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rc = -1;
        }
        for (int i = 0; i < l->cnt; i++) {
            if (l->elems[i].err) {
                wc_err("kafka", "exactly-once: rewind %s [%d] to %lld: %s", l->elems[i].topic,
                       l->elems[i].partition, (long long)l->elems[i].offset,
                       rd_kafka_err2str(l->elems[i].err));
                rc = -1;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

static int eos_abort(wc_app_t *app, const char *why)
{
    if (!eos.aborting) {
        eos.aborting = true;
        snprintf(eos.abort_why, sizeof(eos.abort_why), "%s", why);
    }
    rd_kafka_error_t *e =
        rd_kafka_abort_transaction(app->producer, app->cfg->transaction_call_timeout_ms);
    if (e) {
        if (rd_kafka_error_is_retriable(e) && !rd_kafka_error_is_fatal(e)) {
            eos_log_error("abort", e);
            rd_kafka_error_destroy(e);
            return EOS_RETRY;
        }
        eos_fatal(app, "abort", e);
        rd_kafka_error_destroy(e);
        return EOS_FAILED;
    }
    eos.aborts++;
    wc_warn("kafka", "exactly-once: aborted transaction %s (%s); input rewound to the last "
                     "committed offsets",
            wc_output_eos_name(), eos.abort_why);
    eos.aborting = false;
    eos.offsets_sent = false;
    if (eos.offsets) {
        rd_kafka_topic_partition_list_destroy(eos.offsets);
        eos.offsets = NULL;
    }
    if (eos_rewind(app)) {
        /* Continuing would skip the aborted input. */
        wc_err("kafka", "exactly-once: cannot rewind the input after an abort; exiting (the "
                        "restart resumes from the last committed transaction)");
        atomic_store(&app->fatal, 1);
        app->exit_code = 1;
        return EOS_FAILED;
    }
    wc_output_eos_aborted(app);
    return eos_begin(app);
}

/* Everything of the open transaction finished (nothing in flight)? */
static bool eos_quiescent(wc_app_t *app)
{
    app_advance(app);
    return !wc_app_inflight(app) && !wc_output_eos_unacked() && !app->retry_len;
}

/* Commit (or abort, when doomed) the open transaction. Call only when
 * eos_quiescent(). Returns EOS_DONE (a new transaction is open), EOS_RETRY
 * (call again later) or EOS_FAILED (fatal, app->fatal set). @locality main */
static int eos_finish(wc_app_t *app)
{
    int tmo = app->cfg->transaction_call_timeout_ms;
    const char *doom = wc_output_eos_doomed();
    if (eos.aborting || doom)
        return eos_abort(app, eos.aborting ? eos.abort_why : doom);
    if (!eos.offsets) {
        eos.offsets = rd_kafka_topic_partition_list_new(16);
        for (int t = 0; t < WC_TOPIC__COUNT; t++) {
            for (int32_t p = 0; p < eos.npos[t]; p++) {
                int64_t next = eos.pos[t][p] >= 0 ? wc_track_committable(app->track[t], p) : -1;
                if (next > eos.pos[t][p])
                    rd_kafka_topic_partition_list_add(eos.offsets, app->topic_names[t], p)->offset =
                        next;
            }
        }
        if (!eos.offsets->cnt && !wc_output_eos_produced()) {
            /* Nothing happened: keep the (empty) transaction open. */
            rd_kafka_topic_partition_list_destroy(eos.offsets);
            eos.offsets = NULL;
            eos.state = EOS_OPEN;
            eos.started_ms = wc_now_ms();
            eos.consumed = 0;
            return EOS_DONE;
        }
    }
    rd_kafka_error_t *e = NULL;
    int64_t t0 = wc_now_ms();
    if (eos.offsets->cnt && !eos.offsets_sent) {
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(app->consumer);
        e = rd_kafka_send_offsets_to_transaction(app->producer, eos.offsets, cgmd, tmo);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        if (!e)
            eos.offsets_sent = true;
    }
    if (!e)
        e = rd_kafka_commit_transaction(app->producer, tmo);
    if (e) {
        if (rd_kafka_error_is_fatal(e)) {
            eos_fatal(app, "commit", e);
            rd_kafka_error_destroy(e);
            return EOS_FAILED;
        }
        eos_log_error("commit", e);
        if (rd_kafka_error_txn_requires_abort(e)) {
            char why[256];
            snprintf(why, sizeof(why), "commit: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return eos_abort(app, why);
        }
        if (rd_kafka_error_is_retriable(e)) {
            rd_kafka_error_destroy(e);
            return EOS_RETRY;
        }
        /* Neither retriable nor abortable: nothing safe is left to do. */
        eos_fatal(app, "commit", e);
        rd_kafka_error_destroy(e);
        return EOS_FAILED;
    }
    /* Committed: outputs and offsets are visible. */
    eos.commits++;
    WC_METRIC_INC(app->m_main, WC_M_OFFSETS_COMMITTED);
    for (int i = 0; i < eos.offsets->cnt; i++) {
        int t = wc_app_topic_index(app, eos.offsets->elems[i].topic);
        int64_t *pos = t >= 0 ? eos_pos(t, eos.offsets->elems[i].partition) : NULL;
        if (pos)
            *pos = eos.offsets->elems[i].offset;
    }
    if (app->cfg->transaction_mirror_offsets && eos.offsets->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_commit(app->consumer, eos.offsets, 0);
        if (err)
            wc_warn("kafka", "exactly-once: mirror commit of transaction %s's offsets: %s",
                    wc_output_eos_name(), rd_kafka_err2str(err));
    }
    /* The journal line it_eos.sh's checker reads (debug=kafka). */
    int64_t now = wc_now_ms();
    wc_dbg(WC_DBG_KAFKA, "kafka",
           "exactly-once: committed transaction %s: %llu outputs, %d offsets; open %lld ms, "
           "drain %lld ms, commit %lld ms",
           wc_output_eos_name(), (unsigned long long)wc_output_eos_produced(), eos.offsets->cnt,
           (long long)(eos.cut_ms - eos.started_ms), (long long)(t0 - eos.cut_ms),
           (long long)(now - t0));
    rd_kafka_topic_partition_list_destroy(eos.offsets);
    eos.offsets = NULL;
    eos.offsets_sent = false;
    wc_output_eos_committed(app);
    return eos_begin(app);
}

/* From the tick and from delivery reports: cut, then commit when quiescent. */
static void eos_poll(wc_app_t *app)
{
    if (!eos.on || eos.busy || atomic_load(&app->fatal) || app->state == WC_APP_STOPPED)
        return;
    int64_t now = wc_now_ms();
    if (eos.state == EOS_OPEN) {
        bool due = now - eos.started_ms >= app->cfg->transaction_ms &&
                   (eos.consumed || wc_output_eos_produced());
        if (!due && eos.consumed < (uint64_t)app->cfg->transaction_max_messages &&
            !wc_output_eos_doomed())
            return;
        eos.state = EOS_CUTTING;
        eos.cut_ms = now;
    }
    if (now < eos.retry_at_ms || !eos_quiescent(app))
        return;
    eos.busy = true;
    int rc = eos_finish(app);
    eos.busy = false;
    if (rc == EOS_RETRY)
        eos.retry_at_ms = wc_now_ms() + 100;
    else if (rc == EOS_DONE && app->paused_backpressure)
        consume_some(app);
}

/* Commit or abort before partitions are revoked (inside the rebalance
 * callback): drain everything, then commit; abort if that fails.
 * @locality main */
static void eos_forget(wc_app_t *app, const rd_kafka_topic_partition_list_t *parts);

static void eos_revoke(wc_app_t *app, const rd_kafka_topic_partition_list_t *parts, bool lost)
{
    if (atomic_load(&app->fatal))
        return;
    eos.busy = true;
    eos.state = EOS_CUTTING;
    int64_t deadline = wc_now_ms() + app->cfg->drain_timeout_ms;
    bool drained;
    while (!(drained = eos_quiescent(app)) && wc_now_ms() < deadline)
        app_pump(app);
    int rc = EOS_RETRY;
    if (drained && !lost) {
        for (int attempt = 0; attempt < 3 && rc == EOS_RETRY; attempt++)
            rc = eos_finish(app);
    }
    if (rc == EOS_RETRY) {
        const char *why = lost ? "partitions lost" : !drained ? "revoke drain timeout"
                                                              : "commit on revoke failed";
        /* The revoked partitions are not rewound: their next owner starts
         * at the last committed transaction anyway. */
        eos_forget(app, parts);
        for (int attempt = 0; attempt < 3 && rc == EOS_RETRY; attempt++)
            rc = eos_abort(app, why);
    }
    if (rc == EOS_RETRY) {
        wc_err("kafka", "exactly-once: cannot commit or abort transaction %s on revoke; exiting",
               wc_output_eos_name());
        atomic_store(&app->fatal, 1);
        app->exit_code = 1;
    }
    eos.busy = false;
}

static void eos_forget(wc_app_t *app, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        int t = wc_app_topic_index(app, parts->elems[i].topic);
        int32_t p = parts->elems[i].partition;
        if (t >= 0 && p >= 0 && p < eos.npos[t])
            eos.pos[t][p] = -1;
    }
}

/* Final transaction at shutdown: commit after a complete drain, else abort. */
static void eos_shutdown(wc_app_t *app)
{
    if (atomic_load(&app->fatal))
        return;
    int rc = EOS_RETRY;
    if (app->exit_code == 0 && eos_quiescent(app)) {
        for (int attempt = 0; attempt < 3 && rc == EOS_RETRY; attempt++)
            rc = eos_finish(app);
    }
    if (rc != EOS_DONE) {
        for (int attempt = 0; attempt < 3 && rc == EOS_RETRY; attempt++)
            rc = eos_abort(app, "shutdown without a complete drain");
        app->exit_code = 1;
    }
    wc_info("kafka", "exactly-once: %llu transactions committed, %llu aborted",
            (unsigned long long)eos.commits, (unsigned long long)eos.aborts);
}

static void rk_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    wc_app_t *app = opaque;
    bool cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t ret = 0;

    app->rebalance_depth++;
    WC_METRIC_INC(app->m_main, WC_M_REBALANCES);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            int t = wc_app_topic_index(app, parts->elems[i].topic);
            if (t >= 0)
                wc_track_assign(app->track[t], parts->elems[i].partition);
        }
        app->assigned += (uint64_t)parts->cnt;
        wc_info("kafka", "assigned %d partition(s)", parts->cnt);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            ret = rd_kafka_assign(rk, parts);
        /* librdkafka keeps a partition's pause flag across a re-assignment
         * (e.g. after the assignment was lost while input was paused), so
         * set it explicitly either way: otherwise input stalls for good. */
        if (app->partitions_paused)
            rd_kafka_pause_partitions(rk, parts);
        else
            rd_kafka_resume_partitions(rk, parts);
    } else {
        bool lost = rd_kafka_assignment_lost(rk);
        wc_info("kafka", "revoking %d partition(s)%s", parts->cnt, lost ? " (lost)" : "");
        if (eos.on) {
            eos_revoke(app, parts, lost);
            eos_forget(app, parts);
        } else if (!lost) {
            app_drain_partitions(app, parts);
            app_store_offsets(app);
            rd_kafka_resp_err_t cerr = rd_kafka_commit(rk, NULL, 0);
            if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
                wc_warn("kafka", "commit on revoke: %s", rd_kafka_err2str(cerr));
        }
        for (int i = 0; i < parts->cnt; i++) {
            int t = wc_app_topic_index(app, parts->elems[i].topic);
            if (t >= 0)
                wc_track_revoke(app->track[t], parts->elems[i].partition);
        }
        app->assigned = app->assigned >= (uint64_t)parts->cnt ? app->assigned - (uint64_t)parts->cnt : 0;
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            ret = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        wc_err("kafka", "rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (ret) {
        wc_err("kafka", "rebalance: %s", rd_kafka_err2str(ret));
    }
    app->rebalance_depth--;
}

/* ------------------------------------------------------------------ */
/* consuming and dispatch                                               */

static wc_block_reason_t app_input_blocked(wc_app_t *app, const char **why)
{
    if (app->state != WC_APP_RUNNING) {
        *why = "not running";
        return WC_BLOCK_NOT_RUNNING;
    }
    if (app->rebalance_depth) {
        *why = "rebalance";
        return WC_BLOCK_REBALANCE;
    }
    if (atomic_load(&app->fatal)) {
        *why = "fatal error";
        return WC_BLOCK_FATAL;
    }
    if (!atomic_load(&app->redis_up)) {
        *why = "redis unavailable";
        return WC_BLOCK_REDIS_DOWN;
    }
    if (eos.on && eos.state == EOS_CUTTING) {
        *why = EOS_CUT_REASON;
        return WC_BLOCK_TRANSACTION_CUT;
    }
    if (wc_app_inflight(app) + app->consume_batch > (uint64_t)app->cfg->max_inflight) {
        *why = "max in-flight";
        return WC_BLOCK_MAX_INFLIGHT;
    }
    for (int i = 0; i < app->nworkers; i++) {
        if (wc_worker_free_space(app->workers[i]) < app->consume_batch) {
            *why = "worker queue full";
            return WC_BLOCK_WORKER_QUEUE_FULL;
        }
    }
    return WC_BLOCK_NONE;
}

/* Blocked time per reason (webcared_input_blocked_seconds_total): the time
 * since the previous check goes to the reason seen then. While input is
 * blocked consume_some runs at least every tick (and on every delivery
 * report and worker wake-up), so a reason's share is exact to a tick.
 * @locality main */
/* Time of the block going on since the last check (0 if not blocked). */
static uint64_t block_open_ns(const wc_app_t *app, int64_t now)
{
    return app->block_reason != WC_BLOCK_NONE && now > app->block_mark_ns
               ? (uint64_t)(now - app->block_mark_ns)
               : 0;
}

static void block_account(wc_app_t *app, wc_block_reason_t reason)
{
    if (reason == WC_BLOCK_NONE && app->block_reason == WC_BLOCK_NONE)
        return;
    int64_t now = wc_mono_ns();
    app->blocked_ns[app->block_reason] += block_open_ns(app, now);
    app->block_reason = reason;
    app->block_mark_ns = now;
}

static ev_idle consume_more;

/* Pause or resume every assigned partition in librdkafka. @locality main */
static void app_pause_assignment(wc_app_t *app, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(app->consumer, &parts) || !parts)
        return;
    if (parts->cnt) {
        rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(app->consumer, parts)
                                        : rd_kafka_resume_partitions(app->consumer, parts);
        if (err)
            wc_warn("kafka", "%s partitions: %s", pause ? "pause" : "resume", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(parts);
    app->partitions_paused = pause;
    wc_info("kafka", "input %s", pause ? "paused (partitions paused in the consumer)" : "resumed");
}

/* While input is blocked for long, the assignment is paused in librdkafka
 * and the consumer queue is still served (rebalance callbacks, and the
 * max.poll.interval.ms liveness check). A message that still arrives is not
 * processed: its partition is rewound to it so nothing is skipped. */
static void app_poll_blocked(wc_app_t *app)
{
    /* Messages returned while the assignment is paused are not processed:
     * rewind each partition once, to the LOWEST offset returned for it
     * (seeking per message would let the last seek skip earlier ones). */
    ssize_t n = rd_kafka_consume_batch_queue(app->cq, 0, app->cbatch, app->consume_batch);
    if (n <= 0)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *msg = app->cbatch[i];
        if (!msg->err) {
            const char *topic = rd_kafka_topic_name(msg->rkt);
            rd_kafka_topic_partition_t *tp =
                rd_kafka_topic_partition_list_find(l, topic, msg->partition);
            if (!tp)
                rd_kafka_topic_partition_list_add(l, topic, msg->partition)->offset = msg->offset;
            else if (msg->offset < tp->offset)
                tp->offset = msg->offset;
        }
        rd_kafka_message_destroy(msg);
    }
    if (l->cnt) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(app->consumer, l, app_seek_timeout_ms(1000));
        if (e) {
            wc_warn("kafka", "rewind of %d paused partition(s): %s", l->cnt,
                    rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].err)
                wc_warn("kafka", "rewind partition %d to %lld: %s", l->elems[i].partition,
                        (long long)l->elems[i].offset, rd_kafka_err2str(l->elems[i].err));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void consume_some(wc_app_t *app)
{
    const char *why = NULL;
    for (int iter = 0; iter < 16; iter++) {
        wc_block_reason_t blocked = app_input_blocked(app, &why);
        block_account(app, blocked);
        if (blocked) {
            int64_t now = wc_now_ms();
            if (!app->paused_backpressure)
                wc_dbg(WC_DBG_KAFKA, "kafka", "input paused: %s", why);
            app->paused_backpressure = true;
            atomic_store(&app->wake_wanted, 1);
            if (!app->blocked_since_ms)
                app->blocked_since_ms = now;
            if (app->state == WC_APP_RUNNING && !app->rebalance_depth) {
                /* A transaction cut is active work (the workers finish what
                 * was consumed), not a stall: pause only when it lasts. */
                int64_t pause_after = why == EOS_CUT_REASON ? 10000 : 1000;
                if (!app->partitions_paused && now - app->blocked_since_ms > pause_after) {
                    wc_warn("kafka", "input blocked for %lld ms: %s",
                            (long long)(now - app->blocked_since_ms), why);
                    app_pause_assignment(app, true);
                }
                if (app->partitions_paused)
                    app_poll_blocked(app);
            }
            return;
        }
        app->paused_backpressure = false;
        app->blocked_since_ms = 0;
        if (app->partitions_paused)
            app_pause_assignment(app, false);
        atomic_store(&app->wake_wanted, 0);
        ssize_t n = rd_kafka_consume_batch_queue(app->cq, 0, app->cbatch, app->consume_batch);
        if (n <= 0)
            return;
        int64_t now_ns = wc_mono_ns(), now_wall_ms = wc_now_ms();
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *msg = app->cbatch[i];
            if (msg->err) {
                if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    WC_METRIC_INC(app->m_main, WC_M_CONSUME_ERRORS);
                    wc_warn("kafka", "consume: %s", rd_kafka_message_errstr(msg));
                }
                rd_kafka_message_destroy(msg);
                continue;
            }
            int t = wc_app_topic_index(app, rd_kafka_topic_name(msg->rkt));
            wc_ptrack_t *pt = t >= 0 ? wc_track_get(app->track[t], msg->partition) : NULL;
            wc_track_entry_t *te = pt ? wc_ptrack_add(app->track[t], pt, msg->offset) : NULL;
            if (!te) {
                /* Not assigned (stale fetch) or out of memory: not tracked,
                 * not committed, so it will be consumed again. */
                wc_dbg(WC_DBG_KAFKA, "kafka", "dropping untracked message partition %d offset %lld",
                       msg->partition, (long long)msg->offset);
                rd_kafka_message_destroy(msg);
                continue;
            }
            te->ref = msg;
            te->t_ns = now_ns;
            rd_kafka_timestamp_type_t tst;
            int64_t ts = rd_kafka_message_timestamp(msg, &tst);
            if (tst == RD_KAFKA_TIMESTAMP_CREATE_TIME && ts > 0)
                wc_metrics_latency(app->m_main, WC_SPAN_FETCH, (now_wall_ms - ts) * 1000, 1);
            if (eos.on)
                eos_note_consumed(t, msg->partition, msg->offset);
            int w = msg->partition % app->nworkers;
            app->dispatch_buf[w][app->dispatch_n[w]++] = te;
        }
        for (int w = 0; w < app->nworkers; w++) {
            if (!app->dispatch_n[w])
                continue;
            size_t pushed = wc_worker_push(app->workers[w], app->dispatch_buf[w], app->dispatch_n[w]);
            /* Free space was checked above, so everything fits. */
            if (pushed != app->dispatch_n[w]) {
                wc_err("worker", "ring overflow (%zu of %zu pushed): bug", pushed,
                       app->dispatch_n[w]);
                abort();
            }
            app->dispatch_n[w] = 0;
            wc_worker_kick(app->workers[w]);
        }
        if ((size_t)n < app->consume_batch)
            return;
    }
    /* Still more to read: continue after other events had a turn (the queue
     * will not signal again while non-empty). */
    ev_idle_start(app->loop, &consume_more);
}

static void consume_more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    ev_idle_stop(loop, w);
    consume_some(w->data);
}

static void drain_pipe(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void cq_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    wc_app_t *app = w->data;
    drain_pipe(app->cq_pipe[0]);
    consume_some(app);
}

static void pq_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    wc_app_t *app = w->data;
    drain_pipe(app->pq_pipe[0]);
    rd_kafka_poll(app->producer, 0);
    if (eos.on && eos.state == EOS_CUTTING)
        eos_poll(app);
    if (app->paused_backpressure)
        consume_some(app);
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    wc_app_t *app = w->data;
    if (app->paused_backpressure)
        consume_some(app);
}

/* ------------------------------------------------------------------ */
/* rules snapshots                                                      */

static void rules_reclaim(wc_app_t *app)
{
    uint64_t min = UINT64_MAX;
    for (int i = 0; i < app->nworkers; i++) {
        uint64_t q = wc_worker_quiescent_epoch(app->workers[i]);
        if (q < min)
            min = q;
    }
    wc_retired_rules_t **pp = &app->retired;
    while (*pp) {
        wc_retired_rules_t *r = *pp;
        if (min >= r->epoch) {
            *pp = r->next;
            wc_rules_release(r->rules);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

static int rules_install(wc_app_t *app, wc_rules_t *rules)
{
    wc_retired_rules_t *ret = calloc(1, sizeof(*ret));
    if (!ret)
        return WC_ERR_NOMEM;
    wc_rules_t *old = atomic_exchange_explicit(&app->rules, rules, memory_order_seq_cst);
    uint64_t epoch = atomic_fetch_add_explicit(&app->rules_epoch, 1, memory_order_seq_cst) + 1;
    app->rules_loaded_at_ms = wc_now_ms();
    if (!old) {
        free(ret);
        return 0;
    }
    ret->rules = old;
    ret->epoch = epoch;
    ret->next = app->retired;
    app->retired = ret;
    return 0;
}

/* Every problem of a rejected (or accepted-with-warnings) rule reload. */
static void reload_diag(void *opaque, int is_error, const char *msg)
{
    (void)opaque;
    if (is_error)
        wc_err("rules", "%s", msg);
    else
        wc_warn("rules", "%s", msg);
}

static void app_reload(wc_app_t *app)
{
    char errstr[512];
    char *rules_dir = NULL; /* a new rules.dir is adopted only if its rules load */
    wc_info("config", "SIGHUP: reloading%s%s and rules", app->config_path ? " " : "",
            app->config_path ? app->config_path : "");
    wc_sd_notify("RELOADING=1");
    app->sd_reload_pending = true; /* READY=1 again from the next tick */
    if (app->config_path) {
        wc_config_t *nc = wc_config_new();
        if (!nc || wc_config_load_file(nc, app->config_path, errstr, sizeof(errstr)) ||
            wc_config_validate(nc, errstr, sizeof(errstr))) {
            wc_err("config", "reload rejected, keeping the running configuration: %s",
                   nc ? errstr : "out of memory");
            WC_METRIC_INC(app->m_main, WC_M_RULES_RELOAD_FAILS);
            wc_config_destroy(nc);
            return;
        }
        char diff[512];
        if (wc_config_diff_nonreloadable(app->cfg, nc, diff, sizeof(diff)))
            wc_warn("config", "changed keys need a restart and were not applied: %s", diff);
        /* Reloadable keys are read by the main thread only: swap them in. */
        char *tmp;
#define SWAPSTR(f) (tmp = app->cfg->f, app->cfg->f = nc->f, nc->f = tmp)
        SWAPSTR(log_level);
        SWAPSTR(log_format);
        SWAPSTR(debug);
#undef SWAPSTR
        rules_dir = nc->rules_dir;
        nc->rules_dir = NULL;
        wc_config_destroy(nc);
        uint32_t mask = 0;
        wc_log_parse_debug(app->cfg->debug, &mask);
        wc_log_setup(wc_log_parse_level(app->cfg->log_level), !strcmp(app->cfg->log_format, "json"),
                     mask);
    }
    wc_rules_t *rules = wc_rules_load_diag(rules_dir ? rules_dir : app->cfg->rules_dir, reload_diag,
                                           NULL, errstr, sizeof(errstr));
    if (!rules) {
        wc_err("rules", "reload rejected, keeping the running rules (from %s): %s",
               app->cfg->rules_dir, errstr);
        WC_METRIC_INC(app->m_main, WC_M_RULES_RELOAD_FAILS);
        free(rules_dir);
        return;
    }
    if (rules_dir) {
        free(app->cfg->rules_dir);
        app->cfg->rules_dir = rules_dir;
    }
    if (rules_install(app, rules)) {
        wc_rules_release(rules);
        return;
    }
    WC_METRIC_INC(app->m_main, WC_M_RULES_RELOADS);
    wc_rules_stats_t st;
    wc_rules_stats(rules, &st);
    wc_info("rules", "rules reloaded from %s: version %s, %u files, %u entries, %u topics, %u routes",
            app->cfg->rules_dir, wc_rules_version(rules), st.files, st.entries, st.topics, st.routes);
}

/* ------------------------------------------------------------------ */
/* signals, tick, shutdown                                              */

static void *shutdown_watchdog(void *arg)
{
    int ms = *(int *)arg;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
    wc_err("app", "shutdown did not complete within %d ms; exiting without final commit", ms);
    _exit(1);
    return NULL;
}

static void app_begin_shutdown(wc_app_t *app, const char *why)
{
    static int watchdog_ms;
    pthread_t th;
    if (app->state == WC_APP_DRAINING)
        return;
    wc_info("app", "%s: draining (up to %d ms)", why, app->cfg->drain_timeout_ms);
    wc_sd_notify("STOPPING=1\nSTATUS=draining");
    app->state = WC_APP_DRAINING;
    app->drain_deadline_ms = wc_now_ms() + app->cfg->drain_timeout_ms;
    watchdog_ms = app->cfg->drain_timeout_ms + 4000;
    if (!pthread_create(&th, NULL, shutdown_watchdog, &watchdog_ms))
        pthread_detach(th);
}

static void sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    wc_app_t *app = w->data;
    if (w->signum == SIGHUP) {
        app_reload(app);
        return;
    }
    app_begin_shutdown(app, w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void redis_state_cb(void *opaque, int up)
{
    wc_app_t *app = opaque;
    atomic_store(&app->redis_up, up);
    wc_windows_redis_state(app->windows, up);
    if (up && app->paused_backpressure)
        consume_some(app);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    wc_app_t *app = w->data;
    {
        /* systemd: READY=1 once the daemon first becomes ready (and after
         * a reload), watchdog keep-alives while the loop runs. */
        static bool notified_ready;
        static int64_t last_wd_ms;
        static uint64_t wd_usec = UINT64_MAX;
        char why[64];
        if (wd_usec == UINT64_MAX)
            wd_usec = wc_sd_watchdog_usec();
        if ((!notified_ready || app->sd_reload_pending) && wc_app_ready(app, why, sizeof(why))) {
            wc_sd_notify("READY=1\nSTATUS=running");
            notified_ready = true;
            app->sd_reload_pending = false;
        }
        int64_t now = wc_now_ms();
        if (wd_usec && now - last_wd_ms >= (int64_t)(wd_usec / 2000)) {
            wc_sd_notify("WATCHDOG=1");
            last_wd_ms = now;
        }
    }
    wc_output_retry_pending(app);
    app_store_offsets(app);
    eos_poll(app);
    rules_reclaim(app);
    if (atomic_load(&app->fatal) && app->state == WC_APP_RUNNING) {
        app->exit_code = 1;
        app_begin_shutdown(app, "fatal error");
    }
    if (app->state == WC_APP_DRAINING) {
        block_account(app, WC_BLOCK_NOT_RUNNING); /* consume_some is not called any more */
        uint64_t left = wc_app_inflight(app);
        if (!left || atomic_load(&app->fatal)) {
            ev_break(loop, EVBREAK_ALL);
        } else if (wc_now_ms() >= app->drain_deadline_ms) {
            wc_warn("app", "drain timeout: %llu input messages not fully acknowledged; their "
                           "offsets are not committed",
                    (unsigned long long)left);
            app->exit_code = 1;
            ev_break(loop, EVBREAK_ALL);
        }
        return;
    }
    if (app->paused_backpressure || app->state == WC_APP_RUNNING)
        consume_some(app);
}

int wc_app_ready(const wc_app_t *app, char *why, size_t why_size)
{
    const char *r = NULL;
    if (app->state != WC_APP_RUNNING)
        r = app->state == WC_APP_DRAINING ? "draining" : "starting";
    else if (atomic_load(&app->fatal))
        r = "fatal error";
    else if (!atomic_load(&app->kafka_up))
        r = "kafka unavailable";
    else if (!atomic_load(&app->redis_up))
        r = "redis unavailable";
    else if (!atomic_load(&app->rules))
        r = "no rules loaded";
    if (r)
        snprintf(why, why_size, "not ready: %s", r);
    return r == NULL;
}

void wc_app_gauges(const wc_app_t *app, wc_metrics_gauges_t *g)
{
    char why[64];
    memset(g, 0, sizeof(*g));
    g->inflight = wc_app_inflight(app);
    memcpy(g->input_blocked_ns, app->blocked_ns, sizeof(g->input_blocked_ns));
    g->input_blocked_ns[app->block_reason] += block_open_ns(app, wc_mono_ns());
    g->window_pending = wc_windows_pending(app->windows);
    g->consumer_lag = app->consumer_lag;
    g->ready = wc_app_ready(app, why, sizeof(why));
    g->kafka_up = atomic_load(&app->kafka_up);
    g->redis_up = atomic_load(&app->redis_up);
    g->workers = app->nworkers;
    g->rules_loaded_at_ms = app->rules_loaded_at_ms;
    g->assigned_partitions = app->assigned;
    if (app->dedup)
        wc_dedup_stats(app->dedup, &g->dedup);
}

/* ------------------------------------------------------------------ */
/* construction                                                         */

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *errstr,
                    size_t errstr_size)
{
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        wc_errstr_set(errstr, errstr_size, "kafka %s: %s", k, e);
        return WC_ERR_INVAL;
    }
    return 0;
}

static int conf_apply_kv(rd_kafka_conf_t *conf, const wc_kv_t *kv, int n, char *errstr,
                         size_t errstr_size)
{
    char e[256];
    for (int i = 0; i < n; i++) {
        if (rd_kafka_conf_set(conf, kv[i].key, kv[i].value, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            wc_errstr_set(errstr, errstr_size, "%s: %s", kv[i].origin, e);
            return WC_ERR_INVAL;
        }
    }
    return 0;
}

static bool kv_has(const wc_kv_t *kv, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return true;
    return false;
}

static rd_kafka_conf_t *base_conf(wc_app_t *app, const char *role, char *errstr, size_t errstr_size)
{
    const wc_config_t *c = app->cfg;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char name[128];
    snprintf(name, sizeof(name), "webcared-%s-%s", c->instance_id, role);
    if (conf_set(conf, "bootstrap.servers", c->kafka_brokers, errstr, errstr_size) ||
        conf_set(conf, "client.id", name, errstr, errstr_size) ||
        conf_set(conf, "statistics.interval.ms", "1000", errstr, errstr_size) ||
        conf_set(conf, "log.connection.close", "false", errstr, errstr_size) ||
        conf_apply_kv(conf, c->kafka_global, c->n_kafka_global, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, app);
    rd_kafka_conf_set_log_cb(conf, rk_log_cb);
    rd_kafka_conf_set_error_cb(conf, rk_error_cb);
    rd_kafka_conf_set_stats_cb(conf, rk_stats_cb);
    return conf;
}

static int app_kafka_setup(wc_app_t *app, char *errstr, size_t errstr_size)
{
    const wc_config_t *c = app->cfg;
    char e[512], num[32];
    rd_kafka_conf_t *conf;

    /* Producer */
    conf = base_conf(app, "producer", errstr, errstr_size);
    if (!conf)
        return WC_ERR_INVAL;
    snprintf(num, sizeof(num), "%d", c->message_timeout_ms);
    if (conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
        conf_set(conf, "message.timeout.ms", num, errstr, errstr_size) ||
        (!kv_has(c->kafka_producer, c->n_kafka_producer, "linger.ms") &&
         conf_set(conf, "linger.ms", "5", errstr, errstr_size)) ||
        (!kv_has(c->kafka_producer, c->n_kafka_producer, "batch.num.messages") &&
         conf_set(conf, "batch.num.messages", "10000", errstr, errstr_size)) ||
        (!kv_has(c->kafka_producer, c->n_kafka_producer, "queue.buffering.max.messages") &&
         conf_set(conf, "queue.buffering.max.messages", "1000000", errstr, errstr_size)) ||
        (!kv_has(c->kafka_producer, c->n_kafka_producer, "queue.buffering.max.kbytes") &&
         conf_set(conf, "queue.buffering.max.kbytes", "262144", errstr, errstr_size)) ||
        conf_apply_kv(conf, c->kafka_producer, c->n_kafka_producer, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        return WC_ERR_INVAL;
    }
    snprintf(num, sizeof(num), "%d", c->input_max_bytes + 65536 > 1000000 ? c->input_max_bytes + 65536 : 1000000);
    if (!kv_has(c->kafka_producer, c->n_kafka_producer, "message.max.bytes") &&
        conf_set(conf, "message.max.bytes", num, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        return WC_ERR_INVAL;
    }
    if (c->exactly_once) {
        if (*c->transactional_id)
            snprintf(eos.tid, sizeof(eos.tid), "%s", c->transactional_id);
        else
            snprintf(eos.tid, sizeof(eos.tid), "webcared-%s", c->instance_id);
        if (conf_set(conf, "transactional.id", eos.tid, errstr, errstr_size)) {
            rd_kafka_conf_destroy(conf);
            return WC_ERR_INVAL;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, wc_output_dr_cb);
    app->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!app->producer) {
        wc_errstr_set(errstr, errstr_size, "kafka producer: %s", e);
        return WC_ERR_INVAL;
    }
    if (c->exactly_once) {
        /* Fences an older producer with the same transactional.id and
         * completes its open transaction (Apache Kafka aborts it). */
        int tmo = c->transaction_call_timeout_ms > 30000 ? c->transaction_call_timeout_ms : 30000;
        rd_kafka_error_t *te = rd_kafka_init_transactions(app->producer, tmo);
        if (te) {
            wc_errstr_set(errstr, errstr_size,
                          "exactly-once: init_transactions (transactional.id %s): %s%s", eos.tid,
                          rd_kafka_error_string(te),
                          rd_kafka_error_is_fatal(te) ? " (fatal)" : "");
            rd_kafka_error_destroy(te);
            return WC_ERR_UNAVAIL;
        }
        char run[24];
        snprintf(run, sizeof(run), "%08x",
                 (unsigned)((uint64_t)wc_now_ms() * 2654435761u ^ (unsigned)getpid() * 40503u));
        wc_output_eos_enable(run);
        eos.on = true;
        if (eos_begin(app)) {
            wc_errstr_set(errstr, errstr_size, "exactly-once: begin_transaction failed");
            return WC_ERR_UNAVAIL;
        }
        wc_info("kafka", "exactly-once: transactional.id %s, run %s, transactions of %d ms / %d "
                         "input messages",
                eos.tid, run, c->transaction_ms, c->transaction_max_messages);
    }
    app->rkt_dlq = rd_kafka_topic_new(app->producer, c->topic_dlq, NULL);

    /* Consumer */
    conf = base_conf(app, "consumer", errstr, errstr_size);
    if (!conf)
        return WC_ERR_INVAL;
    snprintf(num, sizeof(num), "%d", c->commit_interval_ms);
    if (conf_set(conf, "group.id", c->kafka_group_id, errstr, errstr_size) ||
        conf_set(conf, "enable.auto.commit", c->exactly_once ? "false" : "true", errstr,
                 errstr_size) ||
        (c->exactly_once && !kv_has(c->kafka_consumer, c->n_kafka_consumer, "isolation.level") &&
         conf_set(conf, "isolation.level", "read_committed", errstr, errstr_size)) ||
        conf_set(conf, "enable.auto.offset.store", "false", errstr, errstr_size) ||
        conf_set(conf, "auto.commit.interval.ms", num, errstr, errstr_size) ||
        (!kv_has(c->kafka_consumer, c->n_kafka_consumer, "auto.offset.reset") &&
         conf_set(conf, "auto.offset.reset", "earliest", errstr, errstr_size)) ||
        (!kv_has(c->kafka_consumer, c->n_kafka_consumer, "queued.max.messages.kbytes") &&
         conf_set(conf, "queued.max.messages.kbytes", "32768", errstr, errstr_size)) ||
        conf_apply_kv(conf, c->kafka_consumer, c->n_kafka_consumer, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        return WC_ERR_INVAL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rk_rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, rk_commit_cb);
    app->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!app->consumer) {
        wc_errstr_set(errstr, errstr_size, "kafka consumer: %s", e);
        return WC_ERR_INVAL;
    }
    rd_kafka_poll_set_consumer(app->consumer);
    app->cq = rd_kafka_queue_get_consumer(app->consumer);
    app->pq = rd_kafka_queue_get_main(app->producer);
    if (pipe2(app->cq_pipe, O_NONBLOCK | O_CLOEXEC) || pipe2(app->pq_pipe, O_NONBLOCK | O_CLOEXEC)) {
        wc_errstr_set(errstr, errstr_size, "pipe: %s", strerror(errno));
        return WC_ERR_IO;
    }
    rd_kafka_queue_io_event_enable(app->cq, app->cq_pipe[1], "1", 1);
    rd_kafka_queue_io_event_enable(app->pq, app->pq_pipe[1], "1", 1);

    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(sub, c->topic_input, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(sub, c->topic_responses, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(app->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        wc_errstr_set(errstr, errstr_size, "subscribe %s: %s", c->topic_input,
                      rd_kafka_err2str(err));
        return WC_ERR_INVAL;
    }
    return 0;
}

wc_app_t *wc_app_create(wc_config_t *cfg, const char *config_path, char *errstr,
                        size_t errstr_size)
{
    wc_app_t *app = calloc(1, sizeof(*app));
    char hostname[128];
    if (!app) {
        wc_config_destroy(cfg);
        wc_errstr_set(errstr, errstr_size, "out of memory");
        return NULL;
    }
    app->cfg = cfg;
    app->cq_pipe[0] = app->cq_pipe[1] = app->pq_pipe[0] = app->pq_pipe[1] = -1;
    app->config_path = config_path ? strdup(config_path) : NULL;
    app->consumer_lag = -1;
    if (!*cfg->instance_id) {
        if (gethostname(hostname, sizeof(hostname)))
            snprintf(hostname, sizeof(hostname), "webcared");
        hostname[sizeof(hostname) - 1] = '\0';
        free(cfg->instance_id);
        cfg->instance_id = strdup(hostname);
    }

    wc_decode_limits_default(&app->limits);
    app->limits.max_bytes = (size_t)cfg->input_max_bytes;
    app->limits.max_depth = cfg->input_max_depth;
    app->limits.max_text_len = (uint32_t)cfg->input_max_text_bytes;
    app->limits.max_id_len = (uint32_t)cfg->input_max_id_bytes;
    app->limits.max_field_len = (uint32_t)cfg->input_max_field_bytes;

    app->loop = ev_default_loop(EVFLAG_AUTO);
    app->nworkers = wc_config_workers(cfg);
    app->metrics = wc_metrics_create(app->nworkers + 1);
    app->topic_names[WC_TOPIC_MENTIONS] = cfg->topic_input;
    app->topic_names[WC_TOPIC_RESPONSES] = cfg->topic_responses;
    for (int i = 0; i < WC_TOPIC__COUNT; i++)
        app->track[i] = wc_track_create(i);
    app->store_list = rd_kafka_topic_partition_list_new(16);
    app->consume_batch = (size_t)cfg->consume_batch;
    app->cbatch = calloc(app->consume_batch, sizeof(*app->cbatch));
    app->dispatch_buf = calloc((size_t)app->nworkers, sizeof(*app->dispatch_buf));
    app->dispatch_n = calloc((size_t)app->nworkers, sizeof(*app->dispatch_n));
    app->workers = calloc((size_t)app->nworkers, sizeof(*app->workers));
    if (!app->loop || !app->metrics || !app->track[0] || !app->track[1] || !app->cbatch || !app->dispatch_buf ||
        !app->dispatch_n || !app->workers) {
        wc_errstr_set(errstr, errstr_size, "out of memory");
        goto fail;
    }
    app->m_main = wc_metrics_shard(app->metrics, 0);

    wc_rules_t *rules = wc_rules_load(cfg->rules_dir, errstr, errstr_size);
    if (!rules)
        goto fail;
    rules_install(app, rules);

    wc_dedup_config_t dc;
    wc_dedup_config_default(&dc);
    dc.capacity = (uint32_t)cfg->dedup_capacity;
    dc.window_ms = (int64_t)cfg->dedup_window_s * 1000;
    dc.max_hamming = cfg->dedup_max_hamming;
    dc.min_tokens = cfg->dedup_min_tokens;
    app->dedup = wc_dedup_create(&dc, errstr, errstr_size);
    if (!app->dedup)
        goto fail;

    if (app_kafka_setup(app, errstr, errstr_size))
        goto fail;

    for (int i = 0; i < app->nworkers; i++) {
        app->dispatch_buf[i] = calloc(app->consume_batch, sizeof(wc_job_t *));
        if (!app->dispatch_buf[i]) {
            wc_errstr_set(errstr, errstr_size, "out of memory");
            goto fail;
        }
        app->workers[i] = wc_worker_create(app, i, errstr, errstr_size);
        if (!app->workers[i])
            goto fail;
    }

    if (cfg->window_enabled) {
        app->windows = wc_windows_create(app, app->nworkers, errstr, errstr_size);
        if (!app->windows)
            goto fail;
    }
    app->redis = wc_redis_create(app->loop, cfg->redis_addr, cfg->redis_password,
                                 cfg->redis_timeout_ms, redis_state_cb, app, errstr, errstr_size);
    if (!app->redis)
        goto fail;

    if (cfg->http_port > 0 || !strcmp(cfg->http_bind, "0")) {
        app->http = wc_http_create(app, cfg->http_bind, cfg->http_port, errstr, errstr_size);
        if (!app->http)
            goto fail;
    }

    ev_io_init(&app->cq_watcher, cq_cb, app->cq_pipe[0], EV_READ);
    app->cq_watcher.data = app;
    ev_io_init(&app->pq_watcher, pq_cb, app->pq_pipe[0], EV_READ);
    app->pq_watcher.data = app;
    ev_async_init(&app->wake, wake_cb);
    app->wake.data = app;
    ev_idle_init(&consume_more, consume_more_cb);
    consume_more.data = app;
    ev_timer_init(&app->tick, tick_cb, cfg->tick_ms / 1000.0, cfg->tick_ms / 1000.0);
    app->tick.data = app;
    ev_signal_init(&app->sig_term, sig_cb, SIGTERM);
    ev_signal_init(&app->sig_int, sig_cb, SIGINT);
    ev_signal_init(&app->sig_hup, sig_cb, SIGHUP);
    app->sig_term.data = app->sig_int.data = app->sig_hup.data = app;
    return app;
fail:
    wc_app_destroy(app);
    return NULL;
}

int wc_app_run(wc_app_t *app)
{
    for (int i = 0; i < app->nworkers; i++) {
        if (wc_worker_start(app->workers[i])) {
            wc_err("app", "cannot start worker %d", i);
            return 1;
        }
    }
    ev_io_start(app->loop, &app->cq_watcher);
    ev_io_start(app->loop, &app->pq_watcher);
    ev_async_start(app->loop, &app->wake);
    ev_timer_start(app->loop, &app->tick);
    wc_windows_start(app->windows);
    ev_signal_start(app->loop, &app->sig_term);
    ev_signal_start(app->loop, &app->sig_int);
    ev_signal_start(app->loop, &app->sig_hup);
    app->state = WC_APP_RUNNING;
    wc_info("app",
            "webcared %s started: %d workers, input %s, brokers %s, redis %s, dedup claims %s, "
            "http %s:%d",
            WC_VERSION_STR, app->nworkers, app->cfg->topic_input, app->cfg->kafka_brokers,
            app->cfg->redis_addr,
            !app->cfg->dedup_remote         ? "off"
            : *app->cfg->dedup_redis_addr ? app->cfg->dedup_redis_addr
                                            : "on redis",
            app->cfg->http_bind, app->http ? wc_http_port(app->http) : 0);

    ev_run(app->loop, 0);

    /* Drained (or gave up): stop workers, final store + commit, leave. */
    for (int i = 0; i < app->nworkers; i++)
        wc_worker_stop_join(app->workers[i]);
    rd_kafka_flush(app->producer, 2000);
    rd_kafka_poll(app->producer, 0);
    if (eos.on) {
        eos_shutdown(app);
    } else {
        app_store_offsets(app);
        if (!atomic_load(&app->fatal)) {
            rd_kafka_resp_err_t err = rd_kafka_commit(app->consumer, NULL, 0);
            if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                wc_warn("kafka", "final commit: %s", rd_kafka_err2str(err));
        }
    }
    app->state = WC_APP_STOPPED;
    rd_kafka_consumer_close(app->consumer);
    if (atomic_load(&app->fatal))
        app->exit_code = 1;
    wc_info("app", "stopped (exit %d): consumed %llu, produced %llu, dlq %llu",
            app->exit_code, (unsigned long long)wc_metrics_sum(app->metrics, WC_M_CONSUMED),
            (unsigned long long)wc_metrics_sum(app->metrics, WC_M_PRODUCED),
            (unsigned long long)wc_metrics_sum(app->metrics, WC_M_DLQ));
    return app->exit_code;
}

void wc_app_destroy(wc_app_t *app)
{
    if (!app)
        return;
    if (app->workers) {
        for (int i = 0; i < app->nworkers; i++) {
            if (app->workers[i]) {
                wc_worker_stop_join(app->workers[i]);
                wc_worker_destroy(app->workers[i]);
            }
        }
    }
    wc_http_destroy(app->http);
    wc_redis_destroy(app->redis);
    if (app->cq) {
        rd_kafka_queue_io_event_enable(app->cq, -1, NULL, 0);
        rd_kafka_queue_destroy(app->cq);
    }
    if (app->pq) {
        rd_kafka_queue_io_event_enable(app->pq, -1, NULL, 0);
        rd_kafka_queue_destroy(app->pq);
    }
    if (app->consumer)
        rd_kafka_destroy(app->consumer);
    if (app->rkt_dlq)
        rd_kafka_topic_destroy(app->rkt_dlq);
    wc_windows_drop_topics(app->windows);
    wc_output_eos_destroy(app);
    if (eos.offsets) {
        rd_kafka_topic_partition_list_destroy(eos.offsets);
        eos.offsets = NULL;
    }
    for (int t = 0; t < WC_TOPIC__COUNT; t++) {
        free(eos.pos[t]);
        eos.pos[t] = NULL;
        eos.npos[t] = 0;
    }
    if (app->producer) {
        rd_kafka_flush(app->producer, 1000);
        rd_kafka_destroy(app->producer);
    }
    wc_windows_destroy(app->windows);
    for (int i = 0; i < 2; i++) {
        if (app->cq_pipe[i] >= 0)
            close(app->cq_pipe[i]);
        if (app->pq_pipe[i] >= 0)
            close(app->pq_pipe[i]);
    }
    wc_dedup_destroy(app->dedup);
    while (app->retired) {
        wc_retired_rules_t *r = app->retired;
        app->retired = r->next;
        wc_rules_release(r->rules);
        free(r);
    }
    wc_rules_t *rules = atomic_load(&app->rules);
    if (rules)
        wc_rules_release(rules);
    for (int i = 0; i < WC_TOPIC__COUNT; i++)
        wc_track_destroy(app->track[i]);
    if (app->store_list)
        rd_kafka_topic_partition_list_destroy(app->store_list);
    if (app->dispatch_buf)
        for (int i = 0; i < app->nworkers; i++)
            free(app->dispatch_buf[i]);
    free(app->dispatch_buf);
    free(app->dispatch_n);
    free(app->workers);
    free(app->cbatch);
    wc_metrics_destroy(app->metrics);
    wc_config_destroy(app->cfg);
    free(app->config_path);
    free(app);
}
