"""A sandbox ("pause") image built locally: a static C binary in a docker-save archive (no registry needed)."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import subprocess
import tarfile
from pathlib import Path

PAUSE_C = r"""
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
static void die(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, die); signal(SIGTERM, die); signal(SIGCHLD, reap);
  for (;;) pause();
  return 0;
}
"""
IMAGE = "registry.k8s.io/pause:3.10"
# Go/OCI architecture names for `uname -m`, and the GNU triplet of each (whose gcc cross-compiles for it).
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}


def machine_arch() -> str:
    return ARCHES.get(platform.machine(), platform.machine())


def build(out_dir: Path, image: str = IMAGE, *, arch: str | None = None) -> Path:
    """Write `<arch>/pause.tar` (docker-save format) into out_dir, reusing it when present.

    `arch` defaults to this machine's; for another one the binary is built with `<triplet>-gcc` (e.g. Debian's
    gcc-aarch64-linux-gnu), so the image's label always tells the truth about its binary.
    """
    arch = arch or machine_arch()
    if arch not in TRIPLETS:
        raise ValueError(f"no pause image for architecture {arch!r}; known: {', '.join(TRIPLETS)}")
    out_dir = out_dir / arch
    out = out_dir / "pause.tar"
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / "pause.c"
    src.write_text(PAUSE_C)
    binary = out_dir / "pause"
    gcc = "gcc" if arch == machine_arch() else f"{TRIPLETS[arch]}-gcc"
    subprocess.run([gcc, "-static", "-Os", "-o", str(binary), str(src)], check=True)
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        info = t.gettarinfo(str(binary), arcname="pause")
        info.uid = info.gid = 0
        info.mode = 0o755
        info.mtime = 0
        with open(binary, "rb") as fh:
            t.addfile(info, fh)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [image], "Layers": ["layer.tar"]}]).encode()
    tmp = out.with_suffix(".part")
    with tarfile.open(tmp, "w") as t:
        for name, data in (("layer.tar", layer_bytes), (config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    tmp.rename(out)
    return out
