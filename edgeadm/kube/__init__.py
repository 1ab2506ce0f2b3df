"""The Kubernetes seam: the only package that imports `kubernetes`.

Everything above it talks in plain dicts (the objects as YAML would show them) and our own errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from edgeadm.errors import ConfigError
from edgeadm.kube.errors import Conflict, Forbidden, Invalid, KubeError, NotFound, Unavailable, truncate

log = logging.getLogger(__name__)

FIELD_MANAGER = "edgeadm"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "edgeadm"

# Transient failures (connection refused, 5xx, 429) are retried this many times with this base delay (seconds);
# the apiserver restarts or leader changes that cause them resolve within a few seconds.
RETRIES = 4
RETRY_DELAY = 0.5

T = TypeVar("T")


def _translate(exc: BaseException, what: str) -> KubeError:
    """Map a client exception to one of ours, with a short server message."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    if isinstance(exc, ResourceNotFoundError):
        return NotFound(f"{what}: the API server does not serve this kind ({truncate(str(exc))})")
    status = getattr(exc, "status", None)
    if isinstance(exc, ApiException) or status is not None:
        body = getattr(exc, "body", None) or getattr(exc, "summary", lambda: "")() or ""
        message = str(body)
        try:
            import json

            message = json.loads(body).get("message", message)
        except Exception:  # noqa: BLE001 - a non-Status body is dropped to its raw text
            pass
        text = f"{what}: {truncate(message or str(getattr(exc, 'reason', '')))}"
        cls: type[KubeError] = {404: NotFound, 409: Conflict, 403: Forbidden, 422: Invalid}.get(int(status or 0), KubeError)
        if status and int(status) >= 500:
            cls = Unavailable
        err = cls(text)
        err.status = int(status) if status else None
        return err
    return Unavailable(
        f"{what}: API server unreachable ({truncate(str(exc))})",
        hint="check that the API server is running and the kubeconfig points at it",
    )


def _is_client_error(exc: BaseException) -> bool:
    """True for failures of the request (HTTP status, connection); False for programming errors."""
    import urllib3
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

    return isinstance(exc, (ApiException, DynamicApiError, ResourceNotFoundError, urllib3.exceptions.HTTPError,
                            OSError))


def _transient(err: KubeError) -> bool:
    return isinstance(err, Unavailable) or err.status == 429


class Kube:
    """A connection to one cluster. Create with `connect`; all calls are synchronous and retried when transient."""

    def __init__(self, api_client: Any, kubeconfig: Path, *, dry_run: bool = False) -> None:
        self._api = api_client
        self.kubeconfig = kubeconfig
        self.dry_run = dry_run
        self._dyn: Any = None

    # -- plumbing -------------------------------------------------------------------------------------------------
    @property
    def api_client(self) -> Any:
        return self._api

    def _dynamic(self) -> Any:
        if self._dyn is None:
            from kubernetes import dynamic

            self._dyn = dynamic.DynamicClient(self._api)
        return self._dyn

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        for attempt in range(1, RETRIES + 1):
            try:
                return fn()
            except KubeError:
                raise
            except Exception as exc:  # noqa: BLE001 - translated below
                if not _is_client_error(exc):
                    raise
                err = _translate(exc, what)
                if not _transient(err) or attempt == RETRIES:
                    raise err from exc
                log.info("%s: attempt %d/%d failed (%s), retrying", what, attempt, RETRIES, err)
                time.sleep(RETRY_DELAY * attempt)
        raise AssertionError("unreachable")

    def resource(self, api_version: str, kind: str) -> Any:
        def find() -> Any:
            return self._dynamic().resources.get(api_version=api_version, kind=kind)

        return self._call(f"{kind} ({api_version})", find)

    def invalidate_discovery(self) -> None:
        """Forget cached discovery, e.g. after installing CRDs."""
        if self._dyn is not None:
            self._dyn.resources.invalidate_cache()

    # -- reads ----------------------------------------------------------------------------------------------------
    def server_version(self) -> dict[str, str]:
        from kubernetes import client

        def get() -> dict[str, str]:
            info = client.VersionApi(self._api).get_code()
            data: dict[str, str] = self._api.sanitize_for_serialization(info)
            return data

        return self._call("get server version", get)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object as a dict, or None when it does not exist."""
        res = self.resource(api_version, kind)
        what = _describe(kind, name, namespace)
        try:
            return self._call(f"get {what}", lambda: res.get(name=name, namespace=namespace).to_dict())
        except NotFound:
            return None

    def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        res = self.resource(api_version, kind)
        kwargs: dict[str, Any] = {}
        if namespace and res.namespaced:
            kwargs["namespace"] = namespace
        if label_selector:
            kwargs["label_selector"] = label_selector
        data = self._call(f"list {kind}", lambda: res.get(**kwargs).to_dict())
        items: list[dict[str, Any]] = data.get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def listable_kinds(self) -> list[tuple[str, str]]:
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
        what = _describe(obj["kind"], meta.get("name", "?"), ns)
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
        """Delete one object (foreground); returns False when it was already gone."""
        res = self.resource(api_version, kind)
        ns = namespace if res.namespaced else None
        kwargs: dict[str, Any] = {"propagation_policy": "Background"}
        if self.dry_run:
            kwargs["dry_run"] = "All"
        try:
            self._call(f"delete {_describe(kind, name, ns)}", lambda: res.delete(name=name, namespace=ns, **kwargs))
        except NotFound:
            return False
        return True

    def wait_for(self, what: str, predicate: Callable[[], bool], *, timeout: float, interval: float = 0.5) -> None:
        """Poll `predicate` until true or raise KubeError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if time.monotonic() > deadline:
                raise KubeError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)


def _describe(kind: str, name: str, namespace: str | None) -> str:
    return f"{kind} `{namespace}/{name}`" if namespace else f"{kind} `{name}`"


def connect(kubeconfig: Path, *, dry_run: bool = False) -> Kube:
    """Build a client from an explicit kubeconfig file (never the process-global configuration)."""
    from kubernetes import client, config

    try:
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg, persist_config=False)
        cfg.retries = False  # our own retry policy (_call) is the only one; urllib3's would multiply it
        api = client.ApiClient(configuration=cfg)
    except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
        raise ConfigError(
            f"kubeconfig `{kubeconfig}` is not usable: {truncate(str(exc))}",
            hint="check the file, or pass another with --kubeconfig",
        ) from exc
    return Kube(api, kubeconfig, dry_run=dry_run)


__all__ = [
    "Conflict",
    "FIELD_MANAGER",
    "Forbidden",
    "Invalid",
    "Kube",
    "KubeError",
    "MANAGED_BY_LABEL",
    "MANAGED_BY_VALUE",
    "NotFound",
    "Unavailable",
    "connect",
]
