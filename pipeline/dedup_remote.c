/*
 * dedup_remote.c - cross-instance exact-duplicate claims in Redis (see
 * dedup_remote.h for the contract).
 *
 * DATA: one hash per time bucket, shared by all brands
 *     wc:dd:{dd}:<floor(now / window)>
 *         field <16 hex id hash><8 hex brand hash> = "<partition>:<offset>"
 *         field "_" = sentinel: the bucket exists and has its TTL
 *   The {dd} hash tag puts the buckets in one Redis Cluster slot, so one
 *   script call may touch the current and the previous bucket. A claim is
 *   looked up in both and written to the current one; a bucket expires 2
 *   windows + 60 s after it was created (TTL set once, with its sentinel),
 *   so a claim is remembered for at least one window and at most about
 *   two (no per-field TTL, no cleanup job, memory bounded by the traffic
 *   of two windows).
 *
 * COMMANDS: one EVALSHA per worker batch (all brands; parts of at most
 *   CLAIM_PART ids), and inside it a fixed number of Redis commands
 *   whatever the number of ids: HMGET current bucket, HMGET previous
 *   bucket (ids not found), HSET of the new claims, PEXPIRE once per
 *   bucket. At a batch of 256 mentions: about 4 commands per 256 mentions
 *   (0.016 per mention, counted by Redis including the script's calls).
 *   The script answers per id 0 new / 1 owned (same partition:offset: our
 *   replay) / 2 exists; ids of one call are claimed in order, atomically.
 *   NOSCRIPT (script cache flushed, failover to a replica that never saw
 *   it) reloads the script and retries the batch once; a retry is harmless
 *   because a repeated claim with the same owner answers "owned".
 *
 * FAILURE: synchronous hiredis with a connect timeout and a command
 *   timeout (redisSetTimeout). Any error drops the connection; the next
 *   call reconnects, but not before a backoff (250 ms doubling to 5 s) so
 *   a dead Redis costs one failed connect per backoff period, not one per
 *   batch. The caller fails open (keeps its local result).
 *
 * @locality one worker thread per object; no shared state.
 */
#include "pipeline/dedup_remote.h"
#include "pipeline/hash.h"
#include "pipeline/resp_guard.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* KEYS[1] current bucket, KEYS[2] previous; ARGV[1] ttl ms, then pairs
 * (field, owner). Redis commands per call, whatever the number of ids: one
 * HMGET of the current bucket (with the sentinel field "_" that tells
 * whether the bucket exists, i.e. needs its TTL), one HMGET of the
 * previous bucket for the ids not found, one HSET of the new claims and,
 * once per bucket, one PEXPIRE. */
static const char claim_script[] =
    "local ttl = tonumber(ARGV[1])\n"
    "local n = (#ARGV - 1) / 2\n"
    "local f = {'_'}\n"
    "for i = 1, n do f[i + 1] = ARGV[2 * i] end\n"
    "local cur = redis.call('HMGET', KEYS[1], unpack(f))\n"
    "local miss, mi = {}, {}\n"
    "for i = 1, n do\n"
    "  if not cur[i + 1] then miss[#miss + 1] = f[i + 1]; mi[#mi + 1] = i end\n"
    "end\n"
    "local have = {}\n"
    "for i = 1, n do if cur[i + 1] then have[f[i + 1]] = cur[i + 1] end end\n"
    "if #miss > 0 then\n"
    "  local prev = redis.call('HMGET', KEYS[2], unpack(miss))\n"
    "  for j = 1, #miss do if prev[j] then have[miss[j]] = prev[j] end end\n"
    "end\n"
    "local out, set = {}, {}\n"
    "for i = 1, n do\n"
    "  local id, owner = f[i + 1], ARGV[2 * i + 1]\n"
    "  local c = have[id]\n"
    "  if not c then\n"
    "    have[id] = owner\n"
    "    set[#set + 1] = id; set[#set + 1] = owner\n"
    "    out[i] = 0\n"
    "  elseif c == owner then\n"
    "    out[i] = 1\n"
    "  else\n"
    "    out[i] = 2\n"
    "  end\n"
    "end\n"
    "if #set > 0 then\n"
    "  if not cur[1] then set[#set + 1] = '_'; set[#set + 1] = '1' end\n"
    "  redis.call('HSET', KEYS[1], unpack(set))\n"
    "  if not cur[1] then redis.call('PEXPIRE', KEYS[1], ttl) end\n"
    "end\n"
    "return out\n";

#define KEY_MAX 128
#define OWNER_MAX 32
#define FIELD_LEN 24     /* 16 hex id hash + 8 hex brand hash */
#define CLAIM_PART 1024  /* claims per EVALSHA (Lua unpack() stays small) */

struct wc_dedup_remote {
    char *host;
    int port;
    char *password;
    int timeout_ms;
    int64_t window_ms;
    redisContext *c;
    char sha[41];
    int64_t retry_at_ms; /* monotonic: no reconnect before */
    int backoff_ms;
    wc_dedup_remote_stats_t st;
    /* per-call scratch, grown as needed */
    size_t cap;
    char (*field)[FIELD_LEN + 1];
    char (*owner)[OWNER_MAX];
    const char **argv;
    size_t *argvlen;
};

static int64_t mono_ms(void)
{
    return wc_mono_ns() / 1000000;
}

wc_dedup_remote_t *wc_dedup_remote_create(const char *addr, const char *password, int timeout_ms,
                                          int64_t window_ms, char *errstr, size_t errstr_size)
{
    wc_dedup_remote_t *r = NULL;
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == addr || !end || *end || port <= 0 || port > 65535) {
        wc_errstr_set(errstr, errstr_size, "dedup remote: bad redis address \"%s\"",
                      addr ? addr : "");
        return NULL;
    }
    if (timeout_ms <= 0 || window_ms <= 0) {
        wc_errstr_set(errstr, errstr_size, "dedup remote: timeout and window must be positive");
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (!r)
        goto nomem;
    r->host = strndup(addr, (size_t)(colon - addr));
    r->password = password && *password ? strdup(password) : NULL;
    if (!r->host || (password && *password && !r->password))
        goto nomem;
    r->port = (int)port;
    r->timeout_ms = timeout_ms;
    r->window_ms = window_ms;
    r->backoff_ms = 250;
    return r;
nomem:
    wc_errstr_set(errstr, errstr_size, "dedup remote: out of memory");
    wc_dedup_remote_destroy(r);
    return NULL;
}

void wc_dedup_remote_destroy(wc_dedup_remote_t *r)
{
    if (!r)
        return;
    if (r->c)
        redisFree(r->c);
    free(r->host);
    free(r->password);
    free(r->field);
    free(r->owner);
    free(r->argv);
    free(r->argvlen);
    free(r);
}

void wc_dedup_remote_stats(const wc_dedup_remote_t *r, wc_dedup_remote_stats_t *st)
{
    *st = r->st;
}

size_t wc_dedup_remote_key(const wc_dedup_remote_t *r, const char *brand, size_t brand_len,
                           int64_t now_ms, int prev, char *out, size_t out_size)
{
    (void)brand;
    (void)brand_len;
    long long bucket = (long long)(now_ms / r->window_ms) - (prev ? 1 : 0);
    int n = snprintf(out, out_size, "wc:dd:{dd}:%lld", bucket);
    return n < 0 ? 0 : WC_MIN((size_t)n, out_size - 1);
}

static void drop_conn(wc_dedup_remote_t *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    r->retry_at_ms = mono_ms() + r->backoff_ms;
    r->backoff_ms = WC_MIN(r->backoff_ms * 2, 5000);
}

static int reply_err(wc_dedup_remote_t *r, char *errstr, size_t errstr_size, const char *what)
{
    int rc = WC_ERR_IO;
    if (r->c && r->c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
        rc = WC_ERR_TIMEOUT;
    wc_errstr_set(errstr, errstr_size, "%s: %s", what,
                  r->c && r->c->err ? r->c->errstr : "unexpected reply");
    drop_conn(r);
    return rc;
}

/* Run a simple command; returns the reply or NULL (connection dropped). */
static redisReply *simple(wc_dedup_remote_t *r, int argc, const char **argv, const size_t *len)
{
    return redisCommandArgv(r->c, argc, argv, len);
}

static int script_load(wc_dedup_remote_t *r, char *errstr, size_t errstr_size)
{
    const char *argv[] = {"SCRIPT", "LOAD", claim_script};
    size_t len[] = {6, 4, sizeof(claim_script) - 1};
    redisReply *rep = simple(r, 3, argv, len);
    if (!rep)
        return reply_err(r, errstr, errstr_size, "SCRIPT LOAD");
    int rc = 0;
    if (rep->type == REDIS_REPLY_STRING && rep->len == 40) {
        memcpy(r->sha, rep->str, 40);
        r->sha[40] = '\0';
    } else {
        wc_errstr_set(errstr, errstr_size, "SCRIPT LOAD: %s",
                      rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        rc = WC_ERR_PARSE;
    }
    freeReplyObject(rep);
    if (rc)
        drop_conn(r);
    return rc;
}

static int connect_redis(wc_dedup_remote_t *r, char *errstr, size_t errstr_size)
{
    if (mono_ms() < r->retry_at_ms) {
        wc_errstr_set(errstr, errstr_size, "redis %s:%d down (reconnect backoff)", r->host,
                      r->port);
        return WC_ERR_UNAVAIL;
    }
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    r->c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->c || r->c->err) {
        wc_errstr_set(errstr, errstr_size, "connect %s:%d: %s", r->host, r->port,
                      r->c ? r->c->errstr : "out of memory");
        drop_conn(r);
        return WC_ERR_UNAVAIL;
    }
    redisSetTimeout(r->c, tv);
    wc_resp_guard(r->c->reader);
    if (r->password) {
        const char *argv[] = {"AUTH", r->password};
        size_t len[] = {4, strlen(r->password)};
        redisReply *rep = simple(r, 2, argv, len);
        if (!rep)
            return reply_err(r, errstr, errstr_size, "AUTH");
        bool ok = rep->type != REDIS_REPLY_ERROR;
        freeReplyObject(rep);
        if (!ok) {
            wc_errstr_set(errstr, errstr_size, "AUTH rejected");
            drop_conn(r);
            return WC_ERR_UNAVAIL;
        }
    }
    int rc = script_load(r, errstr, errstr_size);
    if (rc)
        return rc;
    r->backoff_ms = 250;
    return 0;
}

static int grow(wc_dedup_remote_t *r, size_t n)
{
    if (n <= r->cap)
        return 0;
    size_t cap = WC_MAX(n, 256);
    size_t av_n = WC_MIN(cap, CLAIM_PART) * 2 + 8;
    char(*fl)[FIELD_LEN + 1] = realloc(r->field, cap * sizeof(*fl));
    if (fl)
        r->field = fl;
    char(*ow)[OWNER_MAX] = realloc(r->owner, cap * sizeof(*ow));
    if (ow)
        r->owner = ow;
    const char **av = realloc(r->argv, av_n * sizeof(*av));
    if (av)
        r->argv = av;
    size_t *al = realloc(r->argvlen, av_n * sizeof(*al));
    if (al)
        r->argvlen = al;
    if (!fl || !ow || !av || !al)
        return WC_ERR_NOMEM;
    r->cap = cap;
    return 0;
}

/* Send one EVALSHA per part of at most CLAIM_PART claims (pipelined), read
 * the answers. Returns 0, 1 if a NOSCRIPT reply was seen (nothing else
 * wrong), or an error. */
static int claim_once(wc_dedup_remote_t *r, wc_dedup_claim_t *c, size_t n, int64_t now_ms,
                      char *errstr, size_t errstr_size)
{
    char keys[2][KEY_MAX], ttl[24];
    int noscript = 0;
    size_t nparts = (n + CLAIM_PART - 1) / CLAIM_PART;
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(2 * r->window_ms + 60000));
    for (size_t g = 0; g < nparts; g++) {
        size_t lo = g * CLAIM_PART, hi = WC_MIN(n, lo + CLAIM_PART);
        int a = 0;
        r->argv[a] = "EVALSHA", r->argvlen[a++] = 7;
        r->argv[a] = r->sha, r->argvlen[a++] = 40;
        r->argv[a] = "2", r->argvlen[a++] = 1;
        for (int k = 0; k < 2; k++) {
            r->argvlen[a] = wc_dedup_remote_key(r, NULL, 0, now_ms, k, keys[k], sizeof(keys[k]));
            r->argv[a++] = keys[k];
        }
        r->argv[a] = ttl, r->argvlen[a++] = strlen(ttl);
        for (size_t i = lo; i < hi; i++) {
            r->argv[a] = r->field[i], r->argvlen[a++] = FIELD_LEN;
            r->argv[a] = r->owner[i], r->argvlen[a++] = strlen(r->owner[i]);
        }
        /* keys are copied into hiredis' output buffer here */
        if (redisAppendCommandArgv(r->c, a, r->argv, r->argvlen) != REDIS_OK)
            return reply_err(r, errstr, errstr_size, "EVALSHA");
        r->st.commands++;
    }
    int rc = 0;
    for (size_t g = 0; g < nparts; g++) {
        size_t lo = g * CLAIM_PART, hi = WC_MIN(n, lo + CLAIM_PART);
        redisReply *rep = NULL;
        if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep)
            return reply_err(r, errstr, errstr_size, "EVALSHA");
        if (rep->type == REDIS_REPLY_ERROR) {
            if (!strncmp(rep->str, "NOSCRIPT", 8)) {
                noscript = 1;
            } else if (!rc) {
                wc_errstr_set(errstr, errstr_size, "EVALSHA: %.200s", rep->str);
                rc = WC_ERR_PARSE;
            }
            freeReplyObject(rep);
            continue;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != hi - lo) {
            if (!rc) {
                wc_errstr_set(errstr, errstr_size, "EVALSHA: unexpected reply");
                rc = WC_ERR_PARSE;
            }
            freeReplyObject(rep);
            continue;
        }
        for (size_t i = lo; i < hi; i++) {
            const redisReply *x = rep->element[i - lo];
            long long v = x->type == REDIS_REPLY_INTEGER ? x->integer : -1;
            if (v < 0 || v > 2) {
                if (!rc) {
                    wc_errstr_set(errstr, errstr_size, "EVALSHA: unexpected element");
                    rc = WC_ERR_PARSE;
                }
                v = WC_DEDUP_CLAIM_NEW;
            }
            c[i].state = (wc_dedup_claim_state_t)v;
        }
        freeReplyObject(rep);
    }
    if (rc)
        return rc;
    return noscript;
}

int wc_dedup_remote_claim(wc_dedup_remote_t *r, wc_dedup_claim_t *c, size_t n, int64_t now_ms,
                          char *errstr, size_t errstr_size)
{
    char dummy[8];
    int rc;
    if (!errstr) {
        errstr = dummy;
        errstr_size = sizeof(dummy);
    }
    if (n == 0)
        return 0;
    if (grow(r, n)) {
        wc_errstr_set(errstr, errstr_size, "out of memory");
        r->st.errors++;
        return WC_ERR_NOMEM;
    }
    /* field = id hash + brand hash (claims of all brands share the bucket);
     * the brand hash is computed once per run of equal brands */
    const char *pb = NULL;
    size_t pbl = 0;
    uint32_t bh = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pb || pbl != c[i].brand_len || memcmp(pb, c[i].brand, pbl)) {
            pb = c[i].brand;
            pbl = c[i].brand_len;
            bh = (uint32_t)wc_hash64(pb, pbl, 0x62726e64ULL);
        }
        snprintf(r->field[i], sizeof(r->field[i]), "%016llx%08x", (unsigned long long)c[i].id_hash,
                 (unsigned)bh);
        snprintf(r->owner[i], sizeof(r->owner[i]), "%d:%lld", c[i].partition,
                 (long long)c[i].offset);
    }
    if (!r->c && (rc = connect_redis(r, errstr, errstr_size)) != 0) {
        r->st.errors++;
        return rc;
    }
    for (int attempt = 0;; attempt++) {
        rc = claim_once(r, c, n, now_ms, errstr, errstr_size);
        if (rc == 1 && attempt == 0) {
            if ((rc = script_load(r, errstr, errstr_size)) != 0)
                break;
            continue;
        }
        if (rc == 1) {
            wc_errstr_set(errstr, errstr_size, "NOSCRIPT after SCRIPT LOAD");
            rc = WC_ERR_PARSE;
        }
        break;
    }
    if (rc) {
        r->st.errors++;
        return rc;
    }
    r->st.claims += n;
    return 0;
}
