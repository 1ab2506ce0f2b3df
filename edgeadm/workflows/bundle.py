"""`edgeadm bundle`: site bundles for sites the cloud cannot reach (see `edgeadm.bundle` for the format).

`create` makes the site's tokens (one signing token for discovery, one authentication token per node, all with the
install window's TTL and labelled with the site) and writes the archive; if writing fails, the tokens it made are
deleted again. `status` shows which of a site's nodes have registered; `revoke` deletes the site's remaining tokens.
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from edgeadm import bundle as fmt
from edgeadm import tokens
from edgeadm.errors import ConfigError, EdgeadmError
from edgeadm.kube.types import KubeAPI
from edgeadm.options import BundleCreateOptions
from edgeadm.workflows import token as token_wf

RELEASE_EXECUTABLE = "edgeadm"


def release_members(path: Path) -> tuple[list[tuple[tarfile.TarInfo, bytes | None]], str]:
    """The release archive's files (name under the top directory, data) and its package's name; refused unless it
    has exactly the shape `make release` writes (an executable, one package, SHA256SUMS; no links, no paths)."""
    try:
        tar = tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as exc:
        raise ConfigError(f"`{path}` is not a release archive: {exc}",
                          hint="pass the archive `make release` wrote") from None
    out: list[tuple[tarfile.TarInfo, bytes | None]] = []
    with tar:
        for m in tar.getmembers():
            parts = PurePosixPath(m.name).parts
            if m.isdir() and len(parts) == 1:
                continue
            if not m.isfile() or len(parts) != 2 or parts[1] in ("", ".", ".."):
                raise ConfigError(f"release archive `{path}` has an unexpected entry `{m.name}`")
            out.append((m, None))
    names = [PurePosixPath(m.name).name for m, _ in out]
    packages = [n for n in names if n.startswith("kube-linux-") and n.endswith(".tar.gz")]
    if RELEASE_EXECUTABLE not in names or "SHA256SUMS" not in names or len(packages) != 1:
        raise ConfigError(f"release archive `{path}` does not hold edgeadm, one install package and SHA256SUMS",
                          hint="pass the archive `make release` wrote")
    return out, packages[0]


def create(kube: KubeAPI, o: BundleCreateOptions) -> dict[str, Any]:
    """Write the bundle; returns a summary (no secrets)."""
    members, package = release_members(o.release)
    clusters = token_wf.cluster_info(kube)
    endpoint = token_wf.join_endpoint(kube, clusters)
    hashes = tuple(token_wf.ca_hashes(kube, clusters))
    made: list[str] = []

    def new(usages: tuple[str, ...], groups: tuple[str, ...], what: str, node: str | None) -> tokens.Token:
        t = tokens.new_token(None, ttl=o.ttl, usages=usages, groups=groups,
                             description=f"edgeadm bundle for site {o.site}: {what}")
        secret = t.to_secret()
        secret["metadata"]["labels"] = {fmt.LABEL_BUNDLE: o.site, **({fmt.LABEL_NODE: node} if node else {})}
        kube.create(secret)
        made.append(t.id)
        return t

    top = f"site-{o.site}"
    part = o.output.with_name(o.output.name + ".part")
    try:
        disc = new(("signing",), (), "discovery", None)
        nodes = tuple(fmt.Node(name=n, token=new(("authentication",), (tokens.DEFAULT_GROUP,), f"node {n}", n).value,
                               enable_edge=o.enable_edge, labels=tuple(sorted({**dict(o.labels),
                                                                               o.site_label: o.site}.items())))
                      for n in o.nodes)
        assert disc.expires is not None
        b = fmt.Bundle(site=o.site, site_label=o.site_label, endpoint=endpoint, ca_hashes=hashes,
                       discovery_token=disc.value, expires=disc.expires, package=package, nodes=nodes)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as out, \
                tarfile.open(o.release, "r:*") as release:
            d = tarfile.TarInfo(top)
            d.type, d.mode = tarfile.DIRTYPE, 0o755
            out.addfile(d)
            data = b.to_json().encode()
            info = tarfile.TarInfo(f"{top}/{fmt.FILE}")
            info.size, info.mode = len(data), 0o600
            out.addfile(info, io.BytesIO(data))
            for m, _ in members:
                src = release.extractfile(m)
                assert src is not None
                copy = tarfile.TarInfo(f"{top}/{PurePosixPath(m.name).name}")
                copy.size, copy.mode = m.size, 0o755 if PurePosixPath(m.name).name == RELEASE_EXECUTABLE else 0o644
                out.addfile(copy, src)
        os.replace(part, o.output)
    except BaseException as exc:
        part.unlink(missing_ok=True)
        for tid in made:
            token_wf.delete(kube, tid)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot write the bundle `{o.output}`: {exc.strerror}") from None
        raise
    return {"site": o.site, "output": str(o.output), "nodes": list(o.nodes), "endpoint": endpoint,
            "expires": b.expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "tokens": len(made)}


@dataclass(frozen=True)
class NodeState:
    name: str
    token_id: str
    expires: str
    registered: bool


def status(kube: KubeAPI, site: str) -> list[NodeState]:
    """The site's node tokens, each with whether its Node has registered (the discovery token is left out)."""
    out = []
    for obj in kube.list("v1", "Secret", namespace="kube-system", label_selector=f"{fmt.LABEL_BUNDLE}={site}",
                         field_selector=f"type={tokens.SECRET_TYPE}"):
        node = ((obj.get("metadata") or {}).get("labels") or {}).get(fmt.LABEL_NODE)
        t = tokens.Token.from_secret(obj)
        if not node or t is None:
            continue
        expires = t.expires.strftime("%Y-%m-%dT%H:%M:%SZ") if t.expires else "<never>"
        out.append(NodeState(str(node), t.id, expires, kube.get("v1", "Node", str(node)) is not None))
    if not out:
        raise EdgeadmError(f"no bundle tokens for site {site} (none made, all revoked, or all expired)")
    return sorted(out, key=lambda s: s.name)


def revoke(kube: KubeAPI, site: str) -> list[str]:
    """Delete every token of the site's bundles (the nodes that joined no longer need theirs); returns their ids."""
    gone = []
    for obj in kube.list("v1", "Secret", namespace="kube-system", label_selector=f"{fmt.LABEL_BUNDLE}={site}",
                         field_selector=f"type={tokens.SECRET_TYPE}"):
        t = tokens.Token.from_secret(obj)
        if t is not None and token_wf.delete(kube, t.id):
            gone.append(t.id)
    return sorted(gone)


__all__ = ["BundleCreateOptions", "NodeState", "create", "revoke", "status"]
