"""`package build`: assemble a static install package from binaries on disk (see `edgeadm.package`)."""

from __future__ import annotations

from pathlib import Path

from edgeadm import images as image_archives
from edgeadm import options
from edgeadm import package as pkg
from edgeadm.errors import ConfigError, UsageError


def build(output: Path, *, arch: str | None, kubernetes_version: str, kubelet: Path, lite_apiserver: Path | None,
          containerd_bins: list[Path], cni_dir: Path, pause_tar: Path, pause_image: str,
          images: list[Path] | None = None, kubectl: Path | None = None) -> str:
    """Write the package and `<package>.sha256`; returns the sha256."""
    kubernetes_version = options.parse_kubernetes_version(kubernetes_version)
    arch = options.parse_arch(arch) if arch else pkg.machine_arch()
    archives = []
    for path in images or []:
        try:
            archives.append(image_archives.inspect(path, arch=arch))
        except ConfigError as exc:
            raise UsageError(exc.message, hint=exc.hint, flag="--image") from None
    return pkg.build(output, arch=arch, kubernetes_version=kubernetes_version,
                     kubelet=kubelet, containerd_bins=containerd_bins, cni_dir=cni_dir, pause_tar=pause_tar,
                     pause_image=pause_image, lite_apiserver=lite_apiserver, images=archives, kubectl=kubectl)
