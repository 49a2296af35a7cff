/*
 * resp_guard.h - a bound on the size of Redis replies the daemon will
 * allocate for, set on every hiredis reader we own (the main loop's
 * asynchronous client and the workers' dedup claims).
 *
 * hiredis 0.14 callocs an array reply's element vector as soon as the
 * header arrives, before any element does: "*300000000\r\n" (13 bytes from
 * a broken or hostile server, or a corrupted stream) asks for 2.4 GB. With
 * the guard an array header over WC_RESP_MAX_ELEMENTS fails the reader
 * (hiredis reports it as "Out of memory"), which drops the connection like
 * any protocol error: pending commands are "not applied", the client
 * reconnects. The largest reply the daemon asks for is a window call's
 * alert list (3 elements per alert) or an outbox read, far below the bound.
 *
 * @locality any thread.
 */
#ifndef WC_RESP_GUARD_H
#define WC_RESP_GUARD_H

#include <hiredis/read.h>

/* 2^24 elements: a vector of at most 128 MB (hiredis 1.x's own default
 * bound is 2^32 - 1). */
#define WC_RESP_MAX_ELEMENTS (1 << 24)

/* Point the reader at the guarded reply functions (hiredis' own, with the
 * array bound). Call after the context is created, before any read. */
void wc_resp_guard(redisReader *reader);

/* Count of array headers refused since start (all readers). */
unsigned long wc_resp_guard_refused(void);

#endif
