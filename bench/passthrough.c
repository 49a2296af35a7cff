/*
 * passthrough.c - wc-passthrough: the Kafka ceiling for the benchmarks.
 * Consumes the input topic and produces every message unchanged (same key,
 * same value, same partition number) to the output topic, with no
 * processing at all. bench/run.sh runs it in the same session, on the same
 * cluster, with the same generator and partition counts as webcared, so the
 * daemon's throughput can be reported as a ratio to what consume->produce
 * alone achieves on the machine at hand.
 *
 *   wc-passthrough --bootstrap B [--input T] [--output T] [--group G]
 *                  [--producer-conf K=V]... [--consumer-conf K=V]...
 *
 * Settings mirror the daemon (daemon/app.c): producer idempotent, linger.ms
 * 5, batch.num.messages 10000, queue.buffering.max.messages 1000000,
 * queue.buffering.max.kbytes 262144, payload copied (RD_KAFKA_MSG_F_COPY,
 * like webcared's output.c); consumer in a group, auto.offset.reset
 * earliest, queued.max.messages.kbytes 32768, fetch.wait.max.ms 10 (what
 * bench/run.sh gives webcared: the mock cluster holds an empty fetch for the
 * whole fetch.wait.max.ms instead of answering when data arrives), batches
 * of up to 1024 taken without waiting for a full batch (bench/consume.h).
 * --producer-conf / --consumer-conf override these (bench/run.sh passes the
 * same overrides to the generator, the collector and webcared).
 * Differences, on purpose in the passthrough's favour (it is a ceiling):
 * offsets are stored automatically at consumption instead of after
 * delivery, and there is one thread.
 *
 * Output partition = input partition and the output topic must have at
 * least as many partitions and start empty: then (the idempotent producer
 * keeps order and never duplicates) output offset == input offset, which is
 * how webcared-bench --match same-offset pairs outputs with inputs.
 *
 * Threads: one application thread (plus librdkafka's). SIGTERM/SIGINT: stop
 * consuming, flush the producer (10 s), close the consumer, exit 0.
 */
#include "bench/consume.h"

#include <librdkafka/rdkafka.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t pt_stop;

static void pt_on_signal(int sig)
{
    (void)sig;
    pt_stop = 1;
}

static long long pt_failed;

static void pt_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err && pt_failed++ == 0)
        fprintf(stderr, "wc-passthrough: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

/* Eager assignment as librdkafka's default, plus one line on stderr per
 * assignment: bench/run.sh waits for "assigned" before it starts the
 * generator, so a fixed-rate phase does not begin with a backlog the size of
 * the group join (which at high rates can exceed the mock's retention). */
static void pt_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        fprintf(stderr, "wc-passthrough: assigned %d partitions\n", parts->cnt);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static int pt_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char e[256];
    if (rd_kafka_conf_set(c, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "wc-passthrough: %s: %s\n", k, e);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"bootstrap", required_argument, NULL, 'b'}, {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},    {"group", required_argument, NULL, 'g'},
        {"producer-conf", required_argument, NULL, 'P'},
        {"consumer-conf", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *bootstrap = NULL, *input = "bench.pt.in", *output = "bench.pt.out",
               *group = "wc-passthrough";
    char e[512];
    rd_kafka_t *prod = NULL, *cons = NULL;
    rd_kafka_topic_t *rkt = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_message_t *batch[1024];
    wcb_conf_list_t prod_conf = {0}, cons_conf = {0};
    long long n = 0;
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (opt) {
        case 'b': bootstrap = optarg; break;
        case 'i': input = optarg; break;
        case 'o': output = optarg; break;
        case 'g': group = optarg; break;
        case 'P':
            if (wcb_conf_add(&prod_conf, optarg, "wc-passthrough"))
                return 2;
            break;
        case 'C':
            if (wcb_conf_add(&cons_conf, optarg, "wc-passthrough"))
                return 2;
            break;
        case 'h':
            puts("usage: wc-passthrough --bootstrap B [--input T] [--output T] [--group G]\n"
                 "                      [--producer-conf K=V]... [--consumer-conf K=V]...");
            return 0;
        default: return 2;
        }
    }
    if (!bootstrap) {
        fputs("wc-passthrough: --bootstrap is required\n", stderr);
        return 2;
    }
    signal(SIGTERM, pt_on_signal);
    signal(SIGINT, pt_on_signal);

    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (pt_set(c, "bootstrap.servers", bootstrap) || pt_set(c, "client.id", "wc-passthrough") ||
        pt_set(c, "enable.idempotence", "true") || pt_set(c, "linger.ms", "5") ||
        pt_set(c, "batch.num.messages", "10000") ||
        pt_set(c, "queue.buffering.max.messages", "1000000") ||
        pt_set(c, "queue.buffering.max.kbytes", "262144") ||
        wcb_conf_apply(c, &prod_conf, "wc-passthrough")) {
        rd_kafka_conf_destroy(c);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(c, pt_dr_cb);
    if (!(prod = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof(e)))) {
        fprintf(stderr, "wc-passthrough: producer: %s\n", e);
        rd_kafka_conf_destroy(c);
        return 1;
    }
    rkt = rd_kafka_topic_new(prod, output, NULL);

    c = rd_kafka_conf_new();
    if (pt_set(c, "bootstrap.servers", bootstrap) || pt_set(c, "client.id", "wc-passthrough") ||
        pt_set(c, "group.id", group) || pt_set(c, "auto.offset.reset", "earliest") ||
        pt_set(c, "enable.auto.commit", "true") ||
        pt_set(c, "queued.max.messages.kbytes", "32768") || pt_set(c, "fetch.wait.max.ms", "10") ||
        wcb_conf_apply(c, &cons_conf, "wc-passthrough")) {
        rd_kafka_conf_destroy(c);
        goto out;
    }
    rd_kafka_conf_set_rebalance_cb(c, pt_rebalance_cb);
    if (!(cons = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof(e)))) {
        fprintf(stderr, "wc-passthrough: consumer: %s\n", e);
        rd_kafka_conf_destroy(c);
        goto out;
    }
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, input, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(cons, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        fprintf(stderr, "wc-passthrough: subscribe %s: %s\n", input, rd_kafka_err2str(err));
        goto out;
    }
    q = rd_kafka_queue_get_consumer(cons);
    fprintf(stderr, "wc-passthrough: %s -> %s\n", input, output);

    while (!pt_stop) {
        ssize_t got = wcb_consume_some(q, 100, batch, 1024);
        for (ssize_t i = 0; i < got; i++) {
            rd_kafka_message_t *m = batch[i];
            if (!m->err) {
                while (rd_kafka_produce(rkt, m->partition, RD_KAFKA_MSG_F_COPY, m->payload,
                                        m->len, m->key, m->key_len, NULL) == -1) {
                    if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        fprintf(stderr, "wc-passthrough: produce: %s\n",
                                rd_kafka_err2str(rd_kafka_last_error()));
                        pt_stop = 1;
                        break;
                    }
                    rd_kafka_poll(prod, 1);
                }
                n++;
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "wc-passthrough: consume: %s\n", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(prod, 0);
    }
    rc = 0;
out:
    if (q)
        rd_kafka_queue_destroy(q);
    if (prod) {
        if (rd_kafka_flush(prod, 10000))
            rc = 1;
    }
    if (cons) {
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
    }
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (prod)
        rd_kafka_destroy(prod);
    fprintf(stderr, "wc-passthrough: %lld messages passed, %lld delivery failures\n", n, pt_failed);
    return rc || pt_failed ? 1 : 0;
}
