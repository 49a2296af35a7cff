/*
 * config.h - the daemon's configuration: one declarative table.
 *
 * Every key lives in wc_config_props[] (key, type, offset into
 * wc_config_t, min, max, default, doc, reloadable, secret). The same table
 * parses the config file and `-o key=value` overrides, rejects unknown keys
 * with file:line, prints the effective config with secrets masked, and
 * generates docs/CONFIGURATION.md (`webcared --dump-config-doc`).
 *
 * File format: UTF-8 text, one `key = value` per line; `#` starts a comment
 * at line start; values may be double-quoted to keep leading/trailing
 * spaces or `#`; booleans true/false/yes/no/on/off/1/0. Keys starting with
 * `kafka.consumer.`, `kafka.producer.` or `kafka.global.` are passed through
 * to librdkafka (consumer only, producer only, both), validated by
 * librdkafka at load time with the same file:line error format.
 *
 * @locality main thread. A loaded wc_config_t is immutable afterwards; a
 * reload builds a new one and the main loop swaps it.
 */
#ifndef WC_CONFIG_H
#define WC_CONFIG_H

#include "pipeline/common.h"

#include <stdio.h>

#define WC_CONFIG_MAX_PASSTHROUGH 64

typedef struct wc_kv {
    char *key; /* librdkafka property name (prefix stripped) */
    char *value;
    char *origin; /* "file:line" or "cli" */
} wc_kv_t;

typedef struct wc_config {
    /* general */
    char *instance_id;
    int workers;
    char *log_level;
    char *log_format;
    char *debug;
    char *rules_dir;
    char *http_bind;
    int http_port;
    int tick_ms;
    /* kafka */
    char *kafka_brokers;
    char *kafka_group_id;
    char *topic_input;
    char *topic_responses;
    char *topic_dlq;
    char *topic_clusters;
    char *topic_escalations;
    char *topic_sla;
    char *topic_stats;
    int consume_batch;
    int max_inflight;
    int drain_timeout_ms;
    int commit_interval_ms;
    int message_timeout_ms;
    bool exactly_once;
    char *transactional_id;
    int transaction_ms;
    int transaction_max_messages;
    int transaction_call_timeout_ms;
    bool transaction_mirror_offsets;
    /* input limits */
    int input_max_bytes;
    int input_max_depth;
    int input_max_text_bytes;
    int input_max_id_bytes;
    int input_max_field_bytes;
    /* redis */
    char *redis_addr;
    char *redis_password;
    int redis_timeout_ms;
    /* dedup */
    int dedup_capacity;
    int dedup_window_s;
    int dedup_max_hamming;
    int dedup_min_tokens;
    bool dedup_remote;
    char *dedup_redis_addr;
    char *dedup_redis_password;
    /* windows */
    bool window_enabled;
    int window_flush_ms;
    int window_call_max_events;
    int window_sweep_ms;
    int cluster_window_s;
    int cluster_baseline_s;
    int cluster_min_count;
    int cluster_factor;
    int cluster_resolve_factor;
    int cluster_warmup_s;
    int cluster_cooldown_s;
    int esc_influencer_followers;
    int esc_reshares_min;
    int esc_repeat_count;
    int esc_repeat_window_s;
    int esc_return_window_s;
    int esc_ttl_s;
    int sla_risk_s;
    int followup_after_s;
    int window_case_ttl_s;
    int window_author_ttl_s;
    int stats_interval_s;
    /* privacy */
    char *privacy_hmac_key;
    /* passthrough librdkafka properties */
    wc_kv_t kafka_global[WC_CONFIG_MAX_PASSTHROUGH];
    int n_kafka_global;
    wc_kv_t kafka_consumer[WC_CONFIG_MAX_PASSTHROUGH];
    int n_kafka_consumer;
    wc_kv_t kafka_producer[WC_CONFIG_MAX_PASSTHROUGH];
    int n_kafka_producer;
    /* where it came from */
    char *path;
} wc_config_t;

/* Allocate a config with every default applied. NULL on OOM. */
wc_config_t *wc_config_new(void);
void wc_config_destroy(wc_config_t *c);

/* Apply a config file. Returns 0 or WC_ERR_PARSE/WC_ERR_IO with errstr
 * "path:line: reason". */
int wc_config_load_file(wc_config_t *c, const char *path, char *errstr, size_t errstr_size);

/* Apply config text from memory (same format and errors as a file; name
 * stands for the file name in "name:line: reason"). c->path is not changed.
 * For the fuzzer and tests. */
int wc_config_parse_buf(wc_config_t *c, const char *buf, size_t len, const char *name,
                        char *errstr, size_t errstr_size);

/* Set one key (CLI override or file line). origin is used in errors. */
int wc_config_set(wc_config_t *c, const char *key, const char *value, const char *origin,
                  char *errstr, size_t errstr_size);

/* Cross-key validation after everything was applied (and librdkafka
 * validation of passthrough properties). */
int wc_config_validate(const wc_config_t *c, char *errstr, size_t errstr_size);

/* Print effective config as a config file, secrets masked. */
void wc_config_dump(const wc_config_t *c, FILE *fp);

/* Print the reference documentation (Markdown) generated from the table. */
void wc_config_dump_doc(FILE *fp);

/* Names of keys whose values differ and are not reloadable (for SIGHUP):
 * writes a comma list into out; returns the count. */
int wc_config_diff_nonreloadable(const wc_config_t *a, const wc_config_t *b, char *out,
                                 size_t out_size);

/* Resolved worker count (0 -> online cores). */
int wc_config_workers(const wc_config_t *c);

#endif
