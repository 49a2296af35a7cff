#!/usr/bin/env bash
# it_fault_redis_kill.sh - issue 7 Redis fault (a): redis-server kill -9
# mid-stream (windows and remote dedup on) and a restart WITHOUT persistence.
# Window state is allowed to be lost; mentions are not: every mention has a
# case event (duplicates allowed and reported). The daemon must notice
# (readiness false), recover (readiness true, function library loaded again:
# the log line appears twice) and keep counting (class counters grow again
# in the empty Redis). Body: tests/lib/fault_redis.sh.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
source "$(dirname "$0")/../lib/fault_redis.sh"
wc_env_init

fr_setup it-fault-redis-kill
wc_wait_until "a quarter of the stream consumed" 60 fr_consumed_ge $((FR_N / 4))
wc_wait_until "window flushes applied" 20 fr_libs_loaded 1
c0=$(fr_metric webcared_consumed_total)
wc_redis_kill9
wc_log "redis killed (kill -9) at consumed $c0"
wc_wait_until "readiness false after the crash" 15 fr_not_ready
wc_redis_start # same port, no RDB/AOF: empty
wc_wait_until "function library loaded again" 30 fr_libs_loaded 2
wc_daemon_wait_ready "$FR_PORT" 30
wc_log "recovered: ready again, $(fr_libs_count) library loads"
counting() { (( $(fr_class_total kx) + $(fr_class_total ky) > 0 )); }
wc_wait_until "class counters growing in the new redis" 30 counting
fr_finish partial
wc_pass "redis kill -9 + restart without persistence: $FR_N mentions, $FR_LOST lost, $FR_DUPS duplicate case events; recovered (ready, library reloaded), counting again"
