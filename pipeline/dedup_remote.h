/*
 * dedup_remote.h - cross-instance exact-duplicate claims in Redis.
 *
 * The in-process table (dedup.h) only knows what this process saw since
 * it started. A mention that another instance (or this one before a
 * restart) already turned into a case is recognised here: each worker
 * claims the ids its local table reported as first sightings, one Redis
 * command per batch (all brands; a fixed number of commands inside the
 * script whatever the batch size), and learns per id whether it is new, its own
 * replay (same partition:offset as the claim: re-emit) or already claimed
 * by another delivery (exact duplicate: no new case).
 *
 * One wc_dedup_remote_t per worker thread (a synchronous hiredis
 * connection with connect and command timeouts). Redis failures never
 * block or lose a mention: the call returns an error and the caller keeps
 * its local results (fail open: a duplicate may get through while Redis is
 * down, a mention is never dropped).
 *
 * @locality the owning worker thread only.
 */
#ifndef WC_DEDUP_REMOTE_H
#define WC_DEDUP_REMOTE_H

#include "pipeline/common.h"

typedef struct wc_dedup_remote wc_dedup_remote_t;

typedef enum wc_dedup_claim_state {
    WC_DEDUP_CLAIM_NEW = 0, /* first claim in the window: ours now */
    WC_DEDUP_CLAIM_OWNED,   /* claimed before with the same partition:offset (replay) */
    WC_DEDUP_CLAIM_EXISTS,  /* claimed before by another delivery: exact duplicate */
} wc_dedup_claim_state_t;

typedef struct wc_dedup_claim {
    const char *brand; /* not NUL-terminated; borrowed for the call */
    size_t brand_len;
    uint64_t id_hash;  /* wc_dedup_id_hash(brand, id) */
    int32_t partition; /* owner: where this delivery came from */
    int64_t offset;
    wc_dedup_claim_state_t state; /* out */
} wc_dedup_claim_t;

typedef struct wc_dedup_remote_stats {
    uint64_t commands; /* EVALSHA commands sent (one per batch part of <= 1024 ids) */
    uint64_t claims;   /* ids claimed */
    uint64_t errors;   /* failed calls (connection, timeout, error replies) */
} wc_dedup_remote_stats_t;

/*
 * addr "host:port"; password may be NULL or ""; timeout_ms bounds connect
 * and every command; window_ms is how long a claim lasts (at least
 * window_ms, at most about twice: claims live in hashes bucketed by
 * window_ms that expire as a whole). Does not connect (the first claim
 * does), so it only fails on bad arguments (WC_ERR_INVAL) or memory.
 */
wc_dedup_remote_t *wc_dedup_remote_create(const char *addr, const char *password, int timeout_ms,
                                          int64_t window_ms, char *errstr, size_t errstr_size);
void wc_dedup_remote_destroy(wc_dedup_remote_t *r);

/*
 * Claim c[0..n) at now_ms (wall clock). Sends one command per part of at
 * most 1024 claims, pipelined (one round trip). On success every c[i].state is set
 * and 0 is returned. On failure returns WC_ERR_UNAVAIL (not connected,
 * reconnect backoff running), WC_ERR_TIMEOUT or WC_ERR_IO (connection
 * dropped; the next call reconnects) or WC_ERR_PARSE (unexpected reply);
 * the states are then undefined and the caller uses its local result.
 * errstr (may be NULL) gets a one-line reason.
 */
int wc_dedup_remote_claim(wc_dedup_remote_t *r, wc_dedup_claim_t *c, size_t n, int64_t now_ms,
                          char *errstr, size_t errstr_size);

void wc_dedup_remote_stats(const wc_dedup_remote_t *r, wc_dedup_remote_stats_t *st);

/* The Redis key of the claim bucket at now_ms (prev: the one before), for
 * tests and docs: "wc:dd:{dd}:<bucket>", shared by all brands (brand and
 * brand_len are ignored; the field carries a brand hash). Returns the
 * length. */
size_t wc_dedup_remote_key(const wc_dedup_remote_t *r, const char *brand, size_t brand_len,
                           int64_t now_ms, int prev, char *out, size_t out_size);

#endif
