#!/usr/bin/env bash
# make release: dist/edgeadm-linux-<arch>-<version>.tgz, the executable and the static install package with the
# edge images (see hack/build-executable.sh and hack/release.py). Prints the archive's path.
# Usage: hack/build-release.sh [ARCH]   (default: this machine's; another architecture is built on such a machine)
# DIST: output directory (default dist/). Build steps' own output goes to EDGEADM_BUILD_LOG (default: a file in the
# cache, whose path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-$(uname -m)}" in x86_64|amd64) ARCH=amd64 ;; aarch64|arm64) ARCH=arm64 ;; *) echo "unknown arch $1" >&2; exit 2 ;; esac
CACHE=${EDGEADM_CACHE:-$HOME/.cache/edgeadm}
if [ -z "${EDGEADM_BUILD_LOG:-}" ]; then
  mkdir -p "$CACHE/release"
  export EDGEADM_BUILD_LOG="$CACHE/release/build.log"
  : >"$EDGEADM_BUILD_LOG"
  echo "build-release: build output goes to $EDGEADM_BUILD_LOG" >&2
fi
VERSION=v$(sed -n 's/^__version__ = "\(.*\)"/\1/p' edgeadm/__init__.py)
EXE=$(hack/build-executable.sh "$ARCH")
PY=${PYTHON:-.venv/bin/python}
"$PY" -m hack.release --arch "$ARCH" --version "$VERSION" --executable "$EXE" -o "${DIST:-dist}"
