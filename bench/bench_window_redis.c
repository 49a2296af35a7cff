/*
 * bench_window_redis.c - Redis side of the windows: what one mention costs
 * redis-server in the Functions library daemon/lua/webcared.lua (issue 6).
 *
 * Generates bench-like window events (the class mix of bench/firehose.c:
 * 35 % angry, 30 % question, 15 % happy, 20 % neutral; 5 % retweets folded
 * onto a recent case; a quarter of the traffic from 1 % of 200,000 authors;
 * 0.5 % influencers; responses to 3 % of the cases), encodes them per brand
 * with the daemon's encoder (pipeline/window.c) and sends FCALL wc_apply
 * exactly as daemon/windows.c does, then reports the FCALL CPU time per
 * mention from INFO commandstats. Instruction counts: run it against a
 * redis-server under callgrind (bench/bench_window_redis.sh).
 *
 *   bench_window_redis [-p port] [-l lib.lua] [-f flushes] [-n mentions per
 *                      flush and brand] [-b brands] [-s seed] [-w warm-up
 *                      flushes] [-t ms of event time per mention]
 *                      [-o replies file] [-q]
 *
 * Without -p it starts its own redis-server (no persistence) on a free
 * port and stops it at the end. -l loads another library file than the
 * compiled-in one. -o writes every alert (key, kind, json) and the final
 * wc_stats of each brand, one per line, for differential runs of two
 * libraries (bench/bench_window_redis.sh --compare). -t 50 (default 0.2,
 * ~5,000 mentions/s per brand) lets a short run cover hours of event time,
 * so clusters open and resolve; -q = small cluster thresholds.
 *
 * Differential runs against the library before the "w2" payload (JSON,
 * commit 6ed5d14 and earlier): build this file with -DWCB_PAYLOAD_JSON
 * against that commit's pipeline/window.c (bench_window_redis.sh says how).
 */
#include "pipeline/common.h"
#include "pipeline/jsonw.h"
#include "pipeline/window.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const char wc_lua_lib[];
extern const size_t wc_lua_lib_len;

#define NPART 8
#define NAUTHORS 200000
#define RECENT 4096

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static uint32_t rnd(uint32_t n)
{
    return (uint32_t)(rnd64() % n);
}

static uint64_t followers_of(uint32_t a)
{
    uint64_t h = (a + 1) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    if ((h >> 8) % 1000 < 5)
        return 40000 + (h >> 20) % 2000000;
    unsigned bits = (unsigned)((h >> 24) % 15);
    return 10 + ((h >> 32) & ((1ULL << bits) - 1));
}

typedef struct brand_st {
    char name[32];
    int64_t off[2][NPART];
    char recent[RECENT][24]; /* recent case ids (ring) */
    uint8_t recent_cls[RECENT];
    uint64_t nrecent;
    uint64_t ncase;
} brand_st_t;

static redisContext *rc;

static redisReply *cmd(int argc, const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(rc, argc, argv, lens);
    if (!r) {
        fprintf(stderr, "bench_window_redis: redis: %s\n", rc->errstr);
        exit(1);
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_window_redis: redis error: %s\n", r->str);
        exit(1);
    }
    return r;
}

/* FCALL time from INFO commandstats (command execution only, not the
 * reading and parsing of its arguments) */
static double fcall_usec(void)
{
    redisReply *r = redisCommand(rc, "INFO commandstats");
    double us = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "cmdstat_fcall:");
        if (p && (p = strstr(p, "usec=")))
            us = strtod(p + 5, NULL);
    }
    freeReplyObject(r);
    return us;
}

/* redis-server CPU time in us (INFO cpu: user + system, all threads) */
static double cpu_usec(void)
{
    redisReply *r = redisCommand(rc, "INFO cpu");
    double s = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "used_cpu_sys:");
        if (p)
            s += strtod(p + 13, NULL);
        if ((p = strstr(r->str, "used_cpu_user:")))
            s += strtod(p + 14, NULL);
    }
    freeReplyObject(r);
    return s * 1e6;
}

static pid_t start_redis(int *port)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        int p = 20000 + (int)(((unsigned)getpid() * 7919u + (unsigned)attempt * 104729u) % 30000u);
        char ps[16];
        snprintf(ps, sizeof(ps), "%d", p);
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM); /* no stray server if we crash */
            if (!freopen("/dev/null", "w", stdout))
                _exit(127);
            execlp("redis-server", "redis-server", "--port", ps, "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 200; i++) { /* up to 10 s */
            struct timeval tv = {1, 0};
            redisContext *c = redisConnectWithTimeout("127.0.0.1", p, tv);
            if (c && !c->err) {
                redisFree(c);
                *port = p;
                return pid;
            }
            redisFree(c);
            if (waitpid(pid, NULL, WNOHANG) == pid)
                break; /* port taken: next one */
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

int main(int argc, char **argv)
{
    int port = 0, flushes = 20, per = 1000, nbrands = 2, warm = 3, quick = 0;
    double tstep = 0.2;
    const char *lib = NULL, *outp = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "p:l:f:n:b:s:w:t:o:q")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'l': lib = optarg; break;
        case 'f': flushes = atoi(optarg); break;
        case 'n': per = atoi(optarg); break;
        case 'b': nbrands = atoi(optarg); break;
        case 's': rng = strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ULL | 1; break;
        case 'w': warm = atoi(optarg); break;
        case 't': tstep = strtod(optarg, NULL); break;
        case 'o': outp = optarg; break;
        case 'q': quick = 1; break;
        default:
            fprintf(stderr, "usage: see bench/bench_window_redis.c\n");
            return 2;
        }
    }
    if (nbrands < 1 || nbrands > 16 || per < 1 || flushes < 1)
        return 2;
    pid_t rpid = 0;
    if (!port && (rpid = start_redis(&port)) <= 0) {
        fprintf(stderr, "bench_window_redis: cannot start redis-server\n");
        return 1;
    }
    struct timeval tv = {600, 0};
    rc = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!rc || rc->err) {
        fprintf(stderr, "bench_window_redis: cannot connect to port %d\n", port);
        return 1;
    }
    /* the library */
    char *code = NULL;
    size_t codelen = 0;
    if (lib) {
        FILE *f = fopen(lib, "rb");
        if (!f || fseek(f, 0, SEEK_END) || (codelen = (size_t)ftell(f), fseek(f, 0, SEEK_SET)) ||
            !(code = malloc(codelen + 1)) || fread(code, 1, codelen, f) != codelen) {
            fprintf(stderr, "bench_window_redis: cannot read %s\n", lib);
            return 1;
        }
        fclose(f);
    }
    {
        const char *a[] = {"FUNCTION", "LOAD", "REPLACE", lib ? code : wc_lua_lib};
        size_t l[] = {8, 4, 7, lib ? codelen : wc_lua_lib_len};
        freeReplyObject(cmd(4, a, l));
        const char *fl[] = {"FLUSHALL"};
        freeReplyObject(cmd(1, fl, NULL));
    }
    char cfg[1024];
    /* the daemon's defaults (daemon/config.c); -q: small clusters, no warm-up */
    snprintf(cfg, sizeof(cfg),
             "{\"cw\":%d,\"cb\":%d,\"ck\":4,\"cfloor\":1,\"cmin\":%d,\"ckres\":2,"
             "\"cwarm\":%d,\"ccool\":%d,\"esc_ttl\":604800000,\"author_ttl\":1209600000,"
             "\"case_ttl\":604800000,\"inf_f\":10000,\"amp_r\":%d,\"rep_w\":86400000,\"rep_n\":3,"
             "\"ret_w\":604800000,\"fu_w\":%d,\"sla_risk\":300000}",
             quick ? 120000 : 600000, quick ? 3600000 : 86400000, quick ? 5 : 20, quick ? 0 : 1800000,
             quick ? 300000 : 1800000, quick ? 3 : 20, quick ? 600000 : 259200000);

    static const char *topics[] = {"outage", "billing", "delivery", "customer_service", "app_website"};
    static const char *phrases[] = {"storing", "outage", "factuur", "te laat", "wachten", "waardeloos"};
    brand_st_t *br = calloc((size_t)nbrands, sizeof(*br));
    wc_wbuf_t *buf = calloc((size_t)nbrands, sizeof(*buf));
    wc_wref_t *refs = calloc((size_t)per * 2 + 16, sizeof(*refs));
    FILE *out = outp ? fopen(outp, "w") : NULL;
    if (!br || !buf || !refs || (outp && !out))
        return 1;
    for (int b = 0; b < nbrands; b++) {
        snprintf(br[b].name, sizeof(br[b].name), "brand-%d", b);
        wc_wbuf_init(&buf[b]);
    }
#ifdef WCB_PAYLOAD_JSON
    wc_jsonw_t wa;
    wc_jsonw_init(&wa, 1 << 16);
#else
    wc_wargs_t wa;
    wc_wargs_init(&wa);
    /* FCALL arguments: at most 10 per event and ~(6 + 4) per cluster entry */
    const char **argv_ = calloc((size_t)per * 20 + 4096, sizeof(*argv_));
    size_t *argl_ = calloc((size_t)per * 20 + 4096, sizeof(*argl_));
    if (!argv_ || !argl_)
        return 1;
#endif
    int64_t t0 = 1763900000000LL; /* event time */
    double tclock = (double)t0;
    uint64_t mentions = 0, calls = 0, alerts = 0, midn = 0;
    double us0 = 0, cpu0 = 0;
    for (int fl = 0; fl < warm + flushes; fl++) {
        if (fl == warm) {
            us0 = fcall_usec();
            cpu0 = cpu_usec();
            mentions = calls = 0;
        }
        for (int b = 0; b < nbrands; b++) {
            brand_st_t *s = &br[b];
            wc_wbuf_t *wb = &buf[b];
            wc_wbuf_clear(wb);
            for (int k = 0; k < per; k++) {
                tclock += tstep;
                int64_t ts = (int64_t)tclock;
                wc_wev_t *e = wc_wbuf_add(wb);
                int part = (int)rnd(NPART);
                e->partition = part;
                e->ts_ms = ts;
                e->brand = wc_wbuf_str(wb, s->name, strlen(s->name));
                char tmp[64];
                /* a response to a recent case (3 % of the cases) */
                if (s->nrecent > 16 && rnd(100) < 2) {
                    uint64_t r = s->nrecent - 1 - rnd((uint32_t)(s->nrecent < RECENT ? s->nrecent : RECENT));
                    const char *cid = s->recent[r % RECENT];
                    e->type = WC_WEV_RESPONSE;
                    e->input = 1;
                    e->offset = s->off[1][part]++;
                    e->cid = wc_wbuf_str(wb, cid, strlen(cid));
                    int n = snprintf(tmp, sizeof(tmp), "agent%u", rnd(40));
                    e->agent = wc_wbuf_str(wb, tmp, (size_t)n);
                    e->resolved = rnd(2);
                    continue;
                }
                e->type = WC_WEV_MENTION;
                e->offset = s->off[0][part]++;
                uint32_t a = rnd(4) == 0 ? rnd(NAUTHORS / 100) : rnd(NAUTHORS);
                int n = snprintf(tmp, sizeof(tmp), "u%u", a);
                e->author = wc_wbuf_str(wb, tmp, (size_t)n);
                n = snprintf(tmp, sizeof(tmp), "17%017" PRIu64, ++midn);
                e->mid = wc_wbuf_str(wb, tmp, (size_t)n);
                e->followers = followers_of(a);
                e->reshares = rnd(100) < 3 ? rnd(60) : rnd(3);
                uint32_t r = rnd(100);
                e->cls = r < 35 ? 2 : r < 65 ? 3 : r < 80 ? 0 : 1;
                if (s->nrecent > 16 && rnd(100) < 5) {
                    /* retweet of a recent case: its class, folded onto it */
                    uint64_t q = s->nrecent - 1 - rnd((uint32_t)(s->nrecent < RECENT ? s->nrecent : RECENT));
                    const char *cid = s->recent[q % RECENT];
                    e->dup = 1;
                    e->cls = s->recent_cls[q % RECENT];
                    e->dup_of = wc_wbuf_str(wb, cid, strlen(cid));
                    e->cid = e->dup_of;
                } else {
                    n = snprintf(tmp, sizeof(tmp), "c%d-%016" PRIx64, b, (uint64_t)(++s->ncase * 0x9e3779b1ULL));
                    e->cid = wc_wbuf_str(wb, tmp, (size_t)n);
                    if (e->cls == 2 || e->cls == 3) {
                        memcpy(s->recent[s->nrecent % RECENT], tmp, (size_t)n + 1);
                        s->recent_cls[s->nrecent % RECENT] = e->cls;
                        s->nrecent++;
                    }
                }
                if (e->cls == 2 || e->cls == 3) {
                    e->due_ms = ts + (e->cls == 2 ? 3600000 : 14400000);
                    int nt = e->cls == 2 ? 1 + (int)rnd(2) : (int)rnd(2);
                    for (int t = 0; t < nt; t++) {
                        /* -q: topic 0 only in bursts (every 8th flush), so
                         * clusters open, grow and resolve */
                        const char *tp = !quick ? topics[rnd(5)]
                                         : fl % 8 == 4 && rnd(3) ? topics[0] : topics[1 + rnd(4)];
                        e->topics[e->ntopics++] = wc_wbuf_str(wb, tp, strlen(tp));
                    }
                    int np = (int)rnd(3);
                    for (int p = 0; p < np; p++) {
                        const char *ph = phrases[rnd(6)];
                        e->phrases[e->nphrases++] = wc_wbuf_str(wb, ph, strlen(ph));
                    }
                }
                mentions++;
            }
            if (wb->oom)
                return 1;
            for (size_t k = 0; k < wb->n; k++)
                refs[k] = (wc_wref_t){.b = wb, .i = (uint32_t)k};
            if (wc_window_encode(refs, wb->n, &wa))
                return 1;
            char key[64], wall[32];
            snprintf(key, sizeof(key), "wc:{%s}", s->name);
            snprintf(wall, sizeof(wall), "%" PRId64, (int64_t)tclock + 5000);
#ifdef WCB_PAYLOAD_JSON
            const char *a[] = {"FCALL", "wc_apply", "1", key, wall, cfg, wa.buf, s->name};
            size_t l[] = {5, 8, 1, strlen(key), strlen(wall), strlen(cfg), wa.len, strlen(s->name)};
            redisReply *r = cmd(8, a, l);
#else
            /* as daemon/windows.c: fixed arguments, then the payload's */
            const char *fixed[] = {"FCALL", "wc_apply", "1", key, wall, cfg, "w2", s->name};
            for (int k = 0; k < 8; k++) {
                argv_[k] = fixed[k];
                argl_[k] = strlen(fixed[k]);
            }
            for (size_t k = 0; k < wa.n; k++)
                argv_[8 + k] = wc_wargs_get(&wa, k, &argl_[8 + k]);
            redisReply *r = cmd((int)(8 + wa.n), argv_, argl_);
#endif
            calls++;
            if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || strcmp(r->element[0]->str, "ok")) {
                fprintf(stderr, "bench_window_redis: unexpected reply\n");
                return 1;
            }
            for (size_t k = 2; k + 2 < r->elements; k += 3) {
                alerts++;
                if (out)
                    fprintf(out, "%s\t%s\t%s\n", r->element[k]->str, r->element[k + 1]->str,
                            r->element[k + 2]->str);
            }
            if (r->elements > 2) {
                /* acknowledge, as the daemon does after the delivery report */
                size_t na = (r->elements - 2) / 3;
                const char **aa = calloc(na + 4, sizeof(*aa));
                if (!aa)
                    return 1;
                aa[0] = "FCALL";
                aa[1] = "wc_ack";
                aa[2] = "1";
                aa[3] = key;
                for (size_t k = 0; k < na; k++)
                    aa[4 + k] = r->element[2 + 3 * k]->str;
                freeReplyObject(cmd((int)(4 + na), aa, NULL));
                free(aa);
            }
            freeReplyObject(r);
        }
    }
    double us = fcall_usec() - us0, cpu = cpu_usec() - cpu0;
    if (out) {
        for (int b = 0; b < nbrands; b++) {
            char key[64];
            snprintf(key, sizeof(key), "wc:{%s}", br[b].name);
            const char *a[] = {"FCALL", "wc_stats", "1", key, "0", br[b].name};
            redisReply *r = cmd(6, a, NULL);
            fprintf(out, "stats\t%s\t%s\n", br[b].name, r->type == REDIS_REPLY_STRING ? r->str : "?");
            freeReplyObject(r);
        }
        fclose(out);
    }
    printf("bench_window_redis: %d brands, %" PRIu64 " FCALL wc_apply of %d mentions (+%d warm-up flushes), "
           "%" PRIu64 " mentions measured, %" PRIu64 " alerts in all\n",
           nbrands, calls, per, warm, mentions, alerts);
    printf("bench_window_redis: redis-server CPU %.2f us per mention (INFO cpu; FCALL execution %.2f us "
           "per mention, %.0f us per call, INFO commandstats)\n",
           mentions ? cpu / (double)mentions : 0, mentions ? us / (double)mentions : 0,
           calls ? us / (double)calls : 0);
#ifdef WCB_PAYLOAD_JSON
    wc_jsonw_deinit(&wa);
#else
    wc_wargs_deinit(&wa);
    free(argv_);
    free(argl_);
#endif
    for (int b = 0; b < nbrands; b++)
        wc_wbuf_free(&buf[b]);
    free(br);
    free(buf);
    free(refs);
    free(code);
    redisFree(rc);
    if (rpid > 0) {
        kill(rpid, SIGTERM);
        waitpid(rpid, NULL, 0);
    }
    return 0;
}
