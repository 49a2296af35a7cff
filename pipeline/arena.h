/*
 * arena.h - bump allocator for per-batch parse results (STYLE 12).
 *
 * Allocation is a pointer bump inside the current chunk; a new chunk is
 * malloc'ed when the current one is exhausted. wc_arena_reset() keeps the
 * first chunk and frees the rest, so a steady-state worker does no malloc.
 * Not thread-safe: one arena per worker (or per call site).
 */
#ifndef WC_ARENA_H
#define WC_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct wc_arena_chunk {
    struct wc_arena_chunk *next;
    size_t size;
    size_t used;
    char data[];
} wc_arena_chunk_t;

typedef struct wc_arena {
    wc_arena_chunk_t *head; /* current chunk (newest) */
    wc_arena_chunk_t *first;
    size_t chunk_size;
} wc_arena_t;

void wc_arena_init(wc_arena_t *a, size_t chunk_size);
void wc_arena_deinit(wc_arena_t *a);
void wc_arena_reset(wc_arena_t *a);
/* Slow path: allocate a new chunk. Returns NULL on OOM. */
void *wc_arena_alloc_slow(wc_arena_t *a, size_t n);

/* 8-byte aligned allocation; NULL on OOM. */
static inline void *wc_arena_alloc(wc_arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    wc_arena_chunk_t *c = a->head;
    if (c && c->size - c->used >= n) {
        void *p = c->data + c->used;
        c->used += n;
        return p;
    }
    return wc_arena_alloc_slow(a, n);
}

static inline char *wc_arena_strndup(wc_arena_t *a, const char *s, size_t n)
{
    char *p = (char *)wc_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

#endif
