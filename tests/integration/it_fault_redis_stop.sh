#!/usr/bin/env bash
# it_fault_redis_stop.sh - issue 7 Redis fault (b): redis-server frozen by
# SIGSTOP for 10 s mid-stream (TCP connects still succeed, nothing answers),
# then SIGCONT. Readiness must be false while it is frozen; nothing lost;
# window counts in Redis equal the ground truth exactly (calls that timed out
# in the daemon but ran after the thaw are recognised by the applied-offset
# check, docs/WINDOWS.md); the blocked time is counted for reason redis_down
# (webcared_input_blocked_seconds_total). Body: tests/lib/fault_redis.sh.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
source "$(dirname "$0")/../lib/daemon_ready.sh"
source "$(dirname "$0")/../lib/fault_redis.sh"
wc_env_init

STOP_S=${WC_IT_REDIS_STOP_S:-10}
fr_setup it-fault-redis-stop
wc_wait_until "a quarter of the stream consumed" 60 fr_consumed_ge $((FR_N / 4))
wc_redis_sigstop
wc_wait_until "readiness false while redis is frozen" 8 fr_not_ready
# c0 once the workers are done with what was queued for them before the
# pause (they count a message when they start on it; a claim against the
# frozen Redis waits redis.timeout.ms before failing, so 3 s still).
wc_wait_until "the workers done with what was consumed before the pause" 30 \
    wc_metric_still "$FR_PORT" webcared_consumed_total 3
c0=$(fr_metric webcared_consumed_total)
# a paused daemon leaves the rest in Kafka: if it is gone, input went on
(( FR_N - c0 >= FR_N / 4 )) ||
    wc_fail "input was not paused while redis was frozen: $c0 of $FR_N consumed once the workers were done"
end=$(( $(date +%s) + STOP_S ))
while (( $(date +%s) < end )); do
    fr_not_ready || wc_fail "readyz reported ready while redis was frozen"
    sleep 0.5 # the scenario itself: Redis stays frozen for STOP_S seconds
done
c1=$(fr_metric webcared_consumed_total)
blk=$(fr_metric 'webcared_input_blocked_seconds_total{reason="redis_down"}')
wc_redis_sigcont
wc_log "frozen ${STOP_S} s: consumed $c0 -> $c1 meanwhile; input blocked for redis_down ${blk:-?} s"
# the metric that tells an operator why input stopped: most of the freeze
# (readiness went false within 8 s of the SIGSTOP)
awk -v b="${blk:-0}" -v s="$STOP_S" 'BEGIN { exit !(b >= s / 2) }' ||
    wc_fail "webcared_input_blocked_seconds_total{reason=\"redis_down\"} = ${blk:-missing}, expected >= $((STOP_S / 2)) s"
(( c1 - c0 < FR_N / 4 )) || wc_fail "input was not paused while redis was frozen ($c0 -> $c1)"
wc_daemon_wait_ready "$FR_PORT" 30
fr_finish exact
wc_pass "redis SIGSTOP ${STOP_S} s: not ready while frozen, $FR_N mentions, $FR_LOST lost, $FR_DUPS duplicate case events, window counts exact"
