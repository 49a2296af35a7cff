/*
 * test_ring.c - SPSC ring: single-thread semantics and a two-thread stress
 * test (run under TSan in CI: every item must arrive exactly once, in order).
 */
#include "pipeline/ring.h"
#include "wc_test.h"

#include <pthread.h>

WC_TEST(ring_basic)
{
    wc_ring_t r;
    WC_CHECK_EQ_INT(wc_ring_init(&r, 5), 0);
    WC_CHECK_EQ_INT(wc_ring_capacity(&r), 8);
    void *items[10], *out[10];
    for (uintptr_t i = 0; i < 10; i++)
        items[i] = (void *)(i + 1);
    WC_CHECK_EQ_INT(wc_ring_push_n(&r, items, 10), 8); /* only 8 fit */
    WC_CHECK_EQ_INT(wc_ring_free_space(&r), 0);
    WC_CHECK_EQ_INT(wc_ring_pop_n(&r, out, 3), 3);
    WC_CHECK(out[0] == (void *)1 && out[2] == (void *)3);
    WC_CHECK_EQ_INT(wc_ring_free_space(&r), 3);
    WC_CHECK_EQ_INT(wc_ring_push_n(&r, items + 8, 2), 2);
    WC_CHECK_EQ_INT(wc_ring_pop_n(&r, out, 10), 7);
    WC_CHECK(out[0] == (void *)4 && out[4] == (void *)8 && out[5] == (void *)9 && out[6] == (void *)10);
    WC_CHECK(wc_ring_empty_consumer(&r));
    WC_CHECK_EQ_INT(wc_ring_pop_n(&r, out, 10), 0);
    wc_ring_deinit(&r);
}

#define STRESS_N 2000000

static void *stress_consumer(void *arg)
{
    wc_ring_t *r = arg;
    void *buf[64];
    uintptr_t expect = 1;
    while (expect <= STRESS_N) {
        size_t n = wc_ring_pop_n(r, buf, 1 + (expect % 64));
        for (size_t i = 0; i < n; i++) {
            if ((uintptr_t)buf[i] != expect)
                return (void *)1;
            expect++;
        }
    }
    return NULL;
}

WC_TEST(ring_spsc_stress)
{
    wc_ring_t r;
    pthread_t th;
    void *res = NULL;
    WC_CHECK_EQ_INT(wc_ring_init(&r, 1024), 0);
    pthread_create(&th, NULL, stress_consumer, &r);
    void *batch[100];
    uintptr_t next = 1;
    while (next <= STRESS_N) {
        size_t want = 1 + next % 100;
        if (next + want - 1 > STRESS_N)
            want = STRESS_N - next + 1;
        for (size_t i = 0; i < want; i++)
            batch[i] = (void *)(next + i);
        size_t pushed = wc_ring_push_n(&r, batch, want);
        next += pushed;
    }
    pthread_join(th, &res);
    WC_CHECK(res == NULL);
    wc_ring_deinit(&r);
}

int main(void)
{
    return wc_test_run_all();
}
