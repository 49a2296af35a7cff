/*
 * track.c - offset tracking (design in track.h).
 *
 * Active trackers are indexed by partition number in a growable array
 * (one input topic per daemon). Revoked trackers move to a zombie list until
 * their last in-flight entry completes; a re-assigned partition gets a fresh
 * tracker, so late completions of the old assignment can never move the new
 * assignment's committed offset.
 */
#include "daemon/track.h"

#include <stdlib.h>
#include <string.h>

typedef struct wc_track_block {
    struct wc_track_block *next;
    wc_track_entry_t e[WC_TRACK_BLOCK];
} wc_track_block_t;

struct wc_ptrack {
    int32_t partition;
    bool revoked;
    wc_track_block_t *head_blk, *tail_blk;
    uint32_t head_idx; /* next entry to complete in head_blk */
    uint32_t tail_idx; /* next free entry in tail_blk */
    uint64_t inflight;
    int64_t next_offset;     /* last completed offset + 1, -1 if none yet */
    int64_t reported_offset; /* last next_offset passed to the callback */
    struct wc_ptrack *next_zombie;
};

struct wc_track {
    int32_t topic;
    wc_ptrack_t **active;
    int32_t nactive;
    wc_ptrack_t *zombies;
    wc_track_block_t *pool;
    uint64_t inflight;
};

wc_track_t *wc_track_create(int32_t topic)
{
    wc_track_t *t = calloc(1, sizeof(wc_track_t));
    if (t)
        t->topic = topic;
    return t;
}

static void ptrack_free(wc_track_t *t, wc_ptrack_t *pt)
{
    wc_track_block_t *b = pt->head_blk;
    while (b) {
        wc_track_block_t *n = b->next;
        b->next = t->pool;
        t->pool = b;
        b = n;
    }
    free(pt);
}

void wc_track_destroy(wc_track_t *t)
{
    if (!t)
        return;
    for (int32_t i = 0; i < t->nactive; i++)
        if (t->active[i])
            ptrack_free(t, t->active[i]);
    while (t->zombies) {
        wc_ptrack_t *z = t->zombies;
        t->zombies = z->next_zombie;
        ptrack_free(t, z);
    }
    while (t->pool) {
        wc_track_block_t *b = t->pool;
        t->pool = b->next;
        free(b);
    }
    free(t->active);
    free(t);
}

wc_ptrack_t *wc_track_get(wc_track_t *t, int32_t partition)
{
    if (partition < 0 || partition >= t->nactive)
        return NULL;
    return t->active[partition];
}

wc_ptrack_t *wc_track_assign(wc_track_t *t, int32_t partition)
{
    if (partition < 0)
        return NULL;
    if (partition >= t->nactive) {
        int32_t n = t->nactive ? t->nactive : 16;
        while (n <= partition)
            n *= 2;
        wc_ptrack_t **a = realloc(t->active, (size_t)n * sizeof(*a));
        if (!a)
            return NULL;
        memset(a + t->nactive, 0, (size_t)(n - t->nactive) * sizeof(*a));
        t->active = a;
        t->nactive = n;
    }
    if (t->active[partition])
        return t->active[partition];
    wc_ptrack_t *pt = calloc(1, sizeof(*pt));
    if (!pt)
        return NULL;
    pt->partition = partition;
    pt->next_offset = -1;
    pt->reported_offset = -1;
    t->active[partition] = pt;
    return pt;
}

void wc_track_revoke(wc_track_t *t, int32_t partition)
{
    wc_ptrack_t *pt = wc_track_get(t, partition);
    if (!pt)
        return;
    t->active[partition] = NULL;
    if (!pt->inflight) {
        ptrack_free(t, pt);
        return;
    }
    pt->revoked = true;
    pt->next_zombie = t->zombies;
    t->zombies = pt;
}

static wc_track_block_t *block_get(wc_track_t *t)
{
    wc_track_block_t *b = t->pool;
    if (b) {
        t->pool = b->next;
    } else {
        b = malloc(sizeof(*b));
        if (!b)
            return NULL;
    }
    b->next = NULL;
    return b;
}

wc_track_entry_t *wc_ptrack_add(wc_track_t *t, wc_ptrack_t *pt, int64_t offset)
{
    if (!pt->tail_blk || pt->tail_idx == WC_TRACK_BLOCK) {
        wc_track_block_t *b = block_get(t);
        if (!b)
            return NULL;
        if (pt->tail_blk)
            pt->tail_blk->next = b;
        else
            pt->head_blk = b;
        pt->tail_blk = b;
        pt->tail_idx = 0;
        if (pt->head_blk == b)
            pt->head_idx = 0;
    }
    wc_track_entry_t *e = &pt->tail_blk->e[pt->tail_idx++];
    atomic_store_explicit(&e->pending, 1, memory_order_relaxed);
    e->partition = pt->partition;
    e->offset = offset;
    e->topic = t->topic;
    e->t_ns = 0;
    pt->inflight++;
    t->inflight++;
    return e;
}

/* Complete as many head entries as possible. Returns the count. */
static size_t ptrack_advance(wc_track_t *t, wc_ptrack_t *pt)
{
    size_t done = 0;
    while (pt->inflight) {
        wc_track_entry_t *e = &pt->head_blk->e[pt->head_idx];
        if (atomic_load_explicit(&e->pending, memory_order_acquire) != 0)
            break;
        pt->next_offset = e->offset + 1;
        pt->inflight--;
        t->inflight--;
        done++;
        if (++pt->head_idx == WC_TRACK_BLOCK) {
            wc_track_block_t *b = pt->head_blk;
            /* The tail block is kept while it is also the head: new entries
             * go there (tail_idx == WC_TRACK_BLOCK forces a fresh block). */
            if (b->next) {
                pt->head_blk = b->next;
                pt->head_idx = 0;
                b->next = t->pool;
                t->pool = b;
            }
        }
    }
    if (!pt->inflight && pt->head_blk) {
        /* Fully drained: recycle everything, start fresh. */
        wc_track_block_t *b = pt->head_blk;
        while (b) {
            wc_track_block_t *n = b->next;
            b->next = t->pool;
            t->pool = b;
            b = n;
        }
        pt->head_blk = pt->tail_blk = NULL;
        pt->head_idx = pt->tail_idx = 0;
    }
    return done;
}

size_t wc_track_advance(wc_track_t *t, void (*cb)(void *opaque, int32_t partition, int64_t next),
                        void *opaque)
{
    size_t done = 0;
    for (int32_t i = 0; i < t->nactive; i++) {
        wc_ptrack_t *pt = t->active[i];
        if (!pt)
            continue;
        done += ptrack_advance(t, pt);
        if (pt->next_offset > pt->reported_offset) {
            pt->reported_offset = pt->next_offset;
            if (cb)
                cb(opaque, pt->partition, pt->next_offset);
        }
    }
    wc_ptrack_t **zp = &t->zombies;
    while (*zp) {
        wc_ptrack_t *z = *zp;
        done += ptrack_advance(t, z);
        if (!z->inflight) {
            *zp = z->next_zombie;
            ptrack_free(t, z);
        } else {
            zp = &z->next_zombie;
        }
    }
    return done;
}

uint64_t wc_track_inflight(const wc_track_t *t)
{
    return t->inflight;
}

uint64_t wc_track_inflight_partition(const wc_track_t *t, int32_t partition)
{
    uint64_t n = 0;
    if (partition >= 0 && partition < t->nactive && t->active[partition])
        n += t->active[partition]->inflight;
    for (const wc_ptrack_t *z = t->zombies; z; z = z->next_zombie)
        if (z->partition == partition)
            n += z->inflight;
    return n;
}

int64_t wc_track_committable(const wc_track_t *t, int32_t partition)
{
    if (partition < 0 || partition >= t->nactive || !t->active[partition])
        return -1;
    return t->active[partition]->next_offset;
}
