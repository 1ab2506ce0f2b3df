"""A batch's inventory: sites of hosts, read and checked in full before any host is touched.

Format (YAML, one document; keys in camelCase as in Kubernetes objects)::

    release: edgeadm-linux-amd64-v0.1.0.tgz   # the release archive pushed to the hosts (relative to this file)
    concurrency: 10                            # hosts joining at once, over all sites (default 10)
    siteLabel: topology.kubernetes.io/zone     # the node label that names a host's site (default: addon's)
    defaults:                                  # what every site and host inherits
      user: root
      port: 22
      keyFile: ~/.ssh/id_ed25519               # and/or `agent: true`, and/or `password: {env: NAME}`
      sudoPassword: {file: /root/sudo.pass}    # secrets come from `env:` or `file:`, never the text itself
      enableEdge: true
      labels: {team: retail}
      kubeletConfigPatch: kubelet.yaml         # merged into each host's kubelet configuration (copied over)
    sites:
      - name: shop-1                           # a label value: it becomes the site label on each Node
        concurrency: 2                         # at most this many of the site's hosts at once (default: all)
        failureBudget: 1                       # failures tolerated; one more and the rest are not started
        relay: per-site                        # one WAN copy per site (default when the site has > 1 host) | none
        bandwidthLimit: 2M                     # bytes per second on the site's uplink (K, M, G suffixes)
        defaults: {user: edge}                 # overrides the global defaults for this site's hosts
        hosts:
          - {address: 10.1.0.11, nodeName: shop-1-a}
          - {address: 10.1.0.12, nodeName: shop-1-b, labels: {till: "2"}}

Every mistake is collected with its location (``sites[2].hosts[0].address: …``) and reported together, as one
`InventoryError` (a usage error, exit 2). A host row goes through the same checks as `join`'s flags (node name,
labels). The file is not trusted: a size limit, no YAML aliases, no duplicate keys, no unknown keys; key and secret
files must not be readable by other users; a secret is only ever a reference (environment variable or file) and
its value is read when it is needed, never stored here.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from edgeadm import addr, options
from edgeadm.constants import DEFAULT_SITE_LABEL
from edgeadm.errors import ConfigError, UsageError

MAX_BYTES = 1 << 20  # an inventory of thousands of hosts is far below this
DEFAULT_CONCURRENCY = 10
RELAYS = ("per-site", "none")
_USER = r"[a-z_][a-z0-9_.-]{0,31}"
_SIZE = r"(\d+)([KMG]?)"
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_HOST_KEYS = ("address", "port", "user", "keyFile", "agent", "password", "sudoPassword", "nodeName", "enableEdge",
              "labels", "kubeletConfigPatch")
MAX_PATCH_BYTES = 64 << 10
_INHERITED = tuple(k for k in _HOST_KEYS if k not in ("address", "nodeName"))
_SITE_KEYS = ("name", "concurrency", "failureBudget", "relay", "bandwidthLimit", "defaults", "hosts")
_TOP_KEYS = ("release", "concurrency", "siteLabel", "defaults", "sites")

T = TypeVar("T")


class InventoryError(UsageError):
    """The inventory has mistakes; `problems` lists each as `location: what`."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        head = f"inventory `{path}`: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(head + "".join(f"\n  {p}" for p in problems),
                         hint="fix each line above; no host was contacted", flag="--inventory")
        self.problems = problems


@dataclass(frozen=True)
class Secret:
    """Where a secret is: an environment variable or a file. The value is read only by `read()`."""

    source: str  # "env" | "file"
    ref: str

    def read(self) -> str:
        if self.source == "env":
            value = os.environ.get(self.ref)
            if value is None:
                raise ConfigError(f"environment variable `{self.ref}` is not set")
            return value
        return Path(self.ref).read_text().rstrip("\n")

    def __str__(self) -> str:
        return f"{self.source}:{self.ref}"


@dataclass(frozen=True)
class Host:
    where: str  # its location in the inventory, for messages: sites[0].hosts[1]
    site: str
    address: str
    port: int
    user: str
    node_name: str
    enable_edge: bool
    labels: tuple[tuple[str, str], ...]  # checked as `join --node-labels`; includes the site label
    key_file: Path | None = None
    agent: bool = False
    password: Secret | None = field(default=None, repr=False)
    sudo_password: Secret | None = field(default=None, repr=False)
    kubelet_config_patch: Path | None = None  # a file here, copied to the host for `join --kubelet-config-patch`


@dataclass(frozen=True)
class Site:
    name: str
    hosts: tuple[Host, ...]
    concurrency: int
    failure_budget: int | None
    relay: str
    bandwidth_limit: int | None  # bytes per second


@dataclass(frozen=True)
class Inventory:
    path: Path
    release: Path
    concurrency: int
    site_label: str
    sites: tuple[Site, ...]

    def hosts(self) -> Iterator[Host]:
        for site in self.sites:
            yield from site.hosts


# ------------------------------------------------------------------------------------------------------ reading
class _Loader(yaml.SafeLoader):
    """Safe YAML without aliases (a few bytes of them can stand for gigabytes) and without duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.constructor.ConstructorError(None, None, "aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key `{key}`", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)


def load(path: Path) -> Inventory:
    """Read and check the inventory at `path`; raises InventoryError listing every mistake."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InventoryError(path, [f"the file is {size} bytes; an inventory may have at most {MAX_BYTES}"])
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the inventory `{path}`: {exc.strerror}", flag="--inventory") from None
    except UnicodeDecodeError:
        raise InventoryError(path, ["the file is not UTF-8 text"]) from None
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InventoryError(path, [f"{where}{getattr(exc, 'problem', None) or exc}"]) from None
    if len(docs) != 1:
        raise InventoryError(path, [f"expected one YAML document, found {len(docs)}"])
    return parse(docs[0], path=path)


# ------------------------------------------------------------------------------------------------------ checking
class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}" if where else what)

    def check(self, where: str, fn: Callable[[], T]) -> T | None:
        """fn(), or None with its ConfigError/UsageError recorded at `where`."""
        try:
            return fn()
        except ConfigError as exc:
            self.add(where, exc.message)
            return None


def _mapping(p: _Problems, where: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        p.add(where, f"expected a mapping, found {_kind(value)}")
        return {}
    out: dict[str, Any] = {}
    for key, v in value.items():
        if not isinstance(key, str) or key not in allowed:
            p.add(_at(where, str(key)), f"unknown key (allowed: {', '.join(allowed)})")
        else:
            out[key] = v
    return out


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "true/false", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _int(p: _Problems, where: str, value: Any, low: int, high: int | None = None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        p.add(where, f"`{value}` is not a whole number {bound}")
        return None
    return value


def _str(p: _Problems, where: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        p.add(where, f"expected a non-empty string, found {_kind(value)}")
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        p.add(where, "contains control characters")
        return None
    return value


def _private_file(p: _Problems, where: str, path: Path, what: str) -> bool:
    try:
        st = path.stat()
    except OSError as exc:
        p.add(where, f"cannot read {what} `{path}`: {exc.strerror}")
        return False
    if not stat.S_ISREG(st.st_mode):
        p.add(where, f"{what} `{path}` is not a regular file")
        return False
    if st.st_mode & 0o077:
        p.add(where, f"{what} `{path}` is readable by other users (mode {stat.S_IMODE(st.st_mode):04o}); "
                     f"chmod 600 it")
        return False
    return True


def _secret(p: _Problems, where: str, value: Any, base: Path) -> Secret | None:
    if isinstance(value, str):
        p.add(where, "a secret must come from `{env: NAME}` or `{file: PATH}`, never the inventory text")
        return None
    m = _mapping(p, where, value, ("env", "file"))
    if len(m) != 1:
        if isinstance(value, Mapping) and len(m) == len(value):
            p.add(where, "give exactly one of `env:` or `file:`")
        return None
    (source, ref), = m.items()
    ref = _str(p, _at(where, source), ref)
    if ref is None:
        return None
    if source == "env":
        if not re.fullmatch(_ENV_NAME, ref):
            p.add(_at(where, "env"), f"`{ref}` is not an environment variable name")
            return None
        if ref not in os.environ:
            p.add(_at(where, "env"), f"environment variable `{ref}` is not set")
            return None
        return Secret("env", ref)
    path = _path(ref, base)
    return Secret("file", str(path)) if _private_file(p, _at(where, "file"), path, "secret file") else None


def _path(value: str, base: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else base / path


def _size(p: _Problems, where: str, value: Any) -> int | None:
    m = re.fullmatch(_SIZE, str(value)) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
    if not m or int(m.group(1)) == 0:
        p.add(where, f"`{value}` is not a rate in bytes per second (e.g. 500K, 2M)")
        return None
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)]


def _merge(outer: dict[str, Any], inner: dict[str, Any]) -> dict[str, Any]:
    """`inner` over `outer`; labels are merged key by key (a host adds to its site's and the global labels)."""
    out = {**outer, **inner}
    if isinstance(outer.get("labels"), Mapping) and isinstance(inner.get("labels"), Mapping):
        out["labels"] = {**outer["labels"], **inner["labels"]}
    return out


def _defaults(p: _Problems, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return _mapping(p, where, value, _INHERITED)


def parse(data: Any, *, path: Path) -> Inventory:
    """Check an inventory already read from YAML (`path` names it in messages and anchors relative paths)."""
    p = _Problems()
    base = path.parent
    top = _mapping(p, "", data, _TOP_KEYS)
    release = None
    if "release" not in top:
        p.add("release", "missing: the release archive to push to the hosts (`make release`)")
    elif (rel := _str(p, "release", top["release"])) is not None:
        release = _path(rel, base)
        if not release.is_file():
            p.add("release", f"`{release}` is not a file")
    concurrency = _int(p, "concurrency", top.get("concurrency", DEFAULT_CONCURRENCY), 1)
    site_label = p.check("siteLabel", lambda: options.parse_label_key(
        str(top.get("siteLabel", DEFAULT_SITE_LABEL)), "siteLabel")) or DEFAULT_SITE_LABEL
    defaults = _defaults(p, "defaults", top.get("defaults"))
    raw_sites = top.get("sites")
    sites: list[Site] = []
    if not isinstance(raw_sites, list) or not raw_sites:
        p.add("sites", "expected a non-empty list of sites")
        raw_sites = []
    names: dict[str, str] = {}
    nodes: dict[str, str] = {}
    endpoints: dict[tuple[str, int], str] = {}
    for i, raw in enumerate(raw_sites):
        where = f"sites[{i}]"
        s = _mapping(p, where, raw, _SITE_KEYS)
        name = _str(p, _at(where, "name"), s.get("name"))
        if name is not None:
            pair = (f"{site_label}={name}",)
            if p.check(_at(where, "name"), functools.partial(options.parse_node_labels, pair)) is None:
                name = None
            elif name in names:
                p.add(_at(where, "name"), f"`{name}` is also {names[name]}")
            else:
                names[name] = where
        site_defaults = _merge(defaults, _defaults(p, _at(where, "defaults"), s.get("defaults")))
        raw_hosts = s.get("hosts")
        if not isinstance(raw_hosts, list) or not raw_hosts:
            p.add(_at(where, "hosts"), "expected a non-empty list of hosts")
            raw_hosts = []
        hosts = [h for j, rh in enumerate(raw_hosts)
                 if (h := _host(p, f"{where}.hosts[{j}]", rh, site_defaults, name or "", site_label, base,
                                nodes, endpoints)) is not None]
        site_conc = _int(p, _at(where, "concurrency"), s.get("concurrency", max(len(raw_hosts), 1)), 1)
        budget = _int(p, _at(where, "failureBudget"), s["failureBudget"], 0) if "failureBudget" in s else None
        relay = s.get("relay", "per-site" if len(raw_hosts) > 1 else "none")
        if relay not in RELAYS:
            p.add(_at(where, "relay"), f"`{relay}` is not one of {', '.join(RELAYS)}")
        limit = _size(p, _at(where, "bandwidthLimit"), s["bandwidthLimit"]) if "bandwidthLimit" in s else None
        if name is not None and site_conc is not None:
            sites.append(Site(name=name, hosts=tuple(hosts), concurrency=site_conc, failure_budget=budget,
                              relay=str(relay), bandwidth_limit=limit))
    if p.items:
        raise InventoryError(path, p.items)
    assert release is not None and concurrency is not None
    return Inventory(path=path, release=release, concurrency=concurrency, site_label=site_label, sites=tuple(sites))


def _host(p: _Problems, where: str, raw: Any, defaults: dict[str, Any], site: str, site_label: str, base: Path,
          nodes: dict[str, str], endpoints: dict[tuple[str, int], str]) -> Host | None:
    given = _mapping(p, where, raw, _HOST_KEYS)
    h = _merge(defaults, given)
    before = len(p.items)

    def at(key: str) -> str:  # a mistake in an inherited value is reported where the host got it from
        return _at(where, key) if key in given else f"{where} (inherited {key})"

    address = _str(p, at("address"), h.get("address"))
    if address is not None and not addr.valid_host(address):
        p.add(at("address"), f"`{address}` is not an IP address or host name")
    port = _int(p, at("port"), h.get("port", 22), 1, 65535)
    user = _str(p, at("user"), h.get("user", "root"))
    if user is not None and not re.fullmatch(_USER, user):
        p.add(at("user"), f"`{user}` is not a user name")
    node_name = None
    if "nodeName" not in h:
        p.add(where, "missing nodeName (each host's Node name, so results and tokens can name it)")
    elif (raw_name := _str(p, at("nodeName"), h["nodeName"])) is not None:
        node_name = p.check(at("nodeName"), lambda: options.parse_node_name(raw_name))
    enable_edge = h.get("enableEdge", True)
    if not isinstance(enable_edge, bool):
        p.add(at("enableEdge"), f"expected true or false, found {_kind(enable_edge)}")
    labels_raw = h.get("labels") or {}
    labels: tuple[tuple[str, str], ...] = ()
    if not isinstance(labels_raw, Mapping) or not all(isinstance(v, str) for v in labels_raw.values()):
        p.add(at("labels"), "expected a mapping of label keys to string values (quote numbers: \"2\")")
    else:
        if site_label in labels_raw:
            p.add(at("labels"), f"`{site_label}` is the site label: it comes from the site's name")
        pairs = tuple(f"{k}={v}" for k, v in labels_raw.items()) + ((f"{site_label}={site}",) if site else ())
        checked: tuple[tuple[str, str], ...] | None = p.check(at("labels"), lambda: options.parse_node_labels(pairs))
        labels = checked or ()
    key_file = None
    if "keyFile" in h and (raw_key := _str(p, at("keyFile"), h["keyFile"])) is not None:
        key_file = _path(raw_key, base)
        _private_file(p, at("keyFile"), key_file, "key file")
    agent = h.get("agent", False)
    if not isinstance(agent, bool):
        p.add(at("agent"), f"expected true or false, found {_kind(agent)}")
    password = _secret(p, at("password"), h["password"], base) if "password" in h else None
    sudo = _secret(p, at("sudoPassword"), h["sudoPassword"], base) if "sudoPassword" in h else None
    patch = None
    if "kubeletConfigPatch" in h and (raw_patch := _str(p, at("kubeletConfigPatch"), h["kubeletConfigPatch"])):
        patch = _path(raw_patch, base)
        if not patch.is_file():
            p.add(at("kubeletConfigPatch"), f"`{patch}` is not a file")
        elif patch.stat().st_size > MAX_PATCH_BYTES:
            p.add(at("kubeletConfigPatch"), f"`{patch}` is larger than {MAX_PATCH_BYTES >> 10} KiB")
    if key_file is None and agent is not True and "password" not in h:
        p.add(where, "no way to log in: give keyFile, agent: true or password (here or in defaults)")
    if node_name is not None:
        if node_name in nodes:
            p.add(at("nodeName"), f"node name `{node_name}` is also {nodes[node_name]}")
        nodes.setdefault(node_name, where)
    if address is not None and port is not None:
        if (address, port) in endpoints:
            p.add(at("address"), f"{addr.join_host_port(address, port)} is also {endpoints[(address, port)]}")
        endpoints.setdefault((address, port), where)
    if len(p.items) > before or address is None or port is None or user is None or node_name is None:
        return None
    return Host(where=where, site=site, address=address, port=port, user=user, node_name=node_name,
                enable_edge=bool(enable_edge), labels=labels, key_file=key_file, agent=bool(agent),
                password=password, sudo_password=sudo, kubelet_config_patch=patch)


# ---------------------------------------------------------------------------------------------- batch runs
RESULTS_KIND = "BatchResults"
RESULTS_VERSION = 1
MAX_RESULTS_BYTES = 16 << 20
OUTCOMES = ("joined", "reset", "failed", "unreachable", "host-key-refused", "auth-failed", "not-started")


def retry_set(path: Path, inv: Inventory, action: str) -> frozenset[str]:
    """The node names a results file says did not finish `action` (`--retry-failed`). The file is checked like an
    inventory: size, shape, and every node it names must be in the inventory."""
    where = "--retry-failed"
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            raise UsageError(f"`{path}` is larger than {MAX_RESULTS_BYTES >> 20} MiB", flag=where)
        import json

        data = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read `{path}`: {exc.strerror}", flag=where) from None
    except ValueError as exc:
        raise UsageError(f"`{path}` is not JSON: {exc}", flag=where) from None
    if not isinstance(data, dict) or data.get("kind") != RESULTS_KIND or data.get("version") != RESULTS_VERSION:
        raise UsageError(f"`{path}` is not a results file of edgeadm (kind {RESULTS_KIND}, version "
                         f"{RESULTS_VERSION})", flag=where)
    if data.get("action") != action:
        raise UsageError(f"`{path}` holds the results of a batch {data.get('action')!s:.20}, not {action}",
                         flag=where)
    rows = data.get("hosts")
    if not isinstance(rows, list):
        raise UsageError(f"`{path}`: `hosts` is not a list", flag=where)
    known = {h.node_name for h in inv.hosts()}
    done = "joined" if action == "join" else "reset"
    out: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("nodeName"), str) or row.get("outcome") not in OUTCOMES:
            raise UsageError(f"`{path}`: hosts[{i}] is not a host result (nodeName, outcome)", flag=where)
        if row["nodeName"] not in known:
            raise UsageError(f"`{path}`: hosts[{i}]: node `{row['nodeName']:.63}` is not in the inventory",
                             flag=where)
        if row["outcome"] != done:
            out.add(row["nodeName"])
    return frozenset(out)


@dataclass(frozen=True)
class BatchOptions:
    """`join --inventory` / `reset --inventory`, parsed once."""

    action: str  # "join" | "reset"
    inventory: Inventory
    known_hosts: Path
    accept_new_host_keys: bool
    run_dir: Path
    only: frozenset[str] | None  # --retry-failed: just these node names
    results: Path

    @classmethod
    def parse(cls, *, action: str, inventory: Path, known_hosts: Path | None, accept_new_host_keys: bool,
              run_dir: Path | None, retry_failed: Path | None, results: Path | None) -> BatchOptions:
        import datetime as dt

        inv = load(inventory)
        only = retry_set(retry_failed, inv, action) if retry_failed is not None else None
        if only is not None and not only:
            raise UsageError(f"every host in `{retry_failed}` finished: nothing to retry", flag="--retry-failed")
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        run = run_dir or Path("edgeadm-runs") / f"{action}-{stamp}"
        return cls(action=action, inventory=inv, known_hosts=known_hosts or Path.home() / ".ssh" / "known_hosts",
                   accept_new_host_keys=accept_new_host_keys, run_dir=run, only=only,
                   results=results or run / "results.json")
