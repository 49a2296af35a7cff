#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages webcared needs to build,
# test, benchmark and run the local demo. Idempotent: only missing packages
# are installed (apt-get update runs only then). Needs root (or sudo).
#
# Why each package:
#   build-essential cmake pkg-config   toolchain
#   clang libclang-rt-14-dev           libFuzzer harnesses, sanitizer runtimes
#   librdkafka-dev libev-dev libhiredis-dev libjansson-dev
#                                      the fixed stack (Kafka, event loop, Redis, JSON for config/rules/stats)
#   libutf8proc-dev                    Unicode case folding / normalisation of mention text
#   redis-server                       real Redis for windows, dedup and tests
#   kcat python3 python3-confluent-kafka
#                                      independent Kafka clients used by tests and the demo
#   curl                               /metrics and /readyz probes in tests
set -euo pipefail

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      librdkafka-dev libev-dev libhiredis-dev libjansson-dev libutf8proc-dev
      redis-server kcat python3 python3-confluent-kafka curl)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
