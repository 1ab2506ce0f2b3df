#!/usr/bin/env bash
# The main job on the built-in local cluster: start it (if not running), make it edge-capable and print the
# join command an edge node would run. Re-running is safe: addon then reports no changes.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER_DIR=${CLUSTER_DIR:-.cluster}
if [ ! -f "$CLUSTER_DIR/state.json" ]; then
  .venv/bin/python -m tests.harness.cluster up --dir "$CLUSTER_DIR" --flavor "${CLUSTER_FLAVOR:-kubeadm}" >/dev/null
fi
export KUBECONFIG=$PWD/$CLUSTER_DIR/admin.conf
PKI=$PWD/$CLUSTER_DIR/pki
set -x
.venv/bin/edgeadm version
.venv/bin/edgeadm addon edge-apps --ca.cert "$PKI/ca.crt" --ca.key "$PKI/ca.key" --master-public-addr 127.0.0.1:"$(
  .venv/bin/python -c 'import json,sys;print(json.load(open(sys.argv[1]))["apiserver_port"])' "$CLUSTER_DIR/state.json")"
.venv/bin/edgeadm token create --print-join-command
