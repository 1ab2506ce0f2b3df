"""The Kubernetes seam: every conversation with an API server goes through this package.

Callers get a `KubeAPI` (plain dicts in, plain dicts out, our own `KubeError`s) from `connect` (the kubernetes
client, every kind) or `connect_fast` (the stdlib transport when the kubeconfig allows it: start-up in
milliseconds). Importing this package loads neither `kubernetes` nor `requests`; `edgeadm.kube.client` is the only
module that imports `kubernetes`, and only when `connect` is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from edgeadm.kube.errors import (
    Conflict,
    Forbidden,
    Invalid,
    KubeError,
    NotFound,
    Unauthorized,
    Unavailable,
)
from edgeadm.kube.types import KubeAPI

if TYPE_CHECKING:
    from edgeadm.kube.client import Kube

FIELD_MANAGER = "edgeadm"


def connect(kubeconfig: Path, *, dry_run: bool = False) -> KubeAPI:
    """The full client (every kind the server serves) for an explicit kubeconfig file."""
    from edgeadm.kube.client import connect as connect_full

    return connect_full(kubeconfig, dry_run=dry_run)


def connect_fast(kubeconfig: Path, *, dry_run: bool = False) -> KubeAPI:
    """The stdlib client when the kubeconfig allows it (client certificates or a bearer token), else the full one."""
    from edgeadm.kube.light import connect_light

    light = connect_light(kubeconfig, dry_run=dry_run)
    return light if light is not None else connect(kubeconfig, dry_run=dry_run)


def __getattr__(name: str) -> object:
    """`edgeadm.kube.Kube` still resolves (lazily) for callers written before `KubeAPI`."""
    if name == "Kube":
        from edgeadm.kube.client import Kube

        return Kube
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FIELD_MANAGER",
    "Conflict",
    "Forbidden",
    "Invalid",
    "Kube",
    "KubeAPI",
    "KubeError",
    "NotFound",
    "Unauthorized",
    "Unavailable",
    "connect",
    "connect_fast",
]
