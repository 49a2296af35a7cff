/*
 * redis.c - the main loop's asynchronous Redis connection (hiredis async +
 * libev adapter) with reconnect, AUTH, health checks and command timeouts.
 *
 * hiredis 0.14 has no async command timeout, so every command is wrapped in
 * a pending record kept in a FIFO (Redis answers in order); a 250 ms
 * watchdog drops the connection when the oldest pending command is older
 * than redis.timeout.ms (e.g. SIGSTOP'ed or CLIENT PAUSE'd server). Dropping
 * the connection makes hiredis call every pending callback with a NULL
 * reply, which the callers treat as "not applied, retry later".
 *
 * State changes (up/down) are reported through state_cb so the daemon can
 * flip readiness and pause input.
 *
 * @locality main thread only.
 */
#include "daemon/redis.h"
#include "pipeline/log.h"
#include "pipeline/resp_guard.h"

#include <hiredis/adapters/libev.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending {
    struct pending *next;
    wc_redis_t *r;
    wc_redis_cb_t *cb;
    void *priv;
    int64_t sent_ms;
} pending_t;

struct wc_redis {
    struct ev_loop *loop;
    char *host;
    int port;
    char *password;
    int timeout_ms;
    redisAsyncContext *ac;
    bool connected; /* TCP connected and AUTH (if any) sent */
    bool up;        /* last health check answered */
    ev_timer watchdog;
    ev_timer reconnect;
    int backoff_ms;
    int64_t last_ping_ms;
    bool ping_outstanding;
    pending_t *head, *tail;
    void (*state_cb)(void *opaque, int up);
    void *opaque;
    uint64_t errors;
};

static void redis_set_up(wc_redis_t *r, bool up)
{
    if (r->up == up)
        return;
    r->up = up;
    if (up)
        wc_info("redis", "connected to %s:%d", r->host, r->port);
    else
        wc_warn("redis", "%s:%d unavailable", r->host, r->port);
    if (r->state_cb)
        r->state_cb(r->opaque, up);
}

static void redis_schedule_reconnect(wc_redis_t *r)
{
    if (ev_is_active(&r->reconnect))
        return;
    ev_timer_set(&r->reconnect, r->backoff_ms / 1000.0, 0.0);
    ev_timer_start(r->loop, &r->reconnect);
    r->backoff_ms = r->backoff_ms * 2 > 2000 ? 2000 : r->backoff_ms * 2;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    wc_redis_t *r = ac->data;
    if (!r)
        return;
    if (status != REDIS_OK)
        wc_dbg(WC_DBG_REDIS, "redis", "disconnected: %s", ac->errstr);
    r->ac = NULL;
    r->connected = false;
    r->ping_outstanding = false;
    redis_set_up(r, false);
    redis_schedule_reconnect(r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    wc_redis_t *r = ac->data;
    if (status != REDIS_OK) {
        wc_dbg(WC_DBG_REDIS, "redis", "connect failed: %s", ac->errstr);
        r->errors++;
        /* hiredis frees the context after a failed connect. */
        r->ac = NULL;
        r->connected = false;
        redis_set_up(r, false);
        redis_schedule_reconnect(r);
        return;
    }
    r->connected = true;
    r->backoff_ms = 100;
}

/* Every reply passes through here: pop the FIFO record, then call the user. */
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    pending_t *p = privdata;
    wc_redis_t *r = p->r;
    /* Replies arrive in order: p is the head (or the list was flushed). */
    if (r->head == p) {
        r->head = p->next;
        if (!r->head)
            r->tail = NULL;
    }
    redisReply *rep = reply;
    if (!rep)
        r->errors++;
    else if (rep->type == REDIS_REPLY_ERROR)
        r->errors++;
    if (p->cb)
        p->cb(r, rep, p->priv);
    free(p);
}

static void on_ping(wc_redis_t *r, redisReply *reply, void *priv)
{
    r->ping_outstanding = false;
    if (reply && reply->type != REDIS_REPLY_ERROR) {
        redis_set_up(r, true);
    } else if (reply) {
        wc_warn("redis", "health check failed: %s", reply->str);
        redis_set_up(r, false);
    }
}

static void on_auth(wc_redis_t *r, redisReply *reply, void *priv)
{
    if (reply && reply->type == REDIS_REPLY_ERROR)
        wc_err("redis", "AUTH failed: %s", reply->str);
}

static int redis_send(wc_redis_t *r, wc_redis_cb_t *cb, void *priv, int argc, const char **argv,
                      const size_t *argvlen, bool force)
{
    if (!r->ac || (!r->connected && !force))
        return WC_ERR_UNAVAIL;
    pending_t *p = malloc(sizeof(*p));
    if (!p)
        return WC_ERR_NOMEM;
    p->next = NULL;
    p->r = r;
    p->cb = cb;
    p->priv = priv;
    p->sent_ms = wc_now_ms();
    if (redisAsyncCommandArgv(r->ac, on_reply, p, argc, argv, argvlen) != REDIS_OK) {
        free(p);
        return WC_ERR_UNAVAIL;
    }
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    return 0;
}

static void redis_connect(wc_redis_t *r)
{
    r->ac = redisAsyncConnect(r->host, r->port);
    if (!r->ac) {
        redis_schedule_reconnect(r);
        return;
    }
    if (r->ac->err) {
        wc_dbg(WC_DBG_REDIS, "redis", "connect: %s", r->ac->errstr);
        redisAsyncFree(r->ac);
        r->ac = NULL;
        redis_schedule_reconnect(r);
        return;
    }
    r->ac->data = r;
    wc_resp_guard(r->ac->c.reader);
    redisLibevAttach(r->loop, r->ac);
    redisAsyncSetConnectCallback(r->ac, on_connect);
    redisAsyncSetDisconnectCallback(r->ac, on_disconnect);
    /* Commands queue in hiredis until the socket connects. */
    if (r->password && *r->password) {
        const char *argv[] = {"AUTH", r->password};
        redis_send(r, on_auth, NULL, 2, argv, NULL, true);
    }
    const char *argv[] = {"PING"};
    r->ping_outstanding = redis_send(r, on_ping, NULL, 1, argv, NULL, true) == 0;
    r->last_ping_ms = wc_now_ms();
}

static void reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    wc_redis_t *r = w->data;
    if (!r->ac)
        redis_connect(r);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    wc_redis_t *r = w->data;
    int64_t now = wc_now_ms();
    if (!r->ac)
        return;
    if (r->head && now - r->head->sent_ms > r->timeout_ms) {
        wc_warn("redis", "command timed out after %d ms; reconnecting", r->timeout_ms);
        r->errors++;
        redisAsyncContext *ac = r->ac;
        /* Calls every pending callback with NULL, then on_disconnect. */
        redisAsyncFree(ac);
        return;
    }
    if (!r->ping_outstanding && now - r->last_ping_ms >= 1000) {
        const char *argv[] = {"PING"};
        r->ping_outstanding = redis_send(r, on_ping, NULL, 1, argv, NULL, true) == 0;
        r->last_ping_ms = now;
    }
}

wc_redis_t *wc_redis_create(struct ev_loop *loop, const char *addr, const char *password,
                            int timeout_ms, void (*state_cb)(void *opaque, int up), void *opaque,
                            char *errstr, size_t errstr_size)
{
    wc_redis_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1]) {
        wc_errstr_set(errstr, errstr_size, "redis.addr: expected host:port, got \"%s\"", addr);
        free(r);
        return NULL;
    }
    r->host = strndup(addr, (size_t)(colon - addr));
    r->port = atoi(colon + 1);
    r->password = password && *password ? strdup(password) : NULL;
    r->timeout_ms = timeout_ms;
    r->loop = loop;
    r->backoff_ms = 100;
    r->state_cb = state_cb;
    r->opaque = opaque;
    ev_timer_init(&r->reconnect, reconnect_cb, 0.1, 0.0);
    r->reconnect.data = r;
    ev_timer_init(&r->watchdog, watchdog_cb, 0.25, 0.25);
    r->watchdog.data = r;
    ev_timer_start(loop, &r->watchdog);
    redis_connect(r);
    return r;
}

void wc_redis_destroy(wc_redis_t *r)
{
    if (!r)
        return;
    ev_timer_stop(r->loop, &r->watchdog);
    ev_timer_stop(r->loop, &r->reconnect);
    r->state_cb = NULL;
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        ac->data = NULL; /* on_disconnect must not touch r */
        r->ac = NULL;
        redisAsyncFree(ac);
    }
    free(r->host);
    free(r->password);
    free(r);
}

int wc_redis_command_argv(wc_redis_t *r, wc_redis_cb_t *cb, void *priv, int argc,
                          const char **argv, const size_t *argvlen)
{
    return redis_send(r, cb, priv, argc, argv, argvlen, false);
}

bool wc_redis_up(const wc_redis_t *r)
{
    return r->up && r->connected;
}

uint64_t wc_redis_errors(const wc_redis_t *r)
{
    return r->errors;
}

size_t wc_redis_pending(const wc_redis_t *r)
{
    size_t n = 0;
    for (const pending_t *p = r->head; p; p = p->next)
        n++;
    return n;
}
