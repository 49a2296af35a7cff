/*
 * ring.c - allocation for wc_ring_t (the protocol is in ring.h).
 */
#include "pipeline/ring.h"

#include <stdlib.h>

int wc_ring_init(wc_ring_t *r, size_t cap)
{
    size_t c = 2;
    while (c < cap)
        c <<= 1;
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    r->head_cache = r->tail_cache = 0;
    r->mask = c - 1;
    r->slots = calloc(c, sizeof(void *));
    return r->slots ? 0 : WC_ERR_NOMEM;
}

void wc_ring_deinit(wc_ring_t *r)
{
    free(r->slots);
    r->slots = NULL;
}
