#!/usr/bin/env bash
# Build KWOK's `kwok` controller (simulated nodes and pods for the fleet benchmark) from the Go module proxy into
# the cache (reused when present), with the simulation stages it needs next to it (`stages.yaml`: KWOK's own "fast"
# node and pod stages and its node heartbeat with a Lease, taken from the same module). Only
# `make bench BENCH_ARGS=fleet` needs it; the tests do not.
set -euo pipefail
V=${KWOK_VERSION:-v0.8.0}
CACHE=${EDGEADM_CACHE:-$HOME/.cache/edgeadm}
OUT="$CACHE/kwok/$V/kwok"
if [ -x "$OUT" ] && [ -s "$(dirname "$OUT")/stages.yaml" ]; then echo "$OUT"; exit 0; fi
mkdir -p "$(dirname "$OUT")"
if [ ! -x "$OUT" ]; then
  GOBIN="$(dirname "$OUT")/.bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$V" >&2
  mv "$(dirname "$OUT")/.bin/kwok" "$OUT"
  rmdir "$(dirname "$OUT")/.bin"
fi
SRC=$(go mod download -json "sigs.k8s.io/kwok@$V" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
S="$SRC/kustomize/stage"
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
         pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  echo "---"; cat "$S/$f"
done > "$(dirname "$OUT")/stages.yaml.part"
mv "$(dirname "$OUT")/stages.yaml.part" "$(dirname "$OUT")/stages.yaml"
echo "$OUT"
