/*
 * arena.c - chunk management for wc_arena_t (see arena.h).
 */
#include "pipeline/arena.h"

void wc_arena_init(wc_arena_t *a, size_t chunk_size)
{
    a->head = a->first = NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
}

void wc_arena_deinit(wc_arena_t *a)
{
    wc_arena_chunk_t *c = a->head;
    while (c) {
        wc_arena_chunk_t *n = c->next;
        free(c);
        c = n;
    }
    a->head = a->first = NULL;
}

void wc_arena_reset(wc_arena_t *a)
{
    wc_arena_chunk_t *c = a->head;
    while (c && c != a->first) {
        wc_arena_chunk_t *n = c->next;
        free(c);
        c = n;
    }
    a->head = a->first;
    if (a->first)
        a->first->used = 0;
}

void *wc_arena_alloc_slow(wc_arena_t *a, size_t n)
{
    size_t sz = n > a->chunk_size ? n : a->chunk_size;
    wc_arena_chunk_t *c = malloc(sizeof(*c) + sz);
    if (!c)
        return NULL;
    c->size = sz;
    c->used = n;
    c->next = a->head;
    a->head = c;
    if (!a->first)
        a->first = c;
    return c->data;
}
