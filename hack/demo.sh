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
set -x
.venv/bin/edgeadm version
.venv/bin/edgeadm manifests --offline -o "$CLUSTER_DIR/manifests" >/dev/null
# an edge node: a real systemd host (nspawn) with containerd and the kubelet joins, shows up Ready, then resets
.venv/bin/python -m hack.demo_join "$CLUSTER_DIR"
