/*
 * firehose.h - deterministic generator of a realistic mention firehose for
 * the benchmarks (webcared-bench). Not used by the daemon or the tests.
 *
 * The mix (percentages are of all messages to `mentions`):
 *   - valid mentions in Dutch and English, texts composed from webcare
 *     phrase patterns (complaint / question / praise / neutral, weights
 *     35/30/15/20), authors from a large pool with a heavy-tailed follower
 *     count and ~0.5 % influencers (40 k .. 2 M followers, verified);
 *   - retweets / copy-paste near-duplicates of recent mentions (new id,
 *     other author): retweet_pct;
 *   - exact redeliveries (the same bytes again, same id): dup_pct; the
 *     daemon is expected to drop them silently (no output);
 *   - complaint bursts: from the middle of every burst_period_s seconds,
 *     for burst_len_s seconds, burst_share of the traffic is one brand's
 *     outage complaint (recurring-complaint clusters);
 *   - boomerangs: a complaint in a conversation that the brand marked
 *     resolved (a record for `responses`, see wcb_gen_response()) comes back
 *     in the same conversation;
 *   - malformed input of several kinds: malformed_pct (each yields one DLQ
 *     record).
 *
 * Threads: a generator has one owner. The returned message points into the
 * generator's buffer and is valid until the next call.
 */
#ifndef WCB_FIREHOSE_H
#define WCB_FIREHOSE_H

#include <stddef.h>
#include <stdint.h>

typedef enum wcb_kind {
    WCB_KIND_MENTION = 0,
    WCB_KIND_RETWEET,
    WCB_KIND_REDELIVERY, /* exact duplicate: no output expected from webcared */
    WCB_KIND_BURST,
    WCB_KIND_BOOMERANG,
    WCB_KIND_MALFORMED,
    WCB_KIND_COUNT
} wcb_kind_t;

typedef struct wcb_gen_opts {
    uint64_t seed;
    const char *run_id;   /* makes ids unique per run, e.g. "r1a2b" */
    double dup_pct;       /* exact redeliveries */
    double retweet_pct;   /* near-duplicates */
    double malformed_pct; /* DLQ material */
    double boomerang_pct; /* complaint after resolution */
    double response_pct;  /* brand responses (wcb_gen_response) per mention */
    int burst_period_s;   /* 0 = no bursts */
    int burst_len_s;
    double burst_share;   /* 0..1 of the traffic during a burst */
} wcb_gen_opts_t;

typedef struct wcb_msg {
    const char *key;
    size_t key_len;
    const char *value;
    size_t len;
    wcb_kind_t kind;
} wcb_msg_t;

typedef struct wcb_gen wcb_gen_t;

extern const char *const wcb_kind_names[WCB_KIND_COUNT];

/* NULL on out of memory. */
wcb_gen_t *wcb_gen_create(const wcb_gen_opts_t *opts);
void wcb_gen_destroy(wcb_gen_t *g);

/* Next message for `mentions`; t_s = seconds since the run started (drives
 * bursts), now_ms = wall clock for created_at. */
void wcb_gen_next(wcb_gen_t *g, double t_s, int64_t now_ms, wcb_msg_t *out);

/* A brand response for `responses` (resolves a recent complaint so that a
 * later boomerang can refer to it); returns 0 when there is nothing to
 * respond to. Call about response_pct/100 times per mention. */
int wcb_gen_response(wcb_gen_t *g, int64_t now_ms, wcb_msg_t *out);

/* Average payload size so far (bytes). */
double wcb_gen_avg_bytes(const wcb_gen_t *g);

#endif /* WCB_FIREHOSE_H */
