"""`Kube`: the `KubeAPI` over the kubernetes client, for every kind the server serves (the only importer of it).

Used by the commands that apply arbitrary manifests (addon, detach, manifests, version). Writes are server-side
applies with edgeadm's field manager; transient failures are retried by `edgeadm.kube.rest.retrying`; statuses
map to our errors through `edgeadm.kube.errors.error_for_status`, the same function the stdlib transport uses.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from edgeadm import waiting
from edgeadm.kube import FIELD_MANAGER
from edgeadm.kube.errors import (
    KubeError,
    NotFound,
    Unavailable,
    describe,
    error_for_status,
    status_message,
    truncate,
)
from edgeadm.kube.rest import UNREACHABLE_HINT, retrying
from edgeadm.kube.types import KubeAPI

T = TypeVar("T")


def _translate(exc: BaseException, what: str) -> KubeError:
    """Map a client exception to one of ours, with a short server message."""
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    if isinstance(exc, ResourceNotFoundError):
        return NotFound(f"{what}: the API server does not serve this kind ({truncate(str(exc))})")
    status = getattr(exc, "status", None)
    if status:
        body = getattr(exc, "body", None) or ""
        message = status_message(body) if body else str(getattr(exc, "reason", "") or "")
        return error_for_status(int(status), message, what)
    return Unavailable(f"{what}: API server unreachable ({truncate(str(exc))})", hint=UNREACHABLE_HINT)


def _is_client_error(exc: BaseException) -> bool:
    """True for failures of the request (HTTP status, connection); False for programming errors."""
    import urllib3
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

    return isinstance(exc, (ApiException, DynamicApiError, ResourceNotFoundError, urllib3.exceptions.HTTPError,
                            OSError))


class Kube:
    """A connection to one cluster. Create with `connect`; all calls are synchronous and retried when transient."""

    def __init__(self, api_client: Any, kubeconfig: Path, *, dry_run: bool = False) -> None:
        self._api = api_client
        self.kubeconfig = kubeconfig
        self.dry_run = dry_run
        self._dyn: Any = None
        self._ca_pem: bytes | None = None

    # -- plumbing -------------------------------------------------------------------------------------------------
    @property
    def server_url(self) -> str:
        """The API server URL of the kubeconfig."""
        return str(self._api.configuration.host)

    @property
    def ca_pem(self) -> bytes:
        """The CA bundle the kubeconfig trusts (the client keeps it in a file); empty when it has none."""
        if self._ca_pem is None:
            path = self._api.configuration.ssl_ca_cert
            try:
                self._ca_pem = Path(path).read_bytes() if path else b""
            except OSError as exc:
                raise KubeError(f"cannot read the kubeconfig's CA `{path}`: {exc.strerror}") from exc
        return self._ca_pem

    def _dynamic(self) -> Any:
        if self._dyn is None:
            from kubernetes import dynamic

            self._dyn = dynamic.DynamicClient(self._api)
        return self._dyn

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        def once() -> T:
            try:
                return fn()
            except KubeError:
                raise
            except Exception as exc:  # translated below
                if not _is_client_error(exc):
                    raise
                raise _translate(exc, what) from exc

        return retrying(what, once)

    def resource(self, api_version: str, kind: str) -> Any:
        """The dynamic client's resource for a kind (NotFound when the server does not serve it)."""
        def find() -> Any:
            return self._dynamic().resources.get(api_version=api_version, kind=kind)

        return self._call(f"{kind} ({api_version})", find)

    def invalidate_discovery(self) -> None:
        """Forget cached discovery, e.g. after installing CRDs."""
        if self._dyn is not None:
            self._dyn.resources.invalidate_cache()

    # -- reads ----------------------------------------------------------------------------------------------------
    def server_version(self) -> dict[str, str]:
        """The server's /version."""
        from kubernetes import client

        def get() -> dict[str, str]:
            info = client.VersionApi(self._api).get_code()
            data: dict[str, str] = self._api.sanitize_for_serialization(info)
            return data

        return self._call("get server version", get)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object as a dict, or None when it does not exist."""
        res = self.resource(api_version, kind)
        what = describe(kind, name, namespace)
        try:
            obj: dict[str, Any] = self._call(f"get {what}", lambda: res.get(name=name, namespace=namespace).to_dict())
        except NotFound:
            return None
        return obj

    def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None,
        field_selector: str | None = None, cached: bool = False,
    ) -> list[dict[str, Any]]:
        """The objects of a kind (in `namespace`, else all), each with its apiVersion and kind."""
        res = self.resource(api_version, kind)
        kwargs: dict[str, Any] = {}
        if namespace and res.namespaced:
            kwargs["namespace"] = namespace
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        if cached:
            kwargs["resource_version"] = "0"
        data = self._call(f"list {kind}", lambda: res.get(**kwargs).to_dict())
        items: list[dict[str, Any]] = data.get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def table(self, api_version: str, kind: str, *, namespace: str | None = None,
              field_selector: str | None = None, cached: bool = False) -> builtins.list[dict[str, str]]:
        """The server-side table of a kind, rows as column name → cell text."""
        from edgeadm.kube.light import TABLE_ACCEPT, table_rows

        res = self.resource(api_version, kind)
        path = res.path(namespace=namespace) if res.namespaced and namespace else res.path()
        query = [("includeObject", "None"), *([("resourceVersion", "0")] if cached else []),
                 *([("fieldSelector", field_selector)] if field_selector else [])]

        def get() -> dict[str, Any]:
            data: dict[str, Any] = self._api.call_api(
                path, "GET", query_params=query, header_params={"Accept": TABLE_ACCEPT}, response_type="object",
                auth_settings=["BearerToken"], _return_http_data_only=True, _preload_content=True)
            return data

        return table_rows(self._call(f"list {kind}", get))

    def listable_kinds(self) -> builtins.list[tuple[str, str]]:
        """Every (apiVersion, kind) the server can list, preferred versions only (used for whole-cluster views)."""
        dyn = self._dynamic()
        out: dict[tuple[str, str], None] = {}
        for res in self._call("discover resources", lambda: dyn.resources.search()):
            if "/" in (getattr(res, "name", None) or "/") or "list" not in (getattr(res, "verbs", None) or []):
                continue
            if not getattr(res, "preferred", False) or type(res).__name__ == "ResourceList":
                continue
            out[(res.group_version, res.kind)] = None
        return sorted(out)

    def namespaced(self, api_version: str, kind: str) -> bool:
        """True when objects of the kind live in a namespace."""
        return bool(self.resource(api_version, kind).namespaced)

    # -- writes ---------------------------------------------------------------------------------------------------
    def _write(self, verb: str, obj: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """One write request (apply, replace, create) with our field manager, honouring dry-run."""
        meta = obj.get("metadata", {})
        res = self.resource(obj["apiVersion"], obj["kind"])
        ns = meta.get("namespace") if res.namespaced else None
        kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "namespace": ns, **extra}
        if verb != "create":
            kwargs["name"] = meta.get("name")
        if self.dry_run:
            kwargs["dry_run"] = "All"
        method = {"apply": res.server_side_apply, "replace": res.replace, "create": res.create}[verb]
        what = describe(obj["kind"], meta.get("name", "?"), ns)
        return self._call(f"{verb} {what}", lambda: method(body=obj, **kwargs).to_dict())

    def apply(self, obj: dict[str, Any], *, force: bool = True) -> dict[str, Any]:
        """Server-side apply `obj` with edgeadm's field manager; returns the object the server holds afterwards."""
        return self._write("apply", obj, force_conflicts=force)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT `obj` wholesale (used to restore a saved object exactly); needs a current resourceVersion."""
        return self._write("replace", obj)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create `obj`; fails with Conflict when it exists (used where overwriting would be wrong)."""
        return self._write("create", obj)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete one object (background propagation); returns False when it was already gone."""
        res = self.resource(api_version, kind)
        ns = namespace if res.namespaced else None
        kwargs: dict[str, Any] = {"propagation_policy": "Background"}
        if self.dry_run:
            kwargs["dry_run"] = "All"
        try:
            self._call(f"delete {describe(kind, name, ns)}", lambda: res.delete(name=name, namespace=ns, **kwargs))
        except NotFound:
            return False
        return True

    def wait_for(self, what: str, predicate: Callable[[], bool], *, timeout: float, interval: float = 0.5) -> None:
        """Poll `predicate` until true or raise KubeError after `timeout` seconds."""
        waiting.until(predicate, timeout=timeout, what=what, interval=interval, error=KubeError)


def connect(kubeconfig: Path, *, dry_run: bool = False) -> Kube:
    """Build a client from an explicit kubeconfig file (never the process-global configuration)."""
    from kubernetes import client, config

    from edgeadm.kube.kubeconfig import unusable

    try:
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg, persist_config=False)
        cfg.retries = False  # our own retry policy (_call) is the only one; urllib3's would multiply it
        api = client.ApiClient(configuration=cfg)
    except Exception as exc:  # any parse failure is bad input
        raise unusable(kubeconfig, str(exc)) from exc
    return Kube(api, kubeconfig, dry_run=dry_run)


def _check(k: Kube) -> KubeAPI:
    """Never called: mypy proves here that Kube satisfies the KubeAPI protocol."""
    return k
