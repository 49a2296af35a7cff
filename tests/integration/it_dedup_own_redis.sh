#!/usr/bin/env bash
# it_dedup_own_redis.sh - it_dedup.sh with the cross-instance dedup claims
# on a second redis-server (dedup.redis.addr): the same acceptance (replay,
# restart, campaign), plus every claim key on the claims' Redis and none on
# the windows' Redis.
export WC_IT_DEDUP_REDIS=1
exec bash "$(dirname "$0")/it_dedup.sh" "$@"
