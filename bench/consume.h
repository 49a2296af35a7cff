/*
 * consume.h - one consumer read for the bench tools (webcared-bench's
 * collector, wc-passthrough).
 *
 * rd_kafka_consume_batch_queue() with a timeout returns only when the batch
 * is FULL or the timeout expires: at moderate rates every message then waits
 * the whole timeout, which the benchmark would report as end-to-end latency
 * (the daemon itself reads with timeout 0 when its queue signals). So: take
 * what is queued now; if nothing, wait up to timeout_ms for one message and
 * take what arrived with it.
 */
#ifndef WCB_CONSUME_H
#define WCB_CONSUME_H

#include <librdkafka/rdkafka.h>

#include <sys/types.h>

static inline ssize_t wcb_consume_some(rd_kafka_queue_t *q, int timeout_ms,
                                       rd_kafka_message_t **batch, size_t max)
{
    ssize_t n = rd_kafka_consume_batch_queue(q, 0, batch, max);
    if (n != 0 || max < 2)
        return n;
    rd_kafka_message_t *m = rd_kafka_consume_queue(q, timeout_ms);
    if (!m)
        return 0;
    batch[0] = m;
    n = rd_kafka_consume_batch_queue(q, 0, batch + 1, max - 1);
    return n < 0 ? 1 : n + 1;
}

#endif
