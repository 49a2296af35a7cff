/*
 * resp_guard.c - hiredis reply functions with a bound on array length (see
 * resp_guard.h).
 *
 * hiredis keeps its default reply functions static; redisReaderCreate()
 * points a reader at them, so one throwaway reader gives us their
 * addresses. Only createArray is wrapped; strings are allocated by hiredis
 * only once their bytes have arrived, so they are bounded by the input.
 */
#include "pipeline/resp_guard.h"
#include "pipeline/log.h"

#include <hiredis/hiredis.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static redisReplyObjectFunctions hiredis_fns, guarded_fns;
static pthread_once_t fns_once = PTHREAD_ONCE_INIT;
static atomic_ulong refused;

static void *guarded_create_array(const redisReadTask *task, int elements)
{
    if (elements < 0 || elements > WC_RESP_MAX_ELEMENTS) {
        /* Once per connection at most (the reader stops at the error), and
         * connections come back only after the clients' reconnect backoff. */
        atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed);
        wc_warn("redis", "reply array of %d elements (limit %d): protocol error, dropping "
                "the connection", elements, WC_RESP_MAX_ELEMENTS);
        return NULL;
    }
    return hiredis_fns.createArray(task, elements);
}

static void fns_init(void)
{
    redisReader *r = redisReaderCreate();
    if (!r)
        abort(); /* at start-up, before any connection: nothing to degrade to */
    hiredis_fns = *r->fn;
    redisReaderFree(r);
    guarded_fns = hiredis_fns;
    guarded_fns.createArray = guarded_create_array;
}

void wc_resp_guard(redisReader *reader)
{
    pthread_once(&fns_once, fns_init);
    reader->fn = &guarded_fns;
}

unsigned long wc_resp_guard_refused(void)
{
    return atomic_load_explicit(&refused, memory_order_relaxed);
}
