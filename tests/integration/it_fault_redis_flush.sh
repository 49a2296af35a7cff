#!/usr/bin/env bash
# it_fault_redis_flush.sh - issue 7 Redis fault (d): FUNCTION FLUSH and
# SCRIPT FLUSH mid-stream. The daemon reloads its function library (window
# flushes: "Function not found" -> FUNCTION LOAD, the log line appears
# again) and the remote-dedup script (NOSCRIPT -> SCRIPT LOAD, seen in
# INFO commandstats) by itself. Nothing lost; window counts exact.
# Body: tests/lib/fault_redis.sh.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
source "$(dirname "$0")/../lib/fault_redis.sh"
wc_env_init

script_loads() {
    wc_redis_cli info commandstats | awk -F'[:=,]' '/^cmdstat_script\|load:/ { print $3; f=1 } END { if (!f) print 0 }'
}
fr_setup it-fault-redis-flush
wc_wait_until "a quarter of the stream consumed" 60 fr_consumed_ge $((FR_N / 4))
wc_wait_until "function library loaded" 20 fr_libs_loaded 1
s0=$(script_loads)
l0=$(fr_libs_count)
[[ $(wc_redis_cli function flush) == OK ]] || wc_fail "FUNCTION FLUSH refused"
[[ $(wc_redis_cli script flush) == OK ]] || wc_fail "SCRIPT FLUSH refused"
wc_log "FUNCTION FLUSH + SCRIPT FLUSH (consumed $(fr_metric webcared_consumed_total), SCRIPT LOADs so far $s0)"
wc_wait_until "function library reloaded" 30 fr_libs_loaded $((l0 + 1))
more_script_loads() { (( $(script_loads) > s0 )); }
wc_wait_until "dedup script reloaded" 30 more_script_loads
fr_finish exact
wc_pass "redis FUNCTION FLUSH + SCRIPT FLUSH: reloaded ($(fr_libs_count) library loads, SCRIPT LOAD $s0 -> $(script_loads)), $FR_N mentions, $FR_LOST lost, $FR_DUPS duplicate case events, window counts exact"
