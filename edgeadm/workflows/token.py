"""`edgeadm token`: bootstrap tokens in the cluster and the join command for edge nodes."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Protocol
from urllib.parse import urlsplit

from edgeadm import pki, tokens
from edgeadm.constants import EDGE_NAMESPACE
from edgeadm.errors import EdgeadmError
from edgeadm.record import Record


class Kube(Protocol):
    """What token needs from a cluster client (edgeadm.kube.Kube or the lighter edgeadm.kube.light.LightKube)."""

    api_client: Any

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None: ...
    def list(self, api_version: str, kind: str, *, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict[str, Any]]: ...
    def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool: ...


def create(kube: Kube, token: tokens.Token) -> None:
    if kube.get("v1", "Secret", f"bootstrap-token-{token.id}", "kube-system") is not None:
        raise EdgeadmError(f"bootstrap token `{token.id}` already exists",
                           hint="pick another token, or delete it with `edgeadm token delete`")
    kube.create(token.to_secret())


def list_tokens(kube: Kube) -> list[tokens.Token]:
    out = []
    for obj in kube.list("v1", "Secret", namespace="kube-system"):
        if obj.get("type") != tokens.SECRET_TYPE:
            continue
        tok = tokens.Token.from_secret(obj)
        if tok is not None:
            out.append(tok)
    return sorted(out, key=lambda t: t.id)


def delete(kube: Kube, ident: str) -> bool:
    tid = ident.split(".")[0]
    if not tokens.ID_RE.match(tid):
        raise EdgeadmError(f"`{ident}` is not a token id or token", hint="ids are 6 characters [a-z0-9]")
    return kube.delete("v1", "Secret", f"bootstrap-token-{tid}", "kube-system")


def _cluster_info(kube: Kube) -> list[dict[str, Any]]:
    """The `cluster` entries of kube-public/cluster-info's kubeconfig (empty when there is none)."""
    import yaml

    ci = kube.get("v1", "ConfigMap", "cluster-info", "kube-public")
    conf = yaml.safe_load(((ci or {}).get("data") or {}).get("kubeconfig") or "") or {}
    return [c.get("cluster") or {} for c in conf.get("clusters") or []]


def ca_hashes(kube: Kube, clusters: list[dict[str, Any]]) -> list[str]:
    """The CA pins nodes check during discovery: of the CA in cluster-info (what they will see), else the cluster's."""
    pems = [base64.b64decode(c["certificate-authority-data"]) for c in clusters if c.get("certificate-authority-data")]
    if not pems:
        cm = kube.get("v1", "ConfigMap", "kube-root-ca.crt", "kube-system")
        if cm and (cm.get("data") or {}).get("ca.crt"):
            pems.append(cm["data"]["ca.crt"].encode())
    hashes: list[str] = []
    for pem in pems:
        hashes += [h for h in pki.bundle_pins(pem, "cluster CA") if h not in hashes]
    if not hashes:
        raise EdgeadmError("cannot find the cluster CA (no cluster-info, no kube-root-ca.crt)",
                           hint="run `edgeadm addon edge-apps` first")
    return hashes


def join_endpoint(kube: Kube, clusters: list[dict[str, Any]]) -> str:
    """The address edge nodes use: what addon recorded, else cluster-info's server, else the kubeconfig's."""
    record = Record.load(kube, EDGE_NAMESPACE)
    if record and record.params.get("masterPublicAddr"):
        return str(record.params["masterPublicAddr"])
    servers = [c["server"] for c in clusters if c.get("server")]
    server = servers[-1] if servers else kube.api_client.configuration.host
    parts = urlsplit(server)
    return parts.netloc or server


def join_info(kube: Kube, token: tokens.Token) -> dict[str, Any]:
    clusters = _cluster_info(kube)  # read once for both the endpoint and the CA pins
    endpoint = join_endpoint(kube, clusters)
    hashes = ca_hashes(kube, clusters)
    cmd = f"edgeadm join {endpoint} --token {token.value}" + "".join(
        f" --discovery-token-ca-cert-hash {h}" for h in hashes)
    return {"endpoint": endpoint, "token": token.value, "expires": _iso(token.expires), "caCertHashes": hashes,
            "joinCommand": cmd}


def _iso(t: dt.datetime | None) -> str | None:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def as_dict(t: tokens.Token) -> dict[str, Any]:
    return {"token": t.value, "expires": _iso(t.expires), "usages": list(t.usages), "groups": list(t.groups),
            "description": t.description}


def table(items: list[tokens.Token]) -> list[str]:
    now = dt.datetime.now(dt.timezone.utc)
    rows = [("TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS")]
    for t in items:
        ttl = "<forever>" if t.expires is None else (
            "<invalid>" if t.expires <= now else tokens.format_duration(t.expires - now))
        rows.append((t.value, ttl, _iso(t.expires) or "<never>", ",".join(t.usages), t.description or "<none>",
                     ",".join(t.groups)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
