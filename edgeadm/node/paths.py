"""Where join puts things on a node: one place for every path the join phases, reset and the units use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONTAINERD_SOCK = "/run/containerd/containerd.sock"
DUMMY_NIC = "tkeedgedns"  # the edge virtual address's device (SuperEdge's name)
KNOWN_RUNTIME_SOCKETS = ("/run/containerd/containerd.sock", "/var/run/docker.sock", "/run/crio/crio.sock",
                         "/var/run/cri-dockerd.sock")


@dataclass(frozen=True)
class NodePaths:
    """The node filesystem layout under `root` (`/` on a real node; a temporary tree in tests)."""

    root: Path = Path("/")

    def _at(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    @property
    def bin(self) -> Path:
        return self._at("/usr/local/bin")

    @property
    def sbin(self) -> Path:
        return self._at("/usr/local/sbin")

    @property
    def cni_bin(self) -> Path:
        return self._at("/opt/cni/bin")

    @property
    def cni_conf(self) -> Path:
        return self._at("/etc/cni/net.d")

    @property
    def k8s(self) -> Path:
        return self._at("/etc/kubernetes")

    @property
    def ca_crt(self) -> Path:
        return self.k8s / "pki" / "ca.crt"

    @property
    def kubelet_conf(self) -> Path:
        return self.k8s / "kubelet.conf"

    @property
    def bootstrap_conf(self) -> Path:
        return self.k8s / "bootstrap-kubelet.conf"

    @property
    def edge_dir(self) -> Path:
        return self.k8s / "edge"

    @property
    def kubelet_dir(self) -> Path:
        return self._at("/var/lib/kubelet")

    @property
    def kubelet_client_pem(self) -> Path:
        """The kubelet's client certificate and key (one file), written by its TLS bootstrap."""
        return self.kubelet_dir / "pki" / "kubelet-client-current.pem"

    @property
    def units(self) -> Path:
        return self._at("/etc/systemd/system")

    @property
    def sysctl_conf(self) -> Path:
        return self._at("/etc/sysctl.d/99-edgeadm.conf")

    @property
    def containerd_config(self) -> Path:
        return self._at("/etc/containerd/config.toml")

    @property
    def state_dir(self) -> Path:
        """edgeadm's own state on the node: the join journal and backups of files join overwrote."""
        return self._at("/var/lib/edgeadm")

    @property
    def staging(self) -> Path:
        """Where join fetches and unpacks the install package. A fixed place, not a random temporary directory,
        so that a join killed mid-way leaves nothing that a later join or reset cannot find and remove."""
        return self._at("/var/lib/edgeadm-staging")

    @property
    def lite_cache(self) -> Path:
        return self._at("/data/lite-apiserver")


NODE = NodePaths()
