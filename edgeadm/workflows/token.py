"""`edgeadm token`: bootstrap tokens in the cluster and the join command for edge nodes."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edgeadm import kube as kube_seam
from edgeadm import tokens
from edgeadm.errors import EdgeadmError
from edgeadm.kube import kubeconfig
from edgeadm.kube.errors import Conflict
from edgeadm.kube.types import KubeAPI
from edgeadm.options import TokenCreateOptions, parse_token_ids

# `token create` is run by scripts in loops: what only --print-join-command needs (pki, the record, template
# values) is imported when it is used, so the plain command stays within 2x `kubeadm token create`.

__all__ = ["TokenCreateOptions", "connect", "create", "create_token", "delete", "delete_tokens", "generate",
           "join_info", "list_tokens", "parse_token_ids"]


def connect(kubeconfig_flag: str | None) -> KubeAPI:
    """The fast REST client when the kubeconfig allows it (token commands run in scripts' loops), else the full one."""
    path: Path = kubeconfig.resolve(kubeconfig_flag)
    return kube_seam.connect_fast(path)


def generate() -> str:
    """A random token, not created in any cluster."""
    return tokens.generate()


def create_token(kube: KubeAPI, options: TokenCreateOptions) -> dict[str, Any] | None:
    """Create the token; returns the join information when asked for it (computed first: fail before creating)."""
    info = join_info(kube, options.token) if options.print_join_command else None
    create(kube, options.token)
    return info


def create(kube: KubeAPI, token: tokens.Token) -> None:
    """Create the token's Secret; one request (the server refuses an existing one)."""
    try:
        kube.create(token.to_secret())
    except Conflict:
        raise EdgeadmError(f"bootstrap token `{token.id}` already exists",
                           hint="pick another token, or delete it with `edgeadm token delete`") from None


def list_tokens(kube: KubeAPI) -> list[tokens.Token]:
    out = []
    # only the token Secrets cross the wire, as kubeadm asks, and from the API server's watch cache (a listing needs
    # no round to etcd); their type is checked again here all the same
    for obj in kube.list("v1", "Secret", namespace="kube-system", field_selector=f"type={tokens.SECRET_TYPE}",
                         cached=True):
        if obj.get("type") != tokens.SECRET_TYPE:
            continue
        tok = tokens.Token.from_secret(obj)
        if tok is not None:
            out.append(tok)
    return sorted(out, key=lambda t: t.id)


def delete(kube: KubeAPI, token_id: str) -> bool:
    """Delete one token by id; False when there was none."""
    return kube.delete("v1", "Secret", f"bootstrap-token-{token_id}", "kube-system")


def delete_tokens(kube: KubeAPI, token_ids: tuple[str, ...]) -> Iterator[str]:
    """Delete each token, yielding the ids deleted; raises naming the ones that did not exist (after the rest)."""
    missing = []
    for tid in token_ids:
        if delete(kube, tid):
            yield tid
        else:
            missing.append(tid)
    if missing:
        raise EdgeadmError(f"bootstrap token(s) not found: {', '.join(missing)}")


def cluster_info(kube: KubeAPI) -> list[dict[str, Any]]:
    """The `cluster` entries of kube-public/cluster-info's kubeconfig (empty when there is none)."""
    import yaml

    ci = kube.get("v1", "ConfigMap", "cluster-info", "kube-public")
    conf = yaml.safe_load(((ci or {}).get("data") or {}).get("kubeconfig") or "") or {}
    return [c.get("cluster") or {} for c in conf.get("clusters") or []]


def ca_hashes(kube: KubeAPI, clusters: list[dict[str, Any]]) -> list[str]:
    """The CA pins nodes check during discovery: of the CA in cluster-info (what they will see), else the cluster's."""
    from edgeadm import pki, values

    pems = [base64.b64decode(c["certificate-authority-data"]) for c in clusters if c.get("certificate-authority-data")]
    if not pems:
        root = values.root_ca_pem(kube)
        if root:
            pems.append(root.encode())
    hashes: list[str] = []
    for pem in pems:
        hashes += [h for h in pki.bundle_pins(pem, "cluster CA") if h not in hashes]
    if not hashes:
        raise EdgeadmError("cannot find the cluster CA (no cluster-info, no kube-root-ca.crt)",
                           hint="run `edgeadm addon edge-apps` first")
    return hashes


def join_endpoint(kube: KubeAPI, clusters: list[dict[str, Any]]) -> str:
    """The address edge nodes use: what addon recorded, else cluster-info's server, else the kubeconfig's."""
    from edgeadm.record import Record

    record = Record.load(kube)
    if record and record.params.get("masterPublicAddr"):
        return str(record.params["masterPublicAddr"])
    servers = [c["server"] for c in clusters if c.get("server")]
    server = servers[-1] if servers else kube.server_url
    parts = urlsplit(server)
    return parts.netloc or server


def join_info(kube: KubeAPI, token: tokens.Token) -> dict[str, Any]:
    clusters = cluster_info(kube)  # read once for both the endpoint and the CA pins
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
    return ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
