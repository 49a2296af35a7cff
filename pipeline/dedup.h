/*
 * dedup.h - de-duplication of redeliveries and near-duplicates.
 *
 * CONTRACT between the dedup stage and the worker. One wc_dedup_t is shared
 * by all workers (lock-free inside). A mention is looked up by
 *   - its exact key: hash of brand + mention id (same id seen again), and
 *     hash of brand + normalised text (same text from the same source);
 *   - its SimHash over the normalised tokens (near-duplicates: retweets,
 *     copy-paste campaigns, lightly edited copies).
 * The first sighting "owns" the case; later sightings map to it.
 *
 * Replays of our own uncommitted input (same Kafka partition and offset as
 * the first sighting, e.g. after kill -9) are reported as WC_DEDUP_REPLAY so
 * the worker re-emits the same deterministic case instead of losing it.
 */
#ifndef WC_DEDUP_H
#define WC_DEDUP_H

#include "pipeline/common.h"
#include "pipeline/mention.h"
#include "pipeline/normalize.h"

typedef struct wc_dedup wc_dedup_t;

typedef struct wc_dedup_config {
    uint32_t capacity;     /* entries in the in-process table (power of two rounded up) */
    int64_t window_ms;     /* how long a sighting stays matchable */
    int max_hamming;       /* SimHash distance for near-duplicates (0..8) */
    int min_tokens;        /* texts with fewer word tokens are matched exactly only */
    /* additions (dedup module) */
    int64_t remote_ttl_ms; /* Redis claim lifetime for wc_dedup_remote_create() (not used by the
                            * in-process table; carried here so the config table has one home) */
} wc_dedup_config_t;

/* Limits enforced by wc_dedup_config_validate() / wc_dedup_create(). */
#define WC_DEDUP_CAPACITY_MIN 1024u
#define WC_DEDUP_CAPACITY_MAX (1u << 28)
#define WC_DEDUP_WINDOW_MS_MIN 1
#define WC_DEDUP_WINDOW_MS_MAX (366LL * 86400 * 1000)
#define WC_DEDUP_HAMMING_MAX 8
#define WC_DEDUP_MIN_TOKENS_MAX 64

/* Defaults: capacity 2^19 (112 MB), window 24 h, max_hamming 3, min_tokens 4,
 * remote_ttl 24 h. @locality any */
void wc_dedup_config_default(wc_dedup_config_t *c);

typedef enum wc_dedup_kind {
    WC_DEDUP_NEW = 0, /* first sighting: emit a new case */
    WC_DEDUP_REPLAY,  /* same partition/offset as the first sighting: re-emit same case */
    WC_DEDUP_EXACT,   /* same mention id (or same text hash) seen before: no new case */
    WC_DEDUP_NEAR,    /* near-duplicate: update event on the original case */
} wc_dedup_kind_t;

typedef struct wc_dedup_key {
    uint64_t id_hash;      /* wc_hash64(brand "\0" id) */
    uint64_t text_hash;    /* hash of brand + normalised text */
    uint64_t simhash;      /* wc_simhash() of the normalised tokens */
    uint64_t brand_hash;   /* near-dups never cross brands */
    uint64_t author_hash;  /* for distinct author counting */
    uint64_t reach;        /* followers + reshares of this mention */
    uint64_t case_id[2];   /* this mention's own deterministic case id */
    int32_t partition;     /* source Kafka partition */
    int64_t offset;        /* source Kafka offset */
    uint16_t route_id;     /* opaque to dedup: stored with the first sighting */
    uint8_t simhash_valid; /* 0 if too few tokens for near-dup matching */
} wc_dedup_key_t;

typedef struct wc_dedup_result {
    wc_dedup_kind_t kind;
    uint64_t case_id[2];       /* case id of the original (== key's for NEW/REPLAY) */
    uint64_t orig_id_hash;     /* id hash of the original mention */
    uint32_t duplicates;       /* near-dup count of the original after this one */
    uint32_t distinct_authors; /* distinct authors incl. the original */
    uint64_t reach;            /* cumulative reach incl. the original */
    uint16_t route_id;         /* route of the original */
    int hamming;               /* distance to the original for NEAR */
    /* additions (dedup module) */
    wc_dedup_kind_t first_kind; /* REPLAY/EXACT: what the first sighting of this id got
                                 * (NEW or NEAR: a replayed near-duplicate should re-emit the
                                 * duplicate update, not a case); == kind for NEW/NEAR */
} wc_dedup_result_t;

wc_dedup_t *wc_dedup_create(const wc_dedup_config_t *cfg, char *errstr, size_t errstr_size);
void wc_dedup_destroy(wc_dedup_t *d);

/* 64-bit SimHash over the content words of n (words, numbers, hashtags;
 * not handles, URLs, emoji, punctuation); sets *valid = 0 when there are
 * fewer than min_tokens of them (too short for near-dup matching).
 * @locality any */
uint64_t wc_simhash(const wc_norm_t *n, int min_tokens, uint8_t *valid);

/* Look up and, if new, insert. Always returns 0 (the table never refuses:
 * when it is full the oldest entries are evicted, see dedup.c and
 * wc_dedup_stats()). now_ms is wall-clock ms; the table keeps the maximum
 * seen so far, so a caller with a lagging clock does not resurrect entries.
 * @locality any worker thread (lock-free) */
int wc_dedup_check(wc_dedup_t *d, const wc_dedup_key_t *key, int64_t now_ms, wc_dedup_result_t *res);

/* ---- additions (dedup module) ---- */

/* Check cfg against the limits above. Returns 0 or WC_ERR_RANGE (errstr
 * names the field). @locality any */
int wc_dedup_config_validate(const wc_dedup_config_t *cfg, char *errstr, size_t errstr_size);

/* Entries the table needs per thread using it: a thread's allocation chunk
 * is dropped once it is this many records per thread (or a quarter lap)
 * behind the cursor; with fewer entries per thread the chunks age past a
 * lap, nearly every chunk is dropped after one record and hardly any
 * record stays findable (chunk_drop_age in dedup.c). */
#define WC_DEDUP_ENTRIES_PER_THREAD_MIN 64u

/* The number of entries wc_dedup_create() makes for a configured capacity
 * (rounded up to a power of two). @locality any */
uint64_t wc_dedup_capacity_rounded(uint32_t capacity);

/* Bytes wc_dedup_create() allocates for cfg (pages are touched lazily).
 * About 224 bytes per capacity entry at max_hamming 3. @locality any */
size_t wc_dedup_memory_bytes(const wc_dedup_config_t *cfg);

/* Key helpers (stable: derived ids must not change between versions).
 *   brand_hash = wc_dedup_brand_hash(brand)
 *   id_hash    = wc_dedup_id_hash(brand, id)      == wc_hash64(brand "\0" id)
 *   text_hash  = wc_dedup_text_hash(brand_hash, n): every token (kind and
 *                hash) except a retweet prefix, so "RT @x: text" and "text"
 *                are the same text, "@acme thanks" and "@other thanks" not.
 * @locality any */
uint64_t wc_dedup_brand_hash(const char *brand, size_t brand_len);
uint64_t wc_dedup_id_hash(const char *brand, size_t brand_len, const char *id, size_t id_len);
uint64_t wc_dedup_text_hash(uint64_t brand_hash, const wc_norm_t *n);

/* Fill every content field of k from a decoded mention m and its
 * normalised text n (the one wc_classify() produced): case_id (emit.h
 * wc_case_id), brand/id/text hashes as above, SimHash with min_tokens,
 * author_hash, reach = followers + reshares. partition, offset and
 * route_id are zero: the caller sets them. Nothing is retained.
 * @locality any */
void wc_dedup_key_init(wc_dedup_key_t *k, const wc_mention_t *m, const wc_norm_t *n,
                       int min_tokens);

/* Prefetch the table lines wc_dedup_check() will touch for key. Calling it
 * for mention i+4 while checking mention i hides most cache misses in
 * batch processing. Pure hint, no side effects. @locality any worker */
void wc_dedup_prefetch(wc_dedup_t *d, const wc_dedup_key_t *key);

/* Check n mentions in order: the same results as calling wc_dedup_check
 * for keys[0..n-1] one after the other with this now_ms (res[i] for
 * keys[i]), but each key's bucket addresses are computed once and the
 * lines of mention i + 4 are prefetched while mention i is checked (what
 * a wc_dedup_prefetch / wc_dedup_check loop does, with half the hashing).
 * keys and res are the caller's; nothing is retained. Always returns 0.
 * @locality any worker thread (lock-free) */
int wc_dedup_check_batch(wc_dedup_t *d, const wc_dedup_key_t *const *keys,
                         wc_dedup_result_t *const *res, size_t n, int64_t now_ms);

typedef struct wc_dedup_stats {
    uint32_t capacity;          /* records (power of two) */
    size_t memory_bytes;        /* allocated table memory */
    uint64_t inserted;          /* records allocated (first sightings and near-dup ids) */
    uint64_t evicted_live;      /* records recycled before window_ms passed (table full:
                                 * the effective window is shorter than configured) */
    uint64_t slot_full;         /* publishes that found their bucket full (no empty, lapped
                                 * or expired slot): one slot was evicted (per attempt; a
                                 * publish whose CAS lost a race counts again) */
    uint64_t slot_evicted_live; /* of those, slots of live entries overwritten (approximate:
                                 * a slot evicted unread, chunk_drop_age + a quarter lap
                                 * old, is counted as live) */
    uint64_t publish_failed;    /* index slot could not be published (bucket full of
                                 * in-flight entries; concurrent near-dups may be missed) */
    uint64_t author_evicted;    /* distinct-author set entries overwritten (bucket full) */
} wc_dedup_stats_t;

/* Snapshot of the counters (relaxed reads). @locality any */
void wc_dedup_stats(wc_dedup_t *d, wc_dedup_stats_t *st);

#endif
