/*
 * bench_window.c - window aggregation micro-benchmark: the worker-side
 * event append (strings copied into the buffer) plus the main thread's
 * per-brand payload encoding, in ns per mention, for a realistic flush
 * (4 brands, 16 partitions, 40% angry/question with 1-2 topics).
 *
 *   bench_window [mentions per flush (default 20000)] [rounds (default 50)]
 */
#include "pipeline/common.h"
#include "pipeline/window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 50;
    static const char *brands[] = {"acme-telecom", "bolt-energy", "cosmo-bank", "delta-air"};
    static const char *topics[] = {"outage", "billing", "delivery", "customer_service", "app_website"};
    wc_wbuf_t b;
    wc_wbuf_init(&b);
    wc_wargs_t w;
    wc_wargs_init(&w);
    wc_wref_t *refs = calloc(n, sizeof(*refs));
    uint32_t *brand_of = calloc(n, sizeof(*brand_of));
    if (!refs || !brand_of)
        return 1;
    double t_add = 0, t_enc = 0;
    size_t bytes = 0;
    uint64_t x = 88172645463325252ULL;
    for (int r = 0; r < rounds; r++) {
        wc_wbuf_clear(&b);
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            wc_wev_t *e = wc_wbuf_add(&b);
            char id[32], au[32];
            int il = snprintf(id, sizeof(id), "m-%zu-%d", i, r);
            int al = snprintf(au, sizeof(au), "author-%llu", (unsigned long long)(x % 100000));
            e->type = WC_WEV_MENTION;
            e->cls = (uint8_t)(x % 10 < 3 ? 2 : x % 10 < 4 ? 3 : x % 10 < 7 ? 1 : 0);
            e->partition = (int32_t)(x % 16);
            e->offset = (int64_t)i;
            e->ts_ms = 1795400000000LL + (int64_t)i * 10;
            const char *br = brands[(x >> 8) % 4];
            e->brand = wc_wbuf_str(&b, br, strlen(br));
            brand_of[i] = (uint32_t)((x >> 8) % 4);
            e->mid = wc_wbuf_str(&b, id, (size_t)il);
            e->author = wc_wbuf_str(&b, au, (size_t)al);
            e->cid = wc_wbuf_str(&b, "c-0123456789abcdef0123456789abcdef", 34);
            e->ntopics = (uint8_t)(1 + (x >> 16) % 2);
            for (int t = 0; t < e->ntopics; t++) {
                const char *tp = topics[(x >> (20 + 3 * t)) % 5];
                e->topics[t] = wc_wbuf_str(&b, tp, strlen(tp));
            }
            e->phrases[0] = wc_wbuf_str(&b, "storing", 7);
            e->nphrases = 1;
        }
        double t1 = now_s();
        for (uint32_t br = 0; br < 4; br++) {
            size_t k = 0;
            for (uint32_t i = 0; i < n; i++)
                if (brand_of[i] == br)
                    refs[k++] = (wc_wref_t){&b, i};
            wc_window_encode(refs, k, &w);
            bytes += w.len;
        }
        t_enc += now_s() - t1;
        t_add += t1 - t0;
    }
    double per = (double)n * rounds;
    printf("window aggregation: append %.1f ns/mention, encode %.1f ns/mention, payload %.1f B/mention "
           "(%zu mentions per flush, %d rounds)\n",
           t_add / per * 1e9, t_enc / per * 1e9, (double)bytes / per, n, rounds);
    printf("{\"bench\":\"window\",\"append_ns\":%.1f,\"encode_ns\":%.1f,\"payload_bytes\":%.1f}\n",
           t_add / per * 1e9, t_enc / per * 1e9, (double)bytes / per);
    free(refs);
    free(brand_of);
    wc_wargs_deinit(&w);
    wc_wbuf_free(&b);
    return 0;
}
