/*
 * config.c - declarative config table, file parser, validation, doc generator.
 *
 * The table below is the single source of truth for every key: parsing,
 * defaults, range checks, the effective-config dump (secrets masked) and
 * docs/CONFIGURATION.md all come from it. Adding a key = one table row plus
 * one wc_config_t field.
 *
 * librdkafka passthrough keys (kafka.global.* / kafka.consumer.* /
 * kafka.producer.*) are stored as key/value lists and validated by feeding
 * them to a scratch rd_kafka_conf_t, so a typo fails at load with file:line.
 *
 * @locality main thread only.
 */
#include "daemon/config.h"
#include "pipeline/dedup.h"
#include "pipeline/log.h"

#include "wc_version.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum { CT_STR, CT_INT, CT_BOOL, CT_ENUM } conf_type_t;

typedef struct conf_prop {
    const char *key;
    conf_type_t type;
    size_t off;
    long long min, max;
    const char *def;
    const char *enums; /* CT_ENUM: "a|b|c" */
    bool reloadable;
    bool secret;
    const char *doc;
} conf_prop_t;

#define OFF(f) offsetof(wc_config_t, f)

/* clang-format off */
static const conf_prop_t props[] = {
    /* general */
    {"instance.id", CT_STR, OFF(instance_id), 0, 0, "", NULL, false, false,
     "Name of this daemon instance in logs, metrics and alerts. Empty: the host name."},
    {"workers", CT_INT, OFF(workers), 0, 64, "0", NULL, false, false,
     "Worker threads (decode, classify, dedup, produce). 0: one per online CPU core."},
    {"log.level", CT_ENUM, OFF(log_level), 0, 0, "info", "error|warn|info|debug", true, false,
     "Log level."},
    {"log.format", CT_ENUM, OFF(log_format), 0, 0, "text", "text|json", true, false,
     "Log line format on stderr: plain text or one JSON object per line."},
    {"debug", CT_STR, OFF(debug), 0, 0, "", NULL, true, false,
     "Debug contexts enabled at log.level=debug: comma list of kafka,redis,rules,worker,dedup,window,http,config or all."},
    {"rules.dir", CT_STR, OFF(rules_dir), 0, 0, WC_RULES_DIR_DEFAULT, NULL, true, false,
     "Directory with the classification rule files (see docs/RULES.md). Re-read on SIGHUP."},
    {"http.bind", CT_STR, OFF(http_bind), 0, 0, "127.0.0.1", NULL, false, false,
     "Address of the HTTP endpoint (/metrics, /livez, /readyz)."},
    {"http.port", CT_INT, OFF(http_port), 0, 65535, "9464", NULL, false, false,
     "Port of the HTTP endpoint; 0 disables it."},
    {"tick.ms", CT_INT, OFF(tick_ms), 5, 10000, "50", NULL, false, false,
     "Main loop housekeeping interval: offset store, window flush, stats."},
    /* kafka */
    {"kafka.brokers", CT_STR, OFF(kafka_brokers), 0, 0, "localhost:9092", NULL, false, false,
     "Bootstrap broker list (host:port,...)."},
    {"kafka.group.id", CT_STR, OFF(kafka_group_id), 0, 0, "webcared", NULL, false, false,
     "Consumer group of the input consumer; instances with the same group share partitions."},
    {"topic.input", CT_STR, OFF(topic_input), 0, 0, "mentions", NULL, false, false,
     "Input topic with mention events."},
    {"topic.responses", CT_STR, OFF(topic_responses), 0, 0, "responses", NULL, false, false,
     "Topic with the brand's own responses (first-response time, SLA, boomerang)."},
    {"topic.dlq", CT_STR, OFF(topic_dlq), 0, 0, "mentions.dlq", NULL, false, false,
     "Dead-letter topic: original bytes, reason and source in headers wc.*."},
    {"topic.clusters", CT_STR, OFF(topic_clusters), 0, 0, "alerts.clusters", NULL, false, false,
     "Recurring-complaint cluster alerts."},
    {"topic.escalations", CT_STR, OFF(topic_escalations), 0, 0, "alerts.escalations", NULL, false, false,
     "Boomerang escalation alerts."},
    {"topic.sla", CT_STR, OFF(topic_sla), 0, 0, "alerts.sla", NULL, false, false,
     "SLA at-risk / breached and follow-up-due alerts."},
    {"topic.stats", CT_STR, OFF(topic_stats), 0, 0, "webcare.stats", NULL, false, false,
     "Periodic per-brand statistics."},
    {"kafka.consume.batch", CT_INT, OFF(consume_batch), 1, 65536, "1024", NULL, false, false,
     "Maximum messages taken from the consumer queue per read."},
    {"kafka.max.inflight", CT_INT, OFF(max_inflight), 64, 4000000, "100000", NULL, false, false,
     "Maximum input messages in flight (consumed, outputs not yet acknowledged). Consumption pauses above it: this bounds memory."},
    {"kafka.drain.timeout.ms", CT_INT, OFF(drain_timeout_ms), 0, 600000, "20000", NULL, false, false,
     "How long a partition revoke or SIGTERM waits for in-flight messages to be acknowledged before giving up (their offsets are then not committed)."},
    {"kafka.commit.interval.ms", CT_INT, OFF(commit_interval_ms), 10, 600000, "1000", NULL, false, false,
     "Interval of offset commits (offsets are stored only up to the contiguous acknowledged low-water mark)."},
    {"kafka.message.timeout.ms", CT_INT, OFF(message_timeout_ms), 1000, 3600000, "30000", NULL, false, false,
     "librdkafka delivery timeout per attempt; an output that times out is produced again (never dropped)."},
    {"kafka.exactly.once", CT_BOOL, OFF(exactly_once), 0, 0, "false", NULL, false, false,
     "Exactly-once mode (docs/EOS.md): outputs and input offsets in Kafka transactions; consumers of the outputs must read with isolation.level=read_committed. Off: at-least-once with offset commits."},
    {"kafka.transactional.id", CT_STR, OFF(transactional_id), 0, 0, "", NULL, false, false,
     "Exactly-once: the producer's transactional.id. Empty: `webcared-` + instance.id. Must be unique per running instance and stable across its restarts: a restarted instance fences its predecessor (zombie), two live instances with the same id fence each other."},
    {"kafka.transaction.ms", CT_INT, OFF(transaction_ms), 10, 60000, "1000", NULL, false, false,
     "Exactly-once: a transaction is cut and committed after this long (outputs become visible to read_committed consumers at the commit)."},
    {"kafka.transaction.max.messages", CT_INT, OFF(transaction_max_messages), 1, 4000000, "5000", NULL, false, false,
     "Exactly-once: a transaction is cut earlier after this many input messages."},
    {"kafka.transaction.call.timeout.ms", CT_INT, OFF(transaction_call_timeout_ms), 100, 60000, "2000", NULL, false, false,
     "Exactly-once: bound of each blocking transactional call (send offsets, commit, abort) on the main loop; a timed-out call is retried on the next tick."},
    {"kafka.transaction.mirror.offsets", CT_BOOL, OFF(transaction_mirror_offsets), 0, 0, "false", NULL, false, false,
     "Exactly-once, for brokers that do not store transactional offset commits (librdkafka's mock cluster, wc-localkafka): after each committed transaction also commit its input offsets with a plain consumer commit. Leave off with Apache Kafka."},
    /* input limits */
    {"input.max.bytes", CT_INT, OFF(input_max_bytes), 256, 16777216, "1048576", NULL, false, false,
     "Largest accepted mention message in bytes; larger goes to the DLQ (too_large)."},
    {"input.max.depth", CT_INT, OFF(input_max_depth), 2, 1024, "32", NULL, false, false,
     "Deepest accepted JSON nesting; deeper goes to the DLQ (too_deep)."},
    {"input.max.text.bytes", CT_INT, OFF(input_max_text_bytes), 16, 1048576, "65536", NULL, false, false,
     "Longest accepted mention text in bytes (field_too_long)."},
    {"input.max.id.bytes", CT_INT, OFF(input_max_id_bytes), 8, 65536, "256", NULL, false, false,
     "Longest accepted id, conversation_id, in_reply_to and author.id (field_too_long)."},
    {"input.max.field.bytes", CT_INT, OFF(input_max_field_bytes), 16, 1048576, "2048", NULL, false, false,
     "Longest accepted other string field (brand, handle, url) (field_too_long)."},
    /* redis */
    {"redis.addr", CT_STR, OFF(redis_addr), 0, 0, "127.0.0.1:6379", NULL, false, false,
     "Redis server host:port (windows, cross-instance dedup)."},
    {"redis.password", CT_STR, OFF(redis_password), 0, 0, "", NULL, false, true,
     "Redis AUTH password (never printed)."},
    {"redis.timeout.ms", CT_INT, OFF(redis_timeout_ms), 10, 600000, "2000", NULL, false, false,
     "Redis connect and command timeout; a timed-out connection is dropped and retried."},
    /* dedup */
    {"dedup.capacity", CT_INT, OFF(dedup_capacity), 1024, 1 << 28, "524288", NULL, false, false,
     "Entries in the in-process dedup table (rounded up to a power of two); bounds its memory: ~224 bytes per entry (2^19 = 112 MB). When new ids arrive faster than capacity / dedup.window.s, the effective window is capacity / rate (Redis claims still catch exact redeliveries beyond it). At least 64 entries per worker (checked when the configuration is loaded)."},
    {"dedup.window.s", CT_INT, OFF(dedup_window_s), 1, 30 * 86400, "86400", NULL, false, false,
     "How long a mention stays matchable for exact and near-duplicate detection."},
    {"dedup.max.hamming", CT_INT, OFF(dedup_max_hamming), 0, 8, "3", NULL, false, false,
     "Largest SimHash Hamming distance that counts as a near-duplicate."},
    {"dedup.min.tokens", CT_INT, OFF(dedup_min_tokens), 1, 64, "4", NULL, false, false,
     "Texts with fewer word tokens are only matched exactly (too short for SimHash)."},
    {"dedup.remote", CT_BOOL, OFF(dedup_remote), 0, 0, "true", NULL, false, false,
     "Also de-duplicate exact redeliveries across instances through Redis (batched)."},
    /* windows (Redis) */
    {"dedup.redis.addr", CT_STR, OFF(dedup_redis_addr), 0, 0, "", NULL, false, false,
     "Redis host:port for the cross-instance dedup claims only; empty: redis.addr. The claims are "
     "on every mention's latency path and a Redis runs one command at a time, so on the windows' "
     "Redis they wait behind the window function calls (docs/DEDUP.md). A claim error falls back "
     "to the local result (counted, logged)."},
    {"dedup.redis.password", CT_STR, OFF(dedup_redis_password), 0, 0, "", NULL, false, true,
     "AUTH password of dedup.redis.addr (never printed); ignored when dedup.redis.addr is empty "
     "(redis.password applies)."},
    {"window.enabled", CT_BOOL, OFF(window_enabled), 0, 0, "true", NULL, false, false,
     "Aggregate mentions into Redis windows (clusters, escalations, SLA, stats). Off: cases only."},
    {"window.flush.ms", CT_INT, OFF(window_flush_ms), 10, 60000, "200", NULL, false, false,
     "Flush interval of the in-process window aggregation to Redis (one call per brand per flush)."},
    {"window.call.max.events", CT_INT, OFF(window_call_max_events), 0, 1000000, "0", NULL, false, false,
     "Events per window call (FCALL wc_apply) at most; a brand's larger flush goes as several calls "
     "in order. Calls are sent one at a time and Redis runs one function at a time, so this bounds how "
     "long the workers' dedup claims wait behind a call, at ~17 Redis commands per extra call "
     "(docs/WINDOWS.md). 0: one call per brand and flush."},
    {"window.sweep.ms", CT_INT, OFF(window_sweep_ms), 100, 600000, "5000", NULL, false, false,
     "Idle brands are re-evaluated (SLA clocks, open clusters) at this interval."},
    {"cluster.window.s", CT_INT, OFF(cluster_window_s), 60, 86400, "600", NULL, false, false,
     "Sliding window of the recurring-complaint clusters (event time)."},
    {"cluster.baseline.s", CT_INT, OFF(cluster_baseline_s), 600, 30 * 86400, "86400", NULL, false, false,
     "Baseline period a cluster's window count is compared with."},
    {"cluster.min.count", CT_INT, OFF(cluster_min_count), 1, 1000000, "20", NULL, false, false,
     "A cluster opens only with at least this many mentions in the window."},
    {"cluster.factor", CT_INT, OFF(cluster_factor), 1, 1000, "4", NULL, false, false,
     "A cluster opens when its window count is at least factor x the baseline rate per window."},
    {"cluster.resolve.factor", CT_INT, OFF(cluster_resolve_factor), 1, 1000, "2", NULL, false, false,
     "Hysteresis: an open cluster resolves when its window count falls to max(min.count/2, resolve.factor x baseline)."},
    {"cluster.warmup.s", CT_INT, OFF(cluster_warmup_s), 0, 30 * 86400, "1800", NULL, false, false,
     "No cluster alerts until a brand has this much history (event time) beyond one window."},
    {"cluster.cooldown.s", CT_INT, OFF(cluster_cooldown_s), 0, 30 * 86400, "1800", NULL, false, false,
     "After a cluster resolves it cannot re-open for this long (no alert storms)."},
    {"escalation.influencer.followers", CT_INT, OFF(esc_influencer_followers), 1, 2000000000, "10000", NULL, false, false,
     "Authors with at least this many followers count as influencers (amplification)."},
    {"escalation.reshares.min", CT_INT, OFF(esc_reshares_min), 1, 1000000, "20", NULL, false, false,
     "An influencer's complaint escalates once reshared (or near-copied) this many times."},
    {"escalation.repeat.count", CT_INT, OFF(esc_repeat_count), 2, 1000, "3", NULL, false, false,
     "This many angry mentions by one author within escalation.repeat.window.s escalate."},
    {"escalation.repeat.window.s", CT_INT, OFF(esc_repeat_window_s), 60, 30 * 86400, "86400", NULL, false, false,
     "Window for repeated complaints by one author."},
    {"escalation.return.window.s", CT_INT, OFF(esc_return_window_s), 60, 90 * 86400, "604800", NULL, false, false,
     "A complaint within this time after a response to the same author is a boomerang."},
    {"escalation.ttl.s", CT_INT, OFF(esc_ttl_s), 60, 90 * 86400, "604800", NULL, false, false,
     "An escalation stays open (updated, not duplicated) this long after its last trigger."},
    {"sla.risk.s", CT_INT, OFF(sla_risk_s), 0, 86400, "300", NULL, false, false,
     "alerts.sla at_risk is sent this long before a case's SLA is due (SLA per class: rules settings)."},
    {"followup.after.s", CT_INT, OFF(followup_after_s), 0, 90 * 86400, "259200", NULL, false, false,
     "Follow-up due this long after an angry case was answered (0: off)."},
    {"window.case.ttl.s", CT_INT, OFF(window_case_ttl_s), 3600, 90 * 86400, "604800", NULL, false, false,
     "How long Redis keeps a case's window state (responses, reshares)."},
    {"window.author.ttl.s", CT_INT, OFF(window_author_ttl_s), 3600, 180 * 86400, "1209600", NULL, false, false,
     "How long Redis keeps an author's dossier after its last activity."},
    {"stats.interval.s", CT_INT, OFF(stats_interval_s), 1, 86400, "60", NULL, false, false,
     "Interval of the per-brand webcare.stats events."},
    /* privacy */
    {"privacy.hmac.key", CT_STR, OFF(privacy_hmac_key), 0, 0, "", NULL, false, true,
     "When set, author ids in alerts are pseudonymised as HMAC-SHA256(key, id) (never printed)."},
};
/* clang-format on */

static const conf_prop_t *prop_find(const char *key)
{
    for (size_t i = 0; i < WC_ARRAY_SIZE(props); i++)
        if (!strcmp(props[i].key, key))
            return &props[i];
    return NULL;
}

static int prop_apply(wc_config_t *c, const conf_prop_t *p, const char *value, const char *origin,
                      char *errstr, size_t errstr_size)
{
    char *base = (char *)c;
    switch (p->type) {
    case CT_STR: {
        char *dup = strdup(value);
        if (!dup)
            return WC_ERR_NOMEM;
        char **slot = (char **)(base + p->off);
        free(*slot);
        *slot = dup;
        return 0;
    }
    case CT_ENUM: {
        const char *e = p->enums;
        size_t vl = strlen(value);
        while (*e) {
            size_t n = strcspn(e, "|");
            if (n == vl && !strncmp(e, value, n)) {
                char *dup = strdup(value);
                if (!dup)
                    return WC_ERR_NOMEM;
                char **slot = (char **)(base + p->off);
                free(*slot);
                *slot = dup;
                return 0;
            }
            e += n;
            if (*e == '|')
                e++;
        }
        wc_errstr_set(errstr, errstr_size, "%s: %s: invalid value \"%s\" (expected %s)", origin,
                      p->key, value, p->enums);
        return WC_ERR_PARSE;
    }
    case CT_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) {
            wc_errstr_set(errstr, errstr_size, "%s: %s: expected an integer, got \"%s\"", origin,
                          p->key, value);
            return WC_ERR_PARSE;
        }
        if (v < p->min || v > p->max) {
            wc_errstr_set(errstr, errstr_size, "%s: %s: %lld out of range [%lld, %lld]", origin,
                          p->key, v, p->min, p->max);
            return WC_ERR_RANGE;
        }
        *(int *)(base + p->off) = (int)v;
        return 0;
    }
    case CT_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (int i = 0; i < 4; i++) {
            if (!strcasecmp(value, yes[i])) {
                *(bool *)(base + p->off) = true;
                return 0;
            }
            if (!strcasecmp(value, no[i])) {
                *(bool *)(base + p->off) = false;
                return 0;
            }
        }
        wc_errstr_set(errstr, errstr_size, "%s: %s: expected true or false, got \"%s\"", origin,
                      p->key, value);
        return WC_ERR_PARSE;
    }
    }
    return WC_ERR_STATE;
}

wc_config_t *wc_config_new(void)
{
    wc_config_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    for (size_t i = 0; i < WC_ARRAY_SIZE(props); i++) {
        if (prop_apply(c, &props[i], props[i].def, "default", NULL, 0)) {
            wc_config_destroy(c);
            return NULL;
        }
    }
    return c;
}

static void kv_free(wc_kv_t *kv, int n)
{
    for (int i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
        free(kv[i].origin);
    }
}

void wc_config_destroy(wc_config_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < WC_ARRAY_SIZE(props); i++)
        if (props[i].type == CT_STR || props[i].type == CT_ENUM)
            free(*(char **)((char *)c + props[i].off));
    kv_free(c->kafka_global, c->n_kafka_global);
    kv_free(c->kafka_consumer, c->n_kafka_consumer);
    kv_free(c->kafka_producer, c->n_kafka_producer);
    free(c->path);
    free(c);
}

static int kv_set(wc_kv_t *kv, int *n, const char *key, const char *value, const char *origin,
                  char *errstr, size_t errstr_size)
{
    int i;
    for (i = 0; i < *n; i++)
        if (!strcmp(kv[i].key, key))
            break;
    if (i == *n) {
        if (*n == WC_CONFIG_MAX_PASSTHROUGH) {
            wc_errstr_set(errstr, errstr_size, "%s: too many librdkafka properties (max %d)",
                          origin, WC_CONFIG_MAX_PASSTHROUGH);
            return WC_ERR_RANGE;
        }
        kv[i].key = strdup(key);
        kv[i].value = NULL;
        kv[i].origin = NULL;
        (*n)++;
    }
    free(kv[i].value);
    free(kv[i].origin);
    kv[i].value = strdup(value);
    kv[i].origin = strdup(origin);
    if (!kv[i].key || !kv[i].value || !kv[i].origin)
        return WC_ERR_NOMEM;
    return 0;
}

/* Properties the daemon manages itself: refusing them avoids silently
 * breaking the delivery guarantees. */
static const char *const managed_props[] = {
    "enable.auto.offset.store", "enable.auto.commit", "bootstrap.servers", "group.id",
    "enable.idempotence",       "transactional.id",   "dr_msg_cb",         NULL};

static int passthrough_check(const char *scope, const char *key, const char *value,
                             const char *origin, char *errstr, size_t errstr_size)
{
    char rderr[256];
    for (int i = 0; managed_props[i]; i++) {
        if (!strcmp(key, managed_props[i])) {
            wc_errstr_set(errstr, errstr_size,
                          "%s: kafka.%s.%s is managed by webcared and cannot be set", origin,
                          scope, key);
            return WC_ERR_INVAL;
        }
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key, value, rderr, sizeof(rderr));
    rd_kafka_conf_destroy(conf);
    if (res != RD_KAFKA_CONF_OK) {
        wc_errstr_set(errstr, errstr_size, "%s: kafka.%s.%s: %s", origin, scope, key, rderr);
        return WC_ERR_PARSE;
    }
    return 0;
}

int wc_config_set(wc_config_t *c, const char *key, const char *value, const char *origin,
                  char *errstr, size_t errstr_size)
{
    static const struct {
        const char *prefix;
        const char *scope;
        size_t list_off;
        size_t n_off;
    } pass[] = {
        {"kafka.global.", "global", OFF(kafka_global), OFF(n_kafka_global)},
        {"kafka.consumer.", "consumer", OFF(kafka_consumer), OFF(n_kafka_consumer)},
        {"kafka.producer.", "producer", OFF(kafka_producer), OFF(n_kafka_producer)},
    };
    const conf_prop_t *p = prop_find(key);
    if (p)
        return prop_apply(c, p, value, origin, errstr, errstr_size);
    for (size_t i = 0; i < WC_ARRAY_SIZE(pass); i++) {
        size_t pl = strlen(pass[i].prefix);
        if (!strncmp(key, pass[i].prefix, pl) && key[pl]) {
            int err = passthrough_check(pass[i].scope, key + pl, value, origin, errstr,
                                        errstr_size);
            if (err)
                return err;
            return kv_set((wc_kv_t *)((char *)c + pass[i].list_off),
                          (int *)((char *)c + pass[i].n_off), key + pl, value, origin, errstr,
                          errstr_size);
        }
    }
    wc_errstr_set(errstr, errstr_size,
                  "%s: unknown key \"%s\" (see docs/CONFIGURATION.md or webcared --dump-config-doc)",
                  origin, key);
    return WC_ERR_PARSE;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* The line parser shared by wc_config_load_file() and wc_config_parse_buf():
 * name is the file name used in "name:line" origins. Does not close fp. */
static int config_parse_stream(wc_config_t *c, FILE *fp, const char *path, char *errstr,
                               size_t errstr_size)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, err = 0;
    char origin[512];

    while ((len = getline(&line, &cap, fp)) != -1) {
        lineno++;
        snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
        if ((size_t)len != strlen(line)) {
            wc_errstr_set(errstr, errstr_size, "%s: NUL byte in line", origin);
            err = WC_ERR_PARSE;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            wc_errstr_set(errstr, errstr_size, "%s: expected \"key = value\"", origin);
            err = WC_ERR_PARSE;
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *val = trim(eq + 1);
        if (!*key) {
            wc_errstr_set(errstr, errstr_size, "%s: empty key", origin);
            err = WC_ERR_PARSE;
            break;
        }
        for (char *k = key; *k; k++) {
            if (!isalnum((unsigned char)*k) && *k != '.' && *k != '_' && *k != '-') {
                wc_errstr_set(errstr, errstr_size, "%s: invalid character in key \"%s\"",
                              origin, key);
                err = WC_ERR_PARSE;
                goto done;
            }
        }
        size_t vl = strlen(val);
        if (vl && val[0] == '"') {
            if (vl < 2 || val[vl - 1] != '"') {
                wc_errstr_set(errstr, errstr_size, "%s: unterminated quoted value", origin);
                err = WC_ERR_PARSE;
                break;
            }
            val[vl - 1] = '\0';
            val++;
        }
        err = wc_config_set(c, key, val, origin, errstr, errstr_size);
        if (err)
            break;
    }
done:
    if (!err && ferror(fp)) {
        wc_errstr_set(errstr, errstr_size, "%s: read error: %s", path, strerror(errno));
        err = WC_ERR_IO;
    }
    free(line);
    return err;
}

int wc_config_load_file(wc_config_t *c, const char *path, char *errstr, size_t errstr_size)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        wc_errstr_set(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        return WC_ERR_IO;
    }
    int err = config_parse_stream(c, fp, path, errstr, errstr_size);
    fclose(fp);
    if (!err) {
        free(c->path);
        c->path = strdup(path);
    }
    return err;
}

int wc_config_parse_buf(wc_config_t *c, const char *buf, size_t len, const char *name,
                        char *errstr, size_t errstr_size)
{
    if (len == 0)
        return 0;
    /* "r" mode never writes to the buffer. */
    FILE *fp = fmemopen((void *)buf, len, "r");
    if (!fp) {
        wc_errstr_set(errstr, errstr_size, "%s: fmemopen: %s", name, strerror(errno));
        return WC_ERR_NOMEM;
    }
    int err = config_parse_stream(c, fp, name, errstr, errstr_size);
    fclose(fp);
    return err;
}

int wc_config_validate(const wc_config_t *c, char *errstr, size_t errstr_size)
{
    const char *topics[] = {c->topic_input,    c->topic_responses,   c->topic_dlq,
                            c->topic_clusters, c->topic_escalations, c->topic_sla,
                            c->topic_stats};
    static const char *const names[] = {"topic.input",    "topic.responses",   "topic.dlq",
                                        "topic.clusters", "topic.escalations", "topic.sla",
                                        "topic.stats"};
    for (size_t i = 0; i < WC_ARRAY_SIZE(topics); i++) {
        if (!*topics[i]) {
            wc_errstr_set(errstr, errstr_size, "%s must not be empty", names[i]);
            return WC_ERR_INVAL;
        }
    }
    if (!strcmp(c->topic_input, c->topic_responses)) {
        wc_errstr_set(errstr, errstr_size, "topic.responses must differ from topic.input");
        return WC_ERR_INVAL;
    }
    if (!strcmp(c->topic_input, c->topic_dlq)) {
        wc_errstr_set(errstr, errstr_size, "topic.dlq must differ from topic.input");
        return WC_ERR_INVAL;
    }
    if (!*c->kafka_brokers) {
        wc_errstr_set(errstr, errstr_size, "kafka.brokers must not be empty");
        return WC_ERR_INVAL;
    }
    if (!*c->kafka_group_id) {
        wc_errstr_set(errstr, errstr_size, "kafka.group.id must not be empty");
        return WC_ERR_INVAL;
    }
    if (!strchr(c->redis_addr, ':')) {
        wc_errstr_set(errstr, errstr_size, "redis.addr must be host:port, got \"%s\"",
                      c->redis_addr);
        return WC_ERR_INVAL;
    }
    if (*c->dedup_redis_addr && !strchr(c->dedup_redis_addr, ':')) {
        wc_errstr_set(errstr, errstr_size, "dedup.redis.addr must be host:port, got \"%s\"",
                      c->dedup_redis_addr);
        return WC_ERR_INVAL;
    }
    /* The workers share the dedup table, which needs a minimum of entries
     * per thread (WC_DEDUP_ENTRIES_PER_THREAD_MIN, pipeline/dedup.h). */
    uint64_t dcap = wc_dedup_capacity_rounded((uint32_t)c->dedup_capacity);
    int nw = wc_config_workers(c);
    uint64_t dneed = (uint64_t)WC_DEDUP_ENTRIES_PER_THREAD_MIN * (uint64_t)nw;
    if (dcap < dneed) {
        wc_errstr_set(errstr, errstr_size,
                      "dedup.capacity %d (%llu entries) is too small for %d workers%s: at least %u "
                      "entries per worker (%llu) are needed; raise dedup.capacity or lower workers",
                      c->dedup_capacity, (unsigned long long)dcap, nw,
                      c->workers ? "" : " (workers = 0: one per CPU core)",
                      WC_DEDUP_ENTRIES_PER_THREAD_MIN, (unsigned long long)dneed);
        return WC_ERR_INVAL;
    }
    if (c->debug[0]) {
        uint32_t mask;
        if (wc_log_parse_debug(c->debug, &mask)) {
            wc_errstr_set(errstr, errstr_size, "debug: unknown context in \"%s\"", c->debug);
            return WC_ERR_INVAL;
        }
    }
    return 0;
}

static bool is_secret_passthrough(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret") || strstr(key, "sasl.oauthbearer") ||
           strstr(key, "ssl.key.pem") || strstr(key, "ssl_key");
}

static void dump_kv(FILE *fp, const char *scope, const wc_kv_t *kv, int n)
{
    /* Quoted like string keys, so the dump reads back as the same config
     * (leading/trailing spaces and quotes survive). */
    for (int i = 0; i < n; i++) {
        if (is_secret_passthrough(kv[i].key))
            fprintf(fp, "kafka.%s.%s = ********\n", scope, kv[i].key);
        else
            fprintf(fp, "kafka.%s.%s = \"%s\"\n", scope, kv[i].key, kv[i].value);
    }
}

void wc_config_dump(const wc_config_t *c, FILE *fp)
{
    const char *base = (const char *)c;
    for (size_t i = 0; i < WC_ARRAY_SIZE(props); i++) {
        const conf_prop_t *p = &props[i];
        switch (p->type) {
        case CT_STR:
        case CT_ENUM: {
            const char *v = *(char *const *)(base + p->off);
            fprintf(fp, "%s = %s%s%s\n", p->key, p->secret ? "" : "\"",
                    p->secret ? (*v ? "********" : "\"\"") : v, p->secret ? "" : "\"");
            break;
        }
        case CT_INT:
            fprintf(fp, "%s = %d\n", p->key, *(const int *)(base + p->off));
            break;
        case CT_BOOL:
            fprintf(fp, "%s = %s\n", p->key, *(const bool *)(base + p->off) ? "true" : "false");
            break;
        }
    }
    dump_kv(fp, "global", c->kafka_global, c->n_kafka_global);
    dump_kv(fp, "consumer", c->kafka_consumer, c->n_kafka_consumer);
    dump_kv(fp, "producer", c->kafka_producer, c->n_kafka_producer);
}

void wc_config_dump_doc(FILE *fp)
{
    static const char *const tn[] = {"string", "integer", "boolean", "enum"};
    fprintf(fp, "# webcared configuration reference\n\n"
                "Generated from the config table in `daemon/config.c` by `webcared --dump-config-doc`;"
                " do not edit by hand.\n\n"
                "Format: one `key = value` per line, `#` comments, values may be double-quoted. "
                "Unknown keys are errors reported as `file:line`. Every key can also be given on the "
                "command line as `-o key=value` (applied after the file).\n\n"
                "librdkafka properties pass through with a prefix: `kafka.global.<prop>` (consumer and "
                "producer), `kafka.consumer.<prop>`, `kafka.producer.<prop>` — e.g. "
                "`kafka.global.security.protocol = SASL_SSL`. They are validated by librdkafka at load; "
                "properties webcared manages itself (offset store/commit, idempotence, transactional "
                "id, bootstrap servers, group id) are refused. Values of keys containing `password` or "
                "`secret` are never printed.\n\n"
                "Reloadable keys take effect on SIGHUP; other changes are reported and need a restart.\n\n"
                "| key | type | default | range | reload | description |\n"
                "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < WC_ARRAY_SIZE(props); i++) {
        const conf_prop_t *p = &props[i];
        char range[64] = "";
        if (p->type == CT_INT)
            snprintf(range, sizeof(range), "%lld..%lld", p->min, p->max);
        else if (p->type == CT_ENUM) {
            size_t o = 0;
            for (const char *e = p->enums; *e && o + 3 < sizeof(range); e++) {
                if (*e == '|')
                    range[o++] = '\\';
                range[o++] = *e;
            }
            range[o] = '\0';
        }
        const char *def = p->def;
        if (p->off == OFF(rules_dir))
            def = "<source>/rules";
        fprintf(fp, "| `%s` | %s | `%s` | %s | %s | %s%s |\n", p->key, tn[p->type], def, range,
                p->reloadable ? "yes" : "no", p->doc, p->secret ? " Secret." : "");
    }
}

int wc_config_diff_nonreloadable(const wc_config_t *a, const wc_config_t *b, char *out,
                                 size_t out_size)
{
    int n = 0;
    size_t o = 0;
    if (out_size)
        out[0] = '\0';
    for (size_t i = 0; i < WC_ARRAY_SIZE(props); i++) {
        const conf_prop_t *p = &props[i];
        const char *pa = (const char *)a + p->off, *pb = (const char *)b + p->off;
        bool differs = false;
        switch (p->type) {
        case CT_STR:
        case CT_ENUM: differs = strcmp(*(char *const *)pa, *(char *const *)pb) != 0; break;
        case CT_INT: differs = *(const int *)pa != *(const int *)pb; break;
        case CT_BOOL: differs = *(const bool *)pa != *(const bool *)pb; break;
        }
        if (differs && !p->reloadable) {
            n++;
            if (o < out_size)
                o += (size_t)snprintf(out + o, out_size - o, "%s%s", o ? "," : "", p->key);
        }
    }
    return n;
}

int wc_config_workers(const wc_config_t *c)
{
    if (c->workers > 0)
        return c->workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}
