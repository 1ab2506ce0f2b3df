#!/usr/bin/env bash
# A minimal Debian bookworm tree with systemd, booted with systemd-nspawn as a test host (cached). Prints its path.
#   hack/build-host-rootfs.sh            with python3 (the tests run edgeadm from the source tree in it)
#   hack/build-host-rootfs.sh nopython   the same tree with every Python package purged: only the release
#                                        executable can run edgeadm there
set -euo pipefail
CACHE=${EDGEADM_CACHE:-$HOME/.cache/edgeadm}
FLAVOR=${1:-bookworm}
BASE="$CACHE/hosts/rootfs-bookworm"
case "$FLAVOR" in
  bookworm) OUT=$BASE ;;
  nopython) OUT="$CACHE/hosts/rootfs-bookworm-nopython" ;;
  *) echo "build-host-rootfs: unknown flavour $FLAVOR (bookworm, nopython)" >&2; exit 2 ;;
esac
if [ -x "$OUT/lib/systemd/systemd" ]; then echo "$OUT"; exit 0; fi
mkdir -p "$CACHE/hosts"
rm -rf "$OUT.tmp"
if [ "$FLAVOR" = bookworm ]; then
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,iproute2,ca-certificates,libssl3,libffi8,zlib1g,libbz2-1.0,liblzma5,libsqlite3-0,libreadline8,iptables,kmod,procps,mount,util-linux,python3 \
    bookworm "$OUT.tmp" >&2
else
  "$0" bookworm >/dev/null
  cp -a --reflink=auto "$BASE" "$OUT.tmp"
  pkgs=$(chroot "$OUT.tmp" dpkg-query -W -f '${Package}\n' | grep -E '^(lib)?python3' || true)
  # shellcheck disable=SC2086
  chroot "$OUT.tmp" dpkg --purge --force-depends $pkgs >&2
  if ls "$OUT.tmp"/usr/bin/python* >/dev/null 2>&1; then
    echo "build-host-rootfs: a python is still in the tree" >&2; exit 1
  fi
fi
mv "$OUT.tmp" "$OUT"
echo "$OUT"
