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
 */
#include "daemon/app_internal.h"
#include "daemon/windows.h"
#include "pipeline/log.h"

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

int wc_output_produce(wc_app_t *app, rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                      const void *payload, size_t len, rd_kafka_headers_t *headers,
                      wc_track_entry_t *te)
{
    rd_kafka_resp_err_t err;

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

    if (WC_LIKELY(!m->err)) {
        WC_METRIC_INC(app->m_main, WC_M_PRODUCED);
        atomic_store_explicit(&app->kafka_up, 1, memory_order_relaxed);
        wc_track_release(te);
        if (te->topic == WC_TRACK_TOPIC_ALERT)
            wc_windows_output_done(app, te);
        return;
    }
    WC_METRIC_INC(app->m_main, WC_M_PRODUCE_FAILED);

    /* Copy headers: the failed message's headers die with it. */
    rd_kafka_headers_t *hdrs = NULL, *orig = NULL;
    if (!rd_kafka_message_headers(m, &orig) && orig)
        hdrs = rd_kafka_headers_copy(orig);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(app->producer, rd_kafka_topic_name(m->rkt), NULL);
    bool is_dlq = !strcmp(rd_kafka_topic_name(m->rkt), app->cfg->topic_dlq);
    int64_t delay = 0;

    if (err_is_permanent(m->err) && !is_dlq) {
        wc_warn("kafka", "output to %s (partition %d offset %lld) failed permanently: %s; "
                         "sending it to %s",
                rd_kafka_topic_name(m->rkt), te->partition, (long long)te->offset,
                rd_kafka_err2str(m->err), app->cfg->topic_dlq);
        if (!hdrs)
            hdrs = rd_kafka_headers_new(4);
        rd_kafka_header_add(hdrs, "wc.reason", -1, "produce_failed", -1);
        rd_kafka_header_add(hdrs, "wc.detail", -1, rd_kafka_err2str(m->err), -1);
        rd_kafka_header_add(hdrs, "wc.target.topic", -1, rd_kafka_topic_name(m->rkt), -1);
        rd_kafka_topic_destroy(rkt);
        rkt = rd_kafka_topic_new(app->producer, app->cfg->topic_dlq, NULL);
    } else {
        wc_warn("kafka", "delivery to %s failed: %s; producing it again",
                rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        delay = err_is_permanent(m->err) ? 5000 : 100;
    }
    retry_enqueue(app, m, rkt, hdrs, delay);
}
