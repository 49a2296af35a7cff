/*
 * mention.h - the input contract: decoding one mention JSON document.
 *
 * wc_mention_decode() is the hot-path decoder (a single-pass, validating,
 * schema-aware JSON scanner; jansson is far too slow here, see
 * ../shared/facts.md). It validates the whole document (syntax, UTF-8,
 * nesting depth, size) and extracts the fields of the contract in
 * ../shared/MISSION.md. Unknown fields are validated and skipped.
 *
 * Strings without escapes point into the input buffer (zero copy); strings
 * with escapes are unescaped into the caller's arena. So the mention is valid
 * as long as both the input buffer and the arena live.
 *
 * Every rejection names a reason (wc_dlq_reason_t, stable snake_case name
 * used in DLQ headers and metrics), the field involved (if any), the byte
 * offset in the input, and a human-readable detail.
 *
 * @locality any thread; no global state.
 */
#ifndef WC_MENTION_H
#define WC_MENTION_H

#include "pipeline/arena.h"
#include "pipeline/common.h"

typedef struct wc_str {
    const char *p; /* not NUL-terminated; NULL when absent */
    uint32_t len;
} wc_str_t;

#define WC_STR_PRESENT(s) ((s).p != NULL)

typedef enum wc_channel {
    WC_CH_TWITTER = 0,
    WC_CH_FACEBOOK,
    WC_CH_INSTAGRAM,
    WC_CH_FORUM,
    WC_CH_REVIEW,
    WC_CH_NEWS,
    WC_CH_WHATSAPP,
    WC_CH_OTHER,
    WC_CH__COUNT
} wc_channel_t;

/* Static lower-case name; "unknown" when out of range. @locality any */
const char *wc_channel_name(wc_channel_t ch);

/* Exact, case-sensitive name -> channel. Returns 0 or WC_ERR_NOTFOUND.
 * @locality any */
int wc_channel_parse(const char *s, size_t len, wc_channel_t *out);

/* Why an input message went to the dead-letter topic. Names are stable API
 * (DLQ header `wc.reason`, metric label `reason`). */
typedef enum wc_dlq_reason {
    WC_DLQ_NONE = 0,
    WC_DLQ_EMPTY,          /* empty or null payload */
    WC_DLQ_TOO_LARGE,      /* payload larger than input.max_bytes */
    WC_DLQ_BAD_JSON,       /* JSON syntax error */
    WC_DLQ_TOO_DEEP,       /* nesting deeper than input.max_depth */
    WC_DLQ_INVALID_UTF8,   /* invalid UTF-8 in a string or a bad \u escape */
    WC_DLQ_NOT_OBJECT,     /* top-level value is not an object */
    WC_DLQ_MISSING_FIELD,  /* required field absent */
    WC_DLQ_WRONG_TYPE,     /* field has the wrong JSON type */
    WC_DLQ_INVALID_VALUE,  /* right type, value not allowed (bad channel, bad timestamp, negative count, empty id) */
    WC_DLQ_FIELD_TOO_LONG, /* string longer than its limit */
    WC_DLQ_NO_ROUTE,       /* routing produced a topic not in the allow-list */
    WC_DLQ__COUNT
} wc_dlq_reason_t;

/* Static snake_case name ("none" for WC_DLQ_NONE, "unknown" out of range). */
const char *wc_dlq_reason_name(wc_dlq_reason_t r);

typedef struct wc_decode_err {
    wc_dlq_reason_t reason;
    const char *field; /* static string, e.g. "author.id"; NULL if not field-specific */
    size_t offset;     /* byte offset in the input where the problem was found */
    char detail[128];  /* human readable, never contains mention text */
} wc_decode_err_t;

typedef struct wc_decode_limits {
    size_t max_bytes;        /* whole document (default 1 MiB) */
    int max_depth;           /* nesting of objects/arrays (default 32) */
    uint32_t max_id_len;     /* id, conversation_id, in_reply_to, author.id (default 256) */
    uint32_t max_text_len;   /* text, in bytes (default 65536) */
    uint32_t max_field_len;  /* any other string field we keep (default 2048) */
} wc_decode_limits_t;

void wc_decode_limits_default(wc_decode_limits_t *l);

/* Hard cap on max_depth (the decoder keeps open containers in a fixed
 * on-stack bit stack); larger configured values are clamped. The top-level
 * object is depth 1, so "author" is depth 2. */
#define WC_DECODE_MAX_DEPTH 4096
/* Limit on "lang" (bytes). */
#define WC_MENTION_LANG_MAX 16

typedef struct wc_mention {
    wc_str_t id;              /* required, non-empty */
    wc_str_t brand;           /* required, non-empty */
    wc_str_t text;            /* required (may be empty string? no: must be non-empty) */
    wc_channel_t channel;     /* required */
    wc_str_t author_id;       /* required: author.id (author must be an object) */
    wc_str_t author_handle;   /* optional */
    uint64_t author_followers;/* optional, default 0 */
    bool author_verified;     /* optional, default false */
    int64_t created_at_ms;    /* required: RFC 3339 string or epoch ms integer */
    wc_str_t lang;            /* optional */
    wc_str_t conversation_id; /* optional */
    wc_str_t in_reply_to;     /* optional */
    wc_str_t url;             /* optional */
    uint32_t reshares;        /* optional metrics.reshares */
    uint32_t likes;           /* optional metrics.likes */
    uint32_t replies;         /* optional metrics.replies */
} wc_mention_t;

/*
 * Decode buf[0..len) into m. Returns 0 or WC_ERR_PARSE with *err filled.
 * Escaped strings are copied into `arena`.
 * @locality any
 *
 * Details of the contract (beyond the field list in MISSION.md):
 * - Returns WC_ERR_NOMEM (err->reason == WC_DLQ_NONE) if the arena cannot
 *   grow: not the input's fault, do not dead-letter; retry after freeing.
 * - The first error in document order wins; decoding stops there. A
 *   top-level value that is not an object is validated first, so
 *   WC_DLQ_NOT_OBJECT always means valid JSON of the wrong shape.
 * - buf == NULL or len == 0 -> EMPTY; len > max_bytes -> TOO_LARGE before
 *   anything is read. Whitespace-only -> EMPTY.
 * - A required field given as JSON null is WRONG_TYPE. An optional field
 *   that is null or an empty string is absent (p == NULL).
 * - A known field appearing twice (also via escaped keys) is INVALID_VALUE
 *   with detail "duplicate key"; duplicate unknown keys are allowed.
 * - Integers: "-0" is 0; a fraction or exponent is WRONG_TYPE (float);
 *   negative is INVALID_VALUE; followers saturates at UINT64_MAX, metrics
 *   at UINT32_MAX; created_at > INT64_MAX is INVALID_VALUE.
 * - created_at strings longer than 64 bytes are INVALID_VALUE.
 * - String lengths are in bytes after unescaping. A "\u0000" escape is
 *   valid JSON and decodes to a NUL byte inside the string (raw NUL bytes
 *   are BAD_JSON).
 * - On failure the contents of *m are unspecified. Arena use per call is
 *   bounded by the field limits (escaped strings that are kept).
 * - err->detail never contains string content from the input.
 */
int wc_mention_decode(wc_mention_t *m, const char *buf, size_t len,
                      const wc_decode_limits_t *limits, wc_arena_t *arena, wc_decode_err_t *err);

/* Parse RFC 3339 ("2026-11-22T10:00:00Z", "+01:00" offsets, optional
 * fraction) into epoch ms. Returns 0 or WC_ERR_PARSE. @locality any
 * Separator 'T', 't' or ' '; 'Z' or 'z' or +hh:mm / -hh:mm; any number of
 * fraction digits (truncated to ms); years 0000-9999; calendar-checked
 * dates (month lengths, leap years); second 60 (leap second) is accepted
 * and maps to the next second, as in Unix time. */
int wc_parse_rfc3339(const char *s, size_t len, int64_t *out_ms);

/* Format epoch ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL). Returns length.
 * Years outside 0000-9999 are printed with more digits / a sign (still < 32).
 * @locality any */
int wc_format_rfc3339(int64_t ms, char out[32]);

#endif
