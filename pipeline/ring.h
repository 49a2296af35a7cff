/*
 * ring.h - bounded single-producer/single-consumer ring of pointer-sized
 * jobs, used to hand work between the I/O thread and each worker in batches.
 *
 * Design
 *   - Capacity is a power of two; head/tail are free-running 64-bit
 *     counters (no wrap handling needed), each on its own cache line.
 *   - The producer owns `tail`, the consumer owns `head`. Each side keeps a
 *     private cached copy of the other side's index and only re-reads the
 *     shared one (acquire) when the cache says "full" / "empty", so in steady
 *     state a batch push or pop touches one shared cache line once.
 *   - Publication: the producer writes the slots, then stores tail with
 *     release; the consumer loads tail with acquire before reading slots,
 *     and stores head with release after reading them, which the producer
 *     acquires before overwriting. That is the whole protocol: no CAS, no
 *     locks, wait-free on both sides.
 *   - Batch API only (push_n / pop_n): the thread hand-off is ~65 µs in this
 *     VM (facts.md), so per-message hand-off is never what you want.
 *   - Sleeping consumers: the ring itself never blocks; see the worker's
 *     wake-up protocol (daemon/worker.c) built on top of it.
 *
 * Invariants: 0 <= tail - head <= cap; only the producer thread calls
 * push_n/free_space, only the consumer thread calls pop_n/size_consumer.
 */
#ifndef WC_RING_H
#define WC_RING_H

#include "pipeline/common.h"

#include <stdatomic.h>

typedef struct wc_ring {
    /* producer side */
    _Alignas(WC_CACHELINE) _Atomic uint64_t tail;
    uint64_t head_cache;
    /* consumer side */
    _Alignas(WC_CACHELINE) _Atomic uint64_t head;
    uint64_t tail_cache;
    /* constant */
    _Alignas(WC_CACHELINE) uint64_t mask;
    void **slots;
} wc_ring_t;

/* cap is rounded up to a power of two (>= 2). @locality any, before sharing */
int wc_ring_init(wc_ring_t *r, size_t cap);
void wc_ring_deinit(wc_ring_t *r);

static inline size_t wc_ring_capacity(const wc_ring_t *r)
{
    return (size_t)r->mask + 1;
}

/* Push up to n items; returns how many were pushed (0..n). @locality producer */
static inline size_t wc_ring_push_n(wc_ring_t *r, void *const *items, size_t n)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t cap = r->mask + 1;
    if (tail - r->head_cache + n > cap) {
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        size_t free_slots = (size_t)(cap - (tail - r->head_cache));
        if (n > free_slots)
            n = free_slots;
    }
    for (size_t i = 0; i < n; i++)
        r->slots[(tail + i) & r->mask] = items[i];
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

/* Free slots as seen by the producer (exact after the acquire). @locality producer */
static inline size_t wc_ring_free_space(wc_ring_t *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    return (size_t)(r->mask + 1 - (tail - r->head_cache));
}

/* Pop up to max items; returns how many were popped. @locality consumer */
static inline size_t wc_ring_pop_n(wc_ring_t *r, void **out, size_t max)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (r->tail_cache - head < max)
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t avail = (size_t)(r->tail_cache - head);
    if (max > avail)
        max = avail;
    for (size_t i = 0; i < max; i++)
        out[i] = r->slots[(head + i) & r->mask];
    if (max)
        atomic_store_explicit(&r->head, head + max, memory_order_release);
    return max;
}

/* True if the ring looks empty to the consumer after re-reading tail
 * (seq_cst, for the sleep/wake protocol). @locality consumer */
static inline bool wc_ring_empty_consumer(wc_ring_t *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_seq_cst);
    return r->tail_cache == head;
}

#endif
