#!/usr/bin/env bash
# The main job on the built-in local cluster: start it (if not running) and run edgeadm against it.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER_DIR=${CLUSTER_DIR:-.cluster}
if [ ! -f "$CLUSTER_DIR/state.json" ]; then
  .venv/bin/python -m tests.harness.cluster up --dir "$CLUSTER_DIR" --flavor "${CLUSTER_FLAVOR:-kubeadm}" >/dev/null
fi
export KUBECONFIG=$PWD/$CLUSTER_DIR/admin.conf
set -x
.venv/bin/edgeadm version
