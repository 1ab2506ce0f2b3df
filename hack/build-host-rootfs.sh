#!/usr/bin/env bash
# A minimal Debian bookworm tree with systemd, booted with systemd-nspawn as a test host (cached). Prints its path.
#   hack/build-host-rootfs.sh            with python3 (the tests run edgeadm from the source tree in it)
#   hack/build-host-rootfs.sh nopython   the same tree with every Python package purged: only the release
#                                        executable can run edgeadm there
#   hack/build-host-rootfs.sh sshd       the bookworm tree with OpenSSH's server and sudo (batch join over SSH); no host
#                                        keys: each test host gets its own when it starts
set -euo pipefail
CACHE=${EDGEADM_CACHE:-$HOME/.cache/edgeadm}
FLAVOR=${1:-bookworm}
BASE="$CACHE/hosts/rootfs-bookworm"
case "$FLAVOR" in
  bookworm) OUT=$BASE ;;
  nopython) OUT="$CACHE/hosts/rootfs-bookworm-nopython" ;;
  sshd) OUT="$CACHE/hosts/rootfs-bookworm-sshd" ;;
  *) echo "build-host-rootfs: unknown flavour $FLAVOR (bookworm, nopython, sshd)" >&2; exit 2 ;;
esac
mkdir -p "$CACHE/hosts"; exec 9>"$OUT.lock"; flock 9  # one build per tree at a time (CI prebuilds beside the tests)
if [ -x "$OUT/lib/systemd/systemd" ]; then echo "$OUT"; exit 0; fi
rm -rf "$OUT.tmp"
if [ "$FLAVOR" = bookworm ]; then
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,iproute2,ca-certificates,libssl3,libffi8,zlib1g,libbz2-1.0,liblzma5,libsqlite3-0,libreadline8,iptables,kmod,procps,mount,util-linux,python3 \
    bookworm "$OUT.tmp" >&2
elif [ "$FLAVOR" = sshd ]; then
  "$0" bookworm >/dev/null
  cp -a --reflink=auto "$BASE" "$OUT.tmp"
  mv "$OUT.tmp/etc/resolv.conf" "$OUT.tmp/etc/resolv.conf.orig"
  cp /etc/resolv.conf "$OUT.tmp/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' > "$OUT.tmp/usr/sbin/policy-rc.d"  # install, start nothing
  chmod 755 "$OUT.tmp/usr/sbin/policy-rc.d"
  chroot "$OUT.tmp" apt-get update -q >&2
  chroot "$OUT.tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    openssh-server openssh-sftp-server sudo >&2
  chroot "$OUT.tmp" apt-get clean
  rm -rf "$OUT.tmp"/var/lib/apt/lists/* "$OUT.tmp/usr/sbin/policy-rc.d" "$OUT.tmp"/etc/ssh/ssh_host_*
  mv -f "$OUT.tmp/etc/resolv.conf.orig" "$OUT.tmp/etc/resolv.conf"
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
