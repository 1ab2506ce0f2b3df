#!/usr/bin/env bash
# The self-contained `edgeadm` executable (no Python needed on the target): PyInstaller, one file, frozen from the
# old-glibc CPython of hack/build-python.sh, with the dependencies pinned by hash (hack/release-requirements.txt).
# Cached by a digest of everything that goes in; prints the executable's path.
# Usage: hack/build-executable.sh [ARCH]    (EDGEADM_EXE_OUT=path: build again into that path, cache untouched)
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:-amd64}
CACHE=${EDGEADM_CACHE:-$HOME/.cache/edgeadm}
LOG=${EDGEADM_BUILD_LOG:-/dev/stderr}
ROOT=$(hack/build-python.sh "$ARCH")
exec 8>"$ROOT.exe.lock"; flock 8  # builds share $ROOT/work: one at a time (CI prebuilds beside the tests)
KEY=$( (git ls-files -z edgeadm manifests pyproject.toml hack/release-requirements.txt hack/build-executable.sh \
        hack/build-python.sh hack/freeze_entry.py | xargs -0 sha256sum; echo "$ROOT") | sha256sum | cut -c1-12)
OUT="$CACHE/release/exe/$ARCH-$KEY/edgeadm"
if [ -n "${EDGEADM_EXE_OUT:-}" ]; then OUT=$EDGEADM_EXE_OUT  # a second build, to compare bytes (test_release)
elif [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi

WORK="$ROOT/work"
cleanup() {
  umount "$ROOT/proc" 2>/dev/null || true
  umount "$ROOT/dev" 2>/dev/null || true
}
trap cleanup EXIT
rm -rf "$WORK" && mkdir -p "$WORK/wheel"
echo "build-executable: wheel of edgeadm" >&2
python3 -m pip wheel -q --no-deps -w "$WORK/wheel" . >>"$LOG" 2>&1
cp hack/release-requirements.txt hack/freeze_entry.py "$WORK/"
# the dependencies are fetched here (this machine's pip settings), verified by hash, and installed in the tree
# from that directory only: the build tree has no network access of its own
PLAT=$([ "$ARCH" = arm64 ] && echo aarch64 || echo x86_64)
python3 -m pip download -q --no-deps --require-hashes -r hack/release-requirements.txt -d "$WORK/wheels" \
  --only-binary=:all: --python-version 3.13 --implementation cp --platform "manylinux_2_31_$PLAT" \
  --platform "manylinux_2_28_$PLAT" --platform "manylinux_2_17_$PLAT" --platform "manylinux2014_$PLAT" >>"$LOG" 2>&1
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
echo "build-executable: freezing with PyInstaller in the $(basename "$ROOT") tree (about a minute)" >&2
# SOURCE_DATE_EPOCH and a fixed hash seed: the same inputs give the same bytes
chroot "$ROOT" /usr/bin/env -i PATH=/opt/python/bin:/usr/bin:/bin HOME=/work SOURCE_DATE_EPOCH=1700000000 \
  PYTHONHASHSEED=0 /bin/sh -ec '
    cd /work
    /opt/python/bin/python3 -m venv /work/venv
    /work/venv/bin/pip install -q --no-cache-dir --no-index --find-links wheels --require-hashes \
      -r release-requirements.txt
    /work/venv/bin/pip install -q --no-cache-dir --no-deps wheel/edgeadm-*.whl
    /work/venv/bin/pyinstaller --noconfirm --clean --onefile --strip --name edgeadm \
      --collect-submodules edgeadm --collect-data edgeadm \
      --exclude-module tkinter --exclude-module unittest --exclude-module pydoc_data \
      --distpath /work/dist --workpath /work/build --specpath /work freeze_entry.py' >>"$LOG" 2>&1
mkdir -p "$(dirname "$OUT")"
cp "$WORK/dist/edgeadm" "$OUT.part"
mv "$OUT.part" "$OUT"
rm -rf "$WORK"
echo "build-executable: $(stat -c %s "$OUT") bytes" >&2
echo "$OUT"
