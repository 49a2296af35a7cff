/*
 * response.h - the `responses` topic contract: the brand's own replies and
 * actions on a mention or case.
 *
 *   { "id": "r-1", "brand": "acme", "mention_id": "tw:1" | "case_id": "c-…",
 *     "agent": "anna", "created_at": "2026-11-22T10:05:00Z" | epoch ms,
 *     "resolved": true }
 *
 * Responses are low-volume compared with mentions, so this decoder uses
 * jansson (strict UTF-8, no duplicate keys) after the same size check.
 * When only mention_id is given the case id is derived (deterministic case
 * ids, see emit.h).
 *
 * @locality any thread.
 */
#ifndef WC_RESPONSE_H
#define WC_RESPONSE_H

#include "pipeline/emit.h"
#include "pipeline/mention.h"

typedef struct wc_response {
    char id[257];
    char brand[257];
    char mention_id[257]; /* "" when absent */
    char case_id[WC_CASE_ID_LEN + 1];
    char agent[129];      /* "" when absent */
    int64_t created_at_ms;
    bool resolved;
} wc_response_t;

/* Returns 0 or WC_ERR_PARSE with err filled (same reasons as mentions). */
int wc_response_decode(wc_response_t *r, const char *buf, size_t len, size_t max_bytes,
                       wc_decode_err_t *err);

#endif
