/*
 * windows.h - Redis windows: workers hand window events to per-worker
 * sinks; the main loop flushes them to Redis once per window.flush.ms
 * (one FCALL wc_apply per brand), produces the resulting alerts and the
 * periodic webcare.stats events. See windows.c and docs/WINDOWS.md.
 */
#ifndef WC_WINDOWS_H
#define WC_WINDOWS_H

#include "daemon/track.h"
#include "pipeline/classify.h"
#include "pipeline/dedup.h"
#include "pipeline/mention.h"
#include "pipeline/response.h"

typedef struct wc_app wc_app_t;
typedef struct wc_windows wc_windows_t;
typedef struct wc_wsink wc_wsink_t;

/* Tracking entries of alert outputs carry this topic index. */
#define WC_TRACK_TOPIC_ALERT (-1)

/* @locality main */
wc_windows_t *wc_windows_create(wc_app_t *app, int nsinks, char *errstr, size_t errstr_size);
void wc_windows_start(wc_windows_t *win);
/* Destroy the producer topic handles (before the producer is destroyed). */
void wc_windows_drop_topics(wc_windows_t *win);
/* After the producer is destroyed (its last delivery reports may still
 * reach wc_windows_output_done). */
void wc_windows_destroy(wc_windows_t *win);
/* Redis connection state changed (loads the function library, replays the
 * alert outbox). @locality main */
void wc_windows_redis_state(wc_windows_t *win, int up);
/* Delivery of an alert/stats output finished (from the delivery report).
 * @locality main */
void wc_windows_output_done(wc_app_t *app, wc_track_entry_t *te);
/* Window events held in memory, not yet applied in Redis: in the workers'
 * sinks and in the flush in progress (webcared_window_pending_events).
 * @locality main */
uint64_t wc_windows_pending(const wc_windows_t *win);

/* Worker side: lock the sink once per batch, add events, unlock. Each added
 * event holds a reference on te until Redis applied it. @locality worker */
wc_wsink_t *wc_windows_sink(wc_windows_t *win, int index);
void wc_wsink_lock(wc_wsink_t *s);
void wc_wsink_unlock(wc_wsink_t *s);
void wc_wsink_add_mention(wc_wsink_t *s, const wc_mention_t *m, const wc_verdict_t *v,
                          const wc_dedup_result_t *d, const uint64_t own_case_id[2],
                          int32_t partition, int64_t offset, wc_track_entry_t *te);
void wc_wsink_add_response(wc_wsink_t *s, const wc_response_t *r, int32_t partition,
                           int64_t offset, wc_track_entry_t *te);

#endif
