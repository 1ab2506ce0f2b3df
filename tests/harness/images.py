"""Container images without a registry: docker-save archives written from files on disk, reproducibly (fixed times,
owners and order), with the platform set so `ctr images import` does not filter them out. Used for the SuperEdge
components built by hack/build-superedge.sh, under the exact names the addon renders."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

REPO = "superedge.tencentcloudcr.com/superedge"
VERSION = "v0.9.0"
COMPONENTS = ("tunnel", "edge-health", "edge-health-admission", "application-grid-controller",
              "application-grid-wrapper")


def _info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime, info.uid, info.gid = kind, mode, size, 0, 0, 0
    return info


def write_archive(out: Path, ref: str, *, files: dict[str, Path | bytes], dirs: tuple[str, ...] = (),
                  entrypoint: list[str], arch: str = "amd64") -> Path:
    """One image of one layer: `files` maps absolute paths in the image to a file on disk (mode 0755) or bytes
    (mode 0644). Same inputs, same bytes."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as t:
        parents = {str(Path(p).parent).lstrip("/") for p in files} | {d.lstrip("/") for d in dirs}
        every = set()
        for d in parents:
            while d not in ("", "."):
                every.add(d)
                d = str(Path(d).parent)
        for d in sorted(every):
            t.addfile(_info(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755))
        for dest, src in sorted(files.items()):
            if isinstance(src, bytes):
                t.addfile(_info(dest.lstrip("/"), tarfile.REGTYPE, 0o644, len(src)), io.BytesIO(src))
            else:
                with open(src, "rb") as fh:
                    t.addfile(_info(dest.lstrip("/"), tarfile.REGTYPE, 0o755, os.fstat(fh.fileno()).st_size), fh)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Entrypoint": entrypoint, "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": ["layer.tar"]}]).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as t:
        for name, data in (("layer.tar", layer_bytes), (config_name, config), ("manifest.json", manifest)):
            t.addfile(_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    tmp.rename(out)
    return out


def superedge_bin_dir() -> Path:
    """Build (or reuse) the patched SuperEdge components; returns their directory."""
    from tests.harness.cluster import hack_build

    return hack_build("build-superedge.sh")


def superedge_images(out_dir: Path, *, components: tuple[str, ...] = COMPONENTS, repo: str = REPO,
                     version: str = VERSION, bin_dir: Path | None = None) -> list[Path]:
    """docker-save archives of the SuperEdge components under the names the addon renders by default; each is
    reused when present (keyed by the binary's directory, which hack/build-superedge.sh keys by patch series)."""
    bin_dir = bin_dir or superedge_bin_dir()
    out = []
    for name in components:
        ref = f"{repo}/{name}:{version}"
        target = out_dir / bin_dir.parent.name / f"{name}.tar"
        if not target.exists():
            write_archive(target, ref, files={f"/usr/local/bin/{name}": bin_dir / name,
                                              "/etc/nsswitch.conf": b"hosts: files dns\n"},
                          dirs=("/tmp", "/var/log/tunnel"), entrypoint=[f"/usr/local/bin/{name}"])
        out.append(target)
    return out
