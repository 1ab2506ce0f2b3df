"""Write the release archive `edgeadm-linux-<arch>-<version>.tgz` (called by hack/build-release.sh).

    python -m hack.release --arch amd64 --version v0.1.0 --executable EXE [--package PKG] -o DIR

Without --package it builds the static install package `kube-linux-<arch>-v<k8s>.tar.gz` into DIR first (with
`edgeadm package build`): the pinned kubelet and lite-apiserver, this machine's containerd, runc and CNI plugins
(Debian's), the pause image and the images an edge node runs (tunnel, edge-health, application-grid-wrapper,
kube-proxy), so an edge site needs no registry.

It unpacks to `edgeadm-linux-<arch>-<version>/` holding `edgeadm`, the install package under its own name and
`SHA256SUMS` (of both, `sha256sum -c` format). Reproducible: fixed order, owners, modes and times and a gzip header
without name or time, so the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import re
import sys
import tarfile
from pathlib import Path

from edgeadm.package import sha256_file, tar_entry

ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def write(out_dir: Path, *, arch: str, version: str, executable: Path, package: Path) -> Path:
    arch = ARCHES[arch]
    if not re.fullmatch(r"v\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?", version):
        raise SystemExit(f"release: `{version}` is not a version like v0.1.0")
    top = f"edgeadm-linux-{arch}-{version}"
    sums = f"{sha256_file(executable)}  edgeadm\n{sha256_file(package)}  {package.name}\n".encode()
    out = out_dir / f"{top}.tgz"
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tgz.part")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(tar_entry(top, tarfile.DIRTYPE, 0o755, 0))
        tar.addfile(tar_entry(f"{top}/SHA256SUMS", tarfile.REGTYPE, 0o644, len(sums)), io.BytesIO(sums))
        for name, src, mode in (("edgeadm", executable, 0o755), (package.name, package, 0o644)):
            with open(src, "rb") as fh:
                tar.addfile(tar_entry(f"{top}/{name}", tarfile.REGTYPE, mode, os.fstat(fh.fileno()).st_size), fh)
    os.replace(tmp, out)
    return out


EDGE_COMPONENTS = ("tunnel", "edge-health", "application-grid-wrapper")


def build_package(out_dir: Path, arch: str) -> Path:
    """The static install package for this machine's architecture, from the cached builds (tests/harness)."""
    from tests.harness import cluster, images, packages

    bins = cluster.bin_dir(build=True)
    version = "v" + cluster.k8s_version().lstrip("v")
    edge_images = images.superedge_images(cluster.cache_dir() / "images", components=EDGE_COMPONENTS)
    proxy = images.control_plane_images(cluster.cache_dir() / "k8s-images", bins, version)[
        f"{images.K8S_REGISTRY}/kube-proxy:{version}"]
    return packages.build_package(bins, out_dir, arch=arch, name=f"kube-linux-{arch}-{version}.tar.gz",
                                  images=[*edge_images, proxy])


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="hack.release")
    p.add_argument("--arch", required=True, choices=sorted(ARCHES))
    p.add_argument("--version", required=True)
    p.add_argument("--executable", type=Path, required=True)
    p.add_argument("--package", type=Path, default=None)
    p.add_argument("-o", "--output-dir", type=Path, required=True)
    a = p.parse_args(argv)
    package = a.package or build_package(a.output_dir, ARCHES[a.arch])
    print(write(a.output_dir, arch=a.arch, version=a.version, executable=a.executable, package=package))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
