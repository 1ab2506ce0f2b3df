#!/usr/bin/env bash
# make demo: the whole flow on the built-in local cluster from the release archive (see hack/demo.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m hack.demo ${DEMO_ARGS:-} "$@"
