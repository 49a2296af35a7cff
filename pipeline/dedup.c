/*
 * dedup.c - lock-free de-duplication table shared by all workers.
 *
 * WHAT
 *   One table per process recognises, within window_ms:
 *     - exact redeliveries: the same id_hash (brand + mention id) again;
 *       REPLAY when partition/offset equal the first sighting's, else EXACT;
 *     - near-duplicates: same brand and SimHash within max_hamming (or, for
 *       texts too short for SimHash, the same text_hash). The first sighting
 *       (the "original", status ORIG) owns the case; every near-duplicate
 *       adds to its atomic aggregates (duplicates, distinct authors, reach)
 *       and records its own id so a redelivery of the duplicate is EXACT.
 *
 * MEMORY (fixed at create, mmap'ed, touched lazily; no malloc after create)
 *   rec[cap]          128-byte records (cap = capacity rounded to 2^k), used as
 *                     a ring: a worker takes ALLOC_CHUNK consecutive indexes
 *                     from a global cursor (one fetch_add per 32 records).
 *   id index          cap/4 buckets of 8 one-word slots (load <= 0.5).
 *   near index        SimHash bands and short-text keys, 2*cap*min(k+1,4)/8 buckets.
 *   author set        (case, author) pairs for exact distinct-author counts.
 *   About 224 bytes per capacity entry at max_hamming 3 (wc_dedup_memory_bytes).
 *
 *   Index slot (64 bit): ref (32) | tag (20) | tick (12); ref = 1 << 31 |
 *   the record's allocation sequence number mod 2^31 (the ring cursor value
 *   it was allocated at; record index = seq & (cap - 1)); 0 = empty.
 *   The slot is a hint: a reader always dereferences the record and checks
 *   its key, generation, status and age, so a stale slot (record recycled,
 *   expired or dead) is harmless and may be overwritten by CAS. tag is 20
 *   key bits (id/text), or for bands 20 SimHash bits next to the band, so
 *   a bucket scan dereferences almost only true candidates. tick is a
 *   coarse clock (window/1024 units) used to pick reclaimable slots
 *   without dereferencing. A near-copy's owner empties its near slots as
 *   soon as the record is final (DUP): buckets hold originals, ids and
 *   in-flight records. Bucket scans compare the 8 tags of a bucket at once
 *   (SSE2, scalar fallback).
 *
 * LAZY EMPTYING (why the allocator does not touch the old record's slots)
 *   Recycling a record leaves its index slots in place. A publisher reuses
 *   a slot without dereferencing its record when the slot is lapped: its
 *   seq is more than lap_age = cap + cap/16 allocations behind the seq of
 *   the record being published (slot_lapped; mod 2^31, ages >= 2^30 are
 *   "not lapped", which only sends a slot to the dereferencing full-bucket
 *   path). Since record index = seq mod cap, seq + cap was handed out for
 *   the same index before the publisher's seq: normally the record has
 *   been recycled (the slot refers to nothing) or is about to be (it is the
 *   oldest: reusing its slot is the eviction the ring makes anyway). Before
 *   this, the allocator emptied the old record's 5 slots: 5 cold bucket
 *   lines and 5 CAS per first sighting.
 *   The inference "lapped => recycled" is not exact: the allocator skips
 *   a record that is in flight (and a chunk it took more than a lap ago),
 *   so a record can outlive its seq + cap. A false "lapped" verdict can
 *   only overwrite a slot, i.e. hide a live record from later lookups, the
 *   same effect as a full bucket evicting it: a missed duplicate (the
 *   mention becomes a new case: fail open). It can never merge unrelated
 *   mentions or touch memory outside the table: every reader still
 *   dereferences the index part of the ref (masked to the table) under the
 *   seqlock and compares key, generation, status and age. The only
 *   invariant it can break is "slots of in-flight records are never
 *   evicted" (used by exactly-one-NEW below), and only for a record that
 *   stayed in flight while much of a lap was allocated after it: its seq
 *   is at most D = chunk_drop_age behind the cursor when handed out, so
 *   lapped means more than cap + cap/16 - D allocations since (13/16 of a
 *   lap at the usual D = cap/4; only cap/16 if D reaches a lap, with tiny
 *   tables and many threads), and a full bucket evicts unread only after
 *   a quarter lap (FULL BUCKETS; at the default 2^19, 131,072 records,
 *   0.13 s at 1 M first sightings/s):
 *   then two concurrent first sightings of the same id or near key can
 *   both become NEW (two cases, not a false merge). A helper publishing a
 *   stalled owner's near keys reads the owner's seq from the record; if
 *   the record was recycled meanwhile the slot it writes is stale, which
 *   is harmless as above.
 *
 * NEAR-DUP SEARCH: pigeonhole banding. The 64-bit SimHash is cut into
 *   B = min(k+1, 4) bands (k = max_hamming). Each original is indexed under
 *   hash(brand, band number, band value) for every band; a query scans the
 *   same B buckets and keeps records whose full SimHash is within k. For
 *   k <= 3 two hashes within distance k agree on at least one band
 *   (pigeonhole), so every pair within k is found. Bands are never narrower
 *   than 16 bits: narrower bands are not selective (a busy brand would put
 *   hundreds of originals under one band value and overflow the bucket), so
 *   for k = 4..8 a pair at distance d > 3 is found only when one of the four
 *   16-bit bands is untouched (about 80% at d=4, 50% at d=6, 30% at d=8;
 *   see docs/DEDUP.md). Near-duplicates are not indexed themselves (no
 *   chaining: a copy maps to an original only if it is within k of it).
 *
 * THREADS
 *   wc_dedup_check() may run concurrently on any number of threads. No
 *   locks, no blocking: every wait on another thread's unfinished work is
 *   replaced by helping (running that record's resolution step ourselves).
 *
 * RECORD LIFE CYCLE (state word: gen 16 | status 3 | link 45 = idx 29 + gen 16)
 *   INIT       being written by its allocator (invisible)
 *   ID_TENT    published in the id index, id claim unresolved (link 0;
 *              resolve_id still moves a record with a link straight to DUP)
 *   ID_LOST    lost the id claim (redelivery): dead, link -> winner
 *   UNPUB      won the id claim, publishing its near keys
 *   NEAR_TENT  near keys published, near claim unresolved
 *   DOOMED     killed by a conflicting in-flight record (link): will become
 *              DUP of that record's root
 *   ORIG       original: owns a case, matched by later near-dups
 *   DUP        near-duplicate of link (always an ORIG record)
 *   Statuses only move forward within one generation; all transitions are
 *   CAS on the state word, so exactly one thread decides each one.
 *
 * EXACTLY ONE NEW FOR CONCURRENT FIRST SIGHTINGS
 *   A mention first looks its id up (no writes): a holder -> EXACT/REPLAY
 *   (the read-only path of redeliveries). Otherwise it allocates a record
 *   and claims, first its id, then (id won) its near keys:
 *     1. publish the slot (seq_cst CAS), then scan the bucket (seq_cst
 *        loads). Store-buffering (Dekker) argument: of two conflicting
 *        records that both publish then scan, at least one sees the other.
 *        There is no read-only near lookup before publishing: the scan
 *        after publishing is the lookup too. It finds the closest ORIG
 *        within k (the record becomes its DUP: a near-copy) or none; an
 *        ORIG that holds the record's own id (that id's slot was dropped
 *        from a full id bucket) is taken at once and the mention reported
 *        EXACT/REPLAY of it, not NEAR of itself. A record that found an
 *        ORIG becomes its DUP without killing or helping in-flight records
 *        (it never becomes an ORIG, so it cannot be one of two conflicting
 *        originals); only a record without one resolves in-flight
 *        conflicts (2.). So a near-copy publishes its near keys too (and
 *        empties them once it is a DUP), a first sighting scans its near
 *        buckets once instead of twice.
 *     2. conflicts are ordered by record index (a total order on in-flight
 *        records): a final record (id: won, near: ORIG) always wins; of two
 *        in-flight records the smaller index wins. The smaller one CASes
 *        the larger one's state to ID_LOST/DOOMED ("kill"); the larger one,
 *        when it sees the smaller still in flight, resolves it first
 *        (helping; recursion strictly decreases the index, so it ends, and
 *        its depth is bounded by the number of in-flight records).
 *     3. the record's own final CAS (won/lost) fails if it was killed.
 *   Only near-key slots of published records (NEAR_TENT) are ever resolved
 *   by helpers; an UNPUB record seen by a smaller one is ignored (its owner
 *   will scan after publishing and see us), by a larger one it is killed.
 *   Slots of in-flight records are never evicted (except after a lap, see
 *   LAZY EMPTYING), so the publish/scan argument holds while it matters. In a rare 3-way race a mention killed
 *   by a record that itself became a duplicate is attached to that
 *   record's original (transitively), never to a dead case.
 *
 * DISTINCT AUTHORS: a set of hash(original, author) words, insert-if-absent
 *   with exactly one winner: put the key into the first free word of its
 *   bucket, then CAS every earlier word of the bucket to a changed value
 *   (live words flip a "touch" bit, free words get a new DEAD value). A
 *   concurrent inserter that read an earlier word before our touch fails
 *   its CAS and rescans (then sees us); one that wrote earlier is seen by
 *   our touch pass and we retract. The earliest copy wins.
 *
 * TORN READS / ABA: records are recycled in place; readers use the state
 *   word as a seqlock (load state, read fields with acquire loads so the
 *   re-load of state cannot move above them, re-load state, compare
 *   generation). References are (index, gen); gen
 *   is 16 bits and skips 0, and aggregates carry the generation so a CAS on
 *   a recycled record fails. A reference would have to stay in use across
 *   65535 recycles of one record for ABA.
 *
 * MEMORY ORDERING: record fields are written with release stores after the
 *   INIT CAS (so a reader that sees a new field value also sees the new
 *   generation when it re-loads state), published by a release store of
 *   ID_TENT; slots by seq_cst CAS; scans use seq_cst loads. No standalone
 *   fences (TSan cannot check them); on x86 all of these are plain movs.
 *
 * TIME: now = max(now_ms of all callers) (monotonic); a record is matchable
 *   while now - t <= window_ms (t = first sighting). Older entries are
 *   treated as empty: their slots and records are reclaimed by CAS.
 *   wc_dedup_check_batch reads the clock (and its tick) once per batch.
 *
 * WHEN FULL (chosen: evict, never refuse): the allocator recycles the next
 *   record of the ring, i.e. roughly the oldest, even if it is younger than
 *   window_ms (counted in stats.evicted_live: the effective window is then
 *   capacity / rate). A full bucket (no empty or lapped slot) evicts its
 *   oldest slot that does not belong to an in-flight record (FULL BUCKETS).
 *   So the table never returns WC_ERR_FULL; overload shortens memory
 *   instead of growing it or blocking workers.
 *
 * FULL BUCKETS (slot_publish_slow). The index holds ~4 live slots per
 *   8-slot bucket, so ~7% of the publishes find their bucket full (no
 *   empty, lapped or tick-expired slot; stats.slot_full). The victim is the
 *   slot with the largest seq age (the earliest allocated record: normally
 *   the oldest first sighting, or a stale slot not yet lapped). Reading its
 *   record to see whether it is in flight was a cache miss per full bucket,
 *   a quarter of the check's time, so a victim at least D + cap/4 old is
 *   evicted without reading it, D = chunk_drop_age (a quarter lap, or 64
 *   per thread bound to the table if that is more; at most a lap). That is
 *   safe for the same reason as "lapped": rec_alloc drops a chunk more than
 *   D behind the cursor, so a record's seq is at most D behind the cursor
 *   when it is handed out, and a record D + cap/4 behind the publisher's
 *   seq was allocated at least a quarter lap (cap/4 records) before it. It
 *   is in flight only if its owner stalled mid-check while that many
 *   records were allocated (at the default 2^19: 131,072); evicting its
 *   slot then hides it, the fail-open case of LAZY EMPTYING (a missed
 *   duplicate, or two cases for a concurrent first sighting; never a false
 *   merge). With the usual D = cap/4 the threshold is half a lap (3/4 of a
 *   lap cost ~10%: evicting the oldest keeps full buckets young, so their
 *   oldest slot is often under 3/4); when D + cap/4 exceeds a lap (tiny
 *   tables, many threads) nothing is evicted unread. A younger victim is
 *   read; if it is in flight, every slot is read (in-flight slots are kept,
 *   dead ones preferred, else the oldest by first sighting). The near
 *   index is one array for text keys and all bands, so "stale" (the
 *   record no longer has this tag) checks all of a record's near tags.
 *
 * STATS are approximate (per-thread counters flushed every chunk).
 */
#include "pipeline/dedup.h"
#include "pipeline/emit.h"
#include "pipeline/hash.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__SSE2__) && !defined(WC_DEDUP_NO_SIMD)
#include <emmintrin.h>
#endif

#define BUCKET_SLOTS 8
#define NB_MAX 4 /* SimHash bands: min(k + 1, 4) */
#define ALLOC_CHUNK 32
_Static_assert(WC_DEDUP_ENTRIES_PER_THREAD_MIN == 2 * ALLOC_CHUNK,
               "two allocation chunks per thread (chunk_drop_age)");
#define MAX_DEPTH 256

enum rec_status { S_INIT = 0, S_ID_TENT, S_ID_LOST, S_UNPUB, S_NEAR_TENT, S_DOOMED, S_ORIG, S_DUP };

#define ST_GEN(s) ((uint32_t)((s) >> 48))
#define ST_STATUS(s) ((unsigned)(((s) >> 45) & 7u))
#define ST_LINK(s) ((s) & ((1ULL << 45) - 1))
#define ST_MAKE(gen, status, link) (((uint64_t)(gen) << 48) | ((uint64_t)(status) << 45) | (link))
#define REF_MAKE(idx, gen) (((uint64_t)(idx) << 16) | (uint64_t)(gen))
#define REF_IDX(r) ((uint32_t)((r) >> 16))
#define REF_GEN(r) ((uint32_t)((r)&0xffffu))

/* slot ref: REF_VALID | the record's allocation sequence number mod 2^31
 * (record index = seq & cap_mask; cap <= 2^28, so the index never sees
 * REF_VALID); never 0, so a slot word is 0 only when empty */
#define REF_VALID 0x80000000u
#define SEQ31 0x7fffffffu
#define SLOT_REF(w) ((uint32_t)((w) >> 32))
#define SLOT_TAG(w) ((uint32_t)(((w) >> 12) & 0xfffffu))
#define SLOT_TICK(w) ((uint32_t)((w)&0xfffu))
#define SLOT_MAKE(seq, tag, tick)                                                                  \
    (((uint64_t)(REF_VALID | ((uint32_t)(seq)&SEQ31)) << 32) | ((uint64_t)(tag) << 12) | (tick))
#define TICK12 0xfffu

/* author-set word: DEAD flag | tag 38 | touch 1 | tick 24; 0 = empty */
#define AW_DEAD (1ULL << 63)
#define AW_TOUCH (1ULL << 24)
#define AW_TAG(w) (((w) >> 25) & ((1ULL << 38) - 1))
#define AW_TICK(w) ((uint32_t)((w)&0xffffffu))
#define TICK24 0xffffffu

#define M24 0xffffffULL
#define M48 0xffffffffffffULL

#define FL_SIM 1u /* near_key is a SimHash (else a text hash) */

#define SALT_TEXT 0x7465787474657874ULL
#define SALT_BAND 0x62616e6462616e64ULL
#define SALT_AUTH 0x6175746861757468ULL
#define SALT_ID 0x6964696469646964ULL

typedef struct rec {
    _Atomic uint64_t state;
    _Atomic uint64_t id_hash;
    _Atomic uint64_t brand_hash;
    _Atomic uint64_t near_key;
    _Atomic uint64_t t_ms;
    _Atomic uint64_t offset;
    _Atomic uint64_t meta; /* partition 32 | route_id 16 | flags 16 */
    _Atomic uint64_t author_hash;
    /* second line: read when building results */
    _Atomic uint64_t case_id[2];
    _Atomic uint64_t agg0; /* gen 16 | duplicates 24 | authors 24 */
    _Atomic uint64_t agg1; /* gen 16 | reach 48 */
    /* allocation sequence number (slot ref, see SLOT_MAKE): read by a
     * helper that publishes a stalled owner's near slots */
    _Atomic uint64_t seq;
} __attribute__((aligned(128))) rec_t;

_Static_assert(sizeof(rec_t) == 128, "record is two cache lines");

struct wc_dedup {
    wc_dedup_config_t cfg;
    uint64_t inst;
    uint32_t cap;
    uint32_t cap_mask;
    uint64_t id_bmask, near_bmask, auth_bmask;
    int k;
    int nbands;
    uint8_t band_lo[NB_MAX];
    uint8_t band_w[NB_MAX];
    uint8_t band_tag_rot[NB_MAX]; /* (lo + w) & 63: the tag is the 20 bits after the band */
    uint64_t band_mask[NB_MAX];
    int64_t window_ms;
    int64_t tick_ms;
    uint32_t window_ticks;
    uint32_t lap_age; /* a slot this many allocations old is lapped (slot_lapped) */
    uint32_t lap_lim; /* 2^30 - lap_age - 1 (slot_lapped) */
    rec_t *rec;
    _Atomic uint64_t *id_slots;
    _Atomic uint64_t *near_slots;
    _Atomic uint64_t *auth_slots;
    size_t rec_bytes, id_bytes, near_bytes, auth_bytes;
    _Atomic uint32_t threads; /* threads that bound to the table (chunk_drop_age); read-mostly */
    _Alignas(WC_CACHELINE) _Atomic int64_t now;
    _Alignas(WC_CACHELINE) _Atomic uint64_t cursor;
    _Alignas(WC_CACHELINE) _Atomic uint64_t st_evicted_live;
    _Atomic uint64_t st_slot_evicted;
    _Atomic uint64_t st_slot_full;
    _Atomic uint64_t st_publish_failed;
    _Atomic uint64_t st_author_evicted;
};

/* Per-thread allocation chunk and pending stats (flushed per chunk). */
static _Thread_local struct {
    uint64_t inst;
    uint64_t next, end;
    uint64_t rng;
    uint32_t evicted_live, slot_evicted, slot_full, publish_failed, author_evicted;
} tl;

static _Atomic uint64_t g_inst = 1;

/* ---- small helpers ---------------------------------------------------- */

#define LD(p) atomic_load_explicit((p), memory_order_relaxed)
#define ST(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define LDSC(p) atomic_load_explicit((p), memory_order_seq_cst)
/* Seqlock field accesses: acquire loads / release stores instead of
 * standalone fences (same code on x86; TSan does not support fences). */
#define LDA(p) atomic_load_explicit((p), memory_order_acquire)
#define STR(p, v) atomic_store_explicit((p), (v), memory_order_release)

static inline bool cas_sc(_Atomic uint64_t *p, uint64_t *expect, uint64_t desired)
{
    return atomic_compare_exchange_strong_explicit(p, expect, desired, memory_order_seq_cst,
                                                   memory_order_seq_cst);
}

/* Inline SWAR popcount: without -mpopcnt (generic x86-64 builds) the
 * builtin is a libgcc call, which was 10% of the instructions here. */
static inline int popc64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

static inline uint64_t rotr64(uint64_t x, unsigned r)
{
    return (x >> (r & 63)) | (x << (-r & 63));
}

static inline uint64_t tl_rand(void)
{
    uint64_t x = tl.rng;
    if (!x)
        x = wc_hash_u64((uint64_t)(uintptr_t)&tl ^ (uint64_t)wc_mono_ns());
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    tl.rng = x;
    return x;
}

static inline uint64_t next_pow2(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static inline bool in_flight(unsigned s)
{
    return s == S_INIT || s == S_ID_TENT || s == S_UNPUB || s == S_NEAR_TENT || s == S_DOOMED;
}

/* Monotonic table clock: max of every caller's now. */
static inline int64_t clock_advance(wc_dedup_t *d, int64_t now_ms)
{
    int64_t cur = atomic_load_explicit(&d->now, memory_order_seq_cst);
    while (now_ms > cur) {
        if (atomic_compare_exchange_weak_explicit(&d->now, &cur, now_ms, memory_order_seq_cst,
                                                  memory_order_seq_cst))
            return now_ms;
    }
    return cur;
}

static inline uint32_t tick_of(const wc_dedup_t *d, int64_t now)
{
    return (uint32_t)((uint64_t)now / (uint64_t)d->tick_ms);
}

static inline bool expired(const wc_dedup_t *d, int64_t now, uint64_t t)
{
    return now - (int64_t)t > d->window_ms;
}

/* ---- records ---------------------------------------------------------- */

typedef struct snap {
    uint64_t st, id, brand, nk, t, off, meta, author;
} snap_t;

/* Seqlock read of the first line. false: free, being written or recycled. */
static inline bool rec_snap(const rec_t *r, snap_t *s)
{
    s->st = LDSC(&r->state);
    if (ST_STATUS(s->st) == S_INIT)
        return false;
    s->id = LDA(&r->id_hash);
    s->brand = LDA(&r->brand_hash);
    s->nk = LDA(&r->near_key);
    s->t = LDA(&r->t_ms);
    s->off = LDA(&r->offset);
    s->meta = LDA(&r->meta);
    s->author = LDA(&r->author_hash);
    return ST_GEN(LD(&r->state)) == ST_GEN(s->st);
}

typedef struct rinfo {
    snap_t s;
    uint64_t case_id[2];
    uint64_t agg0, agg1;
} rinfo_t;

/* Full read of record ref (both lines); false if recycled. */
static bool rec_info(wc_dedup_t *d, uint64_t ref, rinfo_t *ri)
{
    const rec_t *r = &d->rec[REF_IDX(ref)];
    ri->s.st = LDSC(&r->state);
    if (ST_STATUS(ri->s.st) == S_INIT || ST_GEN(ri->s.st) != REF_GEN(ref))
        return false;
    ri->s.id = LDA(&r->id_hash);
    ri->s.brand = LDA(&r->brand_hash);
    ri->s.nk = LDA(&r->near_key);
    ri->s.t = LDA(&r->t_ms);
    ri->s.off = LDA(&r->offset);
    ri->s.meta = LDA(&r->meta);
    ri->s.author = LDA(&r->author_hash);
    ri->case_id[0] = LDA(&r->case_id[0]);
    ri->case_id[1] = LDA(&r->case_id[1]);
    ri->agg0 = LDA(&r->agg0);
    ri->agg1 = LDA(&r->agg1);
    return ST_GEN(LD(&r->state)) == REF_GEN(ref);
}

static void stats_flush(wc_dedup_t *d)
{
    if (tl.evicted_live)
        atomic_fetch_add_explicit(&d->st_evicted_live, tl.evicted_live, memory_order_relaxed);
    if (tl.slot_evicted)
        atomic_fetch_add_explicit(&d->st_slot_evicted, tl.slot_evicted, memory_order_relaxed);
    if (tl.slot_full)
        atomic_fetch_add_explicit(&d->st_slot_full, tl.slot_full, memory_order_relaxed);
    if (tl.publish_failed)
        atomic_fetch_add_explicit(&d->st_publish_failed, tl.publish_failed, memory_order_relaxed);
    if (tl.author_evicted)
        atomic_fetch_add_explicit(&d->st_author_evicted, tl.author_evicted, memory_order_relaxed);
    tl.evicted_live = tl.slot_evicted = tl.slot_full = tl.publish_failed = tl.author_evicted = 0;
}

static inline void tl_bind(wc_dedup_t *d)
{
    if (tl.inst != d->inst) {
        tl.inst = d->inst;
        tl.next = tl.end = 0;
        /* a thread that alternates between tables counts again: only
         * ever too many, which is the safe side of chunk_drop_age */
        atomic_fetch_add_explicit(&d->threads, 1, memory_order_relaxed);
        tl.evicted_live = tl.slot_evicted = tl.slot_full = tl.publish_failed = tl.author_evicted = 0;
    }
}

static inline _Atomic uint64_t *id_bucket(const wc_dedup_t *d, uint64_t id_hash);
typedef struct nkeys nkeys_t;
static void near_keys(const wc_dedup_t *d, uint64_t brand, uint64_t nk, bool sim, nkeys_t *o);

#define POS_NONE 15u
static inline unsigned pos_get(uint64_t pos, int i)
{
    return (unsigned)(pos >> (4 * i)) & 15u;
}

/* The record that slot word w refers to (the index part of its seq). */
static inline uint32_t slot_idx(const wc_dedup_t *d, uint64_t w)
{
    return SLOT_REF(w) & d->cap_mask;
}

/* Slot w is lapped: its record was allocated more than lap_age (capacity
 * + 1/16) allocations before seq cur (the record being published), so the
 * ring has gone round since and its record was recycled (or is about to
 * be): the slot is stale and may be reused without looking at the record.
 * Ages of 2^30 and more (mod 2^31) are read as "not lapped" (a slot of a
 * record allocated after cur, or one so old that the 31-bit age wrapped):
 * such a slot is left to the dereferencing path of a full bucket. See
 * "LAZY EMPTYING" in the design comment for the in-flight case. */
typedef struct lap {
    uint64_t base, lim;
} lap_t;

/* lap_age < age < 2^30 as one unsigned range check, (age - lap_age - 1)
 * mod 2^31 < 2^30 - lap_age - 1, done on the whole slot word: base holds
 * cur - lap_age - 1 in the high half and all ones in the low half, so
 * base - w never borrows from the high half, whose low 31 bits are then
 * (age - lap_age - 1) mod 2^31; shifted left by one they are the top 31
 * bits, and the 32 bits below them (< 2^33) cannot reach the next
 * multiple of 2^33: x << 1 < lim << 33 <=> (x >> 32) mod 2^31 < lim.
 * Computed once per publish (the CASes in the publish loops keep the
 * compiler from hoisting loads of d). */
static inline lap_t lap_of(const wc_dedup_t *d, uint32_t cur)
{
    lap_t l = {((uint64_t)(cur - d->lap_age - 1u) << 32) | 0xffffffffu, (uint64_t)d->lap_lim << 33};
    return l;
}

/* lap_of for the slots of the record allocated at seq */
static inline lap_t lap_of_seq(const wc_dedup_t *d, uint32_t seq)
{
    return lap_of(d, REF_VALID | (seq & SEQ31));
}

static inline bool slot_lapped(lap_t l, uint64_t w)
{
    return (l.base - w) << 1 < l.lim;
}

/* A thread's allocation chunk is dropped once the cursor is more than this
 * past the record about to be taken: a quarter lap, or two chunks per
 * thread if that is more (with T threads allocating at the same pace a
 * chunk ages ~32 T while it is used; below that every chunk would be
 * dropped after one record and the table would hold ~32 records), at most
 * a lap (older, it would recycle fresh records). Bounds how far behind the
 * cursor a record's seq can be when it is handed out (FULL BUCKETS). */
static inline uint64_t chunk_drop_age(const wc_dedup_t *d)
{
    uint64_t t = (uint64_t)atomic_load_explicit(&d->threads, memory_order_relaxed);
    uint64_t age = WC_MAX((uint64_t)d->cap / 4, WC_DEDUP_ENTRIES_PER_THREAD_MIN * t);
    return WC_MIN(age, (uint64_t)d->cap);
}

/* Take the next reusable record of this thread's ring chunk and move it to
 * INIT with a new generation. Skips in-flight records. */
static uint32_t rec_alloc(wc_dedup_t *d, int64_t now, uint32_t *gen_out, uint32_t *seq_out)
{
    tl_bind(d);
    for (;;) {
        if (tl.next == tl.end) {
            stats_flush(d);
            tl.next = atomic_fetch_add_explicit(&d->cursor, ALLOC_CHUNK, memory_order_relaxed);
            tl.end = tl.next + ALLOC_CHUNK;
        }
        uint64_t s = tl.next++;
        /* a chunk too far behind the cursor: drop it */
        if (LD(&d->cursor) - s > chunk_drop_age(d)) {
            tl.next = tl.end;
            continue;
        }
        uint32_t idx = (uint32_t)(s & d->cap_mask);
        rec_t *r = &d->rec[idx];
        uint64_t st = atomic_load_explicit(&r->state, memory_order_acquire);
        unsigned status = ST_STATUS(st);
        if (st != 0 && in_flight(status))
            continue;
        uint32_t gen = (ST_GEN(st) + 1) & 0xffffu;
        if (!gen)
            gen = 1;
        bool live = st != 0 && (status == S_ORIG || status == S_DUP) && !expired(d, now, LD(&r->t_ms));
        /* the old record's index slots are not emptied here: they are
         * lapped (slot_lapped) and reused by later publishes */
        if (!atomic_compare_exchange_strong_explicit(&r->state, &st, ST_MAKE(gen, S_INIT, 0),
                                                     memory_order_acq_rel, memory_order_relaxed))
            continue;
        if (live)
            tl.evicted_live++;
        *gen_out = gen;
        *seq_out = (uint32_t)(s & SEQ31);
        return idx;
    }
}

static void rec_init(wc_dedup_t *d, uint32_t idx, uint32_t gen, uint32_t seq,
                     const wc_dedup_key_t *k, int64_t now, uint64_t nk, bool sim, uint64_t role_ref)
{
    rec_t *r = &d->rec[idx];
    STR(&r->seq, seq);
    STR(&r->id_hash, k->id_hash);
    STR(&r->brand_hash, k->brand_hash);
    STR(&r->near_key, nk);
    STR(&r->t_ms, (uint64_t)now);
    STR(&r->offset, (uint64_t)k->offset);
    STR(&r->meta, ((uint64_t)(uint32_t)k->partition << 32) | ((uint64_t)k->route_id << 16) |
                     (sim ? FL_SIM : 0u));
    STR(&r->author_hash, k->author_hash);
    STR(&r->case_id[0], k->case_id[0]);
    STR(&r->case_id[1], k->case_id[1]);
    STR(&r->agg0, ((uint64_t)gen << 48) | 1u);
    STR(&r->agg1, ((uint64_t)gen << 48) | WC_MIN(k->reach, M48));
    atomic_store_explicit(&r->state, ST_MAKE(gen, S_ID_TENT, role_ref), memory_order_release);
}

/* ---- index buckets ---------------------------------------------------- */

static inline uint32_t id_bucket_num(const wc_dedup_t *d, uint64_t id_hash)
{
    return (uint32_t)(wc_hash_u64(id_hash ^ SALT_ID) & d->id_bmask);
}

static inline _Atomic uint64_t *id_bucket(const wc_dedup_t *d, uint64_t id_hash)
{
    return d->id_slots + (uint64_t)id_bucket_num(d, id_hash) * BUCKET_SLOTS;
}

static inline uint32_t id_tag(uint64_t id_hash)
{
    return (uint32_t)(id_hash >> 44);
}

struct nkeys {
    int n;
    bool sim;
    _Atomic uint64_t *b[NB_MAX];
    uint32_t tag[NB_MAX];
};

static void near_keys(const wc_dedup_t *d, uint64_t brand, uint64_t nk, bool sim, nkeys_t *o)
{
    o->sim = sim;
    if (!sim) {
        o->n = 1;
        o->b[0] = d->near_slots +
                  (wc_hash_u64(wc_hash_u64(nk ^ SALT_TEXT) ^ brand) & d->near_bmask) * BUCKET_SLOTS;
        o->tag[0] = (uint32_t)(nk >> 44);
        return;
    }
    /* one hash per band: brand mixed once, then (band number, band value)
     * XORed in; bands are <= 22 bits when there are several, so distinct
     * (band, value) pairs of a brand never collide before hashing */
    uint64_t bm = wc_hash_u64(brand ^ SALT_BAND);
    int n = d->nbands;
    o->n = n;
    if (n == NB_MAX) {
        /* k >= 3 (the default): four 16-bit bands, constant shifts */
#pragma GCC unroll 4
        for (int b = 0; b < NB_MAX; b++) {
            uint64_t v = (nk >> (16 * b)) & 0xffffu;
            o->b[b] = d->near_slots +
                      (wc_hash_u64(bm ^ v ^ ((uint64_t)(b + 1) << 58)) & d->near_bmask) * BUCKET_SLOTS;
            o->tag[b] = (uint32_t)(rotr64(nk, (16 * (b + 1)) & 63) & 0xfffffu);
        }
        return;
    }
    for (int b = 0; b < n; b++) {
        uint64_t v = (nk >> d->band_lo[b]) & d->band_mask[b];
        o->b[b] = d->near_slots +
                  (wc_hash_u64(bm ^ v ^ ((uint64_t)(b + 1) << 58)) & d->near_bmask) * BUCKET_SLOTS;
        o->tag[b] = (uint32_t)(rotr64(nk, d->band_tag_rot[b]) & 0xfffffu);
    }
}

/* Prefetch the record after the next one of this thread's chunk: the
 * next check's allocation writes both its lines. (Its old index slots are
 * not touched: see slot_lapped.) */
static inline void recycle_prefetch(wc_dedup_t *d)
{
    if (tl.next + 1 < tl.end) {
        const rec_t *r2 = &d->rec[(tl.next + 1) & d->cap_mask];
        __builtin_prefetch(r2, 1, 3);
        __builtin_prefetch((const char *)r2 + 64, 1, 3);
    }
}

/* Bit i set for every slot word ws[i] that is not empty and passes the
 * prefilter (tag within kk bits), resp. has exactly this tag (tag_mask).
 * These run for 8 slots of up to 5 buckets per check: with SSE2 (every
 * x86-64) the 8 tags are compared at once (SWAR popcount in 32-bit lanes,
 * about 4 instructions per slot instead of 13); the scalar code is the
 * reference and the fallback. ws is a local copy (the atomic loads are
 * done by bucket_load). */
#if defined(__SSE2__) && !defined(WC_DEDUP_NO_SIMD)
/* lanes: the low (tag | tick) and high (ref) 32-bit halves of 4 words */
static inline void slot_halves(const uint64_t *ws, __m128i *lo, __m128i *hi)
{
    __m128 a = _mm_castsi128_ps(_mm_set_epi64x((long long)ws[1], (long long)ws[0]));
    __m128 b = _mm_castsi128_ps(_mm_set_epi64x((long long)ws[3], (long long)ws[2]));
    *lo = _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
    *hi = _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* all-ones lanes where the slot passes: not empty (ref 0) and tag within kk */
static inline __attribute__((always_inline)) __m128i prefilter_good4(const uint64_t *ws,
                                                                     __m128i tagv, int kk)
{
    const __m128i m20 = _mm_set1_epi32(0xfffff);
    __m128i lo, hi;
    slot_halves(ws, &lo, &hi);
    __m128i x = _mm_xor_si128(_mm_and_si128(_mm_srli_epi32(lo, 12), m20), tagv);
    __m128i empty = _mm_cmpeq_epi32(hi, _mm_setzero_si128());
    if (kk <= 3) {
        /* popcount(x) <= kk: x is 0 after clearing its lowest bit kk times */
        const __m128i one = _mm_set1_epi32(1);
        switch (kk) {
        case 3:
            x = _mm_and_si128(x, _mm_sub_epi32(x, one));
            __attribute__((fallthrough));
        case 2:
            x = _mm_and_si128(x, _mm_sub_epi32(x, one));
            __attribute__((fallthrough));
        case 1:
            x = _mm_and_si128(x, _mm_sub_epi32(x, one));
            break;
        default:
            break;
        }
        return _mm_andnot_si128(empty, _mm_cmpeq_epi32(x, _mm_setzero_si128()));
    }
    x = _mm_sub_epi32(x, _mm_and_si128(_mm_srli_epi32(x, 1), _mm_set1_epi32(0x55555555)));
    x = _mm_add_epi32(_mm_and_si128(x, _mm_set1_epi32(0x33333333)),
                      _mm_and_si128(_mm_srli_epi32(x, 2), _mm_set1_epi32(0x33333333)));
    x = _mm_and_si128(_mm_add_epi32(x, _mm_srli_epi32(x, 4)), _mm_set1_epi32(0x0f0f0f0f));
    x = _mm_add_epi32(x, _mm_srli_epi32(x, 8));
    x = _mm_and_si128(_mm_add_epi32(x, _mm_srli_epi32(x, 16)), _mm_set1_epi32(0x3f));
    return _mm_andnot_si128(_mm_or_si128(_mm_cmpgt_epi32(x, _mm_set1_epi32(kk)), empty),
                            _mm_set1_epi32(-1));
}

/* 8-bit mask of the all-ones lanes of good0 (slots 0-3) and good1 (4-7) */
static inline unsigned lanes_to_mask(__m128i good0, __m128i good1)
{
    __m128i p = _mm_packs_epi32(good0, good1);
    return (unsigned)_mm_movemask_epi8(_mm_packs_epi16(p, p)) & 0xffu;
}

static inline __attribute__((always_inline)) unsigned prefilter_mask(const uint64_t *ws,
                                                                     uint32_t tag, int kk)
{
    __m128i tagv = _mm_set1_epi32((int)tag);
    return lanes_to_mask(prefilter_good4(ws, tagv, kk), prefilter_good4(ws + 4, tagv, kk));
}

static inline __m128i tag_good4(const uint64_t *ws, __m128i tagv)
{
    __m128i lo, hi;
    slot_halves(ws, &lo, &hi);
    __m128i t = _mm_and_si128(_mm_srli_epi32(lo, 12), _mm_set1_epi32(0xfffff));
    return _mm_andnot_si128(_mm_cmpeq_epi32(hi, _mm_setzero_si128()), _mm_cmpeq_epi32(t, tagv));
}

static inline unsigned tag_mask(const uint64_t *ws, uint32_t tag)
{
    __m128i tagv = _mm_set1_epi32((int)tag);
    return lanes_to_mask(tag_good4(ws, tagv), tag_good4(ws + 4, tagv));
}
#else
#define PC2(n) n, n + 1, n + 1, n + 2
#define PC4(n) PC2(n), PC2(n + 1), PC2(n + 1), PC2(n + 2)
#define PC6(n) PC4(n), PC4(n + 1), PC4(n + 1), PC4(n + 2)
#define PC8(n) PC6(n), PC6(n + 1), PC6(n + 1), PC6(n + 2)
/* popcount of a 10-bit value: the slot prefilter runs for every occupied
 * slot of 4 buckets, 2-3 times per first sighting */
static const uint8_t popc10[1024] = {PC8(0), PC8(1), PC8(1), PC8(2)};

/* kk = k for SimHash bands (tags within k bits), 0 for text keys (equal tags) */
static inline bool prefilter(uint32_t tag, int kk, uint64_t w)
{
    uint32_t x = SLOT_TAG(w) ^ tag;
    return popc10[x & 1023u] + popc10[x >> 10] <= kk;
}

static inline unsigned prefilter_mask(const uint64_t *ws, uint32_t tag, int kk)
{
    unsigned m = 0;
#pragma GCC unroll 8
    for (int i = 0; i < BUCKET_SLOTS; i++)
        m |= (unsigned)(ws[i] && prefilter(tag, kk, ws[i])) << i;
    return m;
}

static inline unsigned tag_mask(const uint64_t *ws, uint32_t tag)
{
    unsigned m = 0;
#pragma GCC unroll 8
    for (int i = 0; i < BUCKET_SLOTS; i++)
        m |= (unsigned)(ws[i] && SLOT_TAG(ws[i]) == tag) << i;
    return m;
}
#endif

static inline void bucket_load(_Atomic uint64_t *b, uint64_t *ws)
{
#pragma GCC unroll 8
    for (int i = 0; i < BUCKET_SLOTS; i++)
        ws[i] = LDSC(&b[i]);
}


/* Which index a bucket belongs to: the id index, the short-text key, or
 * SimHash band b >= 0. Lets a full bucket recognise slots whose record was
 * recycled for another key (the record's tag no longer matches). */
#define SK_ID (-1)
#define SK_TEXT (-2)

/* The near index is one array for the text keys and every band: a bucket
 * holds slots of any of them (a bucket of band 0 may hold another record's
 * band-2 slot), so a near slot is stale only if it matches none of its
 * record's near tags. (Until 2026-12 this compared with the bucket's own
 * band only and took other bands' live slots for dead ones.) */
static inline bool slot_stale(const wc_dedup_t *d, const snap_t *s, uint64_t w, int kind)
{
    if (kind == SK_ID)
        return id_tag(s->id) != SLOT_TAG(w);
    if (!(s->meta & FL_SIM))
        return (uint32_t)(s->nk >> 44) != SLOT_TAG(w);
    for (int b = 0; b < d->nbands; b++)
        if ((uint32_t)(rotr64(s->nk, d->band_tag_rot[b]) & 0xfffffu) == SLOT_TAG(w))
            return false;
    return true;
}

/* What a full bucket may do with slot w, whose record reads as s: keep it
 * (an in-flight claim, never evicted), take it as dead (a lost id claim,
 * stale, expired, or in a near bucket no longer an original) or, if no
 * slot is dead, evict it as live (never in flight). */
enum { SV_LIVE, SV_DEAD, SV_KEEP };

static inline int slot_verdict(const wc_dedup_t *d, const snap_t *s, uint64_t w, int kind,
                               int64_t now)
{
    unsigned st = ST_STATUS(s->st);
    bool stale = slot_stale(d, s, w, kind);
    if (in_flight(st) && !stale)
        return SV_KEEP;
    if (st == S_ID_LOST || stale || expired(d, now, s->t) ||
        (kind != SK_ID && (st == S_DUP || st == S_DOOMED)))
        return SV_DEAD;
    return SV_LIVE;
}

/* A slot whose tick is more than a window behind ours is expired without
 * looking at its record. Ages of half the 12-bit range or more are read as
 * "ahead of us" (published by a thread whose now is already a tick later:
 * (tick - later) wraps to 4095), never as expired; a slot that really is
 * that old is found dead by the dereferencing pass instead. */
static inline bool tick12_expired(const wc_dedup_t *d, uint32_t tick, uint64_t w)
{
    uint32_t age = (tick - SLOT_TICK(w)) & TICK12;
    return age > d->window_ticks + 1 && age < (TICK12 + 1) / 2;
}

/* Publish word into bucket b: an empty slot, else one whose tick says it
 * expired, else (bucket full) a dead slot (record recycled for another
 * key, expired, lost its id claim, or for near buckets no longer an
 * original), else the slot of the oldest record that is not in flight.
 * Returns the slot used, or -1 if every slot belongs to an in-flight record. */
static int slot_publish_slow(wc_dedup_t *d, _Atomic uint64_t *b, uint64_t word, uint32_t tick,
                             int64_t now, int kind);

/* lap = lap_of(d, SLOT_REF(word)): the same for all 5 publishes of a
 * record, computed once by the caller */
static inline int slot_publish(wc_dedup_t *d, _Atomic uint64_t *b, uint64_t word, lap_t lap,
                               uint32_t tick, int64_t now, int kind)
{
    /* fast path: the first empty or lapped slot (a recycled record's slots
     * are lapped, so there usually is one within the first few words) */
#pragma GCC unroll 8
    for (int i = 0; i < BUCKET_SLOTS; i++) {
        uint64_t w = LDSC(&b[i]);
        if ((!w || slot_lapped(lap, w)) && cas_sc(&b[i], &w, word))
            return i;
    }
    return slot_publish_slow(d, b, word, tick, now, kind);
}

__attribute__((noinline)) static int slot_publish_slow(wc_dedup_t *d, _Atomic uint64_t *b,
                                                       uint64_t word, uint32_t tick, int64_t now,
                                                       int kind)
{
    const lap_t lap = lap_of(d, SLOT_REF(word));
    for (int attempt = 0; attempt < 64; attempt++) {
        uint64_t w[BUCKET_SLOTS];
        int victim = -1;
        bucket_load(b, w);
        /* the first empty slot, else the first whose tick says it expired */
        for (int i = 0; i < BUCKET_SLOTS; i++) {
            if (!w[i] || slot_lapped(lap, w[i])) {
                victim = i;
                break;
            }
        }
        for (int i = 0; i < BUCKET_SLOTS && victim < 0; i++)
            if (tick12_expired(d, tick, w[i]))
                victim = i;
        if (victim < 0) {
            tl.slot_full++;
            /* full: the slot of the earliest allocated record (by seq;
             * ages >= 2^30 are records allocated after ours). At least
             * chunk_drop_age + a quarter lap old, it is evicted without
             * reading the record (a cache miss per full bucket, a quarter
             * of the check's time): it cannot be in flight unless its
             * owner stalled mid-check while a quarter lap was allocated
             * (FULL BUCKETS in the design comment). Younger, the record is
             * read; if it is in flight, the scan below reads them all. */
            const uint32_t cur = SLOT_REF(word) & SEQ31;
            uint32_t oage = 0;
            for (int i = 0; i < BUCKET_SLOTS; i++) {
                uint32_t age = (cur - SLOT_REF(w[i])) & SEQ31;
                if (age < (1u << 30) && age > oage) {
                    oage = age;
                    victim = i;
                }
            }
            if (victim >= 0 && oage >= chunk_drop_age(d) + d->cap / 4) {
                if (oage <= d->cap)
                    tl.slot_evicted++; /* most likely live (not yet recycled) */
            } else if (victim >= 0) {
                snap_t s;
                /* not readable: being recycled, its slot is stale */
                if (rec_snap(&d->rec[slot_idx(d, w[victim])], &s)) {
                    int vs = slot_verdict(d, &s, w[victim], kind, now);
                    if (vs == SV_KEEP)
                        victim = -1; /* a claim in progress: look at them all */
                    else if (vs == SV_LIVE)
                        tl.slot_evicted++;
                }
            }
        }
        if (victim < 0) {
            /* full: dereference to find dead entries or the oldest live one */
            uint64_t best_t = UINT64_MAX;
            bool dead = false;
            for (int i = 0; i < BUCKET_SLOTS && !dead; i++) {
                snap_t s;
                if (!rec_snap(&d->rec[slot_idx(d, w[i])], &s)) {
                    victim = i; /* being recycled: its slot is stale */
                    dead = true;
                    continue;
                }
                int vs = slot_verdict(d, &s, w[i], kind, now);
                if (vs == SV_KEEP)
                    continue; /* never evict a claim in progress */
                if (vs == SV_DEAD) {
                    victim = i;
                    dead = true;
                } else if (s.t < best_t) {
                    victim = i;
                    best_t = s.t;
                }
            }
            if (victim < 0)
                break;
            if (!dead)
                tl.slot_evicted++;
        }
        if (cas_sc(&b[victim], &w[victim], word))
            return victim;
    }
    tl.publish_failed++;
    return -1;
}

/* ---- id claim (phase 1) ----------------------------------------------- */

static uint64_t resolve_id(wc_dedup_t *d, uint32_t xi, uint32_t xg, int64_t now, int depth,
                           _Atomic uint64_t *own_b, uint64_t own_id);

/* Evaluate the id conflict between X (xi, xg, id) and the record behind slot
 * word w. Returns a reference X loses to, or 0. Kills/helps as needed. */
static uint64_t id_conflict(wc_dedup_t *d, uint32_t xi, uint32_t xg, uint64_t id, uint32_t ci,
                            int64_t now, int depth)
{
    for (int guard = 0; guard < 1024; guard++) {
        snap_t c;
        if (!rec_snap(&d->rec[ci], &c) || c.id != id || expired(d, now, c.t))
            return 0;
        unsigned cs = ST_STATUS(c.st);
        uint32_t cg = ST_GEN(c.st);
        if (cs == S_ID_LOST)
            return 0;
        if (cs != S_ID_TENT)
            return REF_MAKE(ci, cg);
        if (ci < xi) {
            if (depth < MAX_DEPTH)
                resolve_id(d, ci, cg, now, depth + 1, NULL, 0);
        } else {
            uint64_t exp = c.st;
            cas_sc(&d->rec[ci].state, &exp, ST_MAKE(cg, S_ID_LOST, REF_MAKE(xi, xg)));
        }
    }
    return 0;
}

/* Resolve the id claim of record (xi, xg): returns its state once it is
 * no longer ID_TENT (ID_LOST, UNPUB or DUP), or 0 if it was recycled.
 * own_b: the record's id bucket and own_id its id if the caller (its
 * owner) has them, else NULL (helpers read the id from the record). */
static uint64_t resolve_id(wc_dedup_t *d, uint32_t xi, uint32_t xg, int64_t now, int depth,
                           _Atomic uint64_t *own_b, uint64_t own_id)
{
    rec_t *x = &d->rec[xi];
    for (;;) {
        uint64_t st = LDSC(&x->state);
        if (ST_GEN(st) != xg)
            return 0;
        if (ST_STATUS(st) != S_ID_TENT)
            return st;
        uint64_t id = own_id;
        _Atomic uint64_t *b = own_b;
        if (!b) {
            id = LD(&x->id_hash);
            if (ST_GEN(LDSC(&x->state)) != xg)
                return 0;
            b = id_bucket(d, id);
        }
        uint32_t tag = id_tag(id);
        uint64_t lose = 0, ws[BUCKET_SLOTS];
        bucket_load(b, ws);
        for (unsigned m = tag_mask(ws, tag); m && !lose; m &= m - 1) {
            uint64_t w = ws[__builtin_ctz(m)];
            if (!w || slot_idx(d, w) == xi)
                continue;
            lose = id_conflict(d, xi, xg, id, slot_idx(d, w), now, depth);
        }
        uint64_t link = ST_LINK(st);
        uint64_t nst = lose ? ST_MAKE(xg, S_ID_LOST, lose)
                            : (link ? ST_MAKE(xg, S_DUP, link) : ST_MAKE(xg, S_UNPUB, 0));
        if (cas_sc(&x->state, &st, nst))
            return nst;
    }
}

/* ---- near claim (phase 2) --------------------------------------------- */

static uint64_t resolve_near(wc_dedup_t *d, uint32_t xi, uint32_t xg, int64_t now, int depth,
                             const nkeys_t *own, const snap_t *own_s);

/* Publish X's near slots (xseq: X's allocation sequence number, lap =
 * lap_of_seq(d, xseq)); returns where they went, 4 bits per band: slot +
 * 1, or POS_NONE. */
static uint64_t near_publish(wc_dedup_t *d, const nkeys_t *nk, uint32_t xseq, lap_t lap,
                             uint32_t tick, int64_t now)
{
    uint64_t pos = 0;
    for (int b = 0; b < nk->n; b++) {
        int p = slot_publish(d, nk->b[b], SLOT_MAKE(xseq, nk->tag[b], tick & TICK12), lap, tick,
                             now, nk->sim ? b : SK_TEXT);
        pos |= (uint64_t)(p >= 0 ? (unsigned)p + 1 : POS_NONE) << (4 * b);
    }
    return pos;
}

/* X (final, DUP) empties the near slots it published (positions from
 * near_publish; a slot that no longer holds X's ref is left alone). */
static void near_unpublish(const nkeys_t *nk, uint32_t xseq, uint64_t npos)
{
    const uint32_t ref = REF_VALID | (xseq & SEQ31);
    for (int b = 0; b < nk->n; b++) {
        unsigned p = pos_get(npos, b);
        if (p < 1 || p > BUCKET_SLOTS)
            continue;
        uint64_t w = LD(&nk->b[b][p - 1]);
        if (SLOT_REF(w) == ref)
            cas_sc(&nk->b[b][p - 1], &w, 0);
    }
}

/* Distance of record ci to X if it is a live record of X's brand and key
 * kind within k (*c: its snapshot), else -1. */
static inline int near_match(const wc_dedup_t *d, const snap_t *xs, uint32_t ci, int64_t now,
                             snap_t *c)
{
    if (!rec_snap(&d->rec[ci], c) || c->brand != xs->brand || ((c->meta ^ xs->meta) & FL_SIM) ||
        expired(d, now, c->t))
        return -1;
    int hd = (xs->meta & FL_SIM) ? popc64(c->nk ^ xs->nk) : (c->nk == xs->nk ? 0 : 99);
    return hd > d->k ? -1 : hd;
}

/* Near conflict between X and record ci: returns the Hamming distance if
 * ci is an ORIG within k (*ref set), -1 otherwise. Kills/helps as needed. */
static int near_conflict(wc_dedup_t *d, uint32_t xi, uint32_t xg, const snap_t *xs, uint32_t ci,
                         int64_t now, int depth, uint64_t *ref)
{
    for (int guard = 0; guard < 1024; guard++) {
        snap_t c;
        int hd = near_match(d, xs, ci, now, &c);
        if (hd < 0)
            return -1;
        unsigned cs = ST_STATUS(c.st);
        uint32_t cg = ST_GEN(c.st);
        if (cs == S_ORIG) {
            *ref = REF_MAKE(ci, cg);
            return hd;
        }
        if (cs != S_UNPUB && cs != S_NEAR_TENT)
            return -1; /* DOOMED/DUP/ID_*: not an original, never will be */
        if (ci < xi) {
            if (cs == S_UNPUB || depth >= MAX_DEPTH)
                return -1; /* it scans after publishing and will see us */
            resolve_near(d, ci, cg, now, depth + 1, NULL, NULL);
        } else {
            uint64_t exp = c.st;
            cas_sc(&d->rec[ci].state, &exp, ST_MAKE(cg, S_DOOMED, REF_MAKE(xi, xg)));
        }
    }
    return -1;
}

/* Pass 1 of resolve_near (the lookup) over X's near buckets: the closest
 * ORIG within k (*best, *best_h; *best_h = -1: an ORIG with X's own id)
 * and the in-flight records within k (later). kk is a constant at each
 * call site, so the prefilter's per-k code is chosen once per scan. */
static inline __attribute__((always_inline)) void
near_scan(const wc_dedup_t *d, const nkeys_t *nk, uint32_t xi, const snap_t *xs, int64_t now,
          const int kk, uint64_t *best, int *best_h, uint32_t *later, int *nlater)
{
    for (int b = 0; b < nk->n && *best_h >= 0; b++) {
        uint64_t ws[BUCKET_SLOTS];
        bucket_load(nk->b[b], ws);
        for (unsigned todo = prefilter_mask(ws, nk->tag[b], kk); todo; todo &= todo - 1) {
            uint32_t ci = slot_idx(d, ws[__builtin_ctz(todo)]);
            snap_t c;
            int hd = ci == xi ? -1 : near_match(d, xs, ci, now, &c);
            if (hd < 0)
                continue;
            unsigned cs = ST_STATUS(c.st);
            if (cs == S_ORIG && c.id == xs->id) {
                *best = REF_MAKE(ci, ST_GEN(c.st));
                *best_h = -1;
                break;
            }
            if (cs == S_ORIG && hd < *best_h) {
                *best_h = hd;
                *best = REF_MAKE(ci, ST_GEN(c.st));
            } else if (cs == S_UNPUB || cs == S_NEAR_TENT) {
                later[(*nlater)++] = ci;
            }
        }
    }
}

/* Resolve the near claim of a record that won its id claim (UNPUB,
 * NEAR_TENT or DOOMED): returns its ORIG or DUP state, or 0 if recycled.
 * own, own_s: the record's near keys and key fields (id, brand, near key,
 * FL_SIM) if the caller (its owner) has them, else NULL (helpers derive
 * them from the record). */
static uint64_t resolve_near(wc_dedup_t *d, uint32_t xi, uint32_t xg, int64_t now, int depth,
                             const nkeys_t *own, const snap_t *own_s)
{
    rec_t *x = &d->rec[xi];
    for (;;) {
        uint64_t st = LDSC(&x->state);
        if (ST_GEN(st) != xg)
            return 0;
        unsigned s = ST_STATUS(st);
        if (s == S_DOOMED) {
            uint64_t w = ST_LINK(st), ws = 0, nst;
            if (depth < MAX_DEPTH)
                ws = resolve_near(d, REF_IDX(w), REF_GEN(w), now, depth + 1, NULL, NULL);
            if (ws && ST_STATUS(ws) == S_ORIG)
                nst = ST_MAKE(xg, S_DUP, w);
            else if (ws && ST_STATUS(ws) == S_DUP)
                nst = ST_MAKE(xg, S_DUP, ST_LINK(ws));
            else if (!ws)
                nst = ST_MAKE(xg, S_ORIG, 0); /* killer recycled: nothing to attach to */
            else
                continue;
            if (cas_sc(&x->state, &st, nst))
                return nst;
            continue;
        }
        if (s != S_UNPUB && s != S_NEAR_TENT)
            return st;
        snap_t xsbuf;
        const snap_t *xs = own_s;
        if (!xs) {
            if (!rec_snap(x, &xsbuf))
                return 0;
            xs = &xsbuf;
        }
        nkeys_t nkbuf;
        const nkeys_t *nkp = own;
        if (!nkp) {
            near_keys(d, xs->brand, xs->nk, (xs->meta & FL_SIM) != 0, &nkbuf);
            nkp = &nkbuf;
        }
        const nkeys_t *const nk = nkp;
        if (s == S_UNPUB) {
            /* help a stalled owner: publishing twice only duplicates slots
             * (a seq read after recycling gives a stale slot: harmless) */
            uint32_t xseq = (uint32_t)LD(&x->seq);
            near_publish(d, nk, xseq, lap_of_seq(d, xseq), tick_of(d, now), now);
            cas_sc(&x->state, &st, ST_MAKE(xg, S_NEAR_TENT, 0));
            continue;
        }
        /* pass 1 (the lookup): the closest original within k, and the
         * in-flight records within k. An original with our own id (its id
         * slot was dropped from a full id bucket) is taken at once. A
         * record with an original within k becomes its DUP without killing
         * or helping anybody: it never becomes an original, so it cannot be
         * one of two conflicting originals. Only without one are in-flight
         * conflicts resolved (pass 2, ordered by index, see above). */
        uint64_t best = 0;
        int best_h = INT_MAX;
        const int kk = nk->sim ? d->k : 0;
        uint32_t later[NB_MAX * BUCKET_SLOTS];
        int nlater = 0;
        if (kk == 3) /* the default */
            near_scan(d, nk, xi, xs, now, 3, &best, &best_h, later, &nlater);
        else if (kk == 0) /* short texts, k = 0 */
            near_scan(d, nk, xi, xs, now, 0, &best, &best_h, later, &nlater);
        else
            near_scan(d, nk, xi, xs, now, kk, &best, &best_h, later, &nlater);
        for (int i = 0; i < nlater && !best; i++) {
            uint64_t ref = 0;
            int hd = near_conflict(d, xi, xg, xs, later[i], now, depth, &ref);
            if (hd >= 0 && hd < best_h) {
                best_h = hd;
                best = ref;
            }
        }
        uint64_t nst = best ? ST_MAKE(xg, S_DUP, best) : ST_MAKE(xg, S_ORIG, 0);
        if (cas_sc(&x->state, &st, nst))
            return nst;
    }
}

/* ---- lookups (no writes) ---------------------------------------------- */

/* Find a record holding id (not ID_LOST). Prefers one that won its claim. */
static bool id_lookup(wc_dedup_t *d, _Atomic uint64_t *b, uint32_t tag, uint64_t id, int64_t now,
                      uint32_t *hi, snap_t *hs)
{
    bool found = false;
    uint64_t ws[BUCKET_SLOTS];
    bucket_load(b, ws);
    for (unsigned m = tag_mask(ws, tag); m; m &= m - 1) {
        uint64_t w = ws[__builtin_ctz(m)];
        if (!w)
            continue;
        snap_t c;
        uint32_t ci = slot_idx(d, w);
        if (!rec_snap(&d->rec[ci], &c) || c.id != id || expired(d, now, c.t) ||
            ST_STATUS(c.st) == S_ID_LOST)
            continue;
        if (!found || ST_STATUS(hs->st) == S_ID_TENT) {
            *hi = ci;
            *hs = c;
            found = true;
        }
    }
    return found;
}

/* ---- distinct authors ------------------------------------------------- */

/* Live: written within the window, or by a thread whose clock is ahead of
 * ours (age wraps to the upper half of the 24-bit range). */
static inline bool aw_live(const wc_dedup_t *d, uint64_t w, uint32_t tick)
{
    uint32_t age = (tick - AW_TICK(w)) & TICK24;
    return w && !(w & AW_DEAD) && (age <= d->window_ticks || age >= (TICK24 + 1) / 2);
}

/* Insert key into the author set: 1 if it was absent (exactly one of any
 * number of concurrent inserters of the same key gets 1), else 0. */
static int auth_insert(wc_dedup_t *d, uint64_t key)
{
    _Atomic uint64_t *b = d->auth_slots + (key & d->auth_bmask) * BUCKET_SLOTS;
    uint64_t tag = ((key >> 26) | 1) & ((1ULL << 38) - 1);
    for (;;) {
        uint32_t tick = tick_of(d, LDSC(&d->now)) & TICK24;
        uint64_t w[BUCKET_SLOTS];
        int p = -1, oldest = -1;
        uint32_t oage = 0;
        for (int i = 0; i < BUCKET_SLOTS; i++) {
            w[i] = LDSC(&b[i]);
            if (aw_live(d, w[i], tick)) {
                if (AW_TAG(w[i]) == tag)
                    return 0;
                uint32_t age = (tick - AW_TICK(w[i])) & TICK24;
                if (age >= (TICK24 + 1) / 2)
                    age = 0; /* ahead of our clock: newest */
                if (oldest < 0 || age > oage) {
                    oldest = i;
                    oage = age;
                }
            } else if (p < 0) {
                p = i;
            }
        }
        if (p < 0) {
            p = oldest;
            tl.author_evicted++;
        }
        uint64_t mine = (tag << 25) | tick;
        if (!cas_sc(&b[p], &w[p], mine))
            continue;
        /* touch every earlier word: see the design comment */
        for (int r = 0; r < p; r++) {
            for (;;) {
                uint64_t v = LDSC(&b[r]);
                uint32_t t2 = tick_of(d, LDSC(&d->now)) & TICK24;
                bool live = aw_live(d, v, t2);
                if (live && AW_TAG(v) == tag) {
                    uint64_t m = LDSC(&b[p]);
                    while (aw_live(d, m, t2) && AW_TAG(m) == tag &&
                           !cas_sc(&b[p], &m, AW_DEAD | tl_rand()))
                        ;
                    return 0;
                }
                uint64_t nv = live ? v ^ AW_TOUCH : (AW_DEAD | tl_rand());
                if (cas_sc(&b[r], &v, nv))
                    break;
            }
        }
        return 1;
    }
}

/* ---- results ---------------------------------------------------------- */

static void result_new(const wc_dedup_key_t *k, wc_dedup_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->kind = WC_DEDUP_NEW;
    res->first_kind = WC_DEDUP_NEW;
    res->case_id[0] = k->case_id[0];
    res->case_id[1] = k->case_id[1];
    res->orig_id_hash = k->id_hash;
    res->distinct_authors = 1;
    res->reach = WC_MIN(k->reach, M48);
    res->route_id = k->route_id;
}

static void result_from_root(const rinfo_t *root, wc_dedup_result_t *res)
{
    res->case_id[0] = root->case_id[0];
    res->case_id[1] = root->case_id[1];
    res->orig_id_hash = root->s.id;
    res->route_id = (uint16_t)(root->s.meta >> 16);
    res->duplicates = (uint32_t)((root->agg0 >> 24) & M24);
    res->distinct_authors = (uint32_t)(root->agg0 & M24);
    res->reach = root->agg1 & M48;
}

/* Saturating add to the original's aggregates; false if it was recycled. */
static bool agg_add(rec_t *r, uint32_t gen, uint32_t new_author, uint64_t reach,
                    wc_dedup_result_t *res)
{
    uint64_t a = LD(&r->agg0), na;
    do {
        if (ST_GEN(a) != gen)
            return false;
        uint64_t dups = WC_MIN(((a >> 24) & M24) + 1, M24);
        uint64_t au = WC_MIN((a & M24) + new_author, M24);
        na = ((uint64_t)gen << 48) | (dups << 24) | au;
    } while (!atomic_compare_exchange_weak_explicit(&r->agg0, &a, na, memory_order_acq_rel,
                                                    memory_order_relaxed));
    uint64_t b = LD(&r->agg1), nb;
    do {
        if (ST_GEN(b) != gen)
            return false;
        uint64_t sum = (b & M48) + WC_MIN(reach, M48);
        nb = ((uint64_t)gen << 48) | WC_MIN(sum, M48);
    } while (!atomic_compare_exchange_weak_explicit(&r->agg1, &b, nb, memory_order_acq_rel,
                                                    memory_order_relaxed));
    res->duplicates = (uint32_t)((na >> 24) & M24);
    res->distinct_authors = (uint32_t)(na & M24);
    res->reach = nb & M48;
    return true;
}

/* X (owned by the caller) is a DUP of root: count it. false if the root
 * vanished (recycled): the caller reports NEW. */
static bool result_near(wc_dedup_t *d, const wc_dedup_key_t *k, uint64_t root_ref,
                        wc_dedup_result_t *res)
{
    rinfo_t root;
    if (!rec_info(d, root_ref, &root))
        return false;
    memset(res, 0, sizeof(*res));
    result_from_root(&root, res);
    if (root.s.id == k->id_hash) {
        /* the original is this id's own first sighting, whose id slot was
         * dropped from a full id bucket: a redelivery, not a copy of itself */
        bool same = (int32_t)(root.s.meta >> 32) == k->partition && (int64_t)root.s.off == k->offset;
        res->kind = same ? WC_DEDUP_REPLAY : WC_DEDUP_EXACT;
        res->first_kind = WC_DEDUP_NEW;
        return true;
    }
    uint32_t new_author = 0;
    if (k->author_hash != root.s.author)
        new_author = (uint32_t)auth_insert(
            d, wc_hash_u64(wc_hash_u64(root_ref ^ SALT_AUTH ^ root.case_id[0]) ^ k->author_hash));
    if (!agg_add(&d->rec[REF_IDX(root_ref)], REF_GEN(root_ref), new_author, k->reach, res))
        return false;
    res->kind = WC_DEDUP_NEAR;
    res->first_kind = WC_DEDUP_NEAR;
    res->hamming = k->simhash_valid && (root.s.meta & FL_SIM)
                       ? popc64(root.s.nk ^ k->simhash)
                       : 0;
    return true;
}

/* The id is held by record hi (won its id claim): EXACT or REPLAY of it. */
static bool result_holder(wc_dedup_t *d, const wc_dedup_key_t *k, uint32_t hi, const snap_t *h,
                          int64_t now, wc_dedup_result_t *res)
{
    uint32_t hg = ST_GEN(h->st);
    uint64_t st = h->st;
    if (ST_STATUS(st) != S_ORIG && ST_STATUS(st) != S_DUP)
        st = resolve_near(d, hi, hg, now, 0, NULL, NULL);
    if (!st)
        return false;
    uint64_t root_ref = ST_STATUS(st) == S_ORIG ? REF_MAKE(hi, hg) : ST_LINK(st);
    rinfo_t root;
    if (!rec_info(d, root_ref, &root))
        return false;
    memset(res, 0, sizeof(*res));
    result_from_root(&root, res);
    /* a DUP of an original with its own id: a redelivery of the original
     * (see result_near), the original is the first sighting */
    if (ST_STATUS(st) == S_DUP && root.s.id == h->id) {
        h = &root.s;
        st = root.s.st;
    }
    bool same = (int32_t)(h->meta >> 32) == k->partition && (int64_t)h->off == k->offset;
    res->kind = same ? WC_DEDUP_REPLAY : WC_DEDUP_EXACT;
    res->first_kind = ST_STATUS(st) == S_ORIG ? WC_DEDUP_NEW : WC_DEDUP_NEAR;
    if (res->first_kind == WC_DEDUP_NEAR && (h->meta & FL_SIM) && (root.s.meta & FL_SIM))
        res->hamming = popc64(root.s.nk ^ h->nk);
    return true;
}

/* Rare fallback when the record we were matched against vanished. */
static void result_lost(const wc_dedup_key_t *k, wc_dedup_result_t *res)
{
    result_new(k, res);
    res->kind = WC_DEDUP_EXACT;
}

/* Follow an ID_LOST chain to the record that holds the id. */
static bool follow_holder(wc_dedup_t *d, uint64_t ref, int64_t now, uint32_t *hi, snap_t *hs)
{
    for (int guard = 0; guard < MAX_DEPTH; guard++) {
        uint32_t ci = REF_IDX(ref);
        snap_t c;
        if (!rec_snap(&d->rec[ci], &c) || ST_GEN(c.st) != REF_GEN(ref))
            return false;
        unsigned cs = ST_STATUS(c.st);
        if (cs == S_ID_LOST) {
            ref = ST_LINK(c.st);
        } else if (cs == S_ID_TENT) {
            resolve_id(d, ci, REF_GEN(ref), now, 0, NULL, 0);
        } else {
            *hi = ci;
            *hs = c;
            return true;
        }
    }
    return false;
}

/* ---- public API ------------------------------------------------------- */

void wc_dedup_config_default(wc_dedup_config_t *c)
{
    memset(c, 0, sizeof(*c));
    c->capacity = 1u << 19;
    c->window_ms = 86400LL * 1000;
    c->max_hamming = 3;
    c->min_tokens = 4;
    c->remote_ttl_ms = 86400LL * 1000;
}

int wc_dedup_config_validate(const wc_dedup_config_t *c, char *errstr, size_t errstr_size)
{
    if (c->capacity < WC_DEDUP_CAPACITY_MIN || c->capacity > WC_DEDUP_CAPACITY_MAX) {
        wc_errstr_set(errstr, errstr_size, "dedup capacity %u out of range [%u, %u]", c->capacity,
                      WC_DEDUP_CAPACITY_MIN, WC_DEDUP_CAPACITY_MAX);
        return WC_ERR_RANGE;
    }
    if (c->window_ms < WC_DEDUP_WINDOW_MS_MIN || c->window_ms > WC_DEDUP_WINDOW_MS_MAX) {
        wc_errstr_set(errstr, errstr_size, "dedup window_ms %lld out of range [%d, %lld]",
                      (long long)c->window_ms, WC_DEDUP_WINDOW_MS_MIN,
                      (long long)WC_DEDUP_WINDOW_MS_MAX);
        return WC_ERR_RANGE;
    }
    if (c->max_hamming < 0 || c->max_hamming > WC_DEDUP_HAMMING_MAX) {
        wc_errstr_set(errstr, errstr_size, "dedup max_hamming %d out of range [0, %d]",
                      c->max_hamming, WC_DEDUP_HAMMING_MAX);
        return WC_ERR_RANGE;
    }
    if (c->min_tokens < 1 || c->min_tokens > WC_DEDUP_MIN_TOKENS_MAX) {
        wc_errstr_set(errstr, errstr_size, "dedup min_tokens %d out of range [1, %d]",
                      c->min_tokens, WC_DEDUP_MIN_TOKENS_MAX);
        return WC_ERR_RANGE;
    }
    if (c->remote_ttl_ms < 0) {
        wc_errstr_set(errstr, errstr_size, "dedup remote_ttl_ms must not be negative");
        return WC_ERR_RANGE;
    }
    return 0;
}

typedef struct layout {
    uint64_t cap, id_buckets, near_buckets, auth_buckets;
    size_t rec_bytes, id_bytes, near_bytes, auth_bytes;
} layout_t;

uint64_t wc_dedup_capacity_rounded(uint32_t capacity)
{
    return next_pow2(capacity);
}

static void layout_of(const wc_dedup_config_t *c, layout_t *l)
{
    l->cap = wc_dedup_capacity_rounded(c->capacity);
    l->id_buckets = WC_MAX(l->cap * 2 / BUCKET_SLOTS, 1);
    l->near_buckets =
        next_pow2(WC_MAX(l->cap * 2 * (uint64_t)WC_MIN(c->max_hamming + 1, 4) / BUCKET_SLOTS, 1));
    l->auth_buckets = l->id_buckets;
    l->rec_bytes = l->cap * sizeof(rec_t);
    l->id_bytes = l->id_buckets * BUCKET_SLOTS * sizeof(uint64_t);
    l->near_bytes = l->near_buckets * BUCKET_SLOTS * sizeof(uint64_t);
    l->auth_bytes = l->auth_buckets * BUCKET_SLOTS * sizeof(uint64_t);
}

size_t wc_dedup_memory_bytes(const wc_dedup_config_t *c)
{
    layout_t l;
    layout_of(c, &l);
    return l.rec_bytes + l.id_bytes + l.near_bytes + l.auth_bytes + sizeof(wc_dedup_t);
}

static void *map_zeroed(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (n >= (2u << 20))
        madvise(p, n, MADV_HUGEPAGE); /* fewer TLB misses on random access; best effort */
#endif
    return p;
}

wc_dedup_t *wc_dedup_create(const wc_dedup_config_t *cfg, char *errstr, size_t errstr_size)
{
    if (wc_dedup_config_validate(cfg, errstr, errstr_size))
        return NULL;
    wc_dedup_t *d = aligned_alloc(WC_CACHELINE, (sizeof(*d) + WC_CACHELINE - 1) & ~(size_t)(WC_CACHELINE - 1));
    if (!d)
        goto nomem;
    memset(d, 0, sizeof(*d));
    layout_t l;
    layout_of(cfg, &l);
    d->cfg = *cfg;
    d->inst = atomic_fetch_add(&g_inst, 1);
    d->cap = (uint32_t)l.cap;
    d->cap_mask = (uint32_t)(l.cap - 1);
    d->id_bmask = l.id_buckets - 1;
    d->near_bmask = l.near_buckets - 1;
    d->auth_bmask = l.auth_buckets - 1;
    d->k = cfg->max_hamming;
    d->nbands = WC_MIN(cfg->max_hamming + 1, 4);
    for (int b = 0, lo = 0; b < d->nbands; b++) {
        int w = 64 / d->nbands + (b < 64 % d->nbands ? 1 : 0);
        d->band_lo[b] = (uint8_t)lo;
        d->band_w[b] = (uint8_t)w;
        d->band_tag_rot[b] = (uint8_t)((lo + w) & 63);
        d->band_mask[b] = w >= 64 ? ~0ULL : (1ULL << w) - 1;
        lo += w;
    }
    d->window_ms = cfg->window_ms;
    d->tick_ms = WC_MAX((cfg->window_ms + 1023) / 1024, 1);
    d->window_ticks = (uint32_t)((cfg->window_ms + d->tick_ms - 1) / d->tick_ms);
    d->lap_age = d->cap + d->cap / 16;
    d->lap_lim = (1u << 30) - d->lap_age - 1u;
    d->rec_bytes = l.rec_bytes;
    d->id_bytes = l.id_bytes;
    d->near_bytes = l.near_bytes;
    d->auth_bytes = l.auth_bytes;
    d->rec = map_zeroed(l.rec_bytes);
    d->id_slots = map_zeroed(l.id_bytes);
    d->near_slots = map_zeroed(l.near_bytes);
    d->auth_slots = map_zeroed(l.auth_bytes);
    if (!d->rec || !d->id_slots || !d->near_slots || !d->auth_slots)
        goto nomem;
    atomic_init(&d->now, 0);
    atomic_init(&d->cursor, 0);
    return d;
nomem:
    wc_errstr_set(errstr, errstr_size, "dedup: cannot allocate %zu bytes",
                  wc_dedup_memory_bytes(cfg));
    wc_dedup_destroy(d);
    return NULL;
}

void wc_dedup_destroy(wc_dedup_t *d)
{
    if (!d)
        return;
    if (d->rec)
        munmap(d->rec, d->rec_bytes);
    if (d->id_slots)
        munmap(d->id_slots, d->id_bytes);
    if (d->near_slots)
        munmap(d->near_slots, d->near_bytes);
    if (d->auth_slots)
        munmap(d->auth_slots, d->auth_bytes);
    free(d);
}

void wc_dedup_stats(wc_dedup_t *d, wc_dedup_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    st->capacity = d->cap;
    st->memory_bytes = d->rec_bytes + d->id_bytes + d->near_bytes + d->auth_bytes + sizeof(*d);
    st->inserted = LD(&d->cursor);
    st->evicted_live = LD(&d->st_evicted_live);
    st->slot_evicted_live = LD(&d->st_slot_evicted);
    st->slot_full = LD(&d->st_slot_full);
    st->publish_failed = LD(&d->st_publish_failed);
    st->author_evicted = LD(&d->st_author_evicted);
}

/* A key's bucket addresses and tags: computed once per mention (by
 * wc_dedup_check_batch for the prefetch and the check together). */
typedef struct plan {
    _Atomic uint64_t *idb;
    nkeys_t nk;
} plan_t;

static inline void plan_make(const wc_dedup_t *d, const wc_dedup_key_t *key, plan_t *p)
{
    near_keys(d, key->brand_hash, key->simhash_valid ? key->simhash : key->text_hash,
              key->simhash_valid != 0, &p->nk);
    p->idb = id_bucket(d, key->id_hash);
}

static inline void plan_prefetch(const plan_t *p)
{
    __builtin_prefetch(p->idb, 0, 3);
    for (int b = 0; b < p->nk.n; b++)
        __builtin_prefetch(p->nk.b[b], 0, 3);
}

static void check_planned(wc_dedup_t *d, const wc_dedup_key_t *key, const plan_t *p, int64_t now,
                          uint32_t tick, wc_dedup_result_t *res);

void wc_dedup_prefetch(wc_dedup_t *d, const wc_dedup_key_t *key)
{
    plan_t p;
    plan_make(d, key, &p);
    plan_prefetch(&p);
}

int wc_dedup_check(wc_dedup_t *d, const wc_dedup_key_t *key, int64_t now_ms, wc_dedup_result_t *res)
{
    plan_t p;
    plan_make(d, key, &p);
    plan_prefetch(&p);
    tl_bind(d);
    int64_t now = clock_advance(d, now_ms);
    check_planned(d, key, &p, now, tick_of(d, now), res);
    return 0;
}

#define BATCH_AHEAD 4
#define BATCH_RING 8 /* > BATCH_AHEAD, a power of two */

int wc_dedup_check_batch(wc_dedup_t *d, const wc_dedup_key_t *const *keys,
                         wc_dedup_result_t *const *res, size_t n, int64_t now_ms)
{
    if (!n)
        return 0;
    plan_t ring[BATCH_RING];
    size_t pre = WC_MIN(n, (size_t)BATCH_AHEAD);
    for (size_t i = 0; i < pre; i++) {
        plan_make(d, keys[i], &ring[i]);
        plan_prefetch(&ring[i]);
    }
    /* the table clock and its tick once per batch (a 64-bit division):
     * the same as per check, except that a clock advanced by another
     * thread during the batch is seen from the next batch on */
    tl_bind(d);
    const int64_t now = clock_advance(d, now_ms);
    const uint32_t tick = tick_of(d, now);
    for (size_t i = 0; i < n; i++) {
        if (i + BATCH_AHEAD < n) {
            plan_t *q = &ring[(i + BATCH_AHEAD) & (BATCH_RING - 1)];
            plan_make(d, keys[i + BATCH_AHEAD], q);
            plan_prefetch(q);
        }
        check_planned(d, keys[i], &ring[i & (BATCH_RING - 1)], now, tick, res[i]);
    }
    return 0;
}

/* now: the table clock (clock_advance), tick = tick_of(now); the caller
 * has called tl_bind. */
static void check_planned(wc_dedup_t *d, const wc_dedup_key_t *key, const plan_t *p, int64_t now,
                          uint32_t tick, wc_dedup_result_t *res)
{
    bool sim = key->simhash_valid != 0;
    uint64_t nkey = sim ? key->simhash : key->text_hash;
    _Atomic uint64_t *idb = p->idb;
    uint32_t tag = id_tag(key->id_hash);
    const nkeys_t *nk = &p->nk;
    recycle_prefetch(d);

    /* 1. exact: somebody holds this id */
    for (int guard = 0; guard < MAX_DEPTH; guard++) {
        uint32_t hi;
        snap_t h;
        if (!id_lookup(d, idb, tag, key->id_hash, now, &hi, &h))
            break;
        if (ST_STATUS(h.st) == S_ID_TENT) {
            resolve_id(d, hi, ST_GEN(h.st), now, 0, NULL, 0);
            continue;
        }
        if (result_holder(d, key, hi, &h, now, res))
            return;
    }

    /* 2. claim: a record for this id, published in the id index, then in
     *    the near index; the scan after publishing finds an original within
     *    k (we are a near-copy of it) or in-flight conflicts (see the design
     *    comment). No read-only near lookup before: the post-publish scan is
     *    the lookup. */
    uint32_t gen, xseq, xi = rec_alloc(d, now, &gen, &xseq);
    rec_init(d, xi, gen, xseq, key, now, nkey, sim, 0);
    const lap_t lap = lap_of_seq(d, xseq);
    slot_publish(d, idb, SLOT_MAKE(xseq, tag, tick & TICK12), lap, tick, now, SK_ID);
    uint64_t st = resolve_id(d, xi, gen, now, 0, idb, key->id_hash);
    if (ST_STATUS(st) == S_ID_LOST) {
        uint32_t hi;
        snap_t h;
        if (!follow_holder(d, ST_LINK(st), now, &hi, &h) || !result_holder(d, key, hi, &h, now, res))
            result_lost(key, res);
        return;
    }
    if (ST_STATUS(st) == S_UNPUB) {
        uint64_t npos = near_publish(d, nk, xseq, lap, tick, now);
        uint64_t exp = st;
        cas_sc(&d->rec[xi].state, &exp, ST_MAKE(gen, S_NEAR_TENT, 0));
        const snap_t xs = {.id = key->id_hash,
                           .brand = key->brand_hash,
                           .nk = nkey,
                           .meta = sim ? FL_SIM : 0u};
        st = resolve_near(d, xi, gen, now, 0, nk, &xs);
        if (ST_STATUS(st) == S_DUP) {
            /* a near-copy: its near slots are dead (it is final and not an
             * original), empty them now, or later copies of a campaign
             * would dereference them */
            near_unpublish(nk, xseq, npos);
        }
    }
    if (ST_STATUS(st) == S_DUP && result_near(d, key, ST_LINK(st), res))
        return;
    result_new(key, res);
}

/* ---- keys and SimHash ------------------------------------------------- */

#define SP(v)                                                                                      \
    ((((uint64_t)(v)&1u)) | (((uint64_t)(v) >> 1 & 1u) << 8) | (((uint64_t)(v) >> 2 & 1u) << 16) |  \
     (((uint64_t)(v) >> 3 & 1u) << 24) | (((uint64_t)(v) >> 4 & 1u) << 32) |                       \
     (((uint64_t)(v) >> 5 & 1u) << 40) | (((uint64_t)(v) >> 6 & 1u) << 48) |                       \
     (((uint64_t)(v) >> 7 & 1u) << 56))
#define SP4(v) SP(v), SP((v) + 1), SP((v) + 2), SP((v) + 3)
#define SP16(v) SP4(v), SP4((v) + 4), SP4((v) + 8), SP4((v) + 12)
#define SP64(v) SP16(v), SP16((v) + 16), SP16((v) + 32), SP16((v) + 48)
/* spread8[v]: bit i of v -> byte i (SWAR per-bit counters) */
static const uint64_t spread8[256] = {SP64(0), SP64(64), SP64(128), SP64(192)};

static inline bool content_tok(uint8_t kind)
{
    return kind == WC_TOK_WORD || kind == WC_TOK_NUMBER || kind == WC_TOK_HASHTAG;
}

/* Index of the first token after a tokenised "RT @handle" prefix (the real
 * normaliser drops the prefix and sets is_retweet; this covers one that
 * does not). */
static uint32_t skip_rt_prefix(const wc_norm_t *n)
{
    if (n->ntok >= 2 && n->tok[0].kind == WC_TOK_WORD && n->tok[0].len == 2 &&
        n->tok[1].kind == WC_TOK_HANDLE && n->tok[0].hash == wc_hash64("rt", 2, WC_NORM_HASH_SEED))
        return 2;
    return 0;
}

uint64_t wc_simhash(const wc_norm_t *n, int min_tokens, uint8_t *valid)
{
    uint64_t acc[8] = {0};
    uint32_t cnt[64] = {0};
    uint32_t nfeat = 0, nwords = 0, batch = 0;

#define SH_FLUSH()                                                                                 \
    do {                                                                                           \
        for (int j_ = 0; j_ < 8; j_++) {                                                           \
            for (int l_ = 0; l_ < 8; l_++)                                                         \
                cnt[j_ * 8 + l_] += (uint32_t)((acc[j_] >> (8 * l_)) & 0xff);                      \
            acc[j_] = 0;                                                                           \
        }                                                                                          \
        batch = 0;                                                                                 \
    } while (0)
#define SH_ADD(f)                                                                                  \
    do {                                                                                           \
        uint64_t f_ = (f);                                                                         \
        for (int j_ = 0; j_ < 8; j_++)                                                             \
            acc[j_] += spread8[(f_ >> (8 * j_)) & 0xff];                                           \
        nfeat++;                                                                                   \
        if (++batch == 255)                                                                        \
            SH_FLUSH();                                                                            \
    } while (0)

    for (uint32_t i = skip_rt_prefix(n); i < n->ntok; i++) {
        const wc_token_t *t = &n->tok[i];
        if (!content_tok(t->kind))
            continue; /* handles, URLs, emoji, punctuation: noise for near-dups */
        nwords++;
        /* words only, no bigrams: on tweet-length texts a one-word edit
         * changes 1 of ~20 features instead of 3-4 of ~40, which roughly
         * halves the SimHash distance it causes (docs/DEDUP.md, measured
         * with bench_dedup_eval: recall of one-word edits at k = 3 15% ->
         * 21%, no additional false merges) */
        SH_ADD(t->hash);
    }
    SH_FLUSH();
#undef SH_ADD
#undef SH_FLUSH
    *valid = nwords >= (uint32_t)(min_tokens > 0 ? min_tokens : 1);
    if (!*valid)
        return 0;
    uint64_t h = 0;
    for (int b = 0; b < 64; b++)
        if (2 * cnt[b] > nfeat)
            h |= 1ULL << b;
    return h;
}

uint64_t wc_dedup_brand_hash(const char *brand, size_t brand_len)
{
    return wc_hash64(brand, brand_len, 0x62726e64ULL);
}

uint64_t wc_dedup_id_hash(const char *brand, size_t brand_len, const char *id, size_t id_len)
{
    char buf[1024];
    if (brand_len + 1 + id_len <= sizeof(buf)) {
        memcpy(buf, brand, brand_len);
        buf[brand_len] = '\0';
        memcpy(buf + brand_len + 1, id, id_len);
        return wc_hash64(buf, brand_len + 1 + id_len, 0);
    }
    /* oversized (beyond the decoder's limits): chain instead of copying */
    return wc_hash64(id, id_len, wc_hash64(brand, brand_len, 0) ^ SALT_ID);
}

uint64_t wc_dedup_text_hash(uint64_t brand_hash, const wc_norm_t *n)
{
    uint64_t h = brand_hash ^ SALT_TEXT;
    uint32_t used = 0;
    for (uint32_t i = skip_rt_prefix(n); i < n->ntok; i++, used++)
        h = wc_hash_u64(h ^ n->tok[i].hash ^ ((uint64_t)n->tok[i].kind << 58));
    return wc_hash_u64(h ^ used);
}

void wc_dedup_key_init(wc_dedup_key_t *k, const wc_mention_t *m, const wc_norm_t *n,
                       int min_tokens)
{
    memset(k, 0, sizeof(*k));
    wc_case_id(m->brand.p, m->brand.len, m->id.p, m->id.len, k->case_id);
    k->brand_hash = wc_dedup_brand_hash(m->brand.p, m->brand.len);
    k->id_hash = wc_dedup_id_hash(m->brand.p, m->brand.len, m->id.p, m->id.len);
    k->text_hash = wc_dedup_text_hash(k->brand_hash, n);
    k->simhash = wc_simhash(n, min_tokens, &k->simhash_valid);
    k->author_hash = wc_hash64(m->author_id.p, m->author_id.len, 0x61757468ULL);
    uint64_t reach = m->author_followers + m->reshares;
    k->reach = reach < m->author_followers ? UINT64_MAX : reach;
}
