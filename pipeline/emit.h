/*
 * emit.h - the output contract: case events as JSON.
 *
 * Case ids are deterministic: "c-" + 32 hex digits of a 128-bit hash of
 * brand and mention id, so a replay of the same input produces the same ids
 * and downstream consumers can de-duplicate by case_id (Kafka key).
 *
 * Event kinds on the cases.* topics (field "event"):
 *   created   - a new case (first sighting of a mention, or a replay of our
 *               own uncommitted input after a crash: same case_id again);
 *   duplicate - a near-duplicate (retweet, copy-paste) folded into an
 *               existing case: case_id is the ORIGINAL's, "duplicate_of"
 *               names it, and duplicates / distinct_authors / reach are the
 *               original case's updated cumulative values. Consumers keep
 *               the highest `duplicates` per case_id.
 *
 * @locality any thread (pure functions over caller-owned buffers).
 */
#ifndef WC_EMIT_H
#define WC_EMIT_H

#include "pipeline/classify.h"
#include "pipeline/dedup.h"
#include "pipeline/jsonw.h"
#include "pipeline/mention.h"

#define WC_CASE_ID_LEN 34 /* "c-" + 32 hex */

void wc_case_id(const char *brand, size_t brand_len, const char *id, size_t id_len,
                uint64_t out[2]);
/* Writes WC_CASE_ID_LEN chars + NUL. */
void wc_case_id_format(const uint64_t id[2], char out[WC_CASE_ID_LEN + 1]);

typedef struct wc_case_ctx {
    const wc_mention_t *m;
    const wc_verdict_t *v;
    const wc_dedup_result_t *d;
    const char *source_topic;
    int32_t partition;
    int64_t offset;
    int64_t now_ms;
    const char *author_id; /* pseudonymised id, or NULL to use m->author_id */
    size_t author_id_len;
    const char *cluster_id; /* NULL if none */
} wc_case_ctx_t;

/* "created" event. */
void wc_emit_case(wc_jsonw_t *w, const wc_case_ctx_t *c);
/* "duplicate" event (c->d->kind == WC_DEDUP_NEAR). */
void wc_emit_duplicate(wc_jsonw_t *w, const wc_case_ctx_t *c);

#endif
