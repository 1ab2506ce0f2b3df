"""Running edgeadm against a test cluster, as a user would (a subprocess with KUBECONFIG set)."""

from __future__ import annotations

import os
import subprocess
import sys
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
