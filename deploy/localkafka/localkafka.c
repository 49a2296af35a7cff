/*
 * localkafka.c - wc-localkafka: a local Kafka-protocol cluster for the
 * integration tests, the README demo and the benchmarks.
 *
 * What: wraps librdkafka's mock cluster (rdkafka_mock.h). The mock speaks the
 * real Kafka wire protocol on 127.0.0.1 ports it picks itself, one listener
 * per mock broker, and implements produce/fetch, consumer groups, offset
 * commits and the idempotent/transactional producer. No JVM, no ZooKeeper.
 * See docs/LOCALKAFKA.md for what the 2.0.2 mock does and does not do.
 *
 * Startup: create a dummy producer handle that owns the mock cluster, create
 * the topics (explicit --topic specs plus the project's standard topics),
 * create a second, ordinary producer handle bootstrapped to the mock (used
 * only for Metadata lookups by the control channel), then announce: the
 * bootstrap list is the first stdout line (flushed), then optionally
 * "control 127.0.0.1:PORT"; the files given by --bootstrap-file,
 * --control-file and --pid-file are written atomically (tmp + rename) and
 * removed again on exit.
 *
 * Threads: the mock cluster runs its own I/O thread inside librdkafka; all
 * rd_kafka_mock_*() setters are synchronous requests to that thread and may
 * be called from ours. Our main thread owns everything else and runs one
 * poll() loop over a signalfd (SIGTERM/SIGINT are blocked before any
 * librdkafka thread exists, so every thread inherits the mask and the signal
 * is only ever seen through the signalfd), the control listen socket and the
 * control clients.
 *
 * The poker thread works around a lost wake-up in the 2.0.2 mock thread:
 * a mock setter enqueues an op and blocks until the mock thread serves it,
 * but now and then the mock thread sleeps through the wake-up and serves
 * the op only at its next 1 s poll timeout (measured: 0.1 ms normally,
 * 1001 ms in roughly one call out of five). The mock thread serves its op
 * queue after every poll() return, so any I/O on its sockets wakes it: while
 * a mock call is in flight (lk_poke_begin/end around every call; the
 * in-flight count is the only shared state, under one mutex), the poker
 * opens and closes a TCP connection to each broker listener every few ms.
 * The mock just sees short-lived client connections.
 *
 * Control channel: line protocol on 127.0.0.1, one command per line, one
 * reply line per command: "ok [info]" or "err <reason>". The command table
 * (lk_cmds[]) is the reference; `help` lists it. Everything a command needs
 * is validated here first, because several mock setters abort the process
 * (rd_assert) or silently auto-create topics on bad input: unknown topics and
 * partitions are checked against Metadata, broker ids against 1..N, numbers
 * are range checked, error names are matched against librdkafka's own error
 * table. A bad command can only ever produce "err ...". Lines longer than
 * LK_LINE_MAX get an error and the client is disconnected; replies are small
 * and sent non-blocking (a client that does not read its replies is dropped
 * rather than blocking the loop).
 *
 * Trade-offs: the mock's auto-create partition count (4 in 2.0.2) and its
 * per-partition retention (~5 MB) are compile-time constants inside
 * librdkafka 2.0.2 and cannot be set from here; --default-partitions applies
 * to the standard topics we pre-create, which covers everything the project
 * produces to.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define LK_MAX_BROKERS 64
#define LK_MAX_PARTITIONS 10000
#define LK_MAX_TOPICS 256
#define LK_MAX_CLIENTS 32
#define LK_LINE_MAX 4096
#define LK_REPLY_MAX 8192
#define LK_MAX_ARGS 64
#define LK_MAX_ERRORS 1000
#define LK_METADATA_TIMEOUT_MS 3000

#define LK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Topics every webcared deployment produces to or consumes from. */
static const char *const lk_standard_topics[] = {
    "mentions",         "responses",        "mentions.dlq",    "cases.complaints",
    "cases.questions",  "cases.praise",     "cases.neutral",   "alerts.clusters",
    "alerts.escalations", "alerts.sla",     "webcare.stats",
};

/* Kafka ApiKeys accepted by request_errors / clear_errors / broker_errors. */
static const struct lk_api {
    const char *name;
    int16_t key;
} lk_apis[] = {
    {"Produce", 0},          {"Fetch", 1},
    {"ListOffsets", 2},      {"Metadata", 3},
    {"OffsetCommit", 8},     {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},       {"LeaveGroup", 13},
    {"SyncGroup", 14},       {"ApiVersions", 18},
    {"ApiVersion", 18},      {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23}, {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

typedef struct lk_topic_spec {
    char name[250];
    int partitions;
    int replication; /* 0 = min(3, brokers) */
} lk_topic_spec_t;

typedef struct lk_client {
    int fd; /* -1 = free slot */
    size_t len;
    char buf[LK_LINE_MAX];
} lk_client_t;

/* See "poker" in the design comment. */
typedef struct lk_poker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool started;
    bool quit;    /* under lock */
    int active;   /* under lock: mock calls in flight */
    int port_cnt; /* set before the thread starts, read-only after */
    uint16_t ports[LK_MAX_BROKERS];
} lk_poker_t;

typedef struct lk_state {
    lk_poker_t poker;
    rd_kafka_t *rk_owner; /* owns the mock cluster; never talks to it */
    rd_kafka_t *rk_meta;  /* ordinary client of the mock, for Metadata */
    rd_kafka_mock_cluster_t *mc;
    const char *bootstraps; /* owned by mc */
    int broker_cnt;
    bool broker_up[LK_MAX_BROKERS + 1]; /* index = broker id (1..N) */
    int listen_fd;
    int control_port;
    bool stop;
    lk_client_t clients[LK_MAX_CLIENTS];
} lk_state_t;

/* ------------------------------------------------------------------ */
/* poker                                                               */

static void lk_poke_ports(const lk_poker_t *p)
{
    for (int i = 0; i < p->port_cnt; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->ports[i])};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        /* loopback: completes or is refused (broker down) immediately */
        (void)!connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
    }
}

static void *lk_poker_main(void *arg)
{
    lk_poker_t *p = arg;
    const struct timespec grace = {.tv_sec = 0, .tv_nsec = 3 * 1000 * 1000};
    pthread_mutex_lock(&p->lock);
    while (!p->quit) {
        if (!p->active) {
            pthread_cond_wait(&p->cond, &p->lock);
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        nanosleep(&grace, NULL); /* the normal wake-up usually wins */
        pthread_mutex_lock(&p->lock);
        if (p->active && !p->quit) {
            pthread_mutex_unlock(&p->lock);
            lk_poke_ports(p);
            pthread_mutex_lock(&p->lock);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Parse the broker ports out of the bootstrap list and start the thread. */
static int lk_poker_start(lk_poker_t *p, const char *bootstraps)
{
    const char *s = bootstraps;
    while (s && *s && p->port_cnt < LK_MAX_BROKERS) {
        const char *colon = strchr(s, ':');
        if (!colon)
            break;
        p->ports[p->port_cnt++] = (uint16_t)strtoul(colon + 1, NULL, 10);
        s = strchr(colon, ',');
        s = s ? s + 1 : NULL;
    }
    if (pthread_create(&p->thread, NULL, lk_poker_main, p) != 0)
        return -1;
    p->started = true;
    return 0;
}

static void lk_poker_stop(lk_poker_t *p)
{
    if (!p->started)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    p->started = false;
}

static void lk_poke_begin(lk_poker_t *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->active++ == 0)
        pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void lk_poke_end(lk_poker_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->active--;
    pthread_mutex_unlock(&p->lock);
}

/* Every rd_kafka_mock_*() call goes through one of these two. */
#define LK_MOCK(st, call)                                                                          \
    __extension__({                                                                                \
        lk_poke_begin(&(st)->poker);                                                               \
        __typeof__(call) lk_mock_ret_ = (call);                                                    \
        lk_poke_end(&(st)->poker);                                                                 \
        lk_mock_ret_;                                                                              \
    })
#define LK_MOCK_VOID(st, call)                                                                     \
    do {                                                                                           \
        lk_poke_begin(&(st)->poker);                                                               \
        call;                                                                                      \
        lk_poke_end(&(st)->poker);                                                                 \
    } while (0)

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static void lk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lk_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wc-localkafka: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Strict decimal integer parse; returns false on junk or out of [lo, hi]. */
static bool lk_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    if (!s || !*s)
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Kafka topic names: [a-zA-Z0-9._-], 1..249 chars. */
static bool lk_topic_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 249 || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

/* Write `content` to `path` atomically (tmp file in the same dir + rename). */
static int lk_write_file_atomic(const char *path, const char *content)
{
    char tmp[PATH_MAX];
    FILE *f;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    if (!(f = fopen(tmp, "w")))
        return -1;
    if (fputs(content, f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        unlink(tmp);
        return -1;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static const struct lk_api *lk_api_find(const char *name)
{
    long key;
    for (size_t i = 0; i < LK_ARRAY_SIZE(lk_apis); i++)
        if (!strcasecmp(lk_apis[i].name, name))
            return &lk_apis[i];
    if (lk_parse_int(name, 0, 1000, &key)) {
        for (size_t i = 0; i < LK_ARRAY_SIZE(lk_apis); i++)
            if (lk_apis[i].key == key)
                return &lk_apis[i];
    }
    return NULL;
}

/* Map an error name ("NOT_LEADER_FOR_PARTITION", "ERR_NOT_LEADER_...",
 * "RD_KAFKA_RESP_ERR_...", case-insensitive) or a number to a broker error
 * code. Only codes a broker can put on the wire are accepted: -1 (UNKNOWN)
 * and 0.., not librdkafka's internal negative codes. */
static bool lk_err_find(const char *name, rd_kafka_resp_err_t *out)
{
    const struct rd_kafka_err_desc *descs;
    size_t cnt;
    long num;

    if (lk_parse_int(name, -1, 32767, &num)) {
        *out = (rd_kafka_resp_err_t)num;
        return true;
    }
    if (!strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18))
        name += 18;
    else if (!strncasecmp(name, "ERR_", 4))
        name += 4;
    if (name[0] == '_')
        return false; /* internal librdkafka error: never on the wire */

    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (!descs[i].name || descs[i].code < -1)
            continue;
        if (!strcasecmp(descs[i].name, name)) {
            *out = descs[i].code;
            return true;
        }
    }
    return false;
}

/* Fetch cluster Metadata for all topics. Returns NULL and fills errbuf on
 * failure. Caller frees with rd_kafka_metadata_destroy(). */
static const struct rd_kafka_metadata *lk_metadata(lk_state_t *st, char *errbuf, size_t errsz)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(st->rk_meta, 1 /*all_topics*/, NULL, &md, LK_METADATA_TIMEOUT_MS);
    if (err) {
        snprintf(errbuf, errsz, "metadata request failed: %s", rd_kafka_err2name(err));
        return NULL;
    }
    return md;
}

/* Partition count of `topic`: >0, 0 when it does not exist, -1 on metadata
 * failure (errbuf filled). */
static int lk_topic_partitions(lk_state_t *st, const char *topic, char *errbuf, size_t errsz)
{
    const struct rd_kafka_metadata *md = lk_metadata(st, errbuf, errsz);
    int cnt = 0;
    if (!md)
        return -1;
    for (int i = 0; i < md->topic_cnt; i++) {
        if (!strcmp(md->topics[i].topic, topic)) {
            cnt = md->topics[i].partition_cnt;
            break;
        }
    }
    rd_kafka_metadata_destroy(md);
    return cnt;
}

static bool lk_broker_id_ok(const lk_state_t *st, const char *s, long *id)
{
    return lk_parse_int(s, 1, st->broker_cnt, id);
}

/* Create one topic after validation. Returns 0 or -1 with errbuf filled. */
static int lk_create_topic(lk_state_t *st, const char *name, int partitions, int replication,
                           char *errbuf, size_t errsz)
{
    rd_kafka_resp_err_t err;
    if (!lk_topic_name_valid(name)) {
        snprintf(errbuf, errsz, "invalid topic name");
        return -1;
    }
    if (partitions < 1 || partitions > LK_MAX_PARTITIONS) {
        snprintf(errbuf, errsz, "partitions must be 1..%d", LK_MAX_PARTITIONS);
        return -1;
    }
    if (replication == 0)
        replication = st->broker_cnt < 3 ? st->broker_cnt : 3;
    if (replication < 1 || replication > st->broker_cnt) {
        snprintf(errbuf, errsz, "replication must be 1..%d (broker count)", st->broker_cnt);
        return -1;
    }
    err = LK_MOCK(st, rd_kafka_mock_topic_create(st->mc, name, partitions, replication));
    if (err) {
        snprintf(errbuf, errsz, "%s", rd_kafka_err2name(err));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* control commands                                                    */

typedef struct lk_reply {
    char *buf;
    size_t size;
} lk_reply_t;

static void lk_reply(lk_reply_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lk_reply(lk_reply_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->buf, r->size, fmt, ap);
    va_end(ap);
}

typedef void (*lk_cmd_fn)(lk_state_t *st, int argc, char **argv, lk_reply_t *r);

typedef struct lk_cmd {
    const char *name;
    int min_args; /* not counting the command word */
    int max_args; /* -1 = unbounded (up to LK_MAX_ARGS) */
    lk_cmd_fn fn;
    const char *usage;
} lk_cmd_t;

static void lk_cmd_ping(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    lk_reply(r, "ok pong");
}

static void lk_cmd_bootstraps(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    lk_reply(r, "ok %s", st->bootstraps);
}

static void lk_cmd_brokers(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    size_t off = 0;
    off += (size_t)snprintf(r->buf, r->size, "ok");
    for (int id = 1; id <= st->broker_cnt && off < r->size; id++)
        off += (size_t)snprintf(r->buf + off, r->size - off, " %d:%s", id,
                                st->broker_up[id] ? "up" : "down");
}

static void lk_cmd_broker_updown(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    bool up = !strcmp(argv[0], "broker_up");
    long id;
    rd_kafka_resp_err_t err;
    if (!lk_broker_id_ok(st, argv[1], &id)) {
        lk_reply(r, "err broker id must be 1..%d", st->broker_cnt);
        return;
    }
    err = up ? LK_MOCK(st, rd_kafka_mock_broker_set_up(st->mc, (int32_t)id))
             : LK_MOCK(st, rd_kafka_mock_broker_set_down(st->mc, (int32_t)id));
    if (err) {
        lk_reply(r, "err %s", rd_kafka_err2name(err));
        return;
    }
    st->broker_up[id] = up;
    lk_reply(r, "ok broker %ld %s", id, up ? "up" : "down");
}

static void lk_cmd_leader(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    char eb[256];
    long part, id;
    int cnt;
    rd_kafka_resp_err_t err;

    if (!lk_topic_name_valid(argv[1])) {
        lk_reply(r, "err invalid topic name");
        return;
    }
    if (!lk_parse_int(argv[2], 0, LK_MAX_PARTITIONS, &part)) {
        lk_reply(r, "err bad partition");
        return;
    }
    if (!(lk_parse_int(argv[3], -1, -1, &id) || lk_broker_id_ok(st, argv[3], &id))) {
        lk_reply(r, "err broker id must be 1..%d or -1 (no leader)", st->broker_cnt);
        return;
    }
    /* The mock auto-creates unknown topics here: check first. */
    cnt = lk_topic_partitions(st, argv[1], eb, sizeof(eb));
    if (cnt < 0) {
        lk_reply(r, "err %s", eb);
        return;
    }
    if (cnt == 0 || part >= cnt) {
        lk_reply(r, "err unknown topic or partition");
        return;
    }
    err = LK_MOCK(st, rd_kafka_mock_partition_set_leader(st->mc, argv[1], (int32_t)part,
                                                         (int32_t)id));
    if (err) {
        lk_reply(r, "err %s", rd_kafka_err2name(err));
        return;
    }
    lk_reply(r, "ok %s [%ld] leader %ld", argv[1], part, id);
}

static void lk_cmd_rtt(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    long id, ms;
    rd_kafka_resp_err_t err;
    if (!lk_broker_id_ok(st, argv[1], &id)) {
        lk_reply(r, "err broker id must be 1..%d", st->broker_cnt);
        return;
    }
    if (!lk_parse_int(argv[2], 0, 600000, &ms)) {
        lk_reply(r, "err rtt must be 0..600000 ms");
        return;
    }
    if ((err = LK_MOCK(st, rd_kafka_mock_broker_set_rtt(st->mc, (int32_t)id, (int)ms)))) {
        lk_reply(r, "err %s", rd_kafka_err2name(err));
        return;
    }
    lk_reply(r, "ok broker %ld rtt %ld ms", id, ms);
}

/* request_errors APINAME COUNT ERRNAME... : push COUNT errors onto the
 * cluster-wide error stack of that ApiKey, cycling through the given names. */
static void lk_cmd_request_errors(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    const struct lk_api *api = lk_api_find(argv[1]);
    rd_kafka_resp_err_t names[LK_MAX_ARGS];
    rd_kafka_resp_err_t *errs;
    int name_cnt = argc - 3;
    long cnt;

    if (!api) {
        lk_reply(r, "err unknown api '%.64s'", argv[1]);
        return;
    }
    if (!lk_parse_int(argv[2], 1, LK_MAX_ERRORS, &cnt)) {
        lk_reply(r, "err count must be 1..%d", LK_MAX_ERRORS);
        return;
    }
    for (int i = 0; i < name_cnt; i++) {
        if (!lk_err_find(argv[3 + i], &names[i])) {
            lk_reply(r, "err unknown error name '%.64s'", argv[3 + i]);
            return;
        }
    }
    if (!(errs = calloc((size_t)cnt, sizeof(*errs)))) {
        lk_reply(r, "err out of memory");
        return;
    }
    for (long i = 0; i < cnt; i++)
        errs[i] = names[i % name_cnt];
    LK_MOCK_VOID(st, rd_kafka_mock_push_request_errors_array(st->mc, api->key, (size_t)cnt, errs));
    free(errs);
    lk_reply(r, "ok pushed %ld %s errors", cnt, api->name);
}

/* broker_errors BROKER_ID APINAME ERRNAME[:RTT_MS]... : per-broker error
 * stack, each entry with its own response delay (NO_ERROR:500 = a slow
 * successful response). */
static void lk_cmd_broker_errors(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    const struct lk_api *api;
    rd_kafka_resp_err_t errs[LK_MAX_ARGS];
    int rtts[LK_MAX_ARGS];
    int n = argc - 3;
    long id;

    if (!lk_broker_id_ok(st, argv[1], &id)) {
        lk_reply(r, "err broker id must be 1..%d", st->broker_cnt);
        return;
    }
    if (!(api = lk_api_find(argv[2]))) {
        lk_reply(r, "err unknown api '%.64s'", argv[2]);
        return;
    }
    for (int i = 0; i < n; i++) {
        char name[128];
        char *colon;
        long rtt = 0;
        snprintf(name, sizeof(name), "%s", argv[3 + i]);
        if ((colon = strchr(name, ':'))) {
            *colon = '\0';
            if (!lk_parse_int(colon + 1, 0, 600000, &rtt)) {
                lk_reply(r, "err bad rtt in '%.64s'", argv[3 + i]);
                return;
            }
        }
        if (!lk_err_find(name, &errs[i])) {
            lk_reply(r, "err unknown error name '%.64s'", name);
            return;
        }
        rtts[i] = (int)rtt;
    }
    for (int i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = LK_MOCK(st, rd_kafka_mock_broker_push_request_error_rtts(
                                                  st->mc, (int32_t)id, api->key, 1, errs[i], rtts[i]));
        if (err) {
            lk_reply(r, "err %s (after %d pushed)", rd_kafka_err2name(err), i);
            return;
        }
    }
    lk_reply(r, "ok pushed %d %s errors on broker %ld", n, api->name, id);
}

static void lk_cmd_clear_errors(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    const struct lk_api *api = lk_api_find(argv[1]);
    if (!api) {
        lk_reply(r, "err unknown api '%.64s'", argv[1]);
        return;
    }
    LK_MOCK_VOID(st, rd_kafka_mock_clear_request_errors(st->mc, api->key));
    lk_reply(r, "ok cleared %s errors", api->name);
}

static void lk_cmd_topic_error(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    char eb[256];
    rd_kafka_resp_err_t err;
    int cnt;
    if (!lk_topic_name_valid(argv[1])) {
        lk_reply(r, "err invalid topic name");
        return;
    }
    if (!lk_err_find(argv[2], &err)) {
        lk_reply(r, "err unknown error name '%.64s'", argv[2]);
        return;
    }
    /* The mock would auto-create an unknown topic here: check first. */
    if ((cnt = lk_topic_partitions(st, argv[1], eb, sizeof(eb))) <= 0) {
        lk_reply(r, "err %s", cnt < 0 ? eb : "unknown topic");
        return;
    }
    LK_MOCK_VOID(st, rd_kafka_mock_topic_set_error(st->mc, argv[1], err));
    lk_reply(r, "ok %s metadata error %s", argv[1], rd_kafka_err2name(err));
}

static void lk_cmd_coordinator(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    long id;
    rd_kafka_resp_err_t err;
    if (strcmp(argv[1], "group") && strcmp(argv[1], "transaction")) {
        lk_reply(r, "err type must be group or transaction");
        return;
    }
    if (!lk_broker_id_ok(st, argv[3], &id)) {
        lk_reply(r, "err broker id must be 1..%d", st->broker_cnt);
        return;
    }
    if ((err = LK_MOCK(st, rd_kafka_mock_coordinator_set(st->mc, argv[1], argv[2], (int32_t)id)))) {
        lk_reply(r, "err %s", rd_kafka_err2name(err));
        return;
    }
    lk_reply(r, "ok %s %s coordinator %ld", argv[1], argv[2], id);
}

static void lk_cmd_create_topic(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    char eb[256];
    long parts, repl = 0;
    int existing;
    if (!lk_topic_name_valid(argv[1])) {
        lk_reply(r, "err invalid topic name");
        return;
    }
    if (!lk_parse_int(argv[2], 1, LK_MAX_PARTITIONS, &parts)) {
        lk_reply(r, "err partitions must be 1..%d", LK_MAX_PARTITIONS);
        return;
    }
    if (argc > 3 && !lk_parse_int(argv[3], 1, st->broker_cnt, &repl)) {
        lk_reply(r, "err replication must be 1..%d", st->broker_cnt);
        return;
    }
    existing = lk_topic_partitions(st, argv[1], eb, sizeof(eb));
    if (existing < 0) {
        lk_reply(r, "err %s", eb);
        return;
    }
    if (existing > 0) {
        lk_reply(r, "err TOPIC_ALREADY_EXISTS (%d partitions)", existing);
        return;
    }
    if (lk_create_topic(st, argv[1], (int)parts, (int)repl, eb, sizeof(eb))) {
        lk_reply(r, "err %s", eb);
        return;
    }
    lk_reply(r, "ok created %s partitions %ld", argv[1], parts);
}

static void lk_cmd_topics(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    char eb[256];
    const struct rd_kafka_metadata *md = lk_metadata(st, eb, sizeof(eb));
    size_t off;
    if (!md) {
        lk_reply(r, "err %s", eb);
        return;
    }
    off = (size_t)snprintf(r->buf, r->size, "ok");
    for (int i = 0; i < md->topic_cnt && off < r->size; i++)
        off += (size_t)snprintf(r->buf + off, r->size - off, " %s:%d", md->topics[i].topic,
                                md->topics[i].partition_cnt);
    rd_kafka_metadata_destroy(md);
}

static void lk_cmd_apiversion(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    const struct lk_api *api = lk_api_find(argv[1]);
    long lo, hi;
    rd_kafka_resp_err_t err;
    if (!api) {
        lk_reply(r, "err unknown api '%.64s'", argv[1]);
        return;
    }
    if (!lk_parse_int(argv[2], -1, 100, &lo) || !lk_parse_int(argv[3], -1, 100, &hi)) {
        lk_reply(r, "err versions must be -1..100");
        return;
    }
    if ((err = LK_MOCK(st, rd_kafka_mock_set_apiversion(st->mc, api->key, (int16_t)lo,
                                                        (int16_t)hi)))) {
        lk_reply(r, "err %s", rd_kafka_err2name(err));
        return;
    }
    lk_reply(r, "ok %s versions %ld..%ld", api->name, lo, hi);
}

static void lk_cmd_shutdown(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    st->stop = true;
    lk_reply(r, "ok shutting down");
}

static void lk_cmd_help(lk_state_t *st, int argc, char **argv, lk_reply_t *r);

static const lk_cmd_t lk_cmds[] = {
    {.name = "ping", .min_args = 0, .max_args = 0, .fn = lk_cmd_ping, .usage = "ping"},
    {.name = "bootstraps", .min_args = 0, .max_args = 0, .fn = lk_cmd_bootstraps,
     .usage = "bootstraps"},
    {.name = "brokers", .min_args = 0, .max_args = 0, .fn = lk_cmd_brokers, .usage = "brokers"},
    {.name = "topics", .min_args = 0, .max_args = 0, .fn = lk_cmd_topics, .usage = "topics"},
    {.name = "broker_down", .min_args = 1, .max_args = 1, .fn = lk_cmd_broker_updown,
     .usage = "broker_down ID"},
    {.name = "broker_up", .min_args = 1, .max_args = 1, .fn = lk_cmd_broker_updown,
     .usage = "broker_up ID"},
    {.name = "leader", .min_args = 3, .max_args = 3, .fn = lk_cmd_leader,
     .usage = "leader TOPIC PARTITION BROKER_ID|-1"},
    {.name = "rtt", .min_args = 2, .max_args = 2, .fn = lk_cmd_rtt, .usage = "rtt BROKER_ID MS"},
    {.name = "request_errors", .min_args = 3, .max_args = -1, .fn = lk_cmd_request_errors,
     .usage = "request_errors APINAME COUNT ERRNAME..."},
    {.name = "broker_errors", .min_args = 3, .max_args = -1, .fn = lk_cmd_broker_errors,
     .usage = "broker_errors BROKER_ID APINAME ERRNAME[:RTT_MS]..."},
    {.name = "clear_errors", .min_args = 1, .max_args = 1, .fn = lk_cmd_clear_errors,
     .usage = "clear_errors APINAME"},
    {.name = "topic_error", .min_args = 2, .max_args = 2, .fn = lk_cmd_topic_error,
     .usage = "topic_error TOPIC ERRNAME"},
    {.name = "coordinator", .min_args = 3, .max_args = 3, .fn = lk_cmd_coordinator,
     .usage = "coordinator group|transaction KEY BROKER_ID"},
    {.name = "create_topic", .min_args = 2, .max_args = 3, .fn = lk_cmd_create_topic,
     .usage = "create_topic NAME PARTITIONS [REPL]"},
    {.name = "apiversion", .min_args = 3, .max_args = 3, .fn = lk_cmd_apiversion,
     .usage = "apiversion APINAME MIN MAX"},
    {.name = "shutdown", .min_args = 0, .max_args = 0, .fn = lk_cmd_shutdown, .usage = "shutdown"},
    {.name = "help", .min_args = 0, .max_args = 0, .fn = lk_cmd_help, .usage = "help"},
};

static void lk_cmd_help(lk_state_t *st, int argc, char **argv, lk_reply_t *r)
{
    size_t off = (size_t)snprintf(r->buf, r->size, "ok");
    for (size_t i = 0; i < LK_ARRAY_SIZE(lk_cmds) && off < r->size; i++)
        off += (size_t)snprintf(r->buf + off, r->size - off, "%s%s", i ? "; " : " ",
                                lk_cmds[i].usage);
}

/* Execute one command line; always fills `reply` with one line (no '\n'). */
static void lk_execute(lk_state_t *st, char *line, char *reply, size_t reply_size)
{
    char *argv[LK_MAX_ARGS + 1];
    int argc = 0;
    char *save = NULL;
    lk_reply_t r = {.buf = reply, .size = reply_size};

    for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (argc == LK_MAX_ARGS) {
            lk_reply(&r, "err too many arguments");
            return;
        }
        argv[argc++] = tok;
    }
    if (argc == 0) {
        lk_reply(&r, "err empty command");
        return;
    }
    for (size_t i = 0; i < LK_ARRAY_SIZE(lk_cmds); i++) {
        const lk_cmd_t *c = &lk_cmds[i];
        if (strcmp(c->name, argv[0]))
            continue;
        if (argc - 1 < c->min_args || (c->max_args >= 0 && argc - 1 > c->max_args)) {
            lk_reply(&r, "err usage: %s", c->usage);
            return;
        }
        c->fn(st, argc, argv, &r);
        return;
    }
    lk_reply(&r, "err unknown command '%.64s' (try help)", argv[0]);
}

/* ------------------------------------------------------------------ */
/* control socket                                                      */

static int lk_listen(int port, int *bound_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t salen = sizeof(sa);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
        close(fd);
        return -1;
    }
    *bound_port = ntohs(sa.sin_port);
    return fd;
}

static void lk_client_close(lk_client_t *c)
{
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

/* Send a reply line; a client whose socket buffer is full is dropped. */
static bool lk_client_send(lk_client_t *c, const char *reply)
{
    char out[LK_REPLY_MAX + 2];
    size_t n = (size_t)snprintf(out, sizeof(out) - 1, "%s", reply);
    if (n > sizeof(out) - 2)
        n = sizeof(out) - 2;
    /* Replies echo client input: keep them one printable ASCII line. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
    out[n++] = '\n';
    ssize_t w = send(c->fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    return w == (ssize_t)n;
}

static void lk_accept(lk_state_t *st)
{
    for (;;) {
        int fd = accept4(st->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        size_t i;
        if (fd < 0)
            return; /* EAGAIN or transient error: nothing more to accept now */
        for (i = 0; i < LK_MAX_CLIENTS; i++)
            if (st->clients[i].fd < 0)
                break;
        if (i == LK_MAX_CLIENTS) {
            static const char busy[] = "err too many control clients\n";
            (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        st->clients[i].fd = fd;
        st->clients[i].len = 0;
    }
}

/* Read what is available, execute complete lines. */
static void lk_client_read(lk_state_t *st, lk_client_t *c)
{
    char reply[LK_REPLY_MAX];
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            lk_client_close(c);
            return;
        }
        if (n < 0)
            return;
        c->len += (size_t)n;

        char *start = c->buf;
        char *nl;
        while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
            *nl = '\0';
            if (memchr(start, '\0', (size_t)(nl - start)))
                snprintf(reply, sizeof(reply), "err NUL byte in command");
            else
                lk_execute(st, start, reply, sizeof(reply));
            if (!lk_client_send(c, reply)) {
                lk_client_close(c);
                return;
            }
            start = nl + 1;
        }
        c->len -= (size_t)(start - c->buf);
        memmove(c->buf, start, c->len);
        if (c->len == sizeof(c->buf)) {
            (void)lk_client_send(c, "err line too long");
            lk_client_close(c);
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* startup / main                                                      */

static void lk_usage(FILE *f)
{
    fputs("usage: wc-localkafka [options]\n"
          "  --brokers N               mock brokers (default 3)\n"
          "  --topic NAME:PARTS[:REPL] pre-create a topic (repeatable)\n"
          "  --default-partitions N    partitions of the standard topics (default 4)\n"
          "  --no-standard-topics      do not pre-create the standard webcared topics\n"
          "  --bootstrap-file PATH     write the bootstrap list there (atomically)\n"
          "  --control-port PORT       control channel on 127.0.0.1:PORT (0 = pick free)\n"
          "  --control-file PATH       write \"127.0.0.1:PORT\" of the control channel there\n"
          "  --pid-file PATH           write our pid there\n"
          "  --rtt MS                  initial round-trip delay of every broker\n"
          "  --debug CONTEXTS          librdkafka debug contexts (e.g. mock)\n"
          "  -h, --help\n"
          "First stdout line: the bootstrap list; then \"control 127.0.0.1:PORT\" if enabled.\n"
          "Runs until SIGTERM/SIGINT or the `shutdown` control command; exit 0.\n",
          f);
}

static int lk_parse_topic_spec(const char *arg, lk_topic_spec_t *t)
{
    char buf[300];
    char *p1, *p2;
    long v;
    if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
        return -1;
    if (!(p1 = strchr(buf, ':')))
        return -1;
    *p1++ = '\0';
    if ((p2 = strchr(p1, ':')))
        *p2++ = '\0';
    if (!lk_topic_name_valid(buf))
        return -1;
    memcpy(t->name, buf, strlen(buf) + 1); /* valid names are <= 249 chars */
    if (!lk_parse_int(p1, 1, LK_MAX_PARTITIONS, &v))
        return -1;
    t->partitions = (int)v;
    t->replication = 0;
    if (p2) {
        if (!lk_parse_int(p2, 1, LK_MAX_BROKERS, &v))
            return -1;
        t->replication = (int)v;
    }
    return 0;
}

static void lk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* The owner handle has no brokers by design; don't alarm anyone. */
    if (strstr(buf, "No `bootstrap.servers` configured"))
        return;
    fprintf(stderr, "wc-localkafka: rdkafka %d %s %s: %s\n", level, rd_kafka_name(rk), fac, buf);
}

static rd_kafka_t *lk_new_producer(const char *bootstraps, const char *debug, char *errstr,
                                   size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, lk_log_cb);
    if ((bootstraps &&
         rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, errsz) !=
             RD_KAFKA_CONF_OK) ||
        (debug && rd_kafka_conf_set(conf, "debug", debug, errstr, errsz) != RD_KAFKA_CONF_OK) ||
        rd_kafka_conf_set(conf, "client.id", bootstraps ? "wc-localkafka-meta" : "wc-localkafka",
                          errstr, errsz) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (bootstraps) {
        /* Quiet: the control client connects to brokers that tests take
         * down on purpose. */
        rd_kafka_conf_set(conf, "log.connection.close", "false", NULL, 0);
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errsz);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"default-partitions", required_argument, NULL, 'p'},
        {"no-standard-topics", no_argument, NULL, 'N'},
        {"bootstrap-file", required_argument, NULL, 'B'},
        {"control-port", required_argument, NULL, 'c'},
        {"control-file", required_argument, NULL, 'C'},
        {"pid-file", required_argument, NULL, 'P'},
        {"rtt", required_argument, NULL, 'r'},
        {"debug", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static lk_state_t st_storage;
    static lk_topic_spec_t topics[LK_MAX_TOPICS];
    lk_state_t *st = &st_storage;
    int topic_cnt = 0;
    long brokers = 3, default_parts = 4, control_port = -1, rtt = 0;
    bool standard_topics = true;
    const char *bootstrap_file = NULL, *control_file = NULL, *pid_file = NULL, *debug = NULL;
    bool wrote_bootstrap = false, wrote_control = false, wrote_pid = false;
    char errstr[512];
    char buf[LK_REPLY_MAX];
    sigset_t sigs;
    int sfd = -1, rc = 1, opt;

    st->listen_fd = -1;
    pthread_mutex_init(&st->poker.lock, NULL);
    pthread_cond_init(&st->poker.cond, NULL);
    for (int i = 0; i < LK_MAX_CLIENTS; i++)
        st->clients[i].fd = -1;

    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (!lk_parse_int(optarg, 1, LK_MAX_BROKERS, &brokers)) {
                lk_log("--brokers must be 1..%d", LK_MAX_BROKERS);
                return 2;
            }
            break;
        case 't':
            if (topic_cnt == LK_MAX_TOPICS || lk_parse_topic_spec(optarg, &topics[topic_cnt])) {
                lk_log("bad --topic '%s' (NAME:PARTITIONS[:REPLICATION])", optarg);
                return 2;
            }
            topic_cnt++;
            break;
        case 'p':
            if (!lk_parse_int(optarg, 1, LK_MAX_PARTITIONS, &default_parts)) {
                lk_log("--default-partitions must be 1..%d", LK_MAX_PARTITIONS);
                return 2;
            }
            break;
        case 'N':
            standard_topics = false;
            break;
        case 'B':
            bootstrap_file = optarg;
            break;
        case 'c':
            if (!lk_parse_int(optarg, 0, 65535, &control_port)) {
                lk_log("--control-port must be 0..65535");
                return 2;
            }
            break;
        case 'C':
            control_file = optarg;
            break;
        case 'P':
            pid_file = optarg;
            break;
        case 'r':
            if (!lk_parse_int(optarg, 0, 600000, &rtt)) {
                lk_log("--rtt must be 0..600000");
                return 2;
            }
            break;
        case 'd':
            debug = optarg;
            break;
        case 'h':
            lk_usage(stdout);
            return 0;
        default:
            lk_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        lk_log("unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (control_file && control_port < 0) {
        lk_log("--control-file needs --control-port");
        return 2;
    }
    st->broker_cnt = (int)brokers;

    /* Block the stop signals before librdkafka starts threads: every thread
     * inherits the mask, we see them only through the signalfd. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
        (sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        lk_log("signalfd: %s", strerror(errno));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);

    if (!(st->rk_owner = lk_new_producer(NULL, debug, errstr, sizeof(errstr)))) {
        lk_log("rd_kafka_new: %s", errstr);
        goto out;
    }
    if (!(st->mc = rd_kafka_mock_cluster_new(st->rk_owner, st->broker_cnt))) {
        lk_log("rd_kafka_mock_cluster_new failed (see librdkafka log above)");
        goto out;
    }
    st->bootstraps = rd_kafka_mock_cluster_bootstraps(st->mc);
    if (lk_poker_start(&st->poker, st->bootstraps)) {
        lk_log("cannot start the poker thread");
        goto out;
    }
    for (int id = 1; id <= st->broker_cnt; id++) {
        st->broker_up[id] = true;
        if (rtt > 0)
            LK_MOCK(st, rd_kafka_mock_broker_set_rtt(st->mc, id, (int)rtt));
    }

    /* Explicit specs first; standard topics not given explicitly next. */
    for (int i = 0; i < topic_cnt; i++) {
        bool dup = false;
        for (int j = 0; j < i; j++)
            dup = dup || !strcmp(topics[i].name, topics[j].name);
        if (dup) {
            lk_log("topic '%s' given twice", topics[i].name);
            rc = 2;
            goto out;
        }
        if (lk_create_topic(st, topics[i].name, topics[i].partitions, topics[i].replication, buf,
                            sizeof(buf))) {
            lk_log("cannot create topic '%s': %s", topics[i].name, buf);
            rc = 2;
            goto out;
        }
    }
    for (size_t s = 0; standard_topics && s < LK_ARRAY_SIZE(lk_standard_topics); s++) {
        bool given = false;
        for (int i = 0; i < topic_cnt; i++)
            given = given || !strcmp(topics[i].name, lk_standard_topics[s]);
        if (!given && lk_create_topic(st, lk_standard_topics[s], (int)default_parts, 0, buf,
                                      sizeof(buf))) {
            lk_log("cannot create topic '%s': %s", lk_standard_topics[s], buf);
            goto out;
        }
    }

    if (!(st->rk_meta = lk_new_producer(st->bootstraps, NULL, errstr, sizeof(errstr)))) {
        lk_log("rd_kafka_new (control client): %s", errstr);
        goto out;
    }

    if (control_port >= 0) {
        if ((st->listen_fd = lk_listen((int)control_port, &st->control_port)) < 0) {
            lk_log("control port %ld: %s", control_port, strerror(errno));
            goto out;
        }
    }

    /* Announce. The bootstrap line must be the first stdout line. */
    printf("%s\n", st->bootstraps);
    if (st->listen_fd >= 0)
        printf("control 127.0.0.1:%d\n", st->control_port);
    fflush(stdout);
    if (bootstrap_file) {
        snprintf(buf, sizeof(buf), "%s\n", st->bootstraps);
        if (lk_write_file_atomic(bootstrap_file, buf)) {
            lk_log("cannot write %s: %s", bootstrap_file, strerror(errno));
            goto out;
        }
        wrote_bootstrap = true;
    }
    if (control_file) {
        snprintf(buf, sizeof(buf), "127.0.0.1:%d\n", st->control_port);
        if (lk_write_file_atomic(control_file, buf)) {
            lk_log("cannot write %s: %s", control_file, strerror(errno));
            goto out;
        }
        wrote_control = true;
    }
    if (pid_file) {
        snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (lk_write_file_atomic(pid_file, buf)) {
            lk_log("cannot write %s: %s", pid_file, strerror(errno));
            goto out;
        }
        wrote_pid = true;
    }
    lk_log("%d brokers at %s%s", st->broker_cnt, st->bootstraps,
           st->listen_fd >= 0 ? ", control channel up" : "");

    while (!st->stop) {
        struct pollfd pfds[2 + LK_MAX_CLIENTS];
        int cidx[2 + LK_MAX_CLIENTS];
        nfds_t n = 0;
        pfds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        if (st->listen_fd >= 0)
            pfds[n++] = (struct pollfd){.fd = st->listen_fd, .events = POLLIN};
        for (int i = 0; i < LK_MAX_CLIENTS; i++) {
            if (st->clients[i].fd < 0)
                continue;
            cidx[n] = i;
            pfds[n++] = (struct pollfd){.fd = st->clients[i].fd, .events = POLLIN};
        }
        int pr = poll(pfds, n, 1000);
        rd_kafka_poll(st->rk_meta, 0);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            lk_log("poll: %s", strerror(errno));
            goto out;
        }
        for (nfds_t i = 0; i < n && pr > 0; i++) {
            if (!pfds[i].revents)
                continue;
            if (pfds[i].fd == sfd) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                    lk_log("signal %u: shutting down", si.ssi_signo);
                    st->stop = true;
                }
            } else if (pfds[i].fd == st->listen_fd) {
                lk_accept(st);
            } else {
                lk_client_t *c = &st->clients[cidx[i]];
                if (c->fd == pfds[i].fd)
                    lk_client_read(st, c);
            }
        }
    }
    rc = 0;

out:
    for (int i = 0; i < LK_MAX_CLIENTS; i++)
        if (st->clients[i].fd >= 0)
            lk_client_close(&st->clients[i]);
    if (st->listen_fd >= 0)
        close(st->listen_fd);
    if (st->rk_meta)
        rd_kafka_destroy(st->rk_meta);
    lk_poker_stop(&st->poker);
    if (st->mc)
        rd_kafka_mock_cluster_destroy(st->mc);
    if (st->rk_owner)
        rd_kafka_destroy(st->rk_owner);
    if (sfd >= 0)
        close(sfd);
    if (wrote_pid)
        unlink(pid_file);
    if (wrote_control)
        unlink(control_file);
    if (wrote_bootstrap)
        unlink(bootstrap_file);
    if (rc == 0)
        lk_log("stopped");
    return rc;
}
