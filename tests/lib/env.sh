# shellcheck shell=bash
# tests/lib/env.sh - shared environment for integration tests, the demo and
# the benchmarks. Source it, then call wc_env_init:
#
#   source "$WC_SOURCE_DIR/tests/lib/env.sh"    # or relative to the script
#   wc_env_init
#   wc_kafka_start
#   wc_redis_start
#   wc_daemon_start --config "$WC_WORK/webcared.conf" --brokers "$WC_BOOTSTRAP" --redis "$WC_REDIS"
#   wc_wait_until "daemon consumed the input" 30 some_check
#   wc_pass "everything arrived"
#
# Rules this library follows (and tests should too):
# - every wait is a poll loop with a deadline (wc_wait_until), never a bare
#   `sleep N` for readiness;
# - every process is started through wc_proc_start (directly, not inside
#   $(...): the PID must belong to the test shell) so the EXIT trap can stop
#   it: SIGCONT + SIGTERM, then SIGKILL after WC_STOP_TIMEOUT seconds;
# - everything lives under one mktemp -d work dir ($WC_WORK), removed on exit
#   unless WC_KEEP=1; on failure the tail of every log is printed.
#
# Environment: WC_SOURCE_DIR (default: two levels above this file),
# WC_BUILD_DIR (default $WC_SOURCE_DIR/build), WC_KEEP=1, WC_STOP_TIMEOUT
# (default 10), WC_PYTHON (default /usr/bin/python3), WC_VERBOSE=1 (echo
# wc_log lines with timestamps; they are printed anyway).
#
# Function reference: docs/LOCALKAFKA.md ("Test library").

WC_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${WC_SOURCE_DIR:=$(cd "$WC_LIB_DIR/../.." && pwd)}"
: "${WC_BUILD_DIR:=$WC_SOURCE_DIR/build}"
: "${WC_PYTHON:=/usr/bin/python3}"
: "${WC_STOP_TIMEOUT:=10}"
export WC_SOURCE_DIR WC_BUILD_DIR WC_PYTHON WC_LIB_DIR

declare -gA _WC_PROC_PID=()  # name -> pid
declare -ga _WC_PROC_ORDER=() # names in start order
_WC_MAIN_PID=""
_WC_T0=""
_WC_ERRFD=2
WC_TEST_NAME="${WC_TEST_NAME:-$(basename "${0%.sh}")}"

# ---------------------------------------------------------------------------
# logging / failing

# wc_log MSG... : progress line on stderr, tagged with test name and elapsed time.
wc_log() {
    local el=$(( ($(_wc_now_us) - ${_WC_T0:-$(_wc_now_us)}) / 100000 ))
    printf '[%s +%d.%ds] %s\n' "$WC_TEST_NAME" $(( el / 10 )) $(( el % 10 )) "$*" >&"$_WC_ERRFD"
}

# monotonic enough for test deadlines: wall clock in microseconds, no fork
_wc_now_us() {
    local t=$EPOCHREALTIME
    printf '%s\n' "${t/[.,]/}"
}

# wc_pass MSG... : "PASS: <test>: MSG" on stdout.
wc_pass() {
    printf 'PASS: %s: %s\n' "$WC_TEST_NAME" "$*"
}

# wc_fail MSG... : "FAIL: <test>: MSG" and exit 1 (the EXIT trap cleans up).
# Safe inside subshells and $(...): it then terminates the test shell too.
wc_fail() {
    printf 'FAIL: %s: %s\n' "$WC_TEST_NAME" "$*" >&"$_WC_ERRFD"
    if [[ -n "$_WC_MAIN_PID" && "$BASHPID" != "$_WC_MAIN_PID" ]]; then
        _WC_FAILED_IN_SUBSHELL=1
        kill -USR1 "$_WC_MAIN_PID" 2>/dev/null
    fi
    exit 1
}

# wc_assert_eq DESC EXPECTED ACTUAL
wc_assert_eq() {
    [[ "$2" == "$3" ]] || wc_fail "$1: expected '$2', got '$3'"
}

# wc_assert_ge DESC MIN ACTUAL (integers)
wc_assert_ge() {
    [[ "$3" =~ ^-?[0-9]+$ ]] || wc_fail "$1: '$3' is not an integer"
    (( $3 >= $2 )) || wc_fail "$1: expected >= $2, got $3"
}

# ---------------------------------------------------------------------------
# environment

# wc_env_init : work dir, traps, clock. Call once, from the test's main shell.
wc_env_init() {
    _WC_MAIN_PID=$BASHPID
    _WC_T0=$(_wc_now_us)
    exec {_WC_ERRFD}>&2
    WC_WORK=$(mktemp -d "${TMPDIR:-/tmp}/wc-${WC_TEST_NAME}.XXXXXX") || {
        echo "FAIL: $WC_TEST_NAME: mktemp failed" >&2
        exit 1
    }
    export WC_WORK
    trap '_wc_on_exit' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    trap 'exit 1' USR1 # wc_fail from a subshell
    wc_log "work dir $WC_WORK (build dir $WC_BUILD_DIR)"
}

_wc_on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP USR1
    set +e
    wc_stop_all
    if (( rc != 0 )) && [[ -d "${WC_WORK:-}" ]]; then
        local f
        for f in "$WC_WORK"/*.log "$WC_WORK"/*/*.log; do
            [[ -s "$f" ]] || continue
            printf -- '----- last lines of %s -----\n' "${f#"$WC_WORK"/}" >&"$_WC_ERRFD"
            tail -n 25 "$f" >&"$_WC_ERRFD"
        done
    fi
    if [[ -d "${WC_WORK:-}" ]]; then
        if [[ "${WC_KEEP:-0}" == 1 ]]; then
            printf '[%s] kept work dir %s\n' "$WC_TEST_NAME" "$WC_WORK" >&"$_WC_ERRFD"
        else
            rm -rf "$WC_WORK"
        fi
    fi
    exit "$rc"
}

# wc_bin NAME : print the path of a built executable (searches $WC_BUILD_DIR,
# then its deploy/, daemon/, bench/ and tools/ subdirectories); fails the
# test if it is not built.
wc_bin() {
    local d
    for d in "$WC_BUILD_DIR" "$WC_BUILD_DIR/deploy" "$WC_BUILD_DIR/daemon" "$WC_BUILD_DIR/bench" \
        "$WC_BUILD_DIR/tools" "$WC_BUILD_DIR/tests"; do
        if [[ -x "$d/$1" && -f "$d/$1" ]]; then
            printf '%s\n' "$d/$1"
            return 0
        fi
    done
    wc_fail "binary '$1' not found in $WC_BUILD_DIR (build it: cmake --build $WC_BUILD_DIR --target $1)"
}

# wc_free_port : print a TCP port that was free on 127.0.0.1 a moment ago.
wc_free_port() {
    "$WC_PYTHON" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wc_wait_until DESC TIMEOUT_S CMD... : run CMD (output discarded) until it
# succeeds; poll interval 50 ms growing to 500 ms. Fails the test with DESC
# on timeout.
wc_wait_until() {
    local desc=$1 timeout=$2
    shift 2
    local deadline iv_ms=50
    [[ "$timeout" =~ ^[0-9]+$ ]] || wc_fail "wc_wait_until: timeout must be whole seconds, got '$timeout'"
    deadline=$(( $(_wc_now_us) + timeout * 1000000 ))
    while :; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if (( $(_wc_now_us) > deadline )); then
            wc_fail "timed out after ${timeout}s waiting for: $desc"
        fi
        sleep "$(printf '0.%03d' "$iv_ms")"
        iv_ms=$(( iv_ms * 3 / 2 ))
        (( iv_ms <= 500 )) || iv_ms=500
    done
}

# wc_wait_port PORT TIMEOUT_S [DESC] : until something accepts TCP on 127.0.0.1:PORT.
wc_wait_port() {
    wc_wait_until "${3:-port $1 accepting}" "$2" _wc_port_open "$1"
}

_wc_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wc_wait_log FILE REGEX TIMEOUT_S [AFTER_LINE] : until FILE has a line
# matching REGEX (grep -E) after its first AFTER_LINE lines (default 0). Pass
# $(wc_log_lines FILE), taken before a fault, so a line from before it does
# not count.
wc_wait_log() {
    wc_wait_until "'$2' in ${1##*/}${4:+ after line $4}" "$3" _wc_log_has "$1" "$2" "${4:-0}"
}
_wc_log_has() { tail -n +"$(( $3 + 1 ))" "$1" | grep -qE -- "$2"; }
# wc_log_lines FILE : its number of lines now (0 if it does not exist yet).
wc_log_lines() { if [[ -f "$1" ]]; then wc -l <"$1"; else echo 0; fi; }

# ---------------------------------------------------------------------------
# generic process tracking

_wc_alive() {
    local st
    kill -0 "$1" 2>/dev/null || return 1
    # a zombie still answers kill -0
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ "$st" != Z && "$st" != X ]]
}

# wc_proc_start [-o OUTFILE] NAME CMD... : start CMD in the background,
# stderr (and stdout unless -o) to $WC_WORK/NAME.log; tracked for cleanup.
# Sets WC_LAST_PID. Must be called from the test shell itself.
wc_proc_start() {
    local out=""
    if [[ "$1" == -o ]]; then
        out=$2
        shift 2
    fi
    local name=$1
    shift
    [[ -n "${_WC_PROC_PID[$name]:-}" ]] && _wc_alive "${_WC_PROC_PID[$name]}" &&
        wc_fail "process '$name' already running"
    local log="$WC_WORK/$name.log"
    if [[ -n "$out" ]]; then
        "$@" >"$out" 2>"$log" </dev/null &
    else
        "$@" >"$log" 2>&1 </dev/null &
    fi
    WC_LAST_PID=$!
    _WC_PROC_PID[$name]=$WC_LAST_PID
    _WC_PROC_ORDER+=("$name")
    wc_log "started $name (pid $WC_LAST_PID): $(basename "$1") ${*:2:6}"
}

# wc_proc_pid NAME : print the pid of a tracked process.
wc_proc_pid() {
    printf '%s\n' "${_WC_PROC_PID[$1]:-}"
}

# wc_proc_alive NAME : status 0 if it is running.
wc_proc_alive() {
    local pid=${_WC_PROC_PID[$1]:-}
    [[ -n "$pid" ]] && _wc_alive "$pid"
}

# wc_proc_wait NAME TIMEOUT_S : wait for it to exit by itself; returns its
# exit status. Fails the test on timeout.
wc_proc_wait() {
    local pid=${_WC_PROC_PID[$1]:-} rc
    [[ -n "$pid" ]] || wc_fail "wc_proc_wait: unknown process '$1'"
    wc_wait_until "$1 (pid $pid) to exit" "$2" _wc_dead "$pid"
    wait "$pid" 2>/dev/null
    rc=$?
    return "$rc"
}

_wc_dead() { ! _wc_alive "$1"; }

# wc_proc_stop NAME [TIMEOUT_S] : SIGCONT+SIGTERM, wait up to TIMEOUT
# (default WC_STOP_TIMEOUT), then SIGKILL. Returns the exit status
# (143 = died by SIGTERM, 137 = needed SIGKILL).
wc_proc_stop() {
    local name=$1 timeout=${2:-$WC_STOP_TIMEOUT}
    local pid=${_WC_PROC_PID[$name]:-} rc deadline
    [[ -n "$pid" ]] || return 0
    if _wc_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        kill -CONT "$pid" 2>/dev/null
        deadline=$(( $(_wc_now_us) + timeout * 1000000 ))
        while _wc_alive "$pid" && (( $(_wc_now_us) < deadline )); do
            sleep 0.05
        done
        if _wc_alive "$pid"; then
            wc_log "$name (pid $pid) ignored SIGTERM for ${timeout}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            while _wc_alive "$pid"; do sleep 0.02; done
        fi
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    unset "_WC_PROC_PID[$name]"
    return "$rc"
}

# wc_proc_kill9 NAME : SIGKILL, reap. No cleanup chance for the process.
wc_proc_kill9() {
    local pid=${_WC_PROC_PID[$1]:-}
    [[ -n "$pid" ]] || return 0
    kill -KILL "$pid" 2>/dev/null
    while _wc_alive "$pid"; do sleep 0.02; done
    wait "$pid" 2>/dev/null || true
    unset "_WC_PROC_PID[$1]"
    wc_log "killed $1 (pid $pid) with SIGKILL"
    return 0
}

# wc_stop_all : stop every tracked process, newest first.
wc_stop_all() {
    local i name
    for (( i = ${#_WC_PROC_ORDER[@]} - 1; i >= 0; i-- )); do
        name=${_WC_PROC_ORDER[$i]}
        [[ -n "${_WC_PROC_PID[$name]:-}" ]] || continue
        wc_proc_stop "$name" || true
    done
    _WC_PROC_ORDER=()
}

# wc_leftovers : print pids of processes still alive that we started or whose
# command line mentions $WC_WORK. Status 0 if there are none.
wc_leftovers() {
    local name pid found=1 line
    for name in "${!_WC_PROC_PID[@]}"; do
        pid=${_WC_PROC_PID[$name]}
        if _wc_alive "$pid"; then
            echo "$pid $name"
            found=0
        fi
    done
    while IFS= read -r line; do
        [[ -n "$line" ]] || continue
        echo "$line"
        found=0
    done < <("$WC_PYTHON" - "$WC_WORK" "$$" <<'PY'
import os, sys
work, skip = sys.argv[1].encode(), {os.getpid(), os.getppid(), int(sys.argv[2])}
for d in os.listdir("/proc"):
    if not d.isdigit() or int(d) in skip:
        continue
    try:
        cmd = open("/proc/%s/cmdline" % d, "rb").read()
        state = open("/proc/%s/stat" % d, "rb").read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        continue
    if work in cmd and state not in (b"Z", b"X"):
        print(d, cmd.replace(b"\0", b" ").decode("utf-8", "replace")[:120])
PY
)
    return $(( found == 0 ? 1 : 0 ))
}

# ---------------------------------------------------------------------------
# Kafka (wc-localkafka)

# wc_kafka_start [wc-localkafka args...] : start the local cluster (default
# 3 brokers, standard topics with 4 partitions), wait for its announcement.
# Exports WC_BOOTSTRAP (host:port,...), WC_KAFKA_CONTROL (127.0.0.1:port),
# WC_KAFKA_PID.
wc_kafka_start() {
    local bin dir=$WC_WORK/kafka
    bin=$(wc_bin wc-localkafka) || exit 1
    mkdir -p "$dir"
    rm -f "$dir/stdout" "$dir/bootstrap" "$dir/control" "$dir/pid"
    wc_proc_start -o "$dir/stdout" kafka "$bin" --control-port 0 \
        --bootstrap-file "$dir/bootstrap" --control-file "$dir/control" \
        --pid-file "$dir/pid" "$@"
    WC_KAFKA_PID=$WC_LAST_PID
    wc_wait_until "wc-localkafka announcement" 30 _wc_kafka_announced "$dir"
    WC_BOOTSTRAP=$(sed -n 1p "$dir/stdout")
    WC_KAFKA_CONTROL=$(sed -n 's/^control //p' "$dir/stdout")
    [[ "$WC_BOOTSTRAP" == *:* && "$WC_KAFKA_CONTROL" == 127.0.0.1:* ]] ||
        wc_fail "wc-localkafka printed an unexpected announcement: $(head -c 300 "$dir/stdout")"
    export WC_BOOTSTRAP WC_KAFKA_CONTROL WC_KAFKA_PID
    [[ "$(wc_kafka_ctl ping)" == "ok pong" ]] || wc_fail "wc-localkafka control channel not answering"
    wc_log "kafka up: $WC_BOOTSTRAP (control $WC_KAFKA_CONTROL)"
}

_wc_kafka_announced() {
    if ! _wc_alive "$WC_KAFKA_PID"; then
        wc_fail "wc-localkafka exited during startup: $(tail -n 5 "$WC_WORK/kafka.log" 2>/dev/null)"
    fi
    [[ -s "$1/pid" ]] && grep -q '^control ' "$1/stdout"
}

# wc_kafka_ctl "COMMAND ARGS" : send one control command, print the reply
# line. Status 0 if the reply starts with "ok". Never fails the test itself.
wc_kafka_ctl() {
    local fd reply host=${WC_KAFKA_CONTROL%:*} port=${WC_KAFKA_CONTROL##*:}
    [[ -n "${WC_KAFKA_CONTROL:-}" ]] || { echo "err no WC_KAFKA_CONTROL"; return 1; }
    if ! { exec {fd}<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
        echo "err cannot connect to $WC_KAFKA_CONTROL"
        return 1
    fi
    printf '%s\n' "$*" >&"$fd"
    if ! IFS= read -r -t 30 reply <&"$fd"; then
        reply="err no reply within 30s"
    fi
    exec {fd}>&-
    printf '%s\n' "$reply"
    [[ "$reply" == ok* ]]
}

# wc_kafka_stop : SIGTERM the cluster; fails the test unless it exits 0.
wc_kafka_stop() {
    local rc=0
    wc_proc_stop kafka || rc=$?
    (( rc == 0 )) || wc_fail "wc-localkafka exited with status $rc"
    unset WC_KAFKA_PID
}

# wckafka ARGS... : run tests/lib/wckafka.py (see `wckafka --help`);
# --bootstrap defaults to $WC_BOOTSTRAP.
wckafka() {
    "$WC_PYTHON" "$WC_LIB_DIR/wckafka.py" "$@"
}

# ---------------------------------------------------------------------------
# Redis (Debian's redis-server, throwaway, no persistence unless asked)

# wc_redis_start [redis-server args...] : start redis on a free port (or on
# $WC_REDIS_PORT if set, e.g. for a restart), wait for PING. Extra args are
# appended (e.g. --appendonly yes). Exports WC_REDIS (127.0.0.1:port),
# WC_REDIS_PORT, WC_REDIS_PID.
wc_redis_start() {
    WC_REDIS_PORT=${WC_REDIS_PORT:-$(wc_free_port)}
    _wc_redis_spawn redis "$WC_REDIS_PORT" "$@"
    WC_REDIS_PID=$(wc_proc_pid redis)
    WC_REDIS=127.0.0.1:$WC_REDIS_PORT
    export WC_REDIS WC_REDIS_PORT WC_REDIS_PID
    wc_log "redis up: $WC_REDIS"
}

# wc_redis_start_named NAME : one more redis-server (process NAME, dir
# $WC_WORK/NAME) on a free port, e.g. the dedup claims' own Redis; waits for
# PING. Sets WC_NAMED_REDIS (127.0.0.1:port) and WC_NAMED_REDIS_PORT; stop it
# with wc_proc_stop NAME.
wc_redis_start_named() {
    WC_NAMED_REDIS_PORT=$(wc_free_port)
    _wc_redis_spawn "$1" "$WC_NAMED_REDIS_PORT"
    WC_NAMED_REDIS=127.0.0.1:$WC_NAMED_REDIS_PORT
    wc_log "$1 up: $WC_NAMED_REDIS"
}

# _wc_redis_spawn NAME PORT [redis-server args...] : no persistence, dir
# $WC_WORK/NAME, log $WC_WORK/NAME.log; returns once it answers PING.
_wc_redis_spawn() {
    local name=$1 port=$2 bin=${WC_REDIS_SERVER:-/usr/bin/redis-server}
    local dir=$WC_WORK/$name
    shift 2
    [[ -x "$bin" ]] || wc_fail "redis-server not found at $bin (apt-get install redis-server)"
    mkdir -p "$dir"
    wc_proc_start "$name" "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" \
        --save '' --appendonly no --daemonize no --pidfile "$dir/redis.pid" \
        --logfile '' --protected-mode no "$@"
    wc_wait_until "$name PING on 127.0.0.1:$port" 20 _wc_redis_pong "$name" "$port"
}

_wc_redis_pong() { # NAME PORT
    wc_proc_alive "$1" || wc_fail "$1 exited during startup: $(tail -n 5 "$WC_WORK/$1.log")"
    [[ "$(redis-cli -h 127.0.0.1 -p "$2" ping 2>/dev/null)" == PONG ]]
}

# wc_redis_cli ARGS... : redis-cli against the test redis.
wc_redis_cli() {
    redis-cli -h 127.0.0.1 -p "$WC_REDIS_PORT" "$@"
}

# wc_redis_stop : SIGTERM, wait. WC_REDIS_PORT stays set, so a following
# wc_redis_start comes back on the same port.
wc_redis_stop() {
    wc_proc_stop redis || true
    wc_log "redis stopped"
}

# wc_redis_kill9 : SIGKILL (crash). Same port on the next wc_redis_start.
wc_redis_kill9() {
    wc_proc_kill9 redis
}

# wc_redis_sigstop / wc_redis_sigcont : freeze / thaw (a hung server: TCP
# connects still succeed, nothing answers).
wc_redis_sigstop() {
    kill -STOP "${_WC_PROC_PID[redis]:?redis not running}"
    wc_log "redis frozen (SIGSTOP)"
}

wc_redis_sigcont() {
    kill -CONT "${_WC_PROC_PID[redis]:?redis not running}"
    wc_log "redis thawed (SIGCONT)"
}

# ---------------------------------------------------------------------------
# the daemon under test

# wc_daemon_start [-n NAME] ARGS... : start webcared (or $WC_DAEMON_BIN) with
# ARGS passed through unchanged; log in $WC_WORK/NAME.log (default NAME
# webcared). Exports WC_DAEMON_PID and WC_DAEMON_LOG (of the last started).
# Readiness is the caller's business (wc_wait_port / wc_wait_log / ...).
wc_daemon_start() {
    local name=webcared bin
    if [[ "${1:-}" == -n ]]; then
        name=$2
        shift 2
    fi
    bin=${WC_DAEMON_BIN:-$(wc_bin webcared)} || exit 1
    wc_proc_start "$name" "$bin" "$@"
    WC_DAEMON_PID=$WC_LAST_PID
    WC_DAEMON_LOG=$WC_WORK/$name.log
    export WC_DAEMON_PID WC_DAEMON_LOG
}

# wc_daemon_stop [NAME] [TIMEOUT_S] : SIGTERM, wait (default WC_STOP_TIMEOUT),
# SIGKILL if needed. Returns the daemon's exit status (0 = clean shutdown).
wc_daemon_stop() {
    local name=${1:-webcared} rc=0
    wc_proc_stop "$name" "${2:-$WC_STOP_TIMEOUT}" || rc=$?
    wc_log "$name stopped, exit status $rc"
    return "$rc"
}

# wc_daemon_kill9 [NAME] : crash it (SIGKILL).
wc_daemon_kill9() {
    wc_proc_kill9 "${1:-webcared}"
}

# wc_daemon_alive [NAME] : status 0 while it runs.
wc_daemon_alive() {
    wc_proc_alive "${1:-webcared}"
}
