"""What the addon phases read (kubeadm's InitData shape): the workflow's context satisfies this Protocol.

Expensive or fallible values are accessors computed on first use and cached: `ca()` loads the CA files,
`cluster()` reads the server version and control-plane nodes, `record()` loads an earlier run's record,
`values()` reuses or signs certificates and builds every template value, `applier()` is the write-ahead applier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from edgeadm import events as ev
from edgeadm.applier import Applier
from edgeadm.host import LocalHost
from edgeadm.kube.types import KubeAPI
from edgeadm.master import MasterPaths
from edgeadm.options import AddonOptions
from edgeadm.record import Record
from edgeadm.report import Report

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
    from cryptography.x509 import Certificate


@dataclass(frozen=True)
class CA:
    cert: Certificate
    key: CertificateIssuerPrivateKeyTypes
    pem: bytes


@dataclass(frozen=True)
class AddonCluster:
    """What preflight learns about the cluster."""

    server_version: dict[str, str]
    control_plane_label: str | None  # the label control-plane nodes carry (None: no such node)
    control_plane_ips: list[str] = field(default_factory=list)
    api_host: str = "127.0.0.1"  # the kubeconfig's server
    api_port: int = 443


class AddonData(Protocol):
    @property
    def options(self) -> AddonOptions: ...

    @property
    def kube(self) -> KubeAPI: ...

    @property
    def events(self) -> ev.Events: ...

    @property
    def report(self) -> Report: ...

    signing_verified: bool  # bootstrapsigner proven to sign (by preflight, or after cluster-info exists)

    def ca(self) -> CA: ...

    def cluster(self) -> AddonCluster: ...

    def master(self) -> tuple[str, int]:
        """The master public address edge nodes use (--master-public-addr, else a control-plane IP)."""
        ...

    def record(self) -> Record: ...

    def values(self) -> dict[str, Any]: ...

    def applier(self) -> Applier: ...

    @property
    def master_paths(self) -> MasterPaths:
        """Where this machine's kube-apiserver static pod and edgeadm's master state live."""
        ...

    def master_host(self) -> LocalHost:
        """Journaled changes to this master (its own state directory, kept across runs until detach)."""
        ...
