"""Running edgeadm against a test cluster, as a user would (a subprocess with KUBECONFIG set)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.harness import cluster as harness


def edgeadm(c: harness.Cluster, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "KUBECONFIG": str(c.admin_conf), **(env or {})}
    return subprocess.run([sys.executable, "-m", "edgeadm", *args], check=False, capture_output=True, text=True,
                          env=full_env, timeout=300)


def addon(c: harness.Cluster, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    skip = () if any(x.startswith("--skip-phases") for x in extra) else harness.ADDON_FLAGS
    return edgeadm(c, "addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key"),
                   *skip, *extra, env=env)


def kube_of(c: harness.Cluster) -> Any:
    from edgeadm import kube

    return kube.connect(c.admin_conf)


def release_archive(work: Path, k8s_bins: Path) -> Path:
    """A release archive as `make release` writes it (the executable frozen here, a package of the test cluster's
    Kubernetes version), for the tests that put it on hosts."""
    from edgeadm import __version__
    from hack import release as rel
    from tests.harness.packages import build_package

    version = "v" + harness.k8s_version().lstrip("v")
    pkg = build_package(k8s_bins, work, name=f"kube-linux-amd64-{version}.tar.gz")
    return rel.write(work / "dist", arch="amd64", version=f"v{__version__}",
                     executable=harness.hack_build("build-executable.sh"), package=pkg)
