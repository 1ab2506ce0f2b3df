"""Kubeconfigs: which file to use, and what the stdlib transport needs from it.

`resolve` picks the file: flag, $KUBECONFIG, ~/.kube/config, /etc/kubernetes/admin.conf (first that exists).
`load_access` reads its current context into the server URL, CA and credential `edgeadm.kube.rest.Transport`
takes, or says that only the full kubernetes client can use it (exec plugins, auth providers, basic auth,
proxies, impersonation).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeadm.errors import ConfigError
from edgeadm.kube.errors import truncate

if TYPE_CHECKING:  # imported where used: resolving a path should not load ssl and http.client
    from edgeadm.kube.rest import Auth, Transport

log = logging.getLogger(__name__)

ADMIN_CONF = Path("/etc/kubernetes/admin.conf")

# User and cluster fields only the full client understands; any of them makes `load_access` return None.
FULL_CLIENT_USER_FIELDS = ("exec", "auth-provider", "username", "password", "as", "as-uid", "as-groups",
                           "as-user-extra")
FULL_CLIENT_CLUSTER_FIELDS = ("proxy-url",)


def candidates(flag: str | None) -> list[Path]:
    """The ordered list of places edgeadm looks for a kubeconfig."""
    out: list[Path] = []
    if flag:
        return [Path(flag).expanduser()]
    env = os.environ.get("KUBECONFIG", "")
    for part in env.split(os.pathsep):
        if part:
            out.append(Path(part).expanduser())
    out.append(Path("~/.kube/config").expanduser())
    out.append(ADMIN_CONF)
    return out


def resolve(flag: str | None) -> Path:
    """Return the kubeconfig to use, or raise ConfigError naming every place that was tried."""
    tried = candidates(flag)
    for path in tried:
        if path.is_file():
            if not os.access(path, os.R_OK):
                raise ConfigError(f"kubeconfig `{path}` is not readable", hint="run as a user that can read it")
            return path
    if flag:
        if Path(flag).exists():
            raise ConfigError(f"kubeconfig `{flag}` is not a regular file", hint="pass a file with --kubeconfig")
        raise ConfigError(f"kubeconfig `{flag}` does not exist", hint="pass an existing file with --kubeconfig")
    raise ConfigError(
        "no kubeconfig found (tried " + ", ".join(str(p) for p in tried) + ")",
        hint="pass --kubeconfig or set KUBECONFIG",
    )


@dataclass(frozen=True)
class Access:
    """How to reach the API server of a kubeconfig's current context with `edgeadm.kube.rest.Transport`."""

    server: str
    ca_pem: bytes | None  # None: the system's trusted roots
    auth: Auth
    insecure: bool = False
    tls_server_name: str | None = None
    source: Path | None = field(default=None, compare=False)

    def transport(self) -> Transport:
        """A transport for this access (raises ConfigError when the CA or client certificate is not usable)."""
        from edgeadm.kube.rest import Transport

        return Transport(self.server, ca_pem=self.ca_pem, insecure=self.insecure, auth=self.auth,
                         tls_server_name=self.tls_server_name)


def unusable(path: Path, reason: str) -> ConfigError:
    """The error for a kubeconfig edgeadm cannot use."""
    return ConfigError(f"kubeconfig `{path}` is not usable: {truncate(reason)}",
                       hint="check the file, or pass another with --kubeconfig")


def load_access(path: Path) -> Access | None:
    """The current context's access, or None when only the full kubernetes client can use this kubeconfig."""
    import yaml

    from edgeadm.kube.rest import Anonymous, BearerToken, ClientCert, ClientCertPEM

    try:
        conf = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ~10x
    except OSError as exc:
        raise unusable(path, exc.strerror or str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise unusable(path, "not text (UTF-8)") from exc
    except yaml.YAMLError as exc:
        raise unusable(path, f"not YAML ({exc})") from exc
    if not isinstance(conf, dict):
        raise unusable(path, "not a kubeconfig (no mapping at the top)")
    ctx_name = conf.get("current-context")
    if not ctx_name:
        raise unusable(path, "no current-context")
    ctx = _entry(path, conf, "contexts", "context", ctx_name)
    cluster_name = ctx.get("cluster")
    if not cluster_name:
        raise unusable(path, f"context `{ctx_name}` names no cluster")
    cluster = _entry(path, conf, "clusters", "cluster", cluster_name)
    user = _entry(path, conf, "users", "user", ctx["user"]) if ctx.get("user") else {}
    full = [k for k in FULL_CLIENT_USER_FIELDS if user.get(k)] + [k for k in FULL_CLIENT_CLUSTER_FIELDS
                                                                   if cluster.get(k)]
    if full:
        log.debug("kubeconfig %s uses %s: the full client is needed", path, ", ".join(full))
        return None
    server = cluster.get("server")
    if not server or not isinstance(server, str):
        raise unusable(path, f"cluster `{cluster_name}` has no server")
    base = path.parent
    insecure = bool(cluster.get("insecure-skip-tls-verify"))
    ca_pem = None if insecure else _material(path, base, cluster, "certificate-authority")
    has_cert = bool(user.get("client-certificate-data") or user.get("client-certificate"))
    has_key = bool(user.get("client-key-data") or user.get("client-key"))
    auth: Auth = Anonymous()
    if has_cert != has_key:
        raise unusable(path, f"user `{ctx['user']}` has a client certificate or key without the other")
    if has_cert and not user.get("client-certificate-data") and not user.get("client-key-data"):
        auth = ClientCert(base / str(user["client-certificate"]), base / str(user["client-key"]))  # read by ssl
    elif has_cert:
        auth = ClientCertPEM(_material(path, base, user, "client-certificate") or b"",
                             _material(path, base, user, "client-key") or b"")
    elif user.get("token"):
        auth = BearerToken(str(user["token"]).strip())
    elif user.get("tokenFile"):
        auth = BearerToken(_read(path, base / str(user["tokenFile"])).decode("utf-8", "replace").strip())
    tls_name = cluster.get("tls-server-name")
    return Access(server=server, ca_pem=ca_pem, auth=auth, insecure=insecure,
                  tls_server_name=str(tls_name) if tls_name else None, source=path)


def _entry(path: Path, conf: dict[str, Any], section: str, key: str, name: Any) -> dict[str, Any]:
    """The `key` mapping of the entry called `name` in `section` (e.g. the cluster of `clusters[name=x]`)."""
    entries = conf.get(section) or []
    if not isinstance(entries, list):
        raise unusable(path, f"`{section}` is not a list")
    for item in entries:
        if isinstance(item, dict) and item.get("name") == name:
            value = item.get(key) or {}
            if not isinstance(value, dict):
                raise unusable(path, f"{key} `{name}` is not a mapping")
            return value
    raise unusable(path, f"no {key} named `{name}`")


def _material(path: Path, base: Path, entry: dict[str, Any], name: str) -> bytes | None:
    """The bytes of `<name>-data` (base64) or of the file `<name>` (relative to the kubeconfig), else None."""
    data = entry.get(f"{name}-data")
    if data:
        try:
            return base64.b64decode("".join(str(data).split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise unusable(path, f"`{name}-data` is not base64") from exc
    file = entry.get(name)
    return _read(path, base / str(file)) if file else None


def _read(path: Path, file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise unusable(path, f"cannot read `{file}`: {exc.strerror or exc}") from exc
