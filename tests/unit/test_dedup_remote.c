/*
 * test_dedup_remote.c - Redis claims of the dedup stage against a
 * throwaway redis-server (started here on a free port; the test is skipped
 * with a message if /usr/bin/redis-server is missing): new / owned /
 * exists, one command per batch whatever its brands, a fixed number of
 * Redis commands per call (INFO commandstats), bucket TTL and the
 * previous-bucket lookup, same id hash in different brands, NOSCRIPT reload, fail-open errors (refused
 * connection with backoff, command timeout on a frozen server).
 */
#include "pipeline/dedup_remote.h"
#include "wc_test.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REDIS_BIN "/usr/bin/redis-server"
#define WINDOW 60000LL
#define NOW (1700000000000LL / WINDOW * WINDOW + 1000)

static pid_t g_redis = -1;
static int g_port;
static char g_addr[64];

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
        getsockname(fd, (struct sockaddr *)&a, &l)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static redisContext *admin(void)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", g_port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static bool start_redis(void)
{
    if (access(REDIS_BIN, X_OK))
        return false;
    g_port = free_port();
    snprintf(g_addr, sizeof(g_addr), "127.0.0.1:%d", g_port);
    char port[16];
    snprintf(port, sizeof(port), "%d", g_port);
    g_redis = fork();
    if (g_redis == 0) {
        execl(REDIS_BIN, REDIS_BIN, "--port", port, "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no", "--logfile", "/dev/null", "--protected-mode", "no",
              (char *)NULL);
        _exit(127);
    }
    /* bounded poll for PING (no fixed sleep) */
    for (int i = 0; i < 500; i++) {
        redisContext *c = admin();
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            bool ok = r && r->type == REDIS_REPLY_STATUS;
            if (r)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return true;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void stop_redis(void)
{
    if (g_redis > 0) {
        kill(g_redis, SIGCONT);
        kill(g_redis, SIGKILL);
        waitpid(g_redis, NULL, 0);
        g_redis = -1;
    }
}

static void claim3(wc_dedup_claim_t *c, int64_t off)
{
    c[0] = (wc_dedup_claim_t){.brand = "acme", .brand_len = 4, .id_hash = 1, .partition = 2, .offset = off};
    c[1] = (wc_dedup_claim_t){.brand = "bolt-energy", .brand_len = 11, .id_hash = 2, .partition = 2,
                              .offset = off + 1};
    c[2] = (wc_dedup_claim_t){.brand = "acme", .brand_len = 4, .id_hash = 3, .partition = 3, .offset = off};
}

WC_TEST(dedup_remote_keys)
{
    char err[128], key[128];
    WC_CHECK(wc_dedup_remote_create("nocolon", NULL, 100, WINDOW, err, sizeof(err)) == NULL);
    WC_CHECK(wc_dedup_remote_create("h:0", NULL, 100, WINDOW, err, sizeof(err)) == NULL);
    wc_dedup_remote_t *r = wc_dedup_remote_create("127.0.0.1:1", "", 100, WINDOW, err, sizeof(err));
    WC_CHECK(r != NULL);
    wc_dedup_remote_key(r, "acme", 4, NOW, 0, key, sizeof(key));
    char want[64];
    snprintf(want, sizeof(want), "wc:dd:{dd}:%lld", NOW / WINDOW);
    WC_CHECK_STR(key, want);
    wc_dedup_remote_key(r, "ac}me{", 6, NOW, 1, key, sizeof(key));
    snprintf(want, sizeof(want), "wc:dd:{dd}:%lld", NOW / WINDOW - 1);
    WC_CHECK_STR(key, want);
    wc_dedup_remote_destroy(r);
}

WC_TEST(dedup_remote_claims)
{
    if (!start_redis()) {
        fprintf(stderr, "SKIP: no %s (or it did not start)\n", REDIS_BIN);
        stop_redis();
        return;
    }
    char err[256];
    wc_dedup_remote_t *r = wc_dedup_remote_create(g_addr, NULL, 500, WINDOW, err, sizeof(err));
    WC_CHECK(r != NULL);
    wc_dedup_claim_t c[3];
    wc_dedup_remote_stats_t st;

    claim3(c, 100);
    WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, c, 3, NOW, err, sizeof(err)), 0);
    for (int i = 0; i < 3; i++)
        WC_CHECK_EQ_INT(c[i].state, WC_DEDUP_CLAIM_NEW);
    wc_dedup_remote_stats(r, &st);
    WC_CHECK_EQ_INT(st.commands, 1); /* one per batch, whatever its brands */
    WC_CHECK_EQ_INT(st.claims, 3);

    /* same owners: our replay; other owners: someone else's */
    claim3(c, 100);
    c[2].offset = 999;
    WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, c, 3, NOW + 10, err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(c[0].state, WC_DEDUP_CLAIM_OWNED);
    WC_CHECK_EQ_INT(c[1].state, WC_DEDUP_CLAIM_OWNED);
    WC_CHECK_EQ_INT(c[2].state, WC_DEDUP_CLAIM_EXISTS);

    /* the bucket key expires (at most ~2 windows); 3 claims + the sentinel */
    redisContext *a = admin();
    WC_CHECK(a != NULL);
    if (a) {
        char key[128];
        wc_dedup_remote_key(r, "acme", 4, NOW, 0, key, sizeof(key));
        redisReply *x = redisCommand(a, "PTTL %s", key);
        WC_CHECK(x && x->type == REDIS_REPLY_INTEGER && x->integer > 0 &&
                 x->integer <= 2 * WINDOW + 60000);
        freeReplyObject(x);
        x = redisCommand(a, "HLEN %s", key);
        WC_CHECK(x && x->type == REDIS_REPLY_INTEGER && x->integer == 4);
        freeReplyObject(x);
        /* script cache lost (restart, failover): reloaded transparently */
        x = redisCommand(a, "SCRIPT FLUSH");
        freeReplyObject(x);
    }
    claim3(c, 500);
    WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, c, 3, NOW + 20, err, sizeof(err)), 0);
    for (int i = 0; i < 3; i++)
        WC_CHECK_EQ_INT(c[i].state, WC_DEDUP_CLAIM_EXISTS);

    /* a claim is found for at least one window: in the next bucket through
     * the previous-bucket lookup; two buckets later it is forgotten (a
     * hit does not extend it: the window runs from the first sighting) */
    claim3(c, 700);
    WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, c, 3, NOW + WINDOW, err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(c[0].state, WC_DEDUP_CLAIM_EXISTS);
    WC_CHECK_EQ_INT(c[1].state, WC_DEDUP_CLAIM_EXISTS);
    claim3(c, 800);
    WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, c, 1, NOW + 2 * WINDOW, err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(c[0].state, WC_DEDUP_CLAIM_NEW);
    c[0].offset = 801; /* and that new claim holds */
    WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, c, 1, NOW + 2 * WINDOW, err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(c[0].state, WC_DEDUP_CLAIM_EXISTS);

    /* 300 brands with the same id hash: distinct claims; more than one
     * part (1024 claims) per call: split, all answered; Redis runs a fixed
     * number of commands per EVALSHA (INFO commandstats), not per id */
    {
        enum { NB = 300, NBIG = 2500 };
        static wc_dedup_claim_t many[NBIG];
        static char names[NB][16];
        if (a) {
            redisReply *x = redisCommand(a, "CONFIG RESETSTAT");
            freeReplyObject(x);
        }
        wc_dedup_remote_stats(r, &st);
        uint64_t cmds0 = st.commands;
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < NB; i++) {
                snprintf(names[i], sizeof(names[i]), "brand%d", i);
                many[i] = (wc_dedup_claim_t){.brand = names[i], .brand_len = strlen(names[i]),
                                             .id_hash = 7, .partition = 0, .offset = i};
            }
            WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, many, NB, NOW, err, sizeof(err)), 0);
            int bad = 0;
            for (int i = 0; i < NB; i++)
                bad += many[i].state != (pass ? WC_DEDUP_CLAIM_OWNED : WC_DEDUP_CLAIM_NEW);
            WC_CHECK_EQ_INT(bad, 0);
        }
        wc_dedup_remote_stats(r, &st);
        WC_CHECK_EQ_INT(st.commands - cmds0, 2);
        /* 2500 ids, one of them twice in the same call (the second delivery
         * finds the first one's claim) */
        for (int i = 0; i < NBIG; i++)
            many[i] = (wc_dedup_claim_t){.brand = "big", .brand_len = 3, .id_hash = 1000 + i,
                                         .partition = 1, .offset = i};
        many[NBIG - 1].id_hash = 1000 + 5;
        WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, many, NBIG, NOW, err, sizeof(err)), 0);
        int bad = 0;
        for (int i = 0; i < NBIG - 1; i++)
            bad += many[i].state != WC_DEDUP_CLAIM_NEW;
        WC_CHECK_EQ_INT(bad, 0);
        WC_CHECK_EQ_INT(many[NBIG - 1].state, WC_DEDUP_CLAIM_EXISTS);
        wc_dedup_remote_stats(r, &st);
        WC_CHECK_EQ_INT(st.commands - cmds0, 2 + 3);
        if (a) {
            redisReply *x = redisCommand(a, "INFO commandstats");
            WC_CHECK(x && x->type == REDIS_REPLY_STRING);
            if (x && x->type != REDIS_REPLY_STRING) {
                freeReplyObject(x);
                x = NULL;
            }
            long long inner = 0;
            const char *names_[] = {"cmdstat_hmget:calls=", "cmdstat_hset:calls=",
                                    "cmdstat_pexpire:calls=", "cmdstat_hget:calls="};
            for (size_t k = 0; x && k < WC_ARRAY_SIZE(names_); k++) {
                const char *p = strstr(x->str, names_[k]);
                if (p)
                    inner += atoll(p + strlen(names_[k]));
            }
            freeReplyObject(x);
            /* 5 calls: at most 2 HMGET + 1 HSET each (no PEXPIRE: bucket exists) */
            WC_CHECK(inner > 0 && inner <= 5 * 3);
        }
    }

    /* a frozen server: the command times out (fail open), then recovers */
    kill(g_redis, SIGSTOP);
    claim3(c, 900);
    int64_t t0 = wc_mono_ns();
    int rc = wc_dedup_remote_claim(r, c, 3, NOW, err, sizeof(err));
    int64_t ms = (wc_mono_ns() - t0) / 1000000;
    WC_CHECK(rc == WC_ERR_TIMEOUT || rc == WC_ERR_IO);
    WC_CHECK(ms >= 400 && ms < 10000); /* 500 ms timeout; generous bound for loaded CI */
    kill(g_redis, SIGCONT);
    /* within the backoff: refused at once, no connect attempt */
    WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, c, 3, NOW, err, sizeof(err)), WC_ERR_UNAVAIL);
    for (int i = 0; i < 1000; i++) { /* bounded (10 s): backoff is 500 ms here */
        rc = wc_dedup_remote_claim(r, c, 3, NOW, err, sizeof(err));
        if (rc != WC_ERR_UNAVAIL)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    WC_CHECK_EQ_INT(rc, 0);
    wc_dedup_remote_stats(r, &st);
    WC_CHECK(st.errors >= 2);
    wc_dedup_remote_destroy(r);
    if (a)
        redisFree(a);

    /* nothing listening: connect refused, WC_ERR_UNAVAIL, no hang */
    stop_redis();
    r = wc_dedup_remote_create(g_addr, NULL, 500, WINDOW, err, sizeof(err));
    claim3(c, 1);
    WC_CHECK_EQ_INT(wc_dedup_remote_claim(r, c, 3, NOW, err, sizeof(err)), WC_ERR_UNAVAIL);
    WC_CHECK(strstr(err, "connect") != NULL);
    wc_dedup_remote_destroy(r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = wc_test_run_all();
    stop_redis();
    return rc;
}
