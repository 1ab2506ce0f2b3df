"""A site bundle (pull mode): what a site the cloud cannot reach needs to join its nodes with no connection from the
cloud. `edgeadm bundle create` writes it on the master; `edgeadm join --bundle` reads it at the site.

The archive `site-<site>.tgz` unpacks to `site-<site>/`: the release (the `edgeadm` executable, the install package,
SHA256SUMS) and `bundle.json` (mode 0600: it holds tokens)::

    {"apiVersion": "edgeadm.superedge.io/v1alpha1", "kind": "SiteBundle", "site": "shop-9",
     "siteLabel": "topology.kubernetes.io/zone", "endpoint": "203.0.113.7:6443", "caCertHashes": ["sha256:…"],
     "discoveryToken": "…", "expires": "2026-11-29T12:00:00Z", "package": "kube-linux-amd64-v1.33.13.tar.gz",
     "nodes": [{"name": "b1", "token": "…", "enableEdge": true, "labels": {"till": "2"}}]}

The discovery token (signing only) serves the whole site; each node has its own bootstrap token (authentication
only), all with the TTL of the site's install window. Reading is strict, as for any file that crosses a border:
size, types, names, the package's file name, and the file's permissions are checked; nothing in it is echoed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeadm import addr, options, tokens
from edgeadm.errors import ConfigError, UsageError

API_VERSION = "edgeadm.superedge.io/v1alpha1"
KIND = "SiteBundle"
FILE = "bundle.json"
MAX_BYTES = 1 << 20
LABEL_BUNDLE = "edgeadm.superedge.io/bundle"  # on the bundle's token Secrets: the site
LABEL_NODE = "edgeadm.superedge.io/node"  # on a node's token Secret: the node name
_PACKAGE = r"kube-linux-[a-z0-9]+-v\d+\.\d+\.\d+[0-9A-Za-z.+-]*\.tar\.gz"


@dataclass(frozen=True)
class Node:
    name: str
    token: str = field(repr=False)
    enable_edge: bool = True
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Bundle:
    site: str
    site_label: str
    endpoint: str
    ca_hashes: tuple[str, ...]
    discovery_token: str = field(repr=False)
    expires: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    package: str = ""
    nodes: tuple[Node, ...] = ()

    def to_json(self) -> str:
        return json.dumps({
            "apiVersion": API_VERSION, "kind": KIND, "site": self.site, "siteLabel": self.site_label,
            "endpoint": self.endpoint, "caCertHashes": list(self.ca_hashes), "discoveryToken": self.discovery_token,
            "expires": self.expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "package": self.package,
            "nodes": [{"name": n.name, "token": n.token, "enableEdge": n.enable_edge, "labels": dict(n.labels)}
                      for n in self.nodes]}, indent=1) + "\n"

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise UsageError(f"node `{name}` is not in the bundle for site {self.site} (it has: "
                         f"{', '.join(n.name for n in self.nodes)})", flag="--node-name")

    def join_flags(self, node_name: str, directory: Path) -> dict[str, Any]:
        """JoinOptions.parse keywords for `node_name`, the package beside the bundle file."""
        n = self.node(node_name)
        return {"endpoint": self.endpoint, "ca_hashes": self.ca_hashes, "discovery_token": self.discovery_token,
                "tls_bootstrap_token": n.token, "install_pkg_path": str(directory / self.package),
                "node_name": n.name, "enable_edge": n.enable_edge,
                "node_labels": tuple(f"{k}={v}" for k, v in n.labels)}


def load(path: Path, *, now: dt.datetime | None = None) -> Bundle:
    """Read and check a bundle file; one clear error for the first thing wrong with it."""
    try:
        st = path.stat()
    except OSError as exc:
        raise UsageError(f"cannot read the bundle `{path}`: {exc.strerror}", flag="--bundle") from None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
        raise ConfigError(f"`{path}` is not a bundle file (a regular file of at most {MAX_BYTES} bytes)")
    if st.st_mode & 0o077:
        raise ConfigError(f"the bundle `{path}` holds tokens and is readable by other users "
                          f"(mode {stat.S_IMODE(st.st_mode):04o})", hint=f"chmod 600 {path}")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(f"`{path}` is not JSON", hint="use the bundle.json `edgeadm bundle create` wrote") from None
    b = parse(data, where=str(path))
    if b.expires <= (now or dt.datetime.now(dt.timezone.utc)):
        raise ConfigError(f"the bundle for site {b.site} expired at {b.expires:%Y-%m-%d %H:%M} UTC",
                          hint="ask for a new one (`edgeadm bundle create` on the master)")
    return b


def parse(data: Any, *, where: str = FILE) -> Bundle:
    def bad(what: str) -> ConfigError:
        return ConfigError(f"bundle `{where}`: {what}", hint="use the bundle.json `edgeadm bundle create` wrote")

    if not isinstance(data, dict) or data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
        raise bad(f"not a {KIND} ({API_VERSION})")

    def text(key: str) -> str:
        v = data.get(key)
        if not isinstance(v, str) or not v or any(ord(c) < 32 for c in v):
            raise bad(f"`{key}` is missing or not a string")
        return v

    try:
        site_label = options.parse_label_key(text("siteLabel"), "siteLabel")
        site = text("site")
        options.parse_node_labels((f"{site_label}={site}",))
        endpoint = text("endpoint")
        if addr.split_host_port(endpoint)[1] is None:
            raise bad("`endpoint` has no port")
        hashes = data.get("caCertHashes")
        if not isinstance(hashes, list) or not hashes or not all(isinstance(h, str) for h in hashes):
            raise bad("`caCertHashes` is not a list of CA pins")
        pins = tuple(options.parse_ca_hash(h) for h in hashes)
        discovery = text("discoveryToken")
        tokens.parse(discovery)
        try:
            expires = dt.datetime.fromisoformat(text("expires").replace("Z", "+00:00"))
        except ValueError:
            raise bad("`expires` is not a time") from None
        if expires.tzinfo is None:
            raise bad("`expires` has no time zone")
        package = text("package")
        if not re.fullmatch(_PACKAGE, package):
            raise bad("`package` is not an install package's file name (kube-linux-<arch>-v<version>.tar.gz)")
        raw_nodes = data.get("nodes")
        if not isinstance(raw_nodes, list) or not raw_nodes:
            raise bad("`nodes` is not a non-empty list")
        nodes: list[Node] = []
        for i, raw in enumerate(raw_nodes):
            if not isinstance(raw, dict):
                raise bad(f"nodes[{i}] is not an object")
            name = raw.get("name")
            try:
                valid = isinstance(name, str) and options.parse_node_name(name) == name
            except UsageError:
                valid = False
            if not valid or not isinstance(name, str):
                raise bad(f"nodes[{i}].name is not a node name")
            if any(n.name == name for n in nodes):
                raise bad(f"node `{name}` is listed twice")
            tok = raw.get("token")
            if not isinstance(tok, str):
                raise bad(f"nodes[{i}].token is missing")
            tokens.parse(tok)
            edge = raw.get("enableEdge", True)
            labels = raw.get("labels") or {}
            if not isinstance(edge, bool) or not isinstance(labels, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
                raise bad(f"nodes[{i}] has a bad enableEdge or labels")
            checked = options.parse_node_labels(tuple(f"{k}={v}" for k, v in labels.items()))
            nodes.append(Node(name=name, token=tok, enable_edge=edge, labels=checked))
    except ConfigError as exc:
        if exc.message.startswith(f"bundle `{where}`"):
            raise
        raise bad(exc.message) from None
    return Bundle(site=site, site_label=site_label, endpoint=endpoint, ca_hashes=pins, discovery_token=discovery,
                  expires=expires, package=package, nodes=tuple(nodes))
