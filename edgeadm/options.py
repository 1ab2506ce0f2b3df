"""Every command's options, validated and defaulted once, outside click.

Each options type has a `parse(...)` constructor taking the raw flag values; it raises `UsageError` (exit 2) for
a bad flag value, or `ConfigError` where the problem is a file or a value checked against the outside world. The
CLI only collects flags and calls `parse`; a batch inventory row goes through exactly the same `JoinOptions.parse`.

It is a little over the project's ~300-line guide on purpose: every command's validation in one module is what
lets a reader (and the batch inventory) find all of it in one place.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from edgeadm import addr, tokens
from edgeadm.constants import (
    DEFAULT_EDGE_VERSION,
    DEFAULT_IMAGE_REPOSITORY,
    DEFAULT_SITE_LABEL,
    EDGE_LABEL_KEY,
    EDGE_VIRTUAL_ADDR,
    LEGACY_EDGE_LABEL_KEY,
)
from edgeadm.errors import ConfigError, UsageError

# The grammars, compiled on first use (`re.fullmatch` caches them): importing options stays cheap for `token`.
# RFC 1123 subdomain, as Kubernetes validates object names (Node names included): lowercase, at most 253.
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_VERSION = r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?"
# registry[:port]/path of an image repository (docker reference grammar, without tag or digest)
_REPOSITORY = (r"[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9]+([._-][a-z0-9]+)*)*(:[0-9]+)?"
               r"(/[a-z0-9]+([._]|__|-+)?[a-z0-9]*)*")
_SHA256 = r"(sha256:)?[0-9a-f]{64}"

T = TypeVar("T")


def parse_node_name(value: str | None) -> str:
    """The node name: the flag, else this machine's hostname; lowercased and checked as Kubernetes does."""
    name = (value if value is not None else socket.gethostname()).strip().lower()
    if len(name) > 253 or not re.fullmatch(_DNS_SUBDOMAIN, name):
        source = "--node-name" if value is not None else f"this machine's hostname `{name}`"
        raise UsageError(f"{source} is not a valid node name (lowercase RFC 1123: a-z, 0-9, '-', '.'; "
                         "at most 253 characters)", hint="pass a valid --node-name", flag="--node-name")
    return name


def parse_ca_hash(value: str) -> str:
    """A `--discovery-token-ca-cert-hash` value, normalised to `sha256:<hex>`."""
    v = value.strip().lower()
    if not v.startswith("sha256:") or len(v) != 71 or any(c not in "0123456789abcdef" for c in v[7:]):
        raise UsageError(f"`{value}` is not a CA hash", hint="expected sha256:<64 hex digits>")
    return v


def parse_edge_version(value: str) -> str:
    v = value.strip()
    v = v if v.startswith("v") else f"v{v}"
    if not re.fullmatch(_VERSION, v):
        raise UsageError(f"`{value}` is not a version (vMAJOR.MINOR.PATCH)", flag="--edge-version")
    return v


def parse_kubernetes_version(value: str) -> str:
    """A kubelet version as the package records it: vMAJOR.MINOR.PATCH (the `v` is added when missing)."""
    v = value.strip()
    v = v if v.startswith("v") else f"v{v}"
    if not re.fullmatch(r"v1\.\d+\.\d+", v):
        raise UsageError(f"`{value}` is not a Kubernetes version (v1.MINOR.PATCH, e.g. v1.33.13)",
                         flag="--kubernetes-version")
    return v


def parse_arch(value: str) -> str:
    """An architecture, normalised as the release names them (x86_64 -> amd64, aarch64 -> arm64)."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(value.strip().lower())
    if arch is None:
        raise UsageError(f"`{value}` is not a supported architecture (amd64, arm64)", flag="--arch")
    return arch


def parse_image_repository(value: str) -> str:
    v = value.strip().rstrip("/")
    if not re.fullmatch(_REPOSITORY, v):
        raise UsageError(f"`{value}` is not an image repository (registry[:port]/path)",
                         flag="--edge-image-repository")
    return v


def _address(value: str | None, flag: str | None) -> str | None:
    if value is None:
        return None
    try:
        addr.split_host_port(value)
    except ConfigError as exc:
        raise UsageError(exc.message, exc.hint, flag=flag) from None
    return value


def _link_local_ipv4(value: str, flag: str) -> str:
    """The edge virtual address: IPv4 (lite-apiserver's listener and the dummy NIC take one) and link-local, so it
    can never collide with a routed address of the node or the cluster."""
    import ipaddress

    try:
        ip = ipaddress.IPv4Address(value.strip())
    except ValueError:
        raise UsageError(f"`{value}` is not an IPv4 address", hint="e.g. 169.254.20.11", flag=flag) from None
    if not ip.is_link_local:
        raise UsageError(f"`{value}` is not link-local (169.254.0.0/16)", hint="e.g. 169.254.20.11", flag=flag)
    return str(ip)


@dataclass(frozen=True)
class AddonOptions:
    kubeconfig: str | None
    ca_cert: Path
    ca_key: Path
    master_public_addr: str | None
    edge_version: str = DEFAULT_EDGE_VERSION
    edge_image_repository: str = DEFAULT_IMAGE_REPOSITORY
    edge_virtual_addr: str = EDGE_VIRTUAL_ADDR
    site_label: str = DEFAULT_SITE_LABEL
    manifest_dir: Path | None = None
    allow_foreign_objects: bool = False
    ignore_preflight_errors: tuple[str, ...] = ()
    skip_phases: tuple[str, ...] = ()
    dry_run: bool = False
    wait: bool = False
    timeout: float = 300.0
    no_rollback: bool = False

    @classmethod
    def parse(cls, *, kubeconfig: str | None, ca_cert: Path, ca_key: Path, master_public_addr: str | None,
              edge_version: str = DEFAULT_EDGE_VERSION, edge_image_repository: str = DEFAULT_IMAGE_REPOSITORY,
              edge_virtual_addr: str = EDGE_VIRTUAL_ADDR, site_label: str = DEFAULT_SITE_LABEL,
              manifest_dir: Path | None = None, allow_foreign_objects: bool = False,
              ignore_preflight_errors: tuple[str, ...] = (), skip_phases: tuple[str, ...] = (),
              dry_run: bool = False, wait: bool = False, timeout: float = 300.0,
              no_rollback: bool = False) -> AddonOptions:
        master = _address(master_public_addr, "--master-public-addr")
        options = cls(kubeconfig=kubeconfig, ca_cert=Path(ca_cert), ca_key=Path(ca_key), master_public_addr=master,
                      edge_version=parse_edge_version(edge_version or DEFAULT_EDGE_VERSION),
                      edge_image_repository=parse_image_repository(edge_image_repository),
                      edge_virtual_addr=_link_local_ipv4(edge_virtual_addr, "--edge-virtual-addr"),
                      site_label=parse_label_key(site_label, "--site-label"),
                      manifest_dir=parse_manifest_dir(manifest_dir),
                      allow_foreign_objects=allow_foreign_objects,
                      ignore_preflight_errors=tuple(ignore_preflight_errors), skip_phases=tuple(skip_phases),
                      dry_run=dry_run, wait=wait, timeout=float(timeout), no_rollback=no_rollback)
        return options


@dataclass(frozen=True)
class DetachOptions:
    kubeconfig: str | None
    force: bool = False
    dry_run: bool = False
    timeout: float = 300.0  # for this master's API server to come back after its manifest is restored


@dataclass(frozen=True)
class JoinOptions:
    endpoint: str
    token_id: str  # the TLS bootstrap token: the kubelet's first credential, and join's own API reads
    token_secret: str = field(repr=False)
    ca_hashes: tuple[str, ...]
    unsafe_skip_ca_verification: bool
    install_pkg_path: str = field(repr=False)  # a URL may carry credentials
    install_pkg_sha256: str | None
    node_name: str
    enable_edge: bool = True
    node_labels: tuple[tuple[str, str], ...] = ()  # (key, value), sorted; checked by parse_node_labels
    cri_socket: str | None = None  # unix:// URL of a runtime the machine already runs
    kubelet_config_patch: dict[str, Any] | None = None  # parsed and checked (see parse_kubelet_patch)
    ignore_preflight_errors: tuple[str, ...] = ()
    skip_phases: tuple[str, ...] = ()
    discovery_timeout: float = 60.0
    register_timeout: float = 180.0
    dry_run: bool = False
    no_rollback: bool = False
    # the token whose signature on cluster-info proves the CA (kubeadm's --discovery-token); default: the above
    discovery_token_id: str = ""
    discovery_token_secret: str = field(default="", repr=False)

    @property
    def token(self) -> str:
        return f"{self.token_id}.{self.token_secret}"

    @classmethod
    def parse(cls, *, endpoint: str, token: str | None = None, ca_hashes: tuple[str, ...] = (),
              unsafe_skip_ca_verification: bool = False, install_pkg_path: str | None = None,
              install_pkg_sha256: str | None = None, node_name: str | None = None, enable_edge: bool = True,
              node_labels: tuple[str, ...] = (), cri_socket: str | None = None,
              kubelet_config_patch: Path | None = None, allow_insecure_kubelet_config: bool = False,
              ignore_preflight_errors: tuple[str, ...] = (), skip_phases: tuple[str, ...] = (),
              discovery_timeout: float = 60.0, register_timeout: float = 180.0, dry_run: bool = False,
              no_rollback: bool = False, discovery_token: str | None = None,
              tls_bootstrap_token: str | None = None) -> JoinOptions:
        """Validate one join (the `join` flags, or one inventory row) before anything is contacted or changed."""
        _address(endpoint, None)
        if addr.split_host_port(endpoint)[1] is None:
            raise UsageError(f"address `{endpoint}` has no port", hint="the API server's HOST:PORT, e.g. 10.0.0.1:6443")
        # kubeadm's three flags: --token is both, --discovery-token / --tls-bootstrap-token each one of them
        tls_raw, disc_raw = tls_bootstrap_token or token, discovery_token or token
        if not tls_raw or not disc_raw:
            raise UsageError("a bootstrap token is required: --token, or both --discovery-token and "
                             "--tls-bootstrap-token", hint="create one on the master: edgeadm token create")
        try:
            token_id, token_secret = tokens.parse(tls_raw)
            discovery_id, discovery_secret = tokens.parse(disc_raw)
        except ConfigError as exc:
            raise UsageError(exc.message, exc.hint) from None
        pins = tuple(dict.fromkeys(parse_ca_hash(h) for h in ca_hashes))
        if not install_pkg_path:
            raise UsageError("--install-pkg-path is required (the static install package: a file or http(s) URL)")
        if not pins and not unsafe_skip_ca_verification:
            raise UsageError("--discovery-token-ca-cert-hash is required (or "
                             "--discovery-token-unsafe-skip-ca-verification)")
        sha = install_pkg_sha256.strip().lower() if install_pkg_sha256 else None
        if sha is not None and not re.fullmatch(_SHA256, sha):
            raise UsageError(f"`{install_pkg_sha256}` is not a sha256 (64 hex digits)", flag="--install-pkg-sha256")
        socket_url = None
        if cri_socket:
            path = cri_socket.removeprefix("unix://")
            if not path.startswith("/"):
                raise UsageError(f"`{cri_socket}` is not a unix socket path", flag="--cri-socket")
            socket_url = f"unix://{path}"
        for value, flag in ((discovery_timeout, "--discovery-timeout"), (register_timeout, "--register-timeout")):
            if not value >= 1:
                raise UsageError(f"{value} is not a timeout of at least 1 second", flag=flag)
        return cls(endpoint=endpoint, token_id=token_id, token_secret=token_secret, ca_hashes=pins,
                   unsafe_skip_ca_verification=unsafe_skip_ca_verification, install_pkg_path=install_pkg_path,
                   install_pkg_sha256=sha.removeprefix("sha256:") if sha else None,
                   node_name=parse_node_name(node_name),
                   enable_edge=enable_edge, node_labels=parse_node_labels(node_labels), cri_socket=socket_url,
                   kubelet_config_patch=parse_kubelet_patch(kubelet_config_patch, allow_insecure_kubelet_config)
                   if kubelet_config_patch else None,
                   ignore_preflight_errors=tuple(ignore_preflight_errors), skip_phases=tuple(skip_phases),
                   discovery_timeout=float(discovery_timeout), register_timeout=float(register_timeout),
                   dry_run=dry_run, no_rollback=no_rollback, discovery_token_id=discovery_id,
                   discovery_token_secret=discovery_secret)



BUNDLE_MAX_TTL = dt.timedelta(days=30)


@dataclass(frozen=True)
class BundleCreateOptions:
    site: str
    nodes: tuple[str, ...]
    release: Path
    output: Path
    ttl: dt.timedelta
    enable_edge: bool
    labels: tuple[tuple[str, str], ...]
    site_label: str

    @classmethod
    def parse(cls, *, site: str, nodes: tuple[str, ...], release: Path, output: Path, ttl: str, enable_edge: bool,
              node_labels: tuple[str, ...], site_label: str) -> BundleCreateOptions:
        label = parse_label_key(site_label, "--site-label")
        try:
            parse_node_labels((f"{label}={site}",))  # the site's name is the site label's value
        except UsageError as exc:
            raise UsageError(f"--site {exc.message}", flag="--site") from None
        names = tuple(dict.fromkeys(parse_node_name(n) for n in nodes))
        if not names:
            raise UsageError("give the site's node names (--node, repeatable)", flag="--node")
        try:
            window = tokens.parse_duration(ttl)
        except ConfigError as exc:
            raise UsageError(exc.message, exc.hint, flag="--ttl") from None
        if not dt.timedelta(minutes=5) <= window <= BUNDLE_MAX_TTL:
            raise UsageError(f"--ttl {ttl} is not an install window from 5m to {BUNDLE_MAX_TTL.days * 24}h",
                             flag="--ttl")
        labels = parse_node_labels(node_labels)
        if any(k == label for k, _ in labels):
            raise UsageError(f"`{label}` is the site label: it comes from --site", flag="--node-labels")
        return cls(site=site, nodes=names, release=release, output=output, ttl=window, enable_edge=enable_edge,
                   labels=labels, site_label=label)


_TOKEN_LINE_KEYS = {"token": "token", "discovery-token": "discovery_token",
                    "tls-bootstrap-token": "tls_bootstrap_token"}


def parse_token_lines(text: str) -> dict[str, str]:
    """`join --token-stdin`: lines `token=…`, `discovery-token=…`, `tls-bootstrap-token=…`, or one bare token
    (both roles); returned as JoinOptions.parse keywords. The tokens' form is checked there; nothing is echoed."""
    out: dict[str, str] = {}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and "=" not in lines[0]:
        return {"token": lines[0]}
    for n, line in enumerate(lines, start=1):
        key, eq, value = line.partition("=")
        if not eq or key not in _TOKEN_LINE_KEYS:
            raise UsageError(f"line {n} of standard input is not token=, discovery-token= or tls-bootstrap-token=",
                             flag="--token-stdin")
        if _TOKEN_LINE_KEYS[key] in out:
            raise UsageError(f"`{key}` given twice on standard input", flag="--token-stdin")
        out[_TOKEN_LINE_KEYS[key]] = value.strip()
    if not out:
        raise UsageError("standard input holds no token", flag="--token-stdin")
    return out


@dataclass(frozen=True)
class ResetOptions:
    force: bool = False
    delete_node: bool = True


# A label key as Kubernetes validates it: an optional DNS-subdomain prefix and "/", then a name of at most 63.
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"


def parse_label_key(value: str, flag: str) -> str:
    prefix, slash, name = value.rpartition("/")
    if not re.fullmatch(_LABEL_NAME, name) or (slash and (len(prefix) > 253
                                                          or not re.fullmatch(_DNS_SUBDOMAIN, prefix))):
        raise UsageError(f"`{value}` is not a label key", hint="e.g. topology.kubernetes.io/zone", flag=flag)
    return value


_LABEL_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
# Label prefixes under kubernetes.io / k8s.io the NodeRestriction admission plugin lets a kubelet set on its Node.
_KUBELET_LABEL_PREFIXES = ("kubelet.kubernetes.io", "node.kubernetes.io", "topology.kubernetes.io")


def parse_node_labels(pairs: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """--node-labels KEY=VALUE,...: labels the kubelet sets when it registers the Node. Keys the kubelet may not
    set (other kubernetes.io / k8s.io prefixes) and the edge label (that is --enable-edge) are refused here, not by
    a kubelet that then never starts."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise UsageError(f"`{pair}` is not KEY=VALUE", flag="--node-labels")
        parse_label_key(key, "--node-labels")
        if not re.fullmatch(_LABEL_VALUE, value):
            raise UsageError(f"`{value}` is not a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at "
                             "both ends)", flag="--node-labels")
        prefix = key.rpartition("/")[0]
        if prefix.endswith(("kubernetes.io", "k8s.io")) and prefix not in _KUBELET_LABEL_PREFIXES:
            raise UsageError(f"the kubelet may not set label `{key}` on its Node (NodeRestriction)",
                             hint="allowed under kubernetes.io: " + ", ".join(_KUBELET_LABEL_PREFIXES)
                             + "; set other labels with kubectl after join", flag="--node-labels")
        if key in (EDGE_LABEL_KEY, LEGACY_EDGE_LABEL_KEY):
            raise UsageError(f"`{key}` is set by --enable-edge", flag="--node-labels")
        if key in out and out[key] != value:
            raise UsageError(f"label `{key}` given twice with different values", flag="--node-labels")
        out[key] = value
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class StatusOptions:
    site_label: str
    site: str | None = None  # only the nodes whose site label has this value

    @classmethod
    def parse(cls, *, site_label: str, site: str | None = None) -> StatusOptions:
        key = parse_label_key(site_label, "--site-label")
        if site is not None and (not site or not re.fullmatch(_LABEL_VALUE, site)):
            raise UsageError(f"{site!r} is not a label value",
                             "use up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
                             "digit", flag="--site")
        return cls(site_label=key, site=site)


def _flagged(flag: str | None, fn: Callable[[], T]) -> T:
    """Run a parser of `tokens`; its ConfigError becomes a usage error naming the flag."""
    try:
        return fn()
    except ConfigError as exc:
        raise UsageError(exc.message, exc.hint, flag=flag) from None


@dataclass(frozen=True)
class TokenCreateOptions:
    token: tokens.Token
    print_join_command: bool = False

    @classmethod
    def parse(cls, *, value: str | None, ttl: str, usages: tuple[str, ...], groups: tuple[str, ...],
              description: str, print_join_command: bool) -> TokenCreateOptions:
        if value is not None:
            _flagged(None, lambda: tokens.parse(value))
        lifetime = _flagged("--ttl", lambda: tokens.parse_duration(ttl))
        _flagged("--usages", lambda: tokens.check_usages(usages))
        _flagged("--groups", lambda: tokens.check_groups(groups, usages))
        tok = _flagged("--ttl", lambda: tokens.new_token(value, ttl=lifetime, usages=usages, groups=groups,
                                                         description=description))
        return cls(token=tok, print_join_command=print_join_command)


# Settings a patch may not set without --allow-insecure-kubelet-config: each opens the kubelet's API (exec, logs,
# pods' secrets) to callers it does not authenticate or does not authorize.
_WEAKENING: tuple[tuple[tuple[str, ...], Callable[[Any], bool], str], ...] = (
    (("authentication", "anonymous", "enabled"), lambda v: v is True, "anonymous requests are accepted"),
    (("authentication", "webhook", "enabled"), lambda v: v is False, "API server token checks are off"),
    (("authorization", "mode"), lambda v: v == "AlwaysAllow", "every request is authorized"),
    (("readOnlyPort",), lambda v: v not in (0, None), "the unauthenticated read-only port is open"),
)


def parse_manifest_dir(value: str | Path | None) -> Path | None:
    """--manifest-dir: a directory whose every file overrides one of edgeadm's templates by name, as UTF-8 text.
    A file that overrides nothing is refused rather than ignored: a misspelt name would silently keep our default."""
    if value is None:
        return None
    flag = "--manifest-dir"
    path = Path(value)
    if not path.is_dir():
        raise UsageError(f"`{path}` is not a directory", hint="pass the directory holding your template overrides",
                         flag=flag)
    from edgeadm.resources import cluster_templates

    known = set(cluster_templates())
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue  # editor and VCS files
        if entry.name not in known or not entry.is_file():
            raise UsageError(f"`{entry.name}` in `{path}` is not one of edgeadm's templates",
                             hint="name overrides as `edgeadm manifests --templates -o DIR` writes them", flag=flag)
        try:
            entry.read_bytes().decode("utf-8")
        except OSError as exc:
            raise UsageError(f"`{entry}` cannot be read: {exc.strerror}", flag=flag) from None
        except UnicodeDecodeError:
            raise UsageError(f"`{entry}` is not UTF-8 text", flag=flag) from None
    return path


def parse_kubelet_patch(path: Path, allow_insecure: bool) -> dict[str, Any]:
    """The --kubelet-config-patch file: a YAML mapping, read and checked before anything on the machine changes.
    Settings that weaken the kubelet's authentication or authorization are refused unless explicitly allowed."""
    import yaml

    flag = "--kubelet-config-patch"
    try:
        patch = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"`{path}` cannot be read: {exc.strerror}", flag=flag) from None
    except UnicodeDecodeError:
        raise UsageError(f"`{path}` is not UTF-8 text", flag=flag) from None
    except yaml.YAMLError as exc:
        raise UsageError(f"`{path}` is not YAML: {str(exc).splitlines()[0]}", flag=flag) from None
    if not isinstance(patch, dict) or not all(isinstance(k, str) for k in patch):
        raise UsageError(f"`{path}` is not a mapping of kubelet configuration fields", flag=flag)
    from edgeadm.kubelet_fields import FIELDS

    unknown = sorted(set(patch) - FIELDS)
    if unknown:
        raise UsageError(f"`{path}` sets {', '.join(unknown)}, not a kubelet configuration field",
                         hint="field names are case-sensitive (e.g. cgroupDriver)", flag=flag)
    for where, weak, what in _WEAKENING:
        value: Any = patch
        for key in where:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and weak(value) and not allow_insecure:
            raise UsageError(f"`{path}` sets {'.'.join(where)}: {value!r} ({what})",
                             hint="remove it, or pass --allow-insecure-kubelet-config if you mean it", flag=flag)
    return patch


def parse_token_ids(idents: tuple[str, ...]) -> tuple[str, ...]:
    """Token ids from ids or whole tokens (`token delete`), checked before the cluster is contacted."""
    out = []
    for ident in idents:
        tid = ident.split(".")[0]
        if not re.fullmatch(r"[a-z0-9]{6}", tid):
            raise UsageError(f"`{ident}` is not a token id or token", hint="ids are 6 characters [a-z0-9]")
        out.append(tid)
    return tuple(out)
