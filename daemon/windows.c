/*
 * windows.c - the main loop's side of the Redis windows (issue 5).
 *
 * Data flow
 *   worker  --(per-worker sink, one lock per batch)-->  wc_wbuf_t events
 *   flush timer (main): swap every sink's buffer, group events by brand,
 *     encode one payload per brand (pipeline/window.c) and send
 *     FCALL wc_apply 1 wc:{brand} wall cfg w2 brand <payload arguments>
 *     (daemon/lua/).
 *   reply "ok": produce the returned alerts, release the events' tracking
 *     references (so their input offsets may be committed), done.
 *   reply "split": Redis already applied part of a chunk (replay after a
 *     crash): drop the events at or below the applied offset, send again.
 *   no reply / error: keep everything and send again on the next tick.
 *
 * Exactly-once window counts: an input offset is committed only after
 * Redis applied its window contribution, and Redis applies each (topic,
 * partition) range once (offsets recorded in wc:{brand}:meta inside the
 * same function call). A kill -9 at any point replays uncommitted input;
 * the replayed ranges are skipped or split. One flush is in flight at a
 * time, so ranges of a partition reach Redis in order.
 *
 * Alerts are kept by the Lua code in wc:{brand}:outbox until their delivery
 * report arrives here; they are then acknowledged with FCALL wc_ack. On
 * every (re)connect the outboxes of all brands (registry set wc:brands) are
 * produced again: at-least-once, consumers de-duplicate on alert key.
 *
 * Redis commands: one wc_apply per brand per flush (inside it a fixed
 * number of commands, ~15-20, whatever the number of events), plus one
 * wc_stats per brand per stats interval, plus acks; flushes are paced by
 * the tick, so the commands per mention fall as the rate grows (see
 * docs/WINDOWS.md for the measured ratio).
 *
 * @locality main thread, except the wc_wsink_* functions (workers).
 */
#include "daemon/windows.h"
#include "daemon/app_internal.h"
#include "daemon/redis.h"
#include "pipeline/emit.h"
#include "pipeline/hash.h"
#include "pipeline/hmac.h"
#include "pipeline/log.h"
#include "pipeline/window.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char wc_lua_lib[];
extern const size_t wc_lua_lib_len;

struct wc_wsink {
    pthread_mutex_t mu;
    wc_wbuf_t buf;
    const char *hmac_key;
    size_t hmac_len;
} __attribute__((aligned(64)));

typedef struct brand {
    char *name;           /* owned */
    wc_wref_t *refs;
    size_t n, cap;
    size_t off;           /* refs[0, off) are applied (released) */
    size_t sent_n;        /* refs[off, off + sent_n) are in the call in flight */
    int state;            /* 0 pending, 1 sent, 2 done */
    struct wc_windows *win;
    int64_t sent_ns;      /* wc_mono_ns() when the call was sent */
} brand_t;

typedef struct known {
    char *name;
    struct wc_windows *win;
    int64_t last_apply_ms;
    struct known *next;
    char **acks;          /* delivered alert keys to acknowledge */
    size_t nacks, capacks;
} known_t;

typedef struct alert_out {
    wc_track_entry_t te;  /* topic = WC_TRACK_TOPIC_ALERT */
    wc_windows_t *win;
    char *brand;          /* NULL for stats */
    char *key;            /* outbox key, NULL for stats */
} alert_out_t;

#define KNOWN_BUCKETS 1024
/* Backlog (events) at which the next flush starts at once, not at the tick
 * (a memory bound; below it flushes are paced by the tick: see apply_cb). */
#define WC_WINDOW_EAGER_EVENTS 65536

struct wc_windows {
    wc_app_t *app;
    int nsinks;
    wc_wsink_t *sinks;
    wc_wbuf_t *flushing;  /* nsinks buffers of the flush in progress */
    bool in_flush;
    bool tick_missed;     /* a tick came while a flush was in flight */
    brand_t *brands;
    size_t nbrands, capbrands;
    int outstanding;
    uint64_t pending_events;
    ev_timer timer;
    int lib_state;        /* 0 not loaded, 1 loading, 2 loaded */
    bool up;
    char *cfg_json;
    wc_wargs_t wa;        /* payload of the flush being sent */
    const char **argv;    /* FCALL arguments: fixed part + wa */
    size_t *argvlen, capargv;
    known_t *known[KNOWN_BUCKETS];
    int64_t last_stats_ms;
    rd_kafka_topic_t *rkt_clusters, *rkt_escalations, *rkt_sla, *rkt_stats;
    int64_t last_err_log_ms;
};

/* ------------------------------------------------------------------ */
/* worker side                                                          */

wc_wsink_t *wc_windows_sink(wc_windows_t *win, int index)
{
    return win && index < win->nsinks ? &win->sinks[index] : NULL;
}

void wc_wsink_lock(wc_wsink_t *s)
{
    pthread_mutex_lock(&s->mu);
}

void wc_wsink_unlock(wc_wsink_t *s)
{
    pthread_mutex_unlock(&s->mu);
}

static uint32_t put_author(wc_wsink_t *s, const char *id, size_t len)
{
    if (s->hmac_len) {
        char p[WC_PSEUDONYM_LEN + 1];
        wc_pseudonym(s->hmac_key, s->hmac_len, id, len, p);
        return wc_wbuf_str(&s->buf, p, WC_PSEUDONYM_LEN);
    }
    return wc_wbuf_str(&s->buf, id, len);
}

void wc_wsink_add_mention(wc_wsink_t *s, const wc_mention_t *m, const wc_verdict_t *v,
                          const wc_dedup_result_t *d, const uint64_t own_case_id[2],
                          int32_t partition, int64_t offset, wc_track_entry_t *te)
{
    wc_wbuf_t *b = &s->buf;
    wc_wev_t *e = wc_wbuf_add(b);
    if (!e)
        return; /* OOM: counted by the flusher through b->oom */
    char cid[WC_CASE_ID_LEN + 1];
    e->type = WC_WEV_MENTION;
    e->cls = (uint8_t)v->cls;
    e->input = 0;
    e->partition = partition;
    e->offset = offset;
    e->ts_ms = m->created_at_ms;
    e->due_ms = v->sla_due_ms;
    e->followers = m->author_followers;
    e->reshares = m->reshares;
    e->brand = wc_wbuf_str(b, m->brand.p, m->brand.len);
    e->author = put_author(s, m->author_id.p, m->author_id.len);
    e->mid = wc_wbuf_str(b, m->id.p, m->id.len);
    wc_case_id_format(own_case_id, cid);
    e->cid = wc_wbuf_str(b, cid, WC_CASE_ID_LEN);
    bool dup = d->kind == WC_DEDUP_NEAR ||
               (d->kind == WC_DEDUP_REPLAY && d->first_kind == WC_DEDUP_NEAR);
    if (dup) {
        e->dup = 1;
        wc_case_id_format(d->case_id, cid);
        e->dup_of = wc_wbuf_str(b, cid, WC_CASE_ID_LEN);
    }
    for (int i = 0; i < v->ntopics && e->ntopics < WC_WEV_MAX_TOPICS; i++)
        e->topics[e->ntopics++] = wc_wbuf_str(b, v->topics[i], strlen(v->topics[i]));
    /* Phrases: the matched terms of the class and topic rules that fired
     * ("angry:nl:waardeloos" -> "waardeloos", "topic:outage:storing"). */
    const char *cname = wc_class_name(v->cls);
    size_t cl = strlen(cname);
    for (int i = 0; i < v->nreasons && e->nphrases < WC_WEV_MAX_PHRASES; i++) {
        const char *r = v->reasons[i];
        if (!r)
            continue;
        bool mine = !strncmp(r, cname, cl) && (r[cl] == ':' || r[cl] == '.');
        if (!mine && strncmp(r, "topic:", 6))
            continue;
        const char *ph = strrchr(r, ':');
        if (ph && ph[1])
            e->phrases[e->nphrases++] = wc_wbuf_str(b, ph + 1, strlen(ph + 1));
    }
    wc_track_hold(te);
    e->ref = te;
}

void wc_wsink_add_response(wc_wsink_t *s, const wc_response_t *r, int32_t partition,
                           int64_t offset, wc_track_entry_t *te)
{
    wc_wbuf_t *b = &s->buf;
    wc_wev_t *e = wc_wbuf_add(b);
    if (!e)
        return;
    e->type = WC_WEV_RESPONSE;
    e->input = 1;
    e->partition = partition;
    e->offset = offset;
    e->ts_ms = r->created_at_ms;
    e->resolved = r->resolved;
    e->brand = wc_wbuf_str(b, r->brand, strlen(r->brand));
    e->cid = wc_wbuf_str(b, r->case_id, strlen(r->case_id));
    e->agent = wc_wbuf_str(b, r->agent, strlen(r->agent));
    wc_track_hold(te);
    e->ref = te;
}

/* ------------------------------------------------------------------ */
/* known brands                                                         */

static known_t *known_get(wc_windows_t *win, const char *name, bool *created)
{
    uint64_t h = wc_hash64(name, strlen(name), 0x6b6e6f776eULL);
    known_t **pp = &win->known[h % KNOWN_BUCKETS];
    for (known_t *k = *pp; k; k = k->next)
        if (!strcmp(k->name, name))
            return k;
    known_t *k = calloc(1, sizeof(*k));
    if (!k || !(k->name = strdup(name))) {
        free(k);
        return NULL;
    }
    k->win = win;
    k->next = *pp;
    *pp = k;
    if (created)
        *created = true;
    return k;
}

static void brand_key(const char *brand, char *buf, size_t size)
{
    snprintf(buf, size, "wc:{%s}", brand);
}

/* ------------------------------------------------------------------ */
/* alerts                                                               */

static rd_kafka_topic_t *alert_topic(wc_windows_t *win, const char *kind)
{
    if (!strcmp(kind, "clusters"))
        return win->rkt_clusters;
    if (!strcmp(kind, "escalations"))
        return win->rkt_escalations;
    return win->rkt_sla;
}

/* Redis' cjson encodes an empty Lua table as {}; every field of ours that
 * can be empty is a list, so ":{}" becomes ":[]" (score_parts, the only
 * object-valued field, is never empty). Returns a malloc'd copy or NULL. */
static char *fix_empty_lists(const char *json, size_t len, size_t *outlen)
{
    char *o = malloc(len + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = json[i];
        if (in_str) {
            o[j++] = c;
            if (c == '\\' && i + 1 < len)
                o[j++] = json[++i];
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        if (c == '{' && i + 1 < len && json[i + 1] == '}' && j && o[j - 1] == ':') {
            o[j++] = '[';
            o[j++] = ']';
            i++;
            continue;
        }
        o[j++] = c;
    }
    o[j] = '\0';
    *outlen = j;
    return o;
}

static void produce_alert(wc_windows_t *win, rd_kafka_topic_t *rkt, const char *brand,
                          const char *key, const char *json_in, size_t len_in)
{
    size_t len;
    char *json = fix_empty_lists(json_in, len_in, &len);
    alert_out_t *a = json ? calloc(1, sizeof(*a)) : NULL;
    if (!a) {
        free(json);
        return;
    }
    a->te.topic = WC_TRACK_TOPIC_ALERT;
    a->te.partition = -1;
    a->te.offset = -1;
    a->win = win;
    a->brand = brand ? strdup(brand) : NULL;
    a->key = key ? strdup(key) : NULL;
    /* The Kafka key is the alert id (key up to '#'): all events of one
     * alert land in one partition, in order. */
    const char *k = key ? key : brand;
    size_t klen = k ? strlen(k) : 0;
    const char *hash = key ? strrchr(key, '#') : NULL;
    if (hash)
        klen = (size_t)(hash - key);
    atomic_store(&a->te.pending, 0);
    int rc = wc_output_produce(win->app, rkt, k, klen, json, len, NULL, &a->te);
    free(json);
    if (rc) {
        /* Stays in the Redis outbox: produced again at the next reconnect. */
        wc_warn("window", "cannot produce alert %s: %s", key ? key : "stats", wc_strerror(rc));
        free(a->brand);
        free(a->key);
        free(a);
    }
}

void wc_windows_output_done(wc_app_t *app, wc_track_entry_t *te)
{
    alert_out_t *a = (alert_out_t *)te;
    wc_windows_t *win = a->win;
    if (win && a->brand && a->key) {
        known_t *k = known_get(win, a->brand, NULL);
        if (k) {
            if (k->nacks == k->capacks) {
                size_t cap = k->capacks ? k->capacks * 2 : 16;
                char **p = realloc(k->acks, cap * sizeof(*p));
                if (p) {
                    k->acks = p;
                    k->capacks = cap;
                }
            }
            if (k->nacks < k->capacks) {
                k->acks[k->nacks++] = a->key;
                a->key = NULL;
            }
        }
    }
    (void)app;
    free(a->brand);
    free(a->key);
    free(a);
}

static void ignore_cb(wc_redis_t *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        wc_warn("window", "redis: %s", reply->str);
}

static void send_acks(wc_windows_t *win)
{
    for (int b = 0; b < KNOWN_BUCKETS; b++) {
        for (known_t *k = win->known[b]; k; k = k->next) {
            if (!k->nacks)
                continue;
            size_t argc = 4 + k->nacks;
            const char **argv = calloc(argc, sizeof(*argv));
            size_t *lens = calloc(argc, sizeof(*lens));
            char key[300];
            if (!argv || !lens) {
                free(argv);
                free(lens);
                return;
            }
            brand_key(k->name, key, sizeof(key));
            argv[0] = "FCALL";
            argv[1] = "wc_ack";
            argv[2] = "1";
            argv[3] = key;
            for (size_t i = 0; i < k->nacks; i++)
                argv[4 + i] = k->acks[i];
            for (size_t i = 0; i < argc; i++)
                lens[i] = strlen(argv[i]);
            if (!wc_redis_command_argv(win->app->redis, ignore_cb, NULL, (int)argc, argv, lens)) {
                for (size_t i = 0; i < k->nacks; i++)
                    free(k->acks[i]);
                k->nacks = 0;
            }
            free(argv);
            free(lens);
        }
    }
}

/* ------------------------------------------------------------------ */
/* function library, outbox replay                                      */

static void lib_loaded_cb(wc_redis_t *r, redisReply *reply, void *priv)
{
    wc_windows_t *win = priv;
    (void)r;
    if (reply && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)) {
        win->lib_state = 2;
        wc_info("window", "redis function library webcared loaded");
        return;
    }
    win->lib_state = 0;
    wc_err("window", "FUNCTION LOAD failed: %s (Redis >= 7 is required)",
           reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply");
}

static void lib_load(wc_windows_t *win)
{
    if (win->lib_state == 1)
        return;
    const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", wc_lua_lib};
    size_t lens[] = {8, 4, 7, wc_lua_lib_len};
    if (!wc_redis_command_argv(win->app->redis, lib_loaded_cb, win, 4, argv, lens))
        win->lib_state = 1;
}

typedef struct outbox_req {
    wc_windows_t *win;
    char brand[];
} outbox_req_t;

static void outbox_items_cb(wc_redis_t *r, redisReply *reply, void *priv)
{
    outbox_req_t *q = priv;
    (void)r;
    if (reply && reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            redisReply *k = reply->element[i], *v = reply->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            const char *kind = !strncmp(k->str, "cl:", 3)    ? "clusters"
                               : !strncmp(k->str, "esc:", 4) ? "escalations"
                                                             : "sla";
            produce_alert(q->win, alert_topic(q->win, kind), q->brand, k->str, v->str, v->len);
        }
        if (reply->elements)
            wc_info("window", "re-produced %zu undelivered alert(s) from the outbox",
                    reply->elements / 2);
    }
    free(q);
}

static void brands_cb(wc_redis_t *r, redisReply *reply, void *priv)
{
    wc_windows_t *win = priv;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < reply->elements; i++) {
        redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        outbox_req_t *q = malloc(sizeof(*q) + e->len + 1);
        if (!q)
            return;
        q->win = win;
        memcpy(q->brand, e->str, e->len);
        q->brand[e->len] = '\0';
        char key[300];
        snprintf(key, sizeof(key), "wc:{%s}:outbox", q->brand);
        const char *argv[] = {"HGETALL", key};
        size_t lens[] = {7, strlen(key)};
        if (wc_redis_command_argv(r, outbox_items_cb, q, 2, argv, lens))
            free(q);
    }
}

void wc_windows_redis_state(wc_windows_t *win, int up)
{
    if (!win)
        return;
    bool was_up = win->up;
    win->up = up;
    if (!up) {
        win->lib_state = 0;
        return;
    }
    if (was_up)
        return;
    lib_load(win);
    const char *argv[] = {"SMEMBERS", "wc:brands"};
    size_t lens[] = {8, 9};
    wc_redis_command_argv(win->app->redis, brands_cb, win, 2, argv, lens);
}

/* ------------------------------------------------------------------ */
/* flush                                                                */

static brand_t *flush_brand(wc_windows_t *win, const char *name)
{
    /* Brands per flush are few; linear search with a hash pre-check would
     * be the next step if profiles show it. */
    for (size_t i = 0; i < win->nbrands; i++)
        if (!strcmp(win->brands[i].name, name))
            return &win->brands[i];
    if (win->nbrands == win->capbrands) {
        size_t cap = win->capbrands ? win->capbrands * 2 : 16;
        brand_t *p = realloc(win->brands, cap * sizeof(*p));
        if (!p)
            return NULL;
        win->brands = p;
        win->capbrands = cap;
    }
    brand_t *b = &win->brands[win->nbrands];
    memset(b, 0, sizeof(*b));
    b->name = strdup(name);
    b->win = win;
    if (!b->name)
        return NULL;
    win->nbrands++;
    return b;
}

static int brand_add(brand_t *b, const wc_wbuf_t *buf, uint32_t i)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        wc_wref_t *p = realloc(b->refs, cap * sizeof(*p));
        if (!p)
            return WC_ERR_NOMEM;
        b->refs = p;
        b->cap = cap;
    }
    b->refs[b->n].b = buf;
    b->refs[b->n].i = i;
    b->n++;
    return 0;
}

static void release_ref(wc_windows_t *win, const wc_wref_t *r)
{
    wc_wev_t *e = &((wc_wbuf_t *)r->b)->ev[r->i];
    if (e->ref) {
        wc_track_release(e->ref);
        e->ref = NULL;
        win->pending_events--;
    }
}

static void flush_send(wc_windows_t *win, brand_t *b);
static void flush_send_next(wc_windows_t *win);

/* Events the workers added since the last flush took the sinks. */
static size_t sinks_backlog(const wc_windows_t *win)
{
    size_t n = 0;
    for (int i = 0; i < win->nsinks; i++) {
        pthread_mutex_lock(&win->sinks[i].mu);
        n += win->sinks[i].buf.n;
        pthread_mutex_unlock(&win->sinks[i].mu);
    }
    return n;
}

static void flush_finish(wc_windows_t *win)
{
    for (size_t i = 0; i < win->nbrands; i++) {
        free(win->brands[i].name);
        free(win->brands[i].refs);
    }
    win->nbrands = 0;
    for (int i = 0; i < win->nsinks; i++)
        wc_wbuf_clear(&win->flushing[i]);
    win->in_flush = false;
}

static void log_rl(wc_windows_t *win, const char *fmt, const char *a)
{
    int64_t now = wc_now_ms();
    if (now - win->last_err_log_ms < 5000)
        return;
    win->last_err_log_ms = now;
    wc_warn("window", fmt, a);
}

static void apply_cb(wc_redis_t *r, redisReply *reply, void *priv)
{
    brand_t *b = priv; /* the brands array does not move while calls are out */
    wc_windows_t *win = b->win;
    (void)r;
    win->outstanding--;
    b->state = 0;
    wc_metrics_latency(win->app->m_main, WC_SPAN_WINDOW, (wc_mono_ns() - b->sent_ns) / 1000,
                       b->sent_n);
    if (!reply) {
        WC_METRIC_INC(win->app->m_main, WC_M_REDIS_ERRORS);
        log_rl(win, "window flush not applied (%s); retrying", "redis unavailable");
    } else if (reply->type == REDIS_REPLY_ERROR) {
        WC_METRIC_INC(win->app->m_main, WC_M_REDIS_ERRORS);
        if (strstr(reply->str, "Function not found") || strstr(reply->str, "NOSCRIPT")) {
            win->lib_state = 0;
            lib_load(win);
        }
        log_rl(win, "window flush failed: %s; retrying", reply->str);
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
               reply->element[0]->type == REDIS_REPLY_STRING) {
        const char *st = reply->element[0]->str;
        if (!strcmp(st, "split") && reply->elements >= 3) {
            const char *ck = reply->element[1]->str;
            long long applied = strtoll(reply->element[2]->str, NULL, 10);
            /* Every not yet applied event of that chunk at or below the
             * applied offset is a replay, in this call or a later one of
             * the brand's flush. */
            size_t keep = b->off;
            char key[24];
            for (size_t i = b->off; i < b->n; i++) {
                const wc_wev_t *e = &b->refs[i].b->ev[b->refs[i].i];
                wc_window_chunk_key(e, key, sizeof(key));
                if (!strcmp(key, ck) && e->offset <= applied)
                    release_ref(win, &b->refs[i]);
                else
                    b->refs[keep++] = b->refs[i];
            }
            wc_dbg(WC_DBG_WINDOW, "window", "brand chunk %s already applied up to %lld: %zu "
                   "replayed events dropped", ck, applied, b->n - keep);
            b->n = keep;
            flush_send(win, b);
            if (b->state != 1)
                flush_send_next(win); /* nothing was sent: carry on with the others */
            return;
        }
        if (!strcmp(st, "ok")) {
            for (size_t i = 2; i + 2 < reply->elements; i += 3) {
                redisReply *k = reply->element[i], *kind = reply->element[i + 1],
                           *json = reply->element[i + 2];
                if (k->type != REDIS_REPLY_STRING || kind->type != REDIS_REPLY_STRING ||
                    json->type != REDIS_REPLY_STRING)
                    continue;
                produce_alert(win, alert_topic(win, kind->str), b->name, k->str, json->str,
                              json->len);
                WC_METRIC_INC(win->app->m_main, WC_M_ALERTS);
            }
            for (size_t i = b->off; i < b->off + b->sent_n; i++)
                release_ref(win, &b->refs[i]);
            b->off += b->sent_n;
            b->state = b->off < b->n ? 0 : 2;
            WC_METRIC_INC(win->app->m_main, WC_M_WINDOW_FLUSHES);
            /* Only after a success: a failed call waits for the next tick. */
            flush_send_next(win);
        }
    }
    if (!win->outstanding) {
        bool all = true;
        for (size_t i = 0; i < win->nbrands; i++)
            all &= win->brands[i].state == 2;
        if (all) {
            flush_finish(win);
            /* Pacing: at most one flush per tick, so a flush carries at
             * least window.flush.ms of input and the Redis commands per
             * mention fall as the rate grows (the functions' command count
             * per call does not depend on its size). A flush that took
             * longer than a tick starts the next one at once (input
             * offsets wait on it); so does a very large backlog. */
            size_t backlog = sinks_backlog(win);
            bool missed = win->tick_missed;
            win->tick_missed = false;
            if (missed || backlog >= WC_WINDOW_EAGER_EVENTS)
                ev_feed_event(win->app->loop, &win->timer, EV_TIMER);
        }
    }
}

static void flush_send(wc_windows_t *win, brand_t *b)
{
    char key[300], wall[24];
    size_t cnt = b->n - b->off, max = (size_t)win->app->cfg->window_call_max_events;
    if (max && cnt > max)
        cnt = max;
    if (wc_window_encode(b->refs + b->off, cnt, &win->wa)) {
        wc_err("window", "out of memory encoding a window flush");
        return;
    }
    size_t argc = 8 + win->wa.n;
    if (argc > win->capargv) {
        size_t cap = win->capargv ? win->capargv : 1024;
        while (cap < argc)
            cap *= 2;
        const char **a = realloc(win->argv, cap * sizeof(*a));
        if (a)
            win->argv = a;
        size_t *l = a ? realloc(win->argvlen, cap * sizeof(*l)) : NULL;
        if (!l) {
            wc_err("window", "out of memory encoding a window flush");
            return;
        }
        win->argvlen = l;
        win->capargv = cap;
    }
    brand_key(b->name, key, sizeof(key));
    snprintf(wall, sizeof(wall), "%lld", (long long)wc_now_ms());
    /* FCALL wc_apply 1 <key> <wall> <cfg> w2 <brand> <payload arguments...>
     * ("w2": the payload format of pipeline/window.h) */
    const char *fixed[] = {"FCALL", "wc_apply", "1", key, wall, win->cfg_json, "w2", b->name};
    for (size_t i = 0; i < 8; i++) {
        win->argv[i] = fixed[i];
        win->argvlen[i] = strlen(fixed[i]);
    }
    for (size_t i = 0; i < win->wa.n; i++)
        win->argv[8 + i] = wc_wargs_get(&win->wa, i, &win->argvlen[8 + i]);
    if (argc > INT_MAX)
        return;
    b->sent_ns = wc_mono_ns();
    if (!wc_redis_command_argv(win->app->redis, apply_cb, b, (int)argc, win->argv, win->argvlen)) {
        b->state = 1;
        b->sent_n = cnt;
        win->outstanding++;
    }
}

/* One window call in flight at a time: Redis runs a function call to its
 * end before it serves another client, and it runs a connection's
 * pipelined calls back to back, so every brand's call sent at once kept it
 * busy for all of them (tens of ms at 20 k mentions/s) while the workers'
 * synchronous dedup claims waited (they are on the latency path of every
 * mention). With one call at a time of at most window.call.max.events, a
 * claim waits for one call at most. Calls of one brand go in event order,
 * so each partition's offset ranges still reach Redis in order. */
static void flush_send_next(wc_windows_t *win)
{
    if (win->outstanding)
        return;
    for (size_t i = 0; i < win->nbrands; i++) {
        if (win->brands[i].state == 0) {
            flush_send(win, &win->brands[i]);
            if (win->brands[i].state == 1)
                return;
        }
    }
}

static void flush_start(wc_windows_t *win, int64_t now)
{
    bool any = false;
    for (int i = 0; i < win->nsinks; i++) {
        wc_wsink_t *s = &win->sinks[i];
        pthread_mutex_lock(&s->mu);
        wc_wbuf_t tmp = s->buf;
        s->buf = win->flushing[i];
        win->flushing[i] = tmp;
        pthread_mutex_unlock(&s->mu);
        if (win->flushing[i].oom) {
            wc_err("window", "out of memory buffering window events");
            atomic_store(&win->app->fatal, 1);
        }
        any |= win->flushing[i].n > 0;
    }
    for (int s = 0; s < win->nsinks; s++) {
        const wc_wbuf_t *buf = &win->flushing[s];
        for (size_t i = 0; i < buf->n; i++) {
            const char *name = wc_wbuf_s(buf, buf->ev[i].brand);
            brand_t *b = flush_brand(win, name);
            if (!b || brand_add(b, buf, (uint32_t)i)) {
                wc_err("window", "out of memory grouping window events");
                atomic_store(&win->app->fatal, 1);
                return;
            }
            win->pending_events++;
        }
    }
    /* Idle brands get an empty call now and then (SLA clocks, open clusters). */
    for (int k = 0; k < KNOWN_BUCKETS; k++)
        for (known_t *kn = win->known[k]; kn; kn = kn->next)
            if (now - kn->last_apply_ms >= win->app->cfg->window_sweep_ms)
                flush_brand(win, kn->name);
    if (!any && !win->nbrands)
        return;
    win->in_flush = true;
    for (size_t i = 0; i < win->nbrands; i++) {
        bool created = false;
        known_t *kn = known_get(win, win->brands[i].name, &created);
        if (kn)
            kn->last_apply_ms = now;
        if (created) {
            const char *argv[] = {"SADD", "wc:brands", win->brands[i].name};
            size_t lens[] = {4, 9, strlen(win->brands[i].name)};
            wc_redis_command_argv(win->app->redis, ignore_cb, NULL, 3, argv, lens);
        }
    }
}

static void stats_cb(wc_redis_t *r, redisReply *reply, void *priv)
{
    known_t *kn = priv; /* known brands live as long as the windows */
    (void)r;
    if (!reply || reply->type != REDIS_REPLY_STRING)
        return;
    produce_alert(kn->win, kn->win->rkt_stats, kn->name, NULL, reply->str, reply->len);
}

static void stats_send(wc_windows_t *win)
{
    char key[300], wall[24];
    snprintf(wall, sizeof(wall), "%lld", (long long)wc_now_ms());
    for (int k = 0; k < KNOWN_BUCKETS; k++) {
        for (known_t *kn = win->known[k]; kn; kn = kn->next) {
            brand_key(kn->name, key, sizeof(key));
            const char *argv[] = {"FCALL", "wc_stats", "1", key, wall, kn->name};
            size_t lens[] = {5, 8, 1, strlen(key), strlen(wall), strlen(kn->name)};
            wc_redis_command_argv(win->app->redis, stats_cb, kn, 6, argv, lens);
        }
    }
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    wc_windows_t *win = w->data;
    (void)loop;
    (void)revents;
    if (!win->up || !wc_redis_up(win->app->redis))
        return;
    if (win->lib_state != 2) {
        lib_load(win);
        return;
    }
    int64_t now = wc_now_ms();
    send_acks(win);
    if (now - win->last_stats_ms >= (int64_t)win->app->cfg->stats_interval_s * 1000) {
        win->last_stats_ms = now;
        stats_send(win);
    }
    if (!win->in_flush)
        flush_start(win, now);
    else if (win->outstanding)
        win->tick_missed = true;
    if (!win->in_flush || win->outstanding)
        return;
    flush_send_next(win);
}

/* ------------------------------------------------------------------ */
/* construction                                                         */

uint64_t wc_windows_pending(const wc_windows_t *win)
{
    /* taken into the flush in progress + still in the workers' sinks */
    return win ? win->pending_events + sinks_backlog(win) : 0;
}

wc_windows_t *wc_windows_create(wc_app_t *app, int nsinks, char *errstr, size_t errstr_size)
{
    const wc_config_t *c = app->cfg;
    wc_windows_t *win = calloc(1, sizeof(*win));
    if (!win)
        goto oom;
    win->app = app;
    win->nsinks = nsinks;
    win->sinks = aligned_alloc(64, sizeof(wc_wsink_t) * (size_t)(nsinks ? nsinks : 1));
    win->flushing = calloc((size_t)(nsinks ? nsinks : 1), sizeof(wc_wbuf_t));
    if (!win->sinks || !win->flushing)
        goto oom;
    for (int i = 0; i < nsinks; i++) {
        memset(&win->sinks[i], 0, sizeof(win->sinks[i]));
        pthread_mutex_init(&win->sinks[i].mu, NULL);
        wc_wbuf_init(&win->sinks[i].buf);
        wc_wbuf_init(&win->flushing[i]);
        win->sinks[i].hmac_key = c->privacy_hmac_key;
        win->sinks[i].hmac_len = c->privacy_hmac_key ? strlen(c->privacy_hmac_key) : 0;
    }
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "{\"cw\":%lld,\"cb\":%lld,\"ck\":%d,\"cfloor\":1,\"cmin\":%d,\"ckres\":%d,"
             "\"cwarm\":%lld,\"ccool\":%lld,\"esc_ttl\":%lld,\"author_ttl\":%lld,"
             "\"case_ttl\":%lld,\"inf_f\":%d,\"amp_r\":%d,\"rep_w\":%lld,\"rep_n\":%d,"
             "\"ret_w\":%lld,\"fu_w\":%lld,\"sla_risk\":%lld}",
             c->cluster_window_s * 1000LL, c->cluster_baseline_s * 1000LL, c->cluster_factor,
             c->cluster_min_count, c->cluster_resolve_factor, c->cluster_warmup_s * 1000LL,
             c->cluster_cooldown_s * 1000LL, c->esc_ttl_s * 1000LL, c->window_author_ttl_s * 1000LL,
             c->window_case_ttl_s * 1000LL, c->esc_influencer_followers, c->esc_reshares_min,
             c->esc_repeat_window_s * 1000LL, c->esc_repeat_count, c->esc_return_window_s * 1000LL,
             c->followup_after_s * 1000LL, c->sla_risk_s * 1000LL);
    win->cfg_json = strdup(cfg);
    if (!win->cfg_json)
        goto oom;
    wc_wargs_init(&win->wa);
    win->rkt_clusters = rd_kafka_topic_new(app->producer, c->topic_clusters, NULL);
    win->rkt_escalations = rd_kafka_topic_new(app->producer, c->topic_escalations, NULL);
    win->rkt_sla = rd_kafka_topic_new(app->producer, c->topic_sla, NULL);
    win->rkt_stats = rd_kafka_topic_new(app->producer, c->topic_stats, NULL);
    if (!win->rkt_clusters || !win->rkt_escalations || !win->rkt_sla || !win->rkt_stats)
        goto oom;
    win->last_stats_ms = wc_now_ms();
    ev_timer_init(&win->timer, timer_cb, c->window_flush_ms / 1000.0, c->window_flush_ms / 1000.0);
    win->timer.data = win;
    return win;
oom:
    wc_errstr_set(errstr, errstr_size, "windows: out of memory");
    wc_windows_destroy(win);
    return NULL;
}

void wc_windows_start(wc_windows_t *win)
{
    if (win)
        ev_timer_start(win->app->loop, &win->timer);
}

void wc_windows_drop_topics(wc_windows_t *win)
{
    if (!win)
        return;
    rd_kafka_topic_t **t[] = {&win->rkt_clusters, &win->rkt_escalations, &win->rkt_sla,
                              &win->rkt_stats};
    for (size_t i = 0; i < WC_ARRAY_SIZE(t); i++) {
        if (*t[i])
            rd_kafka_topic_destroy(*t[i]);
        *t[i] = NULL;
    }
}

void wc_windows_destroy(wc_windows_t *win)
{
    if (!win)
        return;
    if (win->app && win->app->loop)
        ev_timer_stop(win->app->loop, &win->timer);
    if (win->sinks) {
        for (int i = 0; i < win->nsinks; i++) {
            wc_wbuf_free(&win->sinks[i].buf);
            pthread_mutex_destroy(&win->sinks[i].mu);
        }
    }
    if (win->flushing)
        for (int i = 0; i < win->nsinks; i++)
            wc_wbuf_free(&win->flushing[i]);
    for (size_t i = 0; i < win->nbrands; i++) {
        free(win->brands[i].name);
        free(win->brands[i].refs);
    }
    free(win->brands);
    for (int k = 0; k < KNOWN_BUCKETS; k++) {
        known_t *kn = win->known[k];
        while (kn) {
            known_t *next = kn->next;
            for (size_t i = 0; i < kn->nacks; i++)
                free(kn->acks[i]);
            free(kn->acks);
            free(kn->name);
            free(kn);
            kn = next;
        }
    }
    wc_windows_drop_topics(win);
    wc_wargs_deinit(&win->wa);
    free(win->argv);
    free(win->argvlen);
    free(win->cfg_json);
    free(win->sinks);
    free(win->flushing);
    free(win);
}
