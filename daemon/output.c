/*
 * output.c - producing outputs with delivery tracking.
 *
 * Every output carries its input's tracking entry as the message opaque and
 * holds one reference on it until the delivery report. A failed delivery
 * (timeout, all brokers down, ...) is never dropped: the main thread
 * produces the same bytes again (same key, headers, topic). Permanent
 * per-message errors (message too large, authorisation, invalid record) on a
 * case/alert topic re-route the output to the DLQ with the error in headers;
 * on the DLQ itself they are retried with back-off and logged, which stalls
 * the partition's commits (by design: nothing may be silently lost) and
 * makes /readyz report the condition through the growing in-flight count.
 *
 * Threads: wc_output_produce() from any thread (librdkafka's produce is
 * thread-safe); delivery reports and the retry list on the main thread.
 *
 * Exactly-once mode (output.h, docs/EOS.md): outputs go into the open Kafka
 * transaction with a `wc.txn` header. A failed delivery is NOT produced
 * again: librdkafka requires the transaction to be aborted, so the
 * transaction is marked doomed and app.c aborts it and rewinds the input
 * (the replay produces every output again). A permanently failing output is
 * remembered by its input (topic, partition, offset) and sent to the DLQ
 * directly when that input is replayed. Alerts produced into the
 * transaction are acknowledged to the windows outbox only after the commit
 * and re-produced after an abort.
 *
 * Warnings about failed deliveries are rate-limited (warn_*): an outage
 * fails every message in flight (up to kafka.max.inflight per
 * message.timeout.ms), and one line each would flood the log. Per (topic,
 * error, kind) the first failure is logged; the same ones are then counted
 * for WC_OUTPUT_WARN_INTERVAL_MS and the count is logged in one line when
 * the interval is over (on the next tick or the next such failure). The
 * metrics count every failure.
 */
#include "daemon/output.h"
#include "daemon/windows.h"
#include "pipeline/log.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wc_retry {
    struct wc_retry *next;
    rd_kafka_topic_t *rkt; /* own reference */
    wc_track_entry_t *te;
    rd_kafka_headers_t *hdrs;
    void *key;
    size_t keylen;
    size_t len;
    int64_t not_before_ms;
    char payload[];
} wc_retry_t;

/* ------------------------------------------------------------------ */
/* rate-limited delivery warnings (main thread: delivery reports, tick)  */

#define WC_OUTPUT_WARN_INTERVAL_MS 10000
#define WARN_SLOTS 16

typedef enum {
    WARN_FAILED,      /* failed delivery, produced again */
    WARN_NO_OFFSET,   /* "delivered" without an offset, produced again */
    WARN_PERMANENT,   /* permanent error, re-routed to the DLQ */
    WARN_PERMANENT_TXN /* permanent error in a transaction, DLQ after the abort */
} warn_kind_t;

typedef struct warn_slot {
    char topic[128];
    warn_kind_t kind;
    rd_kafka_resp_err_t err;
    int64_t since_ms;    /* when the last line for this slot was logged */
    uint64_t suppressed; /* failures since then not logged */
} warn_slot_t;

static struct {
    warn_slot_t slot[WARN_SLOTS];
    int n;
    int64_t flush_at_ms; /* earliest since_ms + interval of a slot with suppressed > 0 */
} warn = {.flush_at_ms = INT64_MAX};

static const char *warn_what(warn_kind_t kind)
{
    switch (kind) {
    case WARN_FAILED:
        return "producing it again";
    case WARN_NO_OFFSET:
        return "reported without an offset; producing it again";
    case WARN_PERMANENT:
        return "failed permanently; sent to the DLQ";
    default:
        return "failed permanently; to the DLQ after the abort";
    }
}

static void warn_summary(const warn_slot_t *w, int64_t now)
{
    wc_warn("kafka", "delivery to %s: %llu more of the same (%s; %s) in the last %lld ms, not "
                     "logged one by one",
            w->topic, (unsigned long long)w->suppressed, rd_kafka_err2str(w->err),
            warn_what(w->kind), (long long)(now - w->since_ms));
}

/* Log the counts of the slots whose interval is over. */
static void warn_flush(int64_t now)
{
    if (now < warn.flush_at_ms)
        return;
    warn.flush_at_ms = INT64_MAX;
    for (int i = 0; i < warn.n; i++) {
        warn_slot_t *w = &warn.slot[i];
        if (!w->suppressed)
            continue;
        if (now - w->since_ms >= WC_OUTPUT_WARN_INTERVAL_MS) {
            warn_summary(w, now);
            w->suppressed = 0;
            w->since_ms = now;
        } else if (w->since_ms + WC_OUTPUT_WARN_INTERVAL_MS < warn.flush_at_ms) {
            warn.flush_at_ms = w->since_ms + WC_OUTPUT_WARN_INTERVAL_MS;
        }
    }
}

/* True if a failure of this kind is to be logged now (the caller logs the
 * line); false if it was counted for the next summary. */
static bool warn_take(const char *topic, warn_kind_t kind, rd_kafka_resp_err_t err)
{
    int64_t now = wc_now_ms();
    warn_slot_t *w = NULL, *oldest = NULL;
    for (int i = 0; i < warn.n; i++) {
        warn_slot_t *c = &warn.slot[i];
        if (c->kind == kind && c->err == err && !strncmp(c->topic, topic, sizeof(c->topic) - 1)) {
            w = c;
            break;
        }
        if (!oldest || c->since_ms < oldest->since_ms)
            oldest = c;
    }
    if (w && now - w->since_ms < WC_OUTPUT_WARN_INTERVAL_MS) {
        if (!w->suppressed++ && w->since_ms + WC_OUTPUT_WARN_INTERVAL_MS < warn.flush_at_ms)
            warn.flush_at_ms = w->since_ms + WC_OUTPUT_WARN_INTERVAL_MS;
        return false;
    }
    if (w) { /* interval over: its count first, then this line */
        if (w->suppressed)
            warn_summary(w, now);
    } else {
        if (warn.n < WARN_SLOTS) {
            w = &warn.slot[warn.n++];
        } else { /* table full: the least recently logged slot goes */
            w = oldest;
            if (w->suppressed)
                warn_summary(w, now);
        }
        snprintf(w->topic, sizeof(w->topic), "%s", topic);
        w->kind = kind;
        w->err = err;
    }
    w->since_ms = now;
    w->suppressed = 0;
    return true;
}

/* ------------------------------------------------------------------ */
/* exactly-once state (one application per process)                     */

#define EOS_MAX_POISON 256

typedef struct eos_alert {
    struct eos_alert *next;
    rd_kafka_topic_t *rkt; /* own reference */
    wc_track_entry_t *te;  /* the windows' alert entry (freed by wc_windows_output_done) */
    size_t keylen, len;
    bool acked;            /* delivery report received in the open transaction */
    char *key;
    char payload[];
} eos_alert_t;

typedef struct eos_poison {
    int32_t topic, partition;
    int64_t offset;
    rd_kafka_resp_err_t err;
    char target[128];
} eos_poison_t;

static struct {
    bool on;
    char run[24];
    char name[48];                /* "<run>.<seq>" of the open transaction */
    _Atomic uint64_t produced;    /* outputs produced into the open transaction */
    uint64_t unacked;             /* alerts without delivery report (main) */
    _Atomic int doomed;
    char doom_reason[320];        /* written once per transaction (doomed 0 -> 1) */
    eos_alert_t *alerts, **alerts_tail; /* main */
    pthread_mutex_t poison_mu;
    _Atomic int npoison;
    eos_poison_t poison[EOS_MAX_POISON];
} eos = {.poison_mu = PTHREAD_MUTEX_INITIALIZER};

void wc_output_eos_enable(const char *run)
{
    eos.on = true;
    snprintf(eos.run, sizeof(eos.run), "%s", run);
    eos.alerts = NULL;
    eos.alerts_tail = &eos.alerts;
}

bool wc_output_eos_enabled(void)
{
    return eos.on;
}

void wc_output_eos_started(uint64_t seq)
{
    snprintf(eos.name, sizeof(eos.name), "%s.%llu", eos.run, (unsigned long long)seq);
    atomic_store(&eos.produced, 0);
}

const char *wc_output_eos_name(void)
{
    return eos.name;
}

uint64_t wc_output_eos_produced(void)
{
    return atomic_load(&eos.produced);
}

uint64_t wc_output_eos_unacked(void)
{
    return eos.unacked;
}

const char *wc_output_eos_doomed(void)
{
    return atomic_load_explicit(&eos.doomed, memory_order_acquire) == 2 ? eos.doom_reason : NULL;
}

void wc_output_eos_doom(const char *reason)
{
    int expect = 0;
    /* 0 -> 1 (writing the reason) -> 2 (published) */
    if (atomic_compare_exchange_strong(&eos.doomed, &expect, 1)) {
        snprintf(eos.doom_reason, sizeof(eos.doom_reason), "%s", reason);
        atomic_store_explicit(&eos.doomed, 2, memory_order_release);
    }
}

static void eos_alert_free(eos_alert_t *a)
{
    rd_kafka_topic_destroy(a->rkt);
    free(a);
}

/* Hand every alert copy back to the windows outbox (done) and free it. */
static void eos_alerts_release(wc_app_t *app)
{
    eos_alert_t *a = eos.alerts;
    while (a) {
        eos_alert_t *next = a->next;
        wc_windows_output_done(app, a->te);
        eos_alert_free(a);
        a = next;
    }
    eos.alerts = NULL;
    eos.alerts_tail = &eos.alerts;
}

/* The delivery report of an alert produced into the open transaction. */
static void eos_alert_acked(const wc_track_entry_t *te)
{
    for (eos_alert_t *a = eos.alerts; a; a = a->next) {
        if (a->te == te && !a->acked) {
            a->acked = true;
            if (eos.unacked)
                eos.unacked--;
            return;
        }
    }
}

void wc_output_eos_committed(wc_app_t *app)
{
    eos_alerts_release(app);
    eos.unacked = 0;
}

void wc_output_eos_aborted(wc_app_t *app)
{
    (void)app;
    for (eos_alert_t *a = eos.alerts; a; a = a->next)
        a->acked = false;
    eos.unacked = 0;
    atomic_store(&eos.doomed, 0);
}

int wc_output_eos_reproduce(wc_app_t *app)
{
    int rc = 0;
    for (eos_alert_t *a = eos.alerts; a; a = a->next) {
        wc_track_hold(a->te);
        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "wc.txn", -1, eos.name, -1);
        rd_kafka_resp_err_t err = rd_kafka_producev(
            app->producer, RD_KAFKA_V_RKT(a->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE(a->payload, a->len), RD_KAFKA_V_KEY(a->key, a->keylen),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(a->te), RD_KAFKA_V_END);
        if (err) {
            wc_track_release(a->te);
            rd_kafka_headers_destroy(h);
            wc_output_eos_doom(rd_kafka_err2str(err));
            rc = err == RD_KAFKA_RESP_ERR__FATAL ? WC_ERR_UNAVAIL : WC_ERR_IO;
            continue;
        }
        eos.unacked++;
        atomic_fetch_add(&eos.produced, 1);
    }
    return rc;
}

void wc_output_eos_destroy(wc_app_t *app)
{
    eos_alerts_release(app);
}

/* Poisoned input (its output failed permanently in an aborted transaction)?
 * Copies the error and original target. @locality any */
static bool eos_poisoned(const wc_track_entry_t *te, rd_kafka_resp_err_t *err, char *target,
                         size_t target_size)
{
    if (!atomic_load_explicit(&eos.npoison, memory_order_acquire))
        return false;
    bool hit = false;
    pthread_mutex_lock(&eos.poison_mu);
    int n = atomic_load(&eos.npoison);
    for (int i = 0; i < n; i++) {
        const eos_poison_t *p = &eos.poison[i];
        if (p->topic == te->topic && p->partition == te->partition && p->offset == te->offset) {
            *err = p->err;
            snprintf(target, target_size, "%s", p->target);
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&eos.poison_mu);
    return hit;
}

static void eos_poison_add(const wc_track_entry_t *te, rd_kafka_resp_err_t err, const char *target)
{
    pthread_mutex_lock(&eos.poison_mu);
    int n = atomic_load(&eos.npoison);
    /* Full: the oldest is overwritten (it has long been replayed). */
    eos_poison_t *p = &eos.poison[n < EOS_MAX_POISON ? n : (int)((uint64_t)te->offset % EOS_MAX_POISON)];
    p->topic = te->topic;
    p->partition = te->partition;
    p->offset = te->offset;
    p->err = err;
    snprintf(p->target, sizeof(p->target), "%s", target);
    if (n < EOS_MAX_POISON)
        atomic_store_explicit(&eos.npoison, n + 1, memory_order_release);
    pthread_mutex_unlock(&eos.poison_mu);
}

/* Exactly-once produce: header wc.txn, DLQ for poisoned inputs, alert
 * copies, and a refused produce dooms the transaction instead of failing
 * the caller (the abort and replay produce the output again). */
static int eos_produce(wc_app_t *app, rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                       const void *payload, size_t len, rd_kafka_headers_t *headers,
                       wc_track_entry_t *te)
{
    bool own_hdrs = false, is_alert = te->topic == WC_TRACK_TOPIC_ALERT;
    rd_kafka_topic_t *dlq = NULL;
    rd_kafka_resp_err_t perr;
    char target[128];
    eos_alert_t *a = NULL;

    if (!is_alert && eos_poisoned(te, &perr, target, sizeof(target)) &&
        !strcmp(rd_kafka_topic_name(rkt), target)) {
        dlq = rd_kafka_topic_new(app->producer, app->cfg->topic_dlq, NULL);
        if (!dlq)
            return WC_ERR_NOMEM;
        if (!headers) {
            headers = rd_kafka_headers_new(4);
            own_hdrs = true;
        }
        rd_kafka_header_add(headers, "wc.reason", -1, "produce_failed", -1);
        rd_kafka_header_add(headers, "wc.detail", -1, rd_kafka_err2str(perr), -1);
        rd_kafka_header_add(headers, "wc.target.topic", -1, target, -1);
        rkt = dlq;
    }
    if (is_alert) {
        a = malloc(sizeof(*a) + len + keylen);
        if (!a)
            return WC_ERR_NOMEM;
        a->next = NULL;
        a->rkt = rd_kafka_topic_new(app->producer, rd_kafka_topic_name(rkt), NULL);
        if (!a->rkt) {
            free(a);
            return WC_ERR_NOMEM;
        }
        a->te = te;
        a->len = len;
        a->keylen = keylen;
        a->acked = false;
        memcpy(a->payload, payload, len);
        a->key = a->payload + len;
        if (keylen)
            memcpy(a->key, key, keylen);
    }
    if (!headers) {
        headers = rd_kafka_headers_new(1);
        own_hdrs = true;
    }
    rd_kafka_header_add(headers, "wc.txn", -1, eos.name, -1);

    wc_track_hold(te);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        app->producer, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_KEY(key, keylen),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(te), RD_KAFKA_V_END);
    if (dlq)
        rd_kafka_topic_destroy(dlq);
    if (WC_LIKELY(!err)) {
        atomic_fetch_add_explicit(&eos.produced, 1, memory_order_relaxed);
        if (a) {
            *eos.alerts_tail = a;
            eos.alerts_tail = &a->next;
            eos.unacked++;
        }
        return 0;
    }
    wc_track_release(te);
    if (own_hdrs) {
        rd_kafka_headers_destroy(headers);
    } else {
        /* The caller keeps (and may retry with) its headers: take ours out. */
        rd_kafka_header_remove(headers, "wc.txn");
        if (dlq) {
            rd_kafka_header_remove(headers, "wc.reason");
            rd_kafka_header_remove(headers, "wc.detail");
            rd_kafka_header_remove(headers, "wc.target.topic");
        }
    }
    if (a)
        eos_alert_free(a);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return WC_ERR_FULL;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        wc_err("kafka", "produce to %s: %s", rd_kafka_topic_name(rkt), rd_kafka_err2str(err));
        return WC_ERR_UNAVAIL;
    }
    if (is_alert)
        return WC_ERR_IO; /* stays in the Redis outbox */
    /* Refused by the transaction (typically: it already needs an abort).
     * The input is replayed after the abort, so the output is not lost. */
    char why[200];
    snprintf(why, sizeof(why), "produce to %s refused: %s", rd_kafka_topic_name(rkt),
             rd_kafka_err2str(err));
    wc_output_eos_doom(why);
    return 0;
}

/* ------------------------------------------------------------------ */
/* producing                                                            */

int wc_output_produce(wc_app_t *app, rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                      const void *payload, size_t len, rd_kafka_headers_t *headers,
                      wc_track_entry_t *te)
{
    rd_kafka_resp_err_t err;

    if (eos.on)
        return eos_produce(app, rkt, key, keylen, payload, len, headers, te);
    wc_track_hold(te);
    if (headers)
        err = rd_kafka_producev(app->producer, RD_KAFKA_V_RKT(rkt),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_VALUE((void *)payload, len),
                                RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_HEADERS(headers),
                                RD_KAFKA_V_OPAQUE(te), RD_KAFKA_V_END);
    else
        err = rd_kafka_producev(app->producer, RD_KAFKA_V_RKT(rkt),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_VALUE((void *)payload, len),
                                RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_OPAQUE(te),
                                RD_KAFKA_V_END);
    if (WC_LIKELY(!err))
        return 0;
    wc_track_release(te);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return WC_ERR_FULL;
    wc_err("kafka", "produce to %s: %s", rd_kafka_topic_name(rkt), rd_kafka_err2str(err));
    return err == RD_KAFKA_RESP_ERR__FATAL ? WC_ERR_UNAVAIL : WC_ERR_INVAL;
}

static bool err_is_permanent(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
        return true;
    default:
        return false;
    }
}

static void retry_enqueue(wc_app_t *app, const rd_kafka_message_t *m, rd_kafka_topic_t *rkt,
                          rd_kafka_headers_t *hdrs, int64_t delay_ms)
{
    wc_retry_t *r = malloc(sizeof(*r) + m->len + m->key_len);
    if (!r) {
        /* Cannot even queue a retry: keep the reference (offset never
         * committed) and stop; at-least-once holds on restart. */
        wc_err("kafka", "out of memory queueing a retry; shutting down");
        atomic_store(&app->fatal, 1);
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return;
    }
    r->next = NULL;
    r->rkt = rkt;
    r->te = m->_private;
    r->hdrs = hdrs;
    r->len = m->len;
    memcpy(r->payload, m->payload, m->len);
    r->keylen = m->key_len;
    r->key = r->payload + m->len;
    if (m->key_len)
        memcpy(r->key, m->key, m->key_len);
    r->not_before_ms = wc_now_ms() + delay_ms;
    if (app->retry_tail)
        app->retry_tail->next = r;
    else
        app->retry_head = r;
    app->retry_tail = r;
    app->retry_len++;
}

void wc_output_retry_pending(wc_app_t *app)
{
    int64_t now = wc_now_ms();
    warn_flush(now);
    while (app->retry_head) {
        wc_retry_t *r = app->retry_head;
        if (r->not_before_ms > now)
            break;
        rd_kafka_resp_err_t err;
        /* The reference taken at first produce is still held by this retry
         * and moves to the new message. */
        if (r->hdrs)
            err = rd_kafka_producev(app->producer, RD_KAFKA_V_RKT(r->rkt),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_VALUE(r->payload, r->len),
                                    RD_KAFKA_V_KEY(r->key, r->keylen), RD_KAFKA_V_HEADERS(r->hdrs),
                                    RD_KAFKA_V_OPAQUE(r->te), RD_KAFKA_V_END);
        else
            err = rd_kafka_producev(app->producer, RD_KAFKA_V_RKT(r->rkt),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_VALUE(r->payload, r->len),
                                    RD_KAFKA_V_KEY(r->key, r->keylen), RD_KAFKA_V_OPAQUE(r->te),
                                    RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        app->retry_head = r->next;
        if (!app->retry_head)
            app->retry_tail = NULL;
        app->retry_len--;
        if (err) {
            wc_err("kafka", "re-produce to %s: %s; shutting down", rd_kafka_topic_name(r->rkt),
                   rd_kafka_err2str(err));
            if (r->hdrs)
                rd_kafka_headers_destroy(r->hdrs);
            atomic_store(&app->fatal, 1);
        }
        rd_kafka_topic_destroy(r->rkt);
        free(r);
    }
}

void wc_output_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    wc_app_t *app = opaque;
    wc_track_entry_t *te = m->_private;
    /* A "delivered" report without an offset is not trusted: with
     * librdkafka 2.0.2's idempotent producer a partition leader change can
     * report messages delivered that no log holds (offset -1001; reproduced
     * without webcared by tests/lib/mock_ack_probe.sh). Producing it again
     * keeps at-least-once; a real broker's duplicate-sequence answer (also
     * without an offset) then costs a duplicate, never a loss. */
    rd_kafka_resp_err_t derr = m->err;
    if (WC_UNLIKELY(!derr && m->offset < 0)) {
        derr = RD_KAFKA_RESP_ERR__INCONSISTENT;
        WC_METRIC_INC(app->m_main, WC_M_PRODUCE_UNCONFIRMED);
    }

    if (WC_LIKELY(!derr)) {
        WC_METRIC_INC(app->m_main, WC_M_PRODUCED);
        atomic_store_explicit(&app->kafka_up, 1, memory_order_relaxed);
        if (te->t_ns)
            wc_metrics_latency(app->m_main, WC_SPAN_DELIVERED, (wc_mono_ns() - te->t_ns) / 1000, 1);
        wc_track_release(te);
        if (te->topic == WC_TRACK_TOPIC_ALERT) {
            if (!eos.on)
                wc_windows_output_done(app, te);
            else
                eos_alert_acked(te); /* acknowledged to the outbox at the commit */
        }
        return;
    }
    WC_METRIC_INC(app->m_main, WC_M_PRODUCE_FAILED);

    if (eos.on) {
        /* Never produced again inside a transaction: the abort and replay
         * (or the alert re-production) do it. Purged messages are those of
         * a transaction already aborted. */
        bool purged = derr == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                      derr == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
        if (!purged) {
            char why[256];
            snprintf(why, sizeof(why), "delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
                     rd_kafka_err2str(derr));
            wc_output_eos_doom(why);
            if (te->topic != WC_TRACK_TOPIC_ALERT && err_is_permanent(derr) &&
                strcmp(rd_kafka_topic_name(m->rkt), app->cfg->topic_dlq)) {
                if (warn_take(rd_kafka_topic_name(m->rkt), WARN_PERMANENT_TXN, derr))
                    wc_warn("kafka", "output to %s (partition %d offset %lld) failed permanently: "
                                     "%s; after the abort it goes to %s",
                            rd_kafka_topic_name(m->rkt), te->partition, (long long)te->offset,
                            rd_kafka_err2str(derr), app->cfg->topic_dlq);
                eos_poison_add(te, derr, rd_kafka_topic_name(m->rkt));
            }
        }
        if (te->topic == WC_TRACK_TOPIC_ALERT && !purged)
            eos_alert_acked(te);
        wc_track_release(te);
        return;
    }

    /* Copy headers: the failed message's headers die with it. */
    rd_kafka_headers_t *hdrs = NULL, *orig = NULL;
    if (!rd_kafka_message_headers(m, &orig) && orig)
        hdrs = rd_kafka_headers_copy(orig);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(app->producer, rd_kafka_topic_name(m->rkt), NULL);
    bool is_dlq = !strcmp(rd_kafka_topic_name(m->rkt), app->cfg->topic_dlq);
    int64_t delay = 0;

    if (err_is_permanent(derr) && !is_dlq) {
        if (warn_take(rd_kafka_topic_name(m->rkt), WARN_PERMANENT, derr))
            wc_warn("kafka", "output to %s (partition %d offset %lld) failed permanently: %s; "
                             "sending it to %s",
                    rd_kafka_topic_name(m->rkt), te->partition, (long long)te->offset,
                    rd_kafka_err2str(derr), app->cfg->topic_dlq);
        if (!hdrs)
            hdrs = rd_kafka_headers_new(4);
        rd_kafka_header_add(hdrs, "wc.reason", -1, "produce_failed", -1);
        rd_kafka_header_add(hdrs, "wc.detail", -1, rd_kafka_err2str(derr), -1);
        rd_kafka_header_add(hdrs, "wc.target.topic", -1, rd_kafka_topic_name(m->rkt), -1);
        rd_kafka_topic_destroy(rkt);
        rkt = rd_kafka_topic_new(app->producer, app->cfg->topic_dlq, NULL);
    } else {
        if (m->err) {
            if (warn_take(rd_kafka_topic_name(m->rkt), WARN_FAILED, derr))
                wc_warn("kafka", "delivery to %s failed: %s; producing it again (the same failures "
                                 "are counted for %d s, then logged as one line)",
                        rd_kafka_topic_name(m->rkt), rd_kafka_err2str(derr),
                        WC_OUTPUT_WARN_INTERVAL_MS / 1000);
        } else if (warn_take(rd_kafka_topic_name(m->rkt), WARN_NO_OFFSET, derr)) {
            wc_warn("kafka", "delivery to %s [%d] reported without an offset; producing it again "
                             "(the same reports are counted for %d s, then logged as one line)",
                    rd_kafka_topic_name(m->rkt), (int)m->partition,
                    WC_OUTPUT_WARN_INTERVAL_MS / 1000);
        }
        delay = err_is_permanent(derr) ? 5000 : 100;
    }
    retry_enqueue(app, m, rkt, hdrs, delay);
}
