"""Fixtures and helpers shared by the real-cluster tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import cluster as harness


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory, k8s_bins: Path) -> Iterator[dict[str, harness.Cluster]]:
    """One fresh cluster per flavour for this module, started on first use."""
    started: dict[str, harness.Cluster] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, flavor: str) -> harness.Cluster:
            c = harness.up(tmp_path_factory.mktemp(f"addon-{flavor}"), flavor, bins=k8s_bins)
            started[flavor] = c
            self[flavor] = c
            return c

    try:
        yield Lazy()
    finally:
        for c in started.values():
            harness.down(c.dir)


@pytest.fixture(params=["kubeadm", "bare"])
def cluster(request: pytest.FixtureRequest, clusters: dict[str, harness.Cluster]) -> harness.Cluster:
    return clusters[request.param]


def edgeadm(c: harness.Cluster, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "KUBECONFIG": str(c.admin_conf), **(env or {})}
    return subprocess.run([sys.executable, "-m", "edgeadm", *args], capture_output=True, text=True, env=full_env,
                          timeout=300)


def addon(c: harness.Cluster, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return edgeadm(c, "addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key"),
                   *extra, env=env)


def kube_of(c: harness.Cluster) -> Any:
    from edgeadm import kube

    return kube.connect(c.admin_conf)


