#!/usr/bin/env bash
# rules-configmap.sh [RULES_DIR] : print the webcared-rules ConfigMap built
# from the rule files (default: the repository's rules/), validated first.
#   deploy/k8s/rules-configmap.sh | kubectl apply -f -
# Kubelet updates the mounted files in place; `kubectl exec deploy/webcared
# -- kill -HUP 1` then reloads them (a bad rule set is rejected and the
# running one kept).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../../rules}
if command -v webcared >/dev/null; then
    webcared check-rules "$dir" >&2
fi
args=()
for f in "$dir"/*.rules; do
    args+=("--from-file=$(basename "$f")=$f")
done
kubectl create configmap webcared-rules --namespace webcare "${args[@]}" \
    --dry-run=client -o yaml
