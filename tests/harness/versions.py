"""The Kubernetes versions edgeadm claims, and what differs between them, in one table.

The supported range is the range CI tests: the oldest and the newest control plane each get addon -> detach
exact and token interop with their own kubeadm (tests/e2e/test_versions.py), the newest also a join with the
oldest kubelet the skew policy allows that this machine can run, and every other test runs on the default
version (hack/k8s-version). `edgeadm.constants.MIN_SERVER_MINOR`/`MAX_TESTED_MINOR` and the README's claim are
checked against this table (tests/unit/test_versions_claim.py).

Why 1.31-1.37 (decided 2026-11): upstream supports the newest three minors (1.35-1.37); managed offerings keep
older minors for about two more years (extended support), which reaches back to 1.31; 1.31 is also the first
minor with kubeadm's v1beta4 configuration. Kubelets newer than 1.34 refuse cgroup v1 by default, which these
machines have, so the newest kubelet tested is 1.34 -- inside the skew policy (up to three minors older than the
API server) for every control plane from 1.34 to 1.37. The oldest end is v1.31.4, not 1.31's last patch: the
module proxy here serves every module of v1.31.4 but not of v1.31.5 and later (some staging modules refused).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tests.harness import cluster as harness

CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kubeadm")


@dataclass(frozen=True)
class K8s:
    version: str  # full patch version, as the Go module proxy serves k8s.io/kubernetes
    role: str  # "oldest" | "default" | "newest" | "kubelet": why CI builds it
    programs: tuple[str, ...]  # what CI builds for this version (only what its tests run)
    kubeadm_api: str  # the kubeadm configuration API its kubeadm reads
    kubelet_config_map: str  # the ConfigMap kubeadm keeps the kubelet configuration in (kube-system)
    kubelet_runs_on_cgroup_v1: bool  # feature gate / default: kubelets from 1.35 refuse cgroup v1 (failCgroupV1)

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])

    def bins(self, *, build: bool | None = None) -> Path:
        """The directory with this version's programs; built (only those) when missing and `build` (CI)."""
        d = harness.cache_dir() / "k8sbuild" / f"v{self.version}" / "bin"
        if all((d / p).exists() for p in self.programs) and (d / ".complete").exists():
            return d
        if build is None:
            build = bool(os.environ.get("CI"))
        if not build:
            raise FileNotFoundError(f"Kubernetes v{self.version} not built in {d}; run "
                                    f"K8S_VERSION={self.version} K8S_PROGS='{' '.join(self.programs)}' "
                                    "hack/build-k8s.sh")
        return harness.hack_build("build-k8s.sh", env={"K8S_VERSION": self.version,
                                                       "K8S_PROGS": " ".join(self.programs)})


ALL_PROGRAMS = ("kube-apiserver", "kube-controller-manager", "kubelet", "kubectl", "kubeadm", "kube-scheduler",
                "kube-proxy")
TABLE = (
    K8s("1.31.4", "oldest", CONTROL_PLANE, "kubeadm.k8s.io/v1beta4", "kubelet-config", True),
    K8s(harness.k8s_version().lstrip("v"), "default", ALL_PROGRAMS, "kubeadm.k8s.io/v1beta4", "kubelet-config",
        True),
    K8s("1.34.4", "kubelet", ("kubelet",), "kubeadm.k8s.io/v1beta4", "kubelet-config", True),
    K8s("1.37.2", "newest", CONTROL_PLANE, "kubeadm.k8s.io/v1beta4", "kubelet-config", False),
)
OLDEST = next(v for v in TABLE if v.role == "oldest")
NEWEST = next(v for v in TABLE if v.role == "newest")
DEFAULT = next(v for v in TABLE if v.role == "default")
NEWEST_KUBELET = next(v for v in TABLE if v.role == "kubelet")


def facts(version: str) -> K8s:
    """The row for `version` (``v1.37.2`` or ``1.37.2``); an unknown patch of a known minor uses that minor's row."""
    v = version.lstrip("v")
    minor = int(v.split(".")[1])
    for row in TABLE:
        if row.version == v:
            return row
    for row in TABLE:
        if row.minor == minor:
            return row
    raise KeyError(f"Kubernetes {version} is not in tests/harness/versions.py")
