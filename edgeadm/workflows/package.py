"""`package build`: assemble a static install package from binaries on disk (see `edgeadm.package`)."""

from __future__ import annotations

from pathlib import Path

from edgeadm import options
from edgeadm import package as pkg


def build(output: Path, *, arch: str | None, kubernetes_version: str, kubelet: Path, lite_apiserver: Path | None,
          containerd_bins: list[Path], cni_dir: Path, pause_tar: Path, pause_image: str) -> str:
    """Write the package and `<package>.sha256`; returns the sha256."""
    kubernetes_version = options.parse_kubernetes_version(kubernetes_version)
    arch = options.parse_arch(arch) if arch else pkg.machine_arch()
    return pkg.build(output, arch=arch, kubernetes_version=kubernetes_version,
                     kubelet=kubelet, containerd_bins=containerd_bins, cni_dir=cni_dir, pause_tar=pause_tar,
                     pause_image=pause_image, lite_apiserver=lite_apiserver)
