/*
 * normalize.h - text normalisation shared by classify and dedup.
 *
 * CONTRACT (owned by the classification module; dedup relies only on the
 * fields marked [dedup]): wc_normalize() folds a mention text into
 * lower-case, accent-folded form and splits it into tokens. Each token has
 * a 64-bit hash of its folded bytes (wc_hash64 with seed WC_NORM_HASH_SEED)
 * so lexicon lookups and SimHash need no re-hashing.
 *
 * @locality any thread; a wc_norm_t is per-worker scratch, reused per mention.
 */
#ifndef WC_NORMALIZE_H
#define WC_NORMALIZE_H

#include "pipeline/common.h"

#define WC_NORM_HASH_SEED 0x5eed5eedULL

typedef enum wc_tok_kind {
    WC_TOK_WORD = 0, /* letters/digits run, folded */
    WC_TOK_NUMBER,   /* digits only */
    WC_TOK_HASHTAG,  /* "#fail" -> text "fail" (hash of "fail", kind tells) */
    WC_TOK_HANDLE,   /* "@jan" -> text "jan" */
    WC_TOK_URL,      /* http(s)://... or www.... kept verbatim (not folded) */
    WC_TOK_EMOJI,    /* one emoji codepoint sequence */
    WC_TOK_PUNCT,    /* '?' and '!' runs (question / intensity cues) */
} wc_tok_kind_t;

/* wc_token_t.flags (classification hints; dedup may ignore them) */
#define WC_TOKF_BREAK 0x01 /* a clause boundary (. , ; : ! ? newline, start of text) precedes it */
#define WC_TOKF_CAPS 0x02  /* WORD written in capitals in the source ("WAARDELOOS"), >= 3 letters */

typedef struct wc_token {
    uint32_t off;  /* offset in wc_norm_t.folded */
    uint32_t len;  /* length in bytes in wc_norm_t.folded */
    uint64_t hash; /* [dedup] wc_hash64(folded bytes, len, WC_NORM_HASH_SEED) */
    uint8_t kind;  /* [dedup] wc_tok_kind_t */
    uint8_t flags; /* WC_TOKF_* */
} wc_token_t;

typedef struct wc_norm {
    char *folded;         /* folded text buffer (NUL-terminated), owned */
    uint32_t folded_len;
    uint32_t folded_cap;
    wc_token_t *tok;      /* [dedup] tokens in text order */
    uint32_t ntok;        /* [dedup] */
    uint32_t tok_cap;
    uint8_t is_retweet;   /* [dedup] text starts with "RT @handle:" (the prefix is not tokenised) */
    uint16_t ncaps;       /* WORD tokens with WC_TOKF_CAPS (saturating) */
} wc_norm_t;

void wc_norm_init(wc_norm_t *n);
void wc_norm_deinit(wc_norm_t *n);

/* Normalise text[0..len) (valid UTF-8, checked by the decoder) into n.
 * Returns 0 or WC_ERR_NOMEM. @locality any (n is caller-owned) */
int wc_normalize(wc_norm_t *n, const char *text, size_t len);

#endif
