#!/usr/bin/env bash
# The Python the release executable is frozen from, built so that the executable runs on old distributions: CPython
# (Debian trixie's source of it, checked against a pinned sha256) compiled inside a debootstrapped Debian bullseye
# tree, so it needs glibc 2.31 at most (Ubuntu 20.04, Debian 11 and later). Cached; prints the tree's path, whose
# /opt/python holds the interpreter (shared libpython, as PyInstaller needs).
# Usage: hack/build-python.sh [ARCH]   (ARCH: amd64 here; arm64 on an arm64 machine, same commands)
set -euo pipefail
ARCH=${1:-amd64}
SUITE=bullseye
PY_VERSION=3.13.5
PY_SRC=python3.13_$PY_VERSION.orig.tar.xz
PY_SHA256=93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640  # Debian trixie Sources, 3.13.5-2
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${EDGEADM_CACHE:-$HOME/.cache/edgeadm}
ROOT="$CACHE/release/buildroot-$SUITE-$ARCH"
LOG=${EDGEADM_BUILD_LOG:-/dev/stderr}

mkdir -p "$CACHE/release"; exec 9>"$ROOT.lock"; flock 9  # one build per tree at a time (CI prebuilds beside the tests)
if [ -x "$ROOT/opt/python/bin/python3" ]; then echo "$ROOT"; exit 0; fi
case "$(uname -m)" in x86_64) HOST_ARCH=amd64 ;; aarch64) HOST_ARCH=arm64 ;; *) HOST_ARCH=$(uname -m) ;; esac
if [ "$ARCH" != "$HOST_ARCH" ]; then
  echo "build-python: this machine is $HOST_ARCH; build the $ARCH release on a $ARCH machine (make release)" >&2
  exit 2
fi
mkdir -p "$CACHE/release"
if [ ! -x "$ROOT.tmp/usr/bin/gcc" ]; then
  rm -rf "$ROOT.tmp"
  echo "build-python: debootstrap $SUITE build tree (a few minutes)" >&2
  debootstrap --arch="$ARCH" --variant=minbase \
    --include=build-essential,libssl-dev,zlib1g-dev,libffi-dev,libbz2-dev,liblzma-dev,libsqlite3-dev,ca-certificates,xz-utils \
    "$SUITE" "$ROOT.tmp" "$MIRROR" >>"$LOG" 2>&1
fi
SRC="$CACHE/release/$PY_SRC"
if ! echo "$PY_SHA256  $SRC" | sha256sum -c --status 2>/dev/null; then
  curl -fsSL -o "$SRC.part" "$MIRROR/pool/main/p/python3.13/$PY_SRC"
  echo "$PY_SHA256  $SRC.part" | sha256sum -c --status || { echo "build-python: $PY_SRC: sha256 mismatch" >&2; exit 1; }
  mv "$SRC.part" "$SRC"
fi
rm -rf "$ROOT.tmp/src" && mkdir -p "$ROOT.tmp/src"
tar -xJf "$SRC" -C "$ROOT.tmp/src" --strip-components=1
echo "build-python: compiling CPython $PY_VERSION in the $SUITE tree (about 10 minutes on 2 cores)" >&2
start=$(date +%s)
chroot "$ROOT.tmp" /bin/sh -c "cd /src && ./configure --prefix=/opt/python --enable-shared \
    LDFLAGS=-Wl,-rpath,/opt/python/lib && make -j$(nproc) && make install" >>"$LOG" 2>&1
rm -rf "$ROOT.tmp/src"
mv "$ROOT.tmp" "$ROOT"
echo "build-python: CPython $PY_VERSION in $(( $(date +%s) - start ))s" >&2
echo "$ROOT"
