#!/usr/bin/env bash
# bench_window_redis.sh - redis-server instructions per mention of the windows
# library (issue 6): starts redis-server under callgrind (instructions counted in
# reading + parsing + executing client commands: --toggle-collect=readQueryFromClient,
# so argument parsing counts too) on a free port, runs
# bench_window_redis against it (bench-like flushes, see the .c) and prints
# instructions per mention; then the same without valgrind for us per mention.
#
#   bench/bench_window_redis.sh [--build DIR] [--lib FILE] [--no-usec] [-- bench args]
#   bench/bench_window_redis.sh --compare OLD_BENCH_BIN OLD_LIB [--build DIR] [-- bench args]
#       differential run: the given old driver binary + old library and this
#       tree's driver + library on the same generated events (-q -t 50:
#       hours of event time, small cluster thresholds); alerts and final
#       stats must be identical (alert JSON compared as parsed objects), and
#       so must the Redis state afterwards (all keys, byte for byte).
#       The old driver: bench_window_redis.c built with -DWCB_PAYLOAD_JSON
#       against the old commit's pipeline/window.{c,h}, e.g.
#         git show 6ed5d14:pipeline/window.c >old/pipeline/window.c (same for .h)
#         gcc -O2 -DWCB_PAYLOAD_JSON -Iold -I. -Ibuild-win bench/bench_window_redis.c
#             old/pipeline/window.c build-win/generated/wc_lua_lib.c
#             -Lbuild-win/pipeline -lwc_pipeline -lhiredis -lm -o old/bench_old
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-win
LIB=
USEC=1
CMP_BIN= CMP_LIB=
while (($#)); do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --lib) LIB=$2; shift 2 ;;
    --no-usec) USEC=0; shift ;;
    --compare) CMP_BIN=$2; CMP_LIB=$3; shift 3 ;;
    --) shift; break ;;
    *) echo "bench_window_redis.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
BIN=${WCB_BIN:-$BUILD/bench/bench_window_redis}
[[ -x $BIN ]] || { echo "bench_window_redis.sh: build $BIN first" >&2; exit 1; }
LIBARG=()
[[ -n $LIB ]] && LIBARG=(-l "$LIB")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
free_port() {
    local p=$((20000 + RANDOM % 30000))
    until port_free $p; do p=$((20000 + RANDOM % 30000)); done
    echo $p
}
wait_redis() {
    for _ in $(seq 600); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        read -rt 0.1 <> <(:) || true
    done
    return 1
}

# canonical dump of a Redis' keys (hash fields sorted), for --compare
DUMP_LUA='local out = {}
local keys = redis.call("KEYS", "*")
table.sort(keys)
for _, k in ipairs(keys) do
  local t, v = redis.call("TYPE", k).ok, nil
  if t == "hash" then
    local h = redis.call("HGETALL", k)
    v = {}
    for i = 1, #h, 2 do v[#v + 1] = h[i] .. "=" .. h[i + 1] end
    table.sort(v)
  elseif t == "zset" then v = redis.call("ZRANGE", k, 0, -1, "WITHSCORES")
  elseif t == "list" then v = redis.call("LRANGE", k, 0, -1)
  elseif t == "set" then v = redis.call("SMEMBERS", k); table.sort(v)
  else v = {t} end
  out[#out + 1] = k .. "\n" .. table.concat(v, "\n")
end
return table.concat(out, "\n\n")'

if [[ -n $CMP_BIN ]]; then
    rc=0
    P1=$(free_port)
    redis-server --port $P1 --bind 127.0.0.1 --save "" --appendonly no >"$TMP/r1.log" 2>&1 &
    R1=$!
    P2=$(free_port)
    while ((P2 == P1)); do P2=$(free_port); done
    redis-server --port $P2 --bind 127.0.0.1 --save "" --appendonly no >"$TMP/r2.log" 2>&1 &
    R2=$!
    trap 'kill $R1 $R2 2>/dev/null; rm -rf "$TMP"' EXIT
    wait_redis $P1 && wait_redis $P2 || { echo "bench_window_redis.sh: redis-server did not start" >&2; exit 1; }
    for seed in 1 2 3; do
        "$CMP_BIN" -p $P1 -l "$CMP_LIB" -s $seed -q -t 50 -o "$TMP/old.$seed" "$@" >/dev/null
        "$BIN" -p $P2 "${LIBARG[@]}" -s $seed -q -t 50 -o "$TMP/new.$seed" "$@" >/dev/null
        redis-cli -p $P1 --raw eval "$DUMP_LUA" 0 >"$TMP/old.state"
        redis-cli -p $P2 --raw eval "$DUMP_LUA" 0 >"$TMP/new.state"
        if cmp -s "$TMP/old.state" "$TMP/new.state"; then
            echo -n "state identical ($(wc -c <"$TMP/new.state") bytes); alerts "
        else
            echo -n "STATE DIFFERS; alerts "
            rc=1
        fi
        /usr/bin/python3 - "$TMP/old.$seed" "$TMP/new.$seed" <<'PY' || rc=1
import json, sys
def load(p):
    out = []
    for line in open(p):
        k, kind, v = line.rstrip("\n").split("\t", 2)
        try:
            v = json.loads(v)
        except ValueError:
            pass
        out.append((k, kind, v))
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
kinds = {}
for _, kind, _ in a:
    kinds[kind] = kinds.get(kind, 0) + 1
if a != b:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            print("first difference at line %d:\n old %r\n new %r" % (i + 1, x, y))
            break
    print("DIFFERENT: %d vs %d lines" % (len(a), len(b)))
    sys.exit(1)
print("identical: %d lines (%s)" % (len(a), ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))
PY
    done
    exit $rc
fi

PORT=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="${WCB_CGOUT:-$TMP/cg.out}" --toggle-collect=readQueryFromClient \
    redis-server --port $PORT --bind 127.0.0.1 --save "" --appendonly no >"$TMP/redis.log" 2>&1 &
VPID=$!
trap 'kill $VPID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 600); do
    redis-cli -p $PORT ping >/dev/null 2>&1 && break
    kill -0 $VPID 2>/dev/null || { cat "$TMP/redis.log" >&2; exit 1; }
    read -rt 0.1 <> <(:) || true
done
# warm-up flushes are counted too: the callgrind figure is over all calls
"$BIN" -p $PORT "${LIBARG[@]}" -w 0 "$@" | tee "$TMP/run.txt" | sed -n 1p
redis-cli -p $PORT shutdown nosave >/dev/null 2>&1 || true
wait $VPID || true
MENT=$(sed -n 's/.* \([0-9]*\) mentions measured.*/\1/p' "$TMP/run.txt")
IR=$(callgrind_annotate "${WCB_CGOUT:-$TMP/cg.out}" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "bench_window_redis.sh: redis-server $IR instructions for $MENT mentions:" \
    "$((IR / MENT)) per mention (callgrind)"
if ((USEC)); then
    for _ in 1 2 3; do "$BIN" "${LIBARG[@]}" "$@" | sed -n 2p; done
    echo "bench_window_redis.sh: loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
fi
