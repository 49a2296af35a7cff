/*
 * consume.h - what the bench tools (webcared-bench's generator and
 * collector, wc-passthrough) share on the librdkafka side: one consumer
 * read, and the --producer-conf / --consumer-conf overrides.
 *
 * wcb_consume_some():
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

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* librdkafka properties given on the command line as KEY=VALUE (repeatable),
 * applied after a tool's built-in settings so they override them. bench/run.sh
 * passes the same list to every producer and consumer of a phase. */
#define WCB_MAX_CONF 16
typedef struct wcb_conf_list {
    int n;
    const char *kv[WCB_MAX_CONF]; /* "key=value", borrowed from argv */
} wcb_conf_list_t;

/* Add one KEY=VALUE; -1 (and a message on stderr) if malformed or too many. */
static inline int wcb_conf_add(wcb_conf_list_t *l, const char *kv, const char *who)
{
    if (!strchr(kv, '=') || kv[0] == '=' || l->n >= WCB_MAX_CONF) {
        fprintf(stderr, "%s: expected KEY=VALUE (at most %d): %s\n", who, WCB_MAX_CONF, kv);
        return -1;
    }
    l->kv[l->n++] = kv;
    return 0;
}

/* Set every KEY=VALUE of l on c; -1 (and a message) on the first error. */
static inline int wcb_conf_apply(rd_kafka_conf_t *c, const wcb_conf_list_t *l, const char *who)
{
    char k[128], e[256];
    for (int i = 0; i < l->n; i++) {
        const char *eq = strchr(l->kv[i], '=');
        size_t kl = (size_t)(eq - l->kv[i]);
        if (kl >= sizeof(k)) {
            fprintf(stderr, "%s: property name too long: %s\n", who, l->kv[i]);
            return -1;
        }
        memcpy(k, l->kv[i], kl);
        k[kl] = '\0';
        if (rd_kafka_conf_set(c, k, eq + 1, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s: %s: %s\n", who, l->kv[i], e);
            return -1;
        }
    }
    return 0;
}

/* One read of at most max messages, see the top of the file. */
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
