/*
 * lkperf.c - wc-lkperf: flat-out produce / consume throughput against any
 * Kafka-protocol cluster (made for wc-localkafka), to know the ceiling the
 * daemon's numbers are compared with. Not a general benchmark tool.
 *
 *   wc-lkperf produce --bootstrap B --topic T --count N [--size BYTES] [--file JSONL]
 *   wc-lkperf consume --bootstrap B --topic T --count N [--timeout S]
 *
 * produce: one warm-up message (excluded), then N messages of --size bytes
 * (or the lines of --file, cycled; keys are "k<i>"), acks=all, idempotent,
 * linger 5 ms; waits for every delivery report. consume: manual assignment of all partitions from the beginning,
 * rd_kafka_consume_batch_queue() (the same call the daemon uses), stops at
 * N messages or after --timeout seconds without a message. Both print one
 * JSON line: {"mode","count","bytes","seconds","msgs_per_s","mb_per_s"}.
 *
 * Threads: only librdkafka's; the tool itself is a single loop. Exit 0 when
 * the count was reached, 1 otherwise.
 */
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct perf_opts {
    const char *mode, *bootstrap, *topic, *file;
    long count;
    long size;
    double timeout_s;
} perf_opts_t;

static double perf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long perf_delivered, perf_failed;

static void perf_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err) {
        if (perf_failed++ == 0)
            fprintf(stderr, "wc-lkperf: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        perf_delivered++;
    }
}

static void perf_report(const char *mode, long cnt, long long bytes, double secs)
{
    printf("{\"mode\":\"%s\",\"count\":%ld,\"bytes\":%lld,\"seconds\":%.3f,"
           "\"msgs_per_s\":%.0f,\"mb_per_s\":%.1f}\n",
           mode, cnt, bytes, secs, secs > 0 ? cnt / secs : 0.0,
           secs > 0 ? (double)bytes / secs / 1e6 : 0.0);
}

/* Load the lines of a file (without '\n') into one buffer + index. */
static int perf_load_lines(const char *path, char **bufp, size_t **offp, size_t *cntp)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t *off = NULL, cnt = 0, cap = 0, len = 0;
    long sz;
    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        goto fail;
    if (!(buf = malloc((size_t)sz + 1)) || fread(buf, 1, (size_t)sz, f) != (size_t)sz)
        goto fail;
    len = (size_t)sz;
    for (size_t start = 0; start < len;) {
        char *nl = memchr(buf + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - buf) : len;
        if (cnt + 2 > cap) {
            size_t *n = realloc(off, (cap = cap ? cap * 2 : 1024) * sizeof(*off));
            if (!n)
                goto fail;
            off = n;
        }
        off[cnt++] = start;
        start = end + 1;
    }
    if (!cnt)
        goto fail;
    off[cnt] = len + 1; /* sentinel: line i spans off[i] .. off[i+1]-1 */
    fclose(f);
    *bufp = buf;
    *offp = off;
    *cntp = cnt;
    return 0;
fail:
    fclose(f);
    free(buf);
    free(off);
    return -1;
}

static int perf_produce(const perf_opts_t *o)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    char *payload = NULL, *lines = NULL;
    size_t *loff = NULL, lcnt = 0;
    long long bytes = 0;
    double t0, t1;
    int rc = 1;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", errstr,
                          sizeof(errstr))) {
        fprintf(stderr, "wc-lkperf: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, perf_dr_cb);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "wc-lkperf: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    if (o->file) {
        if (perf_load_lines(o->file, &lines, &loff, &lcnt)) {
            fprintf(stderr, "wc-lkperf: cannot read lines from %s\n", o->file);
            goto out;
        }
    } else {
        if (!(payload = malloc((size_t)o->size)))
            goto out;
        for (long i = 0; i < o->size; i++)
            payload[i] = (char)('a' + i % 26);
    }

    /* Warm-up: connections, metadata and (idempotence) the producer id are
     * set up before the clock starts; the idempotent producer may wait up
     * to 1 s for its first PID. */
    if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_VALUE("warmup", 6),
                          RD_KAFKA_V_END) ||
        rd_kafka_flush(rk, 30000) || perf_failed) {
        fprintf(stderr, "wc-lkperf: warm-up message not delivered\n");
        goto out;
    }
    perf_delivered = 0;
    t0 = perf_now();
    for (long i = 0; i < o->count; i++) {
        char key[32];
        int klen = snprintf(key, sizeof(key), "k%ld", i % 100000);
        const char *p = payload;
        size_t len = (size_t)o->size;
        if (lines) {
            size_t li = (size_t)i % lcnt;
            p = lines + loff[li];
            len = loff[li + 1] - 1 - loff[li];
        }
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_VALUE((void *)p, len),
                RD_KAFKA_V_KEY(key, (size_t)klen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END);
            if (!err)
                break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "wc-lkperf: produce: %s\n", rd_kafka_err2str(err));
                goto out;
            }
            rd_kafka_poll(rk, 10);
        }
        bytes += (long long)len;
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    while (rd_kafka_outq_len(rk) > 0 && perf_now() - t0 < 600)
        rd_kafka_poll(rk, 50);
    t1 = perf_now();
    perf_report("produce", perf_delivered, bytes, t1 - t0);
    rc = perf_delivered == o->count && !perf_failed ? 0 : 1;
out:
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    free(payload);
    free(lines);
    free(loff);
    return rc;
}

static int perf_consume(const perf_opts_t *o)
{
    char errstr[512], group[64];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_message_t *batch[1000];
    long cnt = 0;
    long long bytes = 0;
    double t0 = 0, last, start;
    int rc = 1;

    snprintf(group, sizeof(group), "wc-lkperf-%ld", (long)time(NULL));
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "100", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr))) {
        fprintf(stderr, "wc-lkperf: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "wc-lkperf: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        if (err || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "wc-lkperf: metadata for %s failed\n", o->topic);
            goto out;
        }
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, o->topic, md->topics[0].partitions[i].id)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(rk, parts))
        goto out;
    q = rd_kafka_queue_get_consumer(rk);
    start = last = perf_now();
    while (cnt < o->count) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch, 1000);
        double now = perf_now();
        for (ssize_t i = 0; i < n; i++) {
            if (!batch[i]->err) {
                t0 = now; /* time of the latest message */
                cnt++;
                bytes += (long long)batch[i]->len;
            }
            rd_kafka_message_destroy(batch[i]);
        }
        if (n > 0)
            last = now;
        else if (now - last > o->timeout_s)
            break;
    }
    /* from assign() on: includes connection setup (a few ms on loopback)
     * but not the idle tail */
    perf_report("consume", cnt, bytes, (cnt ? t0 : perf_now()) - start);
    rc = cnt >= o->count ? 0 : 1;
out:
    if (q)
        rd_kafka_queue_destroy(q);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"bootstrap", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'n'},     {"size", required_argument, NULL, 's'},
        {"file", required_argument, NULL, 'f'},      {"timeout", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    perf_opts_t o = {.count = 100000, .size = 300, .timeout_s = 10};
    int opt;
    if (argc < 2) {
        fputs("usage: wc-lkperf produce|consume --bootstrap B --topic T --count N "
              "[--size BYTES] [--file JSONL] [--timeout S]\n",
              stderr);
        return 2;
    }
    o.mode = argv[1];
    optind = 2;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b': o.bootstrap = optarg; break;
        case 't': o.topic = optarg; break;
        case 'n': o.count = strtol(optarg, NULL, 10); break;
        case 's': o.size = strtol(optarg, NULL, 10); break;
        case 'f': o.file = optarg; break;
        case 'T': o.timeout_s = strtod(optarg, NULL); break;
        default: return 2;
        }
    }
    if (!o.bootstrap || !o.topic || o.count <= 0 || o.size <= 0) {
        fputs("wc-lkperf: --bootstrap, --topic and a positive --count/--size are required\n",
              stderr);
        return 2;
    }
    if (!strcmp(o.mode, "produce"))
        return perf_produce(&o);
    if (!strcmp(o.mode, "consume"))
        return perf_consume(&o);
    fprintf(stderr, "wc-lkperf: unknown mode '%s'\n", o.mode);
    return 2;
}
