#!/usr/bin/env bash
# it_soak_kill.sh - CI-sized run of tests/soak/soak_kill.sh (issue 7):
# 100,000 mentions fed at 2,500/s while webcared is kill -9'd every 10 s and
# restarted (at least 3 kills; the 3rd stop is a SIGTERM), with broker 2
# down/up, output leader moves, a Redis SIGSTOP and Produce errors in
# between. Faults stop when the input is fed and 3 kills were done (then the
# last instance finishes). 0 lost (acknowledged input without a case event
# or DLQ record); duplicates reported. All figures are in the soak script's
# last lines. WC_IT_COUNT / WC_IT_RATE override the size and the feed rate.
#
# In the CI gate since 2026-12-07: 1 of 12 early runs lost 1 mention
# (docs/FAULTS.md, "A lost mention in the kill -9 soak"), most likely through the
# mock's offset-less delivery reports at leader moves, which the daemon now
# produces again; since then every run was clean (5 CI-size runs, the
# 1,000,000-mention soaks in both modes with up to 153 kill -9).
# WC_IT_SOAK=0 skips it (e.g. on a machine too slow for its timeouts).
# WC_IT_EXACTLY_ONCE=1 runs it in exactly-once mode (soak_kill.sh --exactly-once).
set -euo pipefail
if [[ "${WC_IT_SOAK:-1}" == 0 ]]; then
    echo "SKIP: it_soak_kill: WC_IT_SOAK=0"
    exit 0
fi
export WC_TEST_NAME=it_soak_kill
N=${WC_IT_COUNT:-100000}
EOS=()
[[ "${WC_IT_EXACTLY_ONCE:-0}" != 1 ]] || EOS=(--exactly-once)
exec bash "$(dirname "$0")/../soak/soak_kill.sh" --mentions "$N" --rate "${WC_IT_RATE:-2500}" \
    --kill-every 10 --min-kills 3 --lag-end "$N" --partitions 64 --out-partitions 32 "${EOS[@]}"
