#!/usr/bin/env bash
# mock_ack_probe.sh [N [RATE]] - start wc-localkafka (3 brokers, topic "out"
# with 4 partitions, 50 ms round trip on brokers 2 and 3) and run
# mock_ack_probe.py against it: does every acknowledged idempotent produce
# end up in the log under the fault verbs our tests use? ERRS overrides the
# injected Produce errors. Not a test (it documents a mock limit:
# docs/LOCALKAFKA.md). Build dir: WC_BUILD_DIR (default <source>/build).
set -euo pipefail
export WC_TEST_NAME=mock_ack_probe
source "$(dirname "$0")/env.sh"
wc_env_init
wc_kafka_start --brokers 3 --default-partitions 4 --topic out:4
for b in 2 3; do wc_kafka_ctl rtt "$b" 50 >/dev/null; done
"$WC_PYTHON" "$WC_LIB_DIR/mock_ack_probe.py" "$WC_BOOTSTRAP" "$WC_KAFKA_CONTROL" "${1:-30000}" "${2:-2000}"
