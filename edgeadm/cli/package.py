"""`edgeadm package build`: assemble a static install package from binaries on disk."""

from __future__ import annotations

from pathlib import Path

import click

from edgeadm import console

_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def package() -> None:
    """Build static install packages."""


@package.command("build")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--arch", default=None, help="Target architecture (default: this machine's).")
@click.option("--kubernetes-version", required=True, help="The kubelet's version, e.g. v1.33.13.")
@click.option("--kubelet", type=_file, required=True)
@click.option("--lite-apiserver", type=_file, default=None)
@click.option("--kubectl", type=_file, default=None, help="kubectl for the node (installed by join, removed by reset).")
@click.option("--containerd-bin", "containerd_bins", type=_file, multiple=True, required=True,
              help="containerd, containerd-shim-runc-v2, ctr and runc (repeat the option).")
@click.option("--cni-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--pause-tar", type=_file, required=True, help="docker-save archive of the sandbox image.")
@click.option("--pause-image", default="registry.k8s.io/pause:3.10", show_default=True)
@click.option("--image", "images", type=_file, multiple=True,
              help="A docker-save archive to import on every node that joins with this package, e.g. the edge "
                   "components, so edge sites need no registry (repeat the option).")
def build(output: Path, arch: str | None, kubernetes_version: str, kubelet: Path, lite_apiserver: Path | None,
          containerd_bins: tuple[Path, ...], cni_dir: Path, pause_tar: Path, pause_image: str,
          images: tuple[Path, ...], kubectl: Path | None) -> None:
    """Write OUTPUT (tar.gz) and OUTPUT.sha256."""
    from edgeadm.cli.common import usage_errors
    from edgeadm.workflows.package import build as build_package

    with usage_errors():
        digest = build_package(output, arch=arch, kubernetes_version=kubernetes_version, kubelet=kubelet,
                               containerd_bins=list(containerd_bins), cni_dir=cni_dir, pause_tar=pause_tar,
                               pause_image=pause_image, lite_apiserver=lite_apiserver, images=list(images),
                               kubectl=kubectl)
    console.out(f"{digest}  {output}")
