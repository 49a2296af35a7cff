# shellcheck shell=bash
# daemon_ready.sh - helpers shared by the daemon integration tests (sourced
# after env.sh).

# wc_daemon_wait_ready PORT [TIMEOUT_S] [NAME]: poll /readyz; fail at once
# (with the log tail) if the daemon exits meanwhile.
wc_daemon_wait_ready() {
    local port=$1 timeout=${2:-30} name=${3:-webcared}
    wc_wait_until "$name /readyz on port $port" "$timeout" _wc_daemon_ready_check "$port" "$name"
}

_wc_daemon_ready_check() {
    wc_proc_alive "$2" || wc_fail "$2 exited: $(tail -n 5 "$WC_WORK/$2.log" 2>/dev/null)"
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null
}

# wc_metric PORT NAME : print a metric's value from /metrics (first match).
wc_metric() {
    curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1==n && !f {print $2; f=1}'
}

# wc_metric_still PORT NAME SECS : the metric reads the same (and is set)
# twice, SECS apart. For wc_wait_until, e.g. webcared_consumed_total once
# input is paused: the workers count a message when they start on it, so
# what was queued for them before the pause is counted later.
wc_metric_still() {
    local a b
    a=$(wc_metric "$1" "$2")
    sleep "$3"
    b=$(wc_metric "$1" "$2")
    [[ -n "$a" && "$a" == "$b" ]]
}
