/*
 * output.h - the exactly-once (transactional) side of output.c, used by the
 * main loop (app.c). The at-least-once interface (wc_output_produce, the
 * delivery report callback, the retry list) is in app_internal.h.
 *
 * In exactly-once mode (kafka.exactly.once) every output is produced inside
 * the current Kafka transaction and carries the header `wc.txn` = the
 * transaction's name "<run>.<seq>" (run: random per process start). The
 * transaction itself (begin, send offsets, commit, abort) is driven by
 * app.c; output.c keeps what belongs to the outputs of the open transaction:
 *
 *   - whether it is doomed (a delivery failed or a produce was refused:
 *     librdkafka then requires an abort), with the first reason;
 *   - the alert/stats outputs produced in it (a copy of each): their Redis
 *     outbox entries are acknowledged only after the commit, and after an
 *     abort they are produced again into the next transaction;
 *   - inputs whose output failed permanently (message too large, ...): when
 *     they are replayed after the abort, that output goes to the DLQ at once
 *     instead of failing the next transaction too.
 *
 * @locality main thread unless noted. One application per process: the
 * state is file-static in output.c.
 */
#ifndef WC_OUTPUT_H
#define WC_OUTPUT_H

#include "daemon/app_internal.h"

#include <stdbool.h>
#include <stdint.h>

/* Enable transactional output (before the first produce). run = the
 * process's run tag used in transaction names. */
void wc_output_eos_enable(const char *run);
bool wc_output_eos_enabled(void);

/* A new transaction was begun: name = "<run>.<seq>". Called only while no
 * other thread can produce (nothing in flight). */
void wc_output_eos_started(uint64_t seq);
/* Name of the open transaction ("" before the first). */
const char *wc_output_eos_name(void);

/* Outputs produced into the open transaction. @locality any */
uint64_t wc_output_eos_produced(void);
/* Alert outputs of the open transaction still waiting for a delivery report. */
uint64_t wc_output_eos_unacked(void);
/* Non-NULL (the first reason) if the open transaction must be aborted.
 * @locality any */
const char *wc_output_eos_doomed(void);
/* Mark the open transaction doomed. @locality any */
void wc_output_eos_doom(const char *reason);

/* The open transaction committed: acknowledge its alerts to the windows
 * outbox and forget them. */
void wc_output_eos_committed(wc_app_t *app);
/* The open transaction was aborted: keep its alerts for re-production
 * (wc_output_eos_reproduce after the next begin) and clear the doom. */
void wc_output_eos_aborted(wc_app_t *app);
/* Produce the alerts of an aborted transaction again (new transaction
 * open). Returns 0 or a negative WC_ERR_*. */
int wc_output_eos_reproduce(wc_app_t *app);

/* Shutdown: release the copies of alerts that were not committed (their
 * entries are handed back to windows.c, which frees them; the alerts stay
 * in the Redis outbox, and the outbox acknowledgements are not sent any
 * more at this point). Before the producer is destroyed. */
void wc_output_eos_destroy(wc_app_t *app);

#endif
