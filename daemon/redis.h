/*
 * redis.h - the main loop's asynchronous Redis client (see redis.c).
 *
 * @locality main thread only.
 */
#ifndef WC_REDIS_H
#define WC_REDIS_H

#include "pipeline/common.h"

#include <ev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

typedef struct wc_redis wc_redis_t;

/* reply is NULL when the command was not executed (connection lost or
 * timed out): treat as "not applied". */
typedef void(wc_redis_cb_t)(wc_redis_t *r, redisReply *reply, void *priv);

wc_redis_t *wc_redis_create(struct ev_loop *loop, const char *addr, const char *password,
                            int timeout_ms, void (*state_cb)(void *opaque, int up), void *opaque,
                            char *errstr, size_t errstr_size);
void wc_redis_destroy(wc_redis_t *r);

/* Returns 0 (callback will be called exactly once) or WC_ERR_UNAVAIL when
 * not connected (callback not called). */
int wc_redis_command_argv(wc_redis_t *r, wc_redis_cb_t *cb, void *priv, int argc,
                          const char **argv, const size_t *argvlen);

bool wc_redis_up(const wc_redis_t *r);
uint64_t wc_redis_errors(const wc_redis_t *r);
size_t wc_redis_pending(const wc_redis_t *r);

#endif
