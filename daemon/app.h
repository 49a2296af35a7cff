/*
 * app.h - the daemon: one main (I/O) thread running a libev loop, N worker
 * threads, librdkafka consumer + producer, hiredis, HTTP.
 *
 * @locality wc_app_* functions are main-thread only unless noted.
 */
#ifndef WC_APP_H
#define WC_APP_H

#include "daemon/config.h"

typedef struct wc_app wc_app_t;

/* Build everything from cfg (takes ownership of cfg). NULL on error with
 * errstr. @locality main */
wc_app_t *wc_app_create(wc_config_t *cfg, const char *config_path, char *errstr,
                        size_t errstr_size);

/* Run until SIGTERM/SIGINT (drain) or a fatal error. Returns the process
 * exit code: 0 after a complete drain, 1 on fatal error or incomplete drain.
 * @locality main */
int wc_app_run(wc_app_t *app);

void wc_app_destroy(wc_app_t *app);

#endif
