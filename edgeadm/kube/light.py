"""`LightKube`: the `KubeAPI` on the stdlib transport, for the kinds edgeadm itself reads and writes.

Importing `kubernetes` costs ~0.8 s, ten times what `kubeadm token create` takes in all, and token commands are
run by scripts in loops. This client needs no API discovery: a small table says where each kind it serves lives
and whether it is namespaced; any other kind is a KubeError naming it (callers that need arbitrary kinds, such as
applying manifests with CRDs, use `edgeadm.kube.client.Kube`). It is built from kubeconfigs with client
certificates or bearer tokens (`connect_light`); anything else needs the full client.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from edgeadm import waiting
from edgeadm.errors import ConfigError
from edgeadm.kube import FIELD_MANAGER
from edgeadm.kube.errors import KubeError, NotFound, describe
from edgeadm.kube.rest import Transport, retrying
from edgeadm.kube.types import KubeAPI


class Kind(NamedTuple):
    plural: str
    namespaced: bool


KINDS: dict[tuple[str, str], Kind] = {
    ("v1", "ConfigMap"): Kind("configmaps", True),
    ("v1", "Endpoints"): Kind("endpoints", True),
    ("v1", "Namespace"): Kind("namespaces", False),
    ("v1", "Node"): Kind("nodes", False),
    ("v1", "Pod"): Kind("pods", True),
    ("v1", "Secret"): Kind("secrets", True),
    ("v1", "Service"): Kind("services", True),
    ("v1", "ServiceAccount"): Kind("serviceaccounts", True),
    ("apps/v1", "DaemonSet"): Kind("daemonsets", True),
    ("apps/v1", "Deployment"): Kind("deployments", True),
    ("coordination.k8s.io/v1", "Lease"): Kind("leases", True),
    ("discovery.k8s.io/v1", "EndpointSlice"): Kind("endpointslices", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): Kind("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): Kind("clusterrolebindings", False),
    ("rbac.authorization.k8s.io/v1", "Role"): Kind("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): Kind("rolebindings", True),
    ("superedge.io/v1", "DeploymentGrid"): Kind("deploymentgrids", True),  # read by `status` (NotFound if no CRD)
    ("superedge.io/v1", "StatefulSetGrid"): Kind("statefulsetgrids", True),
}

APPLY_PATCH = "application/apply-patch+yaml"  # the server reads JSON in this content type too (JSON is YAML)
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"


def table_rows(data: dict[str, Any]) -> list[dict[str, str]]:
    """A `meta.k8s.io/v1` Table as rows of column name → cell text; an answer that is not a Table is an error, and
    malformed rows are left out."""
    if data.get("kind") != "Table":
        raise KubeError("the API server did not answer with a Table", hint="it serves Tables since Kubernetes 1.15")
    names = [str((c or {}).get("name", "")) for c in data.get("columnDefinitions") or []]
    rows = []
    for row in data.get("rows") or []:
        cells = (row or {}).get("cells") if isinstance(row, dict) else None
        if isinstance(cells, list):
            rows.append({n: "" if v is None else str(v) for n, v in zip(names, cells, strict=False)})
    return rows


class LightKube:
    """A `KubeAPI` over one `Transport`, for the kinds in `KINDS`. Transient failures are retried."""

    def __init__(self, transport: Transport, *, dry_run: bool = False) -> None:
        self.transport = transport
        self.dry_run = dry_run

    @property
    def server_url(self) -> str:
        """The API server URL of the kubeconfig."""
        return self.transport.server_url

    @property
    def ca_pem(self) -> bytes:
        """The CA bundle the kubeconfig trusts; empty when it has none."""
        return self.transport.ca_pem or b""

    def close(self) -> None:
        """Close the transport's connections."""
        self.transport.close()

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _kind(self, api_version: str, kind: str) -> Kind:
        try:
            return KINDS[(api_version, kind)]
        except KeyError:
            raise KubeError(f"the light client does not serve {kind} ({api_version})",
                            hint="use the full client (edgeadm.kube.connect) for this kind") from None

    def _path(self, api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
        """The REST path of a collection (no name) or of one object; the namespace is ignored for cluster kinds."""
        k = self._kind(api_version, kind)
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if k.namespaced and namespace:
            path += f"/namespaces/{quote(namespace, safe='')}"
        elif k.namespaced and name is not None:
            raise KubeError(f"{describe(kind, name, None)}: {kind} is namespaced; a namespace is needed")
        path += f"/{k.plural}"
        return f"{path}/{quote(name, safe=':')}" if name is not None else path

    def _call(self, method: str, path: str, what: str, *, params: dict[str, str] | None = None,
              body: dict[str, Any] | None = None, content_type: str = "application/json",
              accept: str = "application/json") -> dict[str, Any]:
        return retrying(what, lambda: self.transport.call(method, path, params=params, body=body,
                                                          content_type=content_type, accept=accept, what=what))

    def _write_params(self, **extra: str) -> dict[str, str]:
        params = {"fieldManager": FIELD_MANAGER, **extra}
        if self.dry_run:
            params["dryRun"] = "All"
        return params

    @staticmethod
    def _ref(obj: dict[str, Any]) -> tuple[str, str, str, str | None]:
        meta = obj.get("metadata") or {}
        try:
            return obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")
        except KeyError as exc:
            raise KubeError(f"an object without {exc.args[0]} cannot be written") from None

    # -- reads ----------------------------------------------------------------------------------------------------
    def server_version(self) -> dict[str, str]:
        """The server's /version."""
        data = self._call("GET", "/version", "get server version")
        return {k: str(v) for k, v in data.items()}

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        ns = namespace if self.namespaced(api_version, kind) else None
        try:
            return self._call("GET", self._path(api_version, kind, ns, name), f"get {describe(kind, name, ns)}")
        except NotFound:
            return None

    def list(self, api_version: str, kind: str, *, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None,
             cached: bool = False) -> list[dict[str, Any]]:
        """The objects of a kind (in `namespace`, else all), each with its apiVersion and kind."""
        params = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector),
                                    ("resourceVersion", "0" if cached else "")) if v}
        data = self._call("GET", self._path(api_version, kind, namespace), f"list {kind}", params=params or None)
        items: list[dict[str, Any]] = data.get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def table(self, api_version: str, kind: str, *, namespace: str | None = None,
              field_selector: str | None = None, cached: bool = False) -> builtins.list[dict[str, str]]:
        """The server-side table of a kind, rows as column name → cell text."""
        params = {"includeObject": "None", **({"resourceVersion": "0"} if cached else {}),
                  **({"fieldSelector": field_selector} if field_selector else {})}
        return table_rows(self._call("GET", self._path(api_version, kind, namespace), f"list {kind}", params=params,
                                     accept=TABLE_ACCEPT))

    def namespaced(self, api_version: str, kind: str) -> bool:
        """True when objects of the kind live in a namespace."""
        return self._kind(api_version, kind).namespaced

    # -- writes ---------------------------------------------------------------------------------------------------
    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create; raises Conflict when it exists."""
        api_version, kind, name, namespace = self._ref(obj)
        ns = namespace if self.namespaced(api_version, kind) else None
        return self._call("POST", self._path(api_version, kind, ns), f"create {describe(kind, name, ns)}",
                          params=self._write_params(), body=obj)

    def apply(self, obj: dict[str, Any], *, force: bool = True) -> dict[str, Any]:
        """Server-side apply with edgeadm's field manager; returns the object the server holds afterwards."""
        api_version, kind, name, namespace = self._ref(obj)
        ns = namespace if self.namespaced(api_version, kind) else None
        params = self._write_params(force="true") if force else self._write_params()
        return self._call("PATCH", self._path(api_version, kind, ns, name), f"apply {describe(kind, name, ns)}",
                          params=params, body=obj, content_type=APPLY_PATCH)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT the object wholesale; it must carry the current resourceVersion."""
        api_version, kind, name, namespace = self._ref(obj)
        ns = namespace if self.namespaced(api_version, kind) else None
        return self._call("PUT", self._path(api_version, kind, ns, name), f"replace {describe(kind, name, ns)}",
                          params=self._write_params(), body=obj)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete (background propagation); False when it was already gone."""
        ns = namespace if self.namespaced(api_version, kind) else None
        params = {"dryRun": "All"} if self.dry_run else None
        try:
            self._call("DELETE", self._path(api_version, kind, ns, name), f"delete {describe(kind, name, ns)}",
                       params=params, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                            "propagationPolicy": "Background"})
        except NotFound:
            return False
        return True

    def invalidate_discovery(self) -> None:
        """Nothing to forget: the kinds this client serves are a fixed table."""

    def wait_for(self, what: str, predicate: Callable[[], bool], *, timeout: float, interval: float = 0.5) -> None:
        """Poll `predicate` until true; raises KubeError naming `what` after `timeout` seconds."""
        waiting.until(predicate, timeout=timeout, what=what, interval=interval, error=KubeError)


def connect_light(kubeconfig: Path, *, dry_run: bool = False) -> LightKube | None:
    """A light client for a kubeconfig with certificates or a token, or None when the full client is needed."""
    from edgeadm.kube import kubeconfig as kubeconfigs

    access = kubeconfigs.load_access(kubeconfig)
    if access is None:
        return None
    try:
        transport = access.transport()
    except ConfigError as exc:
        raise kubeconfigs.unusable(kubeconfig, exc.message) from exc
    return LightKube(transport, dry_run=dry_run)


def _check(k: LightKube) -> KubeAPI:
    """Never called: mypy proves here that LightKube satisfies the KubeAPI protocol."""
    return k
