"""A small REST client for the core-API calls `token` makes, without importing the `kubernetes` package.

Importing `kubernetes` costs ~0.8 s, ten times what `kubeadm token create` takes in all; token commands are run
by scripts in loops. This client understands kubeconfigs with client certificates or bearer tokens; anything
else (exec plugins, auth providers) makes `connect_light` return None and callers use the full client.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from edgeadm.errors import ConfigError
from edgeadm.kube.errors import Conflict, Forbidden, Invalid, KubeError, NotFound, Unavailable, truncate

_PLURAL = {"Secret": "secrets", "ConfigMap": "configmaps"}
TIMEOUT = 10


class _Config:
    host: str

    def __init__(self, host: str) -> None:
        self.host = host


class _ApiClient:
    def __init__(self, host: str) -> None:
        self.configuration = _Config(host)


class LightKube:
    """Same method names as Kube for v1 Secrets and ConfigMaps."""

    def __init__(self, server: str, verify: str | bool, cert: tuple[str, str] | None, token: str | None,
                 tmpfiles: list[str]) -> None:
        import requests

        self.dry_run = False
        self.api_client = _ApiClient(server)
        self._server = server.rstrip("/")
        self._session = requests.Session()
        # verify and cert go on every request: a session-level `verify` loses to $REQUESTS_CA_BUNDLE in requests
        self._verify = verify
        self._cert = cert
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._tmpfiles = tmpfiles

    def close(self) -> None:
        self._session.close()
        for f in self._tmpfiles:
            try:
                os.unlink(f)
            except OSError:
                pass

    def __del__(self) -> None:
        self.close()

    def _url(self, api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
        if api_version != "v1" or kind not in _PLURAL:
            raise KubeError(f"the light client does not serve {kind} ({api_version})")
        url = f"{self._server}/api/v1"
        if namespace:
            url += f"/namespaces/{namespace}"
        url += f"/{_PLURAL[kind]}"
        return f"{url}/{name}" if name else url

    def _request(self, method: str, url: str, what: str, **kw: Any) -> Any:
        import requests

        try:
            r = self._session.request(method, url, timeout=TIMEOUT, verify=self._verify, cert=self._cert, **kw)
        except requests.RequestException as exc:
            raise Unavailable(f"{what}: API server unreachable ({truncate(str(exc))})",
                              hint="check that the API server is running and the kubeconfig points at it") from exc
        if r.status_code < 300:
            return r.json()
        try:
            message = r.json().get("message", r.text)
        except ValueError:
            message = r.text
        cls = {404: NotFound, 409: Conflict, 403: Forbidden, 422: Invalid}.get(r.status_code, KubeError)
        if r.status_code >= 500:
            cls = Unavailable
        err = cls(f"{what}: {truncate(message)}")
        err.status = r.status_code
        raise err

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = self._request("GET", self._url(api_version, kind, namespace, name),
                                                f"get {kind} {name}")
            return out
        except NotFound:
            return None

    def list(self, api_version: str, kind: str, *, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else None
        data = self._request("GET", self._url(api_version, kind, namespace), f"list {kind}", params=params)
        items: list[dict[str, Any]] = data.get("items") or []
        return items

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        out: dict[str, Any] = self._request(
            "POST", self._url(obj["apiVersion"], obj["kind"], meta.get("namespace")),
            f"create {obj['kind']} {meta['name']}", json=obj, params={"fieldManager": "edgeadm"})
        return out

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        try:
            self._request("DELETE", self._url(api_version, kind, namespace, name), f"delete {kind} {name}")
        except NotFound:
            return False
        return True


def _material(entry: dict[str, Any], data_key: str, file_key: str, tmpfiles: list[str]) -> str | None:
    if entry.get(data_key):
        fd, path = tempfile.mkstemp(prefix="edgeadm-")
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64decode(entry[data_key]))
        tmpfiles.append(path)
        return path
    value = entry.get(file_key)
    return str(value) if value else None


def connect_light(kubeconfig: Path) -> LightKube | None:
    """A light client for simple kubeconfigs, or None when the full client is needed."""
    try:
        conf = yaml.safe_load(kubeconfig.read_text()) or {}
        ctx_name = conf.get("current-context")
        ctx = next(c["context"] for c in conf.get("contexts") or [] if c.get("name") == ctx_name)
        cluster = next(c["cluster"] for c in conf.get("clusters") or [] if c.get("name") == ctx["cluster"])
        user = next(u.get("user") or {} for u in conf.get("users") or [] if u.get("name") == ctx["user"])
    except (OSError, yaml.YAMLError, StopIteration, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"kubeconfig `{kubeconfig}` is not usable: {truncate(str(exc))}",
                          hint="check the file, or pass another with --kubeconfig") from exc
    if set(user) & {"exec", "auth-provider", "username", "password"} or cluster.get("proxy-url"):
        return None
    tmpfiles: list[str] = []
    verify: str | bool = True
    if cluster.get("insecure-skip-tls-verify"):
        verify = False
    else:
        verify = _material(cluster, "certificate-authority-data", "certificate-authority", tmpfiles) or True
    cert_file = _material(user, "client-certificate-data", "client-certificate", tmpfiles)
    key_file = _material(user, "client-key-data", "client-key", tmpfiles)
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(user["tokenFile"]).read_text().strip()
    cert = (cert_file, key_file) if cert_file and key_file else None
    return LightKube(str(cluster.get("server", "")), verify, cert, token, tmpfiles)
