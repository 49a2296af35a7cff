/*
 * track.h - per-partition offset tracking for at-least-once delivery.
 *
 * Every consumed input message gets a tracking entry holding a reference
 * count `pending`: 1 for "being processed" plus one per output produced for
 * it (case, update, DLQ record, ...) plus one per other pending side effect
 * (e.g. a window delta not yet flushed to Redis). The input offset may be
 * committed only when every earlier message of the partition has pending ==
 * 0: the contiguous low-water mark. wc_track_advance() moves that mark.
 *
 * Threads: entries are created and scanned by the main (I/O) thread only;
 * `pending` is atomic so workers and delivery reports may hold/release from
 * any thread. Rule: only call wc_track_hold() while you already own a
 * reference (so the count can never go 0 -> 1 behind the scanner's back).
 *
 * Memory: entries live in fixed blocks of WC_TRACK_BLOCK, recycled through a
 * pool; a block is recycled only when the low-water mark has passed all of
 * its entries (all pending == 0, so nobody can still reference it). Total
 * memory is bounded by kafka.max.inflight.
 */
#ifndef WC_TRACK_H
#define WC_TRACK_H

#include "pipeline/common.h"

#include <stdatomic.h>

#define WC_TRACK_BLOCK 1024

typedef struct wc_track_entry {
    _Atomic int32_t pending;
    int32_t partition;
    int64_t offset;
    void *ref;     /* the consumed message while it is being processed (owner: worker) */
    int32_t topic; /* caller's topic index (the tracker is per topic) */
    int64_t t_ns;  /* wc_mono_ns() when consumed (0: not an input, e.g. an alert) */
} wc_track_entry_t;

typedef struct wc_track wc_track_t;
typedef struct wc_ptrack wc_ptrack_t;

/* @locality main */
wc_track_t *wc_track_create(int32_t topic);
void wc_track_destroy(wc_track_t *t);

/* Start tracking partition (on assign). Returns the existing active tracker
 * if already assigned. @locality main */
wc_ptrack_t *wc_track_assign(wc_track_t *t, int32_t partition);
/* Active tracker of a partition or NULL. @locality main */
wc_ptrack_t *wc_track_get(wc_track_t *t, int32_t partition);
/* Stop tracking (on revoke): the tracker is kept until its in-flight
 * entries are done, but never reported for offset store again. @locality main */
void wc_track_revoke(wc_track_t *t, int32_t partition);

/* New entry for the next consumed offset of pt, pending = 1.
 * @locality main */
wc_track_entry_t *wc_ptrack_add(wc_track_t *t, wc_ptrack_t *pt, int64_t offset);

/* @locality any, only while holding a reference (see above) */
static inline void wc_track_hold(wc_track_entry_t *e)
{
    atomic_fetch_add_explicit(&e->pending, 1, memory_order_relaxed);
}

/* @locality any */
static inline void wc_track_release(wc_track_entry_t *e)
{
    atomic_fetch_sub_explicit(&e->pending, 1, memory_order_release);
}

/* Advance every partition's low-water mark. For each active partition whose
 * committable offset moved, cb(partition, next_offset) is called (next_offset
 * = last done offset + 1, i.e. what Kafka expects as committed). Frees
 * drained revoked trackers. Returns the number of entries completed.
 * @locality main */
size_t wc_track_advance(wc_track_t *t, void (*cb)(void *opaque, int32_t partition, int64_t next),
                        void *opaque);

/* Entries in flight (all partitions, incl. revoked ones). @locality main */
uint64_t wc_track_inflight(const wc_track_t *t);
/* Entries in flight of one partition (0 if unknown). @locality main */
uint64_t wc_track_inflight_partition(const wc_track_t *t, int32_t partition);
/* Highest committable next offset of an active partition, or -1. @locality main */
int64_t wc_track_committable(const wc_track_t *t, int32_t partition);

#endif
