/*
 * bench_dedup_insn.c - instructions per dedup check, for callgrind.
 *
 * On the shared 2-core machine wall-clock figures move with the other
 * developers' load; instruction counts do not. This driver warms one table
 * to steady state (--laps times its capacity in mentions: full, recycling)
 * with bench_dedup's stream (70% first sightings, 20% exact redeliveries,
 * 10% near-copies), then checks --n mentions of one kind in
 * measured_loop(), batched: --api batch (default) calls wc_dedup_check_batch
 * for 256 mentions at a time (what the worker should do), --api check
 * calls wc_dedup_prefetch for mention i+4 and wc_dedup_check for i (what
 * the worker did before the batch API; the "before" figures in DEDUP.md):
 *   mixed  the same stream
 *   new    first sightings only
 *   exact  redeliveries of the most recent mentions (read-only path)
 * Count only measured_loop and divide by --n:
 *
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=measured_loop \
 *       --callgrind-out-file=/dev/null bench/bench_dedup_insn --mode new
 *
 * Without valgrind it prints the results per kind and lookups/s (one
 * thread; use bench_dedup for throughput figures). Defaults: capacity
 * 2^16 (the per-entry layout and bucket load are those of the 2^19 default,
 * the run stays short under callgrind), --laps 6, --n 50000.
 *
 *   bench_dedup_insn [--mode mixed|new|exact|all] [--api batch|check] [--capacity C]
 *                    [--laps L] [--n N]
 */
#include "pipeline/dedup.h"
#include "tests/unit/test_dedup_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

enum { MODE_MIXED, MODE_NEW, MODE_EXACT };

static bool g_batch_api = true;

static void check_all(wc_dedup_t *d, const wc_dedup_key_t *k, size_t n, int64_t t,
                      unsigned *count)
{
    wc_dedup_result_t res;
    if (g_batch_api) {
        enum { B = 256 };
        const wc_dedup_key_t *kp[B];
        wc_dedup_result_t rs[B], *rp[B];
        for (size_t i = 0; i < n; i += B) {
            size_t m = WC_MIN((size_t)B, n - i);
            for (size_t j = 0; j < m; j++) {
                kp[j] = &k[i + j];
                rp[j] = &rs[j];
            }
            wc_dedup_check_batch(d, kp, rp, m, t + (int64_t)(i / 1000));
            for (size_t j = 0; j < m; j++)
                count[rs[j].kind]++;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i + 4 < n)
            wc_dedup_prefetch(d, &k[i + 4]);
        wc_dedup_check(d, &k[i], t + (int64_t)(i / 1000), &res);
        count[res.kind]++;
    }
}

/* the only function callgrind should count (--toggle-collect) */
__attribute__((noinline)) void measured_loop(wc_dedup_t *d, const wc_dedup_key_t *k, size_t n,
                                             int64_t t, unsigned *count);
__attribute__((noinline)) void measured_loop(wc_dedup_t *d, const wc_dedup_key_t *k, size_t n,
                                             int64_t t, unsigned *count)
{
    check_all(d, k, n, t, count);
}

static int run(int mode, uint32_t capacity, size_t laps, size_t n)
{
    wc_dedup_config_t c;
    char err[256];
    wc_dedup_config_default(&c);
    c.capacity = capacity;
    wc_dedup_t *d = wc_dedup_create(&c, err, sizeof(err));
    if (!d) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t warm = laps * capacity;
    wc_dedup_key_t *k = malloc(WC_MAX(warm, n) * sizeof(*k));
    if (!k) {
        wc_dedup_destroy(d);
        return 1;
    }
    unsigned cw[4] = {0}, cm[4] = {0};
    tdu_stream_keys(k, warm, 1, 0, false);
    check_all(d, k, warm, T0, cw);
    if (mode == MODE_EXACT) {
        memmove(k, k + (warm - WC_MIN(n, warm)), WC_MIN(n, warm) * sizeof(*k));
        n = WC_MIN(n, warm);
        for (size_t i = 0; i < n; i++)
            k[i].offset += 2000000000;
    } else {
        tdu_stream_keys(k, n, 1, warm, mode == MODE_NEW);
    }
    int64_t t0 = wc_mono_ns();
    measured_loop(d, k, n, T0 + (int64_t)(warm / 1000), cm);
    int64_t ns = WC_MAX(wc_mono_ns() - t0, 1);
    static const char *names[] = {"mixed", "new", "exact"};
    printf("%-5s capacity %u, warm %zu laps, api %s: %zu checks: new %u, replay %u, exact %u, "
           "near %u; %.2f M checks/s (1 thread)\n",
           names[mode], capacity, laps, g_batch_api ? "batch" : "check", n, cm[0], cm[1], cm[2], cm[3],
           (double)n / ((double)ns / 1e9) / 1e6);
    free(k);
    wc_dedup_destroy(d);
    return 0;
}

int main(int argc, char **argv)
{
    int mode = -1;
    unsigned long capacity = 1u << 16;
    size_t laps = 6, n = 50000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            const char *m = argv[++i];
            mode = !strcmp(m, "mixed") ? MODE_MIXED
                   : !strcmp(m, "new") ? MODE_NEW
                   : !strcmp(m, "exact") ? MODE_EXACT
                   : !strcmp(m, "all") ? -1
                                       : -2;
        } else if (!strcmp(argv[i], "--api") && i + 1 < argc) {
            const char *a = argv[++i];
            if (!strcmp(a, "batch") || !strcmp(a, "check"))
                g_batch_api = !strcmp(a, "batch");
            else
                mode = -2;
        } else if (!strcmp(argv[i], "--capacity") && i + 1 < argc) {
            capacity = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--laps") && i + 1 < argc) {
            laps = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--n") && i + 1 < argc) {
            n = strtoull(argv[++i], NULL, 10);
        } else {
            mode = -2;
        }
    }
    if (mode < -1 || capacity < WC_DEDUP_CAPACITY_MIN || capacity > (1u << 24) || laps < 1 ||
        laps > 64 || n < 100 || n > 100000000) {
        fprintf(stderr,
                "usage: %s [--mode mixed|new|exact|all] [--api batch|check] [--capacity C] "
                "[--laps L] [--n N]\n",
                argv[0]);
        return 2;
    }
    for (int m = MODE_MIXED; m <= MODE_EXACT; m++)
        if ((mode < 0 || mode == m) && run(m, (uint32_t)capacity, laps, n))
            return 1;
    return 0;
}
