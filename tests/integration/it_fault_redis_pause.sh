#!/usr/bin/env bash
# it_fault_redis_pause.sh - issue 7 Redis fault (c): CLIENT PAUSE 5000 ALL
# mid-stream (every client's commands block for 5 s, longer than the
# daemon's redis.timeout.ms=1000). Nothing lost; window counts in Redis equal
# the ground truth exactly. Body: tests/lib/fault_redis.sh.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
source "$(dirname "$0")/../lib/fault_redis.sh"
wc_env_init

fr_setup it-fault-redis-pause
wc_wait_until "a quarter of the stream consumed" 60 fr_consumed_ge $((FR_N / 4))
mark=$(wc_log_lines "$WC_DAEMON_LOG")
[[ $(wc_redis_cli client pause 5000 all) == OK ]] || wc_fail "CLIENT PAUSE refused"
wc_log "redis clients paused for 5 s (consumed $(fr_metric webcared_consumed_total))"
# the daemon's calls (redis.timeout.ms=1000) time out during the pause: it
# reconnects, pauses its input and re-sends once Redis answers again
wc_wait_log "$WC_DAEMON_LOG" "\[redis\] command timed out" 12 "$mark"
fr_finish exact
timeouts=$(grep -c "\[redis\] command timed out" "$WC_DAEMON_LOG" || true)
wc_pass "redis CLIENT PAUSE 5000 ALL: $FR_N mentions, $FR_LOST lost, $FR_DUPS duplicate case events, window counts exact ($timeouts redis command timeouts in the daemon)"
