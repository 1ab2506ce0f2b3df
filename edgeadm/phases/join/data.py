"""What the join phases read (kubeadm's JoinData): the workflow's context satisfies this Protocol.

Expensive values are accessors computed on first use and cached: `cluster()` runs discovery, `package()` fetches,
verifies and unpacks the install package, `host()` opens the journal when the first change is about to happen.
"""

from __future__ import annotations

from typing import Protocol

from edgeadm import events as ev
from edgeadm.host import LocalHost
from edgeadm.node.cluster import JoinCluster
from edgeadm.node.paths import NodePaths
from edgeadm.options import JoinOptions
from edgeadm.package import Package


class JoinData(Protocol):
    @property
    def options(self) -> JoinOptions: ...

    @property
    def paths(self) -> NodePaths: ...

    @property
    def events(self) -> ev.Events: ...

    @property
    def cri_socket(self) -> str:
        """The runtime endpoint the kubelet uses: --cri-socket, else the containerd join installs."""
        ...

    def cluster(self) -> JoinCluster: ...

    def package(self) -> Package: ...

    def host(self) -> LocalHost: ...
