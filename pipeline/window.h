/*
 * window.h - in-process side of the Redis windows (issue 5).
 *
 * Workers turn every accepted mention and every valid brand response into a
 * small window event (wc_wev_t) appended to a wc_wbuf_t. Once per flush
 * tick the main thread groups the events by brand and encodes, per brand,
 * the payload of one call of the Redis function wc_apply
 * (daemon/lua/webcared.lua) as a flat list of FCALL arguments (no JSON:
 * decoding a JSON payload in Redis' Lua cost more than the Redis commands
 * of the whole call; arguments arrive as ready Lua strings):
 *
 *   chunk*  = p lo hi mn mx happy neutral angry question duplicates
 *             ncl nev cluster* event*
 *   cluster = kind topic minute count example_id nphrases phrase*
 *   event   = "m" case author class ts followers reshares due mention dup_of
 *           | "r" case agent ts resolved
 *
 * every field one argument, numbers in decimal; ncl / nev = the number of
 * arguments the chunk's clusters / events take.
 *
 * One chunk per input (topic, partition): "m<p>" for mentions, "r<p>" for
 * responses, with the lowest and highest Kafka offset it covers, so Redis
 * can apply each chunk exactly once (see the Lua file). Cluster counts are
 * aggregated here per (kind, topic, minute): that is what keeps Redis work
 * per mention small; individual events are kept only for what needs them
 * (angry/question/happy mentions, near-duplicates, responses).
 *
 * Strings are stored in the buffer's own string area and referenced by
 * offset, so a buffer is two flat arrays that grow by doubling.
 *
 * @locality a buffer is used by one thread at a time.
 */
#ifndef WC_WINDOW_H
#define WC_WINDOW_H

#include "pipeline/common.h"

#define WC_WEV_MAX_TOPICS 3
#define WC_WEV_MAX_PHRASES 2

typedef enum wc_wev_type { WC_WEV_MENTION = 0, WC_WEV_RESPONSE = 1 } wc_wev_type_t;

/* Class codes as in classify.h: 0 happy, 1 neutral, 2 angry, 3 question. */
typedef struct wc_wev {
    uint8_t type;        /* wc_wev_type_t */
    uint8_t cls;         /* mention class */
    uint8_t ntopics;
    uint8_t nphrases;
    uint8_t resolved;    /* response: resolved flag */
    uint8_t dup;         /* mention is a near-duplicate of dup_of */
    uint8_t input;       /* 0 mentions topic, 1 responses topic */
    int32_t partition;
    int64_t offset;
    int64_t ts_ms;       /* created_at */
    int64_t due_ms;      /* SLA due (0 = none) */
    uint64_t followers;
    uint64_t reshares;
    uint32_t brand, author, mid, cid, dup_of, agent; /* string offsets, 0 = "" */
    uint32_t topics[WC_WEV_MAX_TOPICS];
    uint32_t phrases[WC_WEV_MAX_PHRASES];
    void *ref;           /* caller's reference (a held tracking entry) */
} wc_wev_t;

typedef struct wc_wbuf {
    wc_wev_t *ev;
    size_t n, cap;
    char *s;             /* string area; offset 0 is the empty string */
    size_t slen, scap;
    int oom;             /* sticky allocation failure */
} wc_wbuf_t;

void wc_wbuf_init(wc_wbuf_t *b);
void wc_wbuf_free(wc_wbuf_t *b);
/* Forget all events (keeps memory). */
void wc_wbuf_clear(wc_wbuf_t *b);
/* New zeroed event or NULL on OOM. */
wc_wev_t *wc_wbuf_add(wc_wbuf_t *b);
/* Copy a string into the buffer; returns its offset (0 for empty or OOM). */
uint32_t wc_wbuf_str(wc_wbuf_t *b, const char *s, size_t n);
static inline const char *wc_wbuf_s(const wc_wbuf_t *b, uint32_t off)
{
    return off && b->s ? b->s + off : "";
}

/* One event of a flush: which buffer and which event. */
typedef struct wc_wref {
    const wc_wbuf_t *b;
    uint32_t i;
} wc_wref_t;

/* A list of byte strings (the payload's arguments) in one growing area:
 * argument i is buf[off[i] .. off[i + 1]). */
typedef struct wc_wargs {
    char *buf;
    size_t len, cap;
    size_t *off;         /* n + 1 entries used */
    size_t n, ncap;
    int oom;             /* sticky allocation failure */
} wc_wargs_t;

void wc_wargs_init(wc_wargs_t *a);
void wc_wargs_deinit(wc_wargs_t *a);
/* Forget all arguments (keeps memory). */
void wc_wargs_reset(wc_wargs_t *a);
/* Argument i (not NUL-terminated) and its length. */
static inline const char *wc_wargs_get(const wc_wargs_t *a, size_t i, size_t *len)
{
    *len = a->off[i + 1] - a->off[i];
    return a->buf + a->off[i];
}

/*
 * Encode the events refs[0..n) (all of one brand, in per-partition offset
 * order within each buffer) as the wc_apply payload arguments into out
 * (reset first; format above). Returns 0 or WC_ERR_NOMEM.
 * @locality caller's thread (no shared state)
 */
int wc_window_encode(const wc_wref_t *refs, size_t n, wc_wargs_t *out);

/* Chunk key of an event ("m<partition>" / "r<partition>"); buf >= 16. */
void wc_window_chunk_key(const wc_wev_t *e, char *buf, size_t size);

#endif
