"""The one interface edgeadm's workflows and libraries use to talk to a cluster.

Two implementations satisfy it: `edgeadm.kube.client.Kube` (over the kubernetes client, every kind) and
`edgeadm.kube.light.LightKube` (the stdlib REST transport, the kinds in its table; start-up in milliseconds).
Objects are plain dicts, as YAML would show them; failures are `edgeadm.kube.errors.KubeError`s.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, Protocol


class KubeAPI(Protocol):
    """A connection to one cluster. `dry_run` makes every write a server-side dry run."""

    dry_run: bool

    @property
    def server_url(self) -> str:
        """The API server URL of the kubeconfig (e.g. https://10.0.0.1:6443)."""
        ...

    @property
    def ca_pem(self) -> bytes:
        """The CA bundle the kubeconfig trusts for the API server (empty when it has none)."""
        ...

    def server_version(self) -> dict[str, str]: ...

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        ...

    def list(self, api_version: str, kind: str, *, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None,
             cached: bool = False) -> list[dict[str, Any]]:
        """The objects of a kind. `cached`: whatever the API server's watch cache holds now (resourceVersion=0),
        not a read confirmed against etcd — milliseconds instead of a round to etcd, for read-only views."""
        ...

    def table(self, api_version: str, kind: str, *, namespace: str | None = None,
              field_selector: str | None = None, cached: bool = False) -> builtins.list[dict[str, str]]:
        """The server's table of a kind (what `kubectl get` prints), one dict per row, column name → cell text;
        no objects: a fraction of the bytes of `list` for large collections."""
        ...

    def namespaced(self, api_version: str, kind: str) -> bool: ...

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create; raises Conflict when it exists."""
        ...

    def apply(self, obj: dict[str, Any], *, force: bool = True) -> dict[str, Any]:
        """Server-side apply with edgeadm's field manager; returns the object the server holds afterwards."""
        ...

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT the object wholesale; it must carry the current resourceVersion."""
        ...

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete; False when it was already gone."""
        ...

    def invalidate_discovery(self) -> None:
        """Forget cached API discovery (after installing CRDs)."""
        ...

    def wait_for(self, what: str, predicate: Callable[[], bool], *, timeout: float, interval: float = 0.5) -> None:
        """Poll `predicate` until true; raises KubeError naming `what` after `timeout` seconds."""
        ...
