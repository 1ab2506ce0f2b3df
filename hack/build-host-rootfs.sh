#!/usr/bin/env bash
# A minimal Debian bookworm tree with systemd, booted with systemd-nspawn as a test edge host (cached).
set -euo pipefail
CACHE=${EDGEADM_CACHE:-$HOME/.cache/edgeadm}
OUT="$CACHE/hosts/rootfs-bookworm"
if [ -x "$OUT/lib/systemd/systemd" ]; then echo "$OUT"; exit 0; fi
mkdir -p "$CACHE/hosts"
rm -rf "$OUT.tmp"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,iproute2,ca-certificates,libssl3,libffi8,zlib1g,libbz2-1.0,liblzma5,libsqlite3-0,libreadline8,iptables,kmod,procps,mount,util-linux,python3 \
  bookworm "$OUT.tmp" >&2
mv "$OUT.tmp" "$OUT"
echo "$OUT"
