"""What the edge capabilities are doing right now, read from the cluster: the edge components' roll-out, and per
site and per node whether the node is Ready, connected to tunnel-cloud, served by its lite-apiserver, and what its
peers' edge-health vote says. Read-only; shared by `edgeadm status` and `addon --wait`.

Where each fact comes from (all through the API server; the master cannot reach edge nodes directly):
- tunnel: ConfigMap `edge-system/tunnel-nodes`, which tunnel-cloud rewrites (every 60 s) with the nodes whose
  stream it holds. tunnel-cloud drops a stream about 6 s after the edge stops answering its keepalives.
- lite-apiserver: an edge node's kubelet talks to the API server only through its lite-apiserver (join writes
  that kubeconfig), so a recently renewed node Lease means lite-apiserver served the kubelet then.
- edge-health: the `nodeunhealth` annotation, which edge-health sets when a majority of the node's peers cannot
  reach it and removes when they can again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from edgeadm.constants import (
    CONTROL_PLANE_LABELS,
    DEFAULT_SITE_LABEL,
    EDGE_LABEL_KEY,
    EDGE_NAMESPACE,
    LEGACY_EDGE_LABEL_KEY,
)

if TYPE_CHECKING:
    from edgeadm.kube.types import KubeAPI

NO_SITE = "-"
# The edge components addon deploys, in the order `addon --wait` reports them.
COMPONENTS = (("Deployment", "tunnel-cloud"), ("Deployment", "edge-health-admission"),
              ("Deployment", "application-grid-controller"), ("DaemonSet", "tunnel-edge"),
              ("DaemonSet", "edge-health"), ("DaemonSet", "application-grid-wrapper-node"),
              ("DaemonSet", "edge-kube-proxy"))
TUNNEL_NODES = "tunnel-nodes"  # tunnel-cloud's record of connected nodes (hosts file format)
UNHEALTHY_ANNOTATION = "nodeunhealth"
# A node Lease renewed within this many seconds counts as "heard from" (kube-controller-manager's default
# node-monitor-grace-period is 40-50 s; the kubelet renews every 10 s).
HEARD_WITHIN = 40.0
READERS = 4  # connections `gather` reads on at once


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    present: bool
    ready: int = 0
    desired: int = 0
    version: str = ""

    @property
    def rolled_out(self) -> bool:
        return self.present and self.ready >= self.desired

    def summary(self) -> str:
        if not self.present:
            return "absent"
        return f"{self.ready}/{self.desired} ready"


@dataclass(frozen=True)
class NodeStatus:
    name: str
    site: str
    role: str  # edge | cloud | control-plane
    ready: str  # the Ready condition: True | False | Unknown
    kubelet: str
    heard_seconds_ago: float | None  # since the node Lease was renewed
    tunnel: str  # connected | not-connected | - (not an edge node) | no-tunnel-cloud
    lite_apiserver: str  # serving | not-heard-from | - (not an edge node)
    edge_health: str  # ok | voted-unhealthy | not-running | - (not an edge node)
    components: dict[str, str] = field(default_factory=dict)  # edge component -> "ready" | "not-ready (<status>)"


@dataclass(frozen=True)
class SiteStatus:
    name: str
    nodes: int
    ready: int
    edge: int
    tunnel_connected: int


@dataclass(frozen=True)
class GridStatus:
    """A DeploymentGrid or StatefulSetGrid: one workload per value of its gridUniqKey label (per site)."""
    kind: str
    namespace: str
    name: str
    grid_uniq_key: str
    states: dict[str, dict[str, int]]  # grid value (site) -> {"replicas", "readyReplicas"} of its workload


@dataclass(frozen=True)
class ClusterStatus:
    site_label: str
    edge_apps: bool
    components: list[Component]
    sites: list[SiteStatus]
    nodes: list[NodeStatus]
    grids: list[GridStatus] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"siteLabel": self.site_label, "edgeApps": self.edge_apps,
                "components": [{**asdict(c), "rolledOut": c.rolled_out} for c in self.components],
                "sites": [_camel(asdict(s)) for s in self.sites],
                "nodes": [_camel(asdict(n)) for n in self.nodes],
                "grids": [_camel(asdict(g)) for g in self.grids]}


def _camel(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        head, *rest = k.split("_")
        out[head + "".join(w.title() for w in rest)] = v
    return out


def _image_tag(obj: dict[str, Any]) -> str:
    containers = ((obj.get("spec") or {}).get("template") or obj).get("spec", {}).get("containers") or []
    image = str((containers[0] if containers else {}).get("image", ""))
    tail = image.rsplit("/", 1)[-1]
    return tail.split(":", 1)[1] if ":" in tail else ""


def component(obj: dict[str, Any] | None, kind: str, name: str) -> Component:
    if obj is None:
        return Component(kind, name, present=False)
    st = obj.get("status") or {}
    if kind == "Deployment":
        desired = int((obj.get("spec") or {}).get("replicas", 1))
        ready = min(int(st.get("updatedReplicas", 0)), int(st.get("availableReplicas", 0)))
    else:
        desired = int(st.get("desiredNumberScheduled", 0))
        current = int(st.get("observedGeneration", 0)) >= int(obj["metadata"].get("generation", 0))
        ready = min(int(st.get("numberReady", 0)), int(st.get("updatedNumberScheduled", 0))) if current else 0
    return Component(kind, name, present=True, ready=ready, desired=desired, version=_image_tag(obj))


def components(kube: KubeAPI, *, cached: bool = False) -> list[Component]:
    """The roll-out of each edge component (absent when addon did not deploy it, e.g. no kube-proxy to adapt)."""
    found = {(kind, str(o["metadata"]["name"])): o for kind in ("Deployment", "DaemonSet")
             for o in kube.list("apps/v1", kind, namespace=EDGE_NAMESPACE, cached=cached)}
    return [component(found.get((kind, name)), kind, name) for kind, name in COMPONENTS]


GRID_KINDS = ("DeploymentGrid", "StatefulSetGrid")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def grid(obj: dict[str, Any]) -> GridStatus:
    """What a grid's status says per grid value (the controller writes it; anything malformed counts as 0)."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    states = (obj.get("status") or {}).get("states")
    per_site: dict[str, dict[str, int]] = {}
    for value, st in sorted((states or {}).items() if isinstance(states, dict) else []):
        st = st if isinstance(st, dict) else {}
        per_site[str(value)] = {"replicas": _count(st.get("replicas")),
                                "readyReplicas": _count(st.get("readyReplicas"))}
    return GridStatus(kind=str(obj.get("kind", "")), namespace=str(meta.get("namespace", "")),
                      name=str(meta.get("name", "")), grid_uniq_key=str(spec.get("gridUniqKey", "")),
                      states=per_site)


def grids(kube: KubeAPI) -> list[GridStatus]:
    """Every grid workload in the cluster (none when the service-group CRDs are not served)."""
    from edgeadm.kube.errors import NotFound

    out = []
    for kind in GRID_KINDS:
        try:
            out += [grid(o) for o in kube.list("superedge.io/v1", kind)]
        except NotFound:
            continue
    return sorted(out, key=lambda g: (g.namespace, g.name, g.kind))


def role_of(node: dict[str, Any]) -> str:
    labels = node["metadata"].get("labels") or {}
    if labels.get(EDGE_LABEL_KEY) == "enable" or labels.get(LEGACY_EDGE_LABEL_KEY) == "enable":
        return "edge"
    if any(k in labels for k in CONTROL_PLANE_LABELS):
        return "control-plane"
    return "cloud"


def _condition(node: dict[str, Any], kind: str) -> str:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return str(c.get("status", "Unknown"))
    return "Unknown"


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def connected_nodes(hosts_text: str) -> set[str]:
    """Node names in tunnel-cloud's hosts-format ConfigMap (`<ip> <name>` lines; comments and junk ignored)."""
    out = set()
    for line in hosts_text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2:
            out.update(words[1:])
    return out


def gather(kube: KubeAPI, *, site_label: str = DEFAULT_SITE_LABEL, site: str | None = None,
           now: dt.datetime | None = None) -> ClusterStatus:
    """Read everything `status` shows; with `site`, only that site's nodes (and their leases and pods, asked for
    by name, so one site of a large fleet costs what the site holds, not what the fleet holds).

    Reads are served from the API server's watch cache (a read-only view needs no round to etcd), the edge pods
    come as the server's table (name, ready, status, node: a fortieth of their objects' bytes), and the reads after
    the node list go out on a few connections at once."""
    now = now or dt.datetime.now(dt.timezone.utc)
    selector = f"{site_label}={site}" if site is not None else None
    nodes = sorted(kube.list("v1", "Node", label_selector=selector, cached=True),
                   key=lambda n: str(n["metadata"]["name"]))
    names = [str(n["metadata"]["name"]) for n in nodes]
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="status") as pool:
        namespace_f = pool.submit(kube.get, "v1", "Namespace", EDGE_NAMESPACE)
        if site is None:
            leases_f = [pool.submit(kube.list, "coordination.k8s.io/v1", "Lease", namespace="kube-node-lease",
                                    cached=True)]
            pods_f = [pool.submit(kube.table, "v1", "Pod", namespace=EDGE_NAMESPACE, cached=True)]
        else:
            leases_f = [pool.submit(_as_list, kube.get, "coordination.k8s.io/v1", "Lease", n, "kube-node-lease")
                        for n in names]
            pods_f = [pool.submit(kube.table, "v1", "Pod", namespace=EDGE_NAMESPACE,
                                  field_selector=f"spec.nodeName={n}", cached=True) for n in names]
        # asked for before the namespace is known to exist (all at once is the point); without edge apps these few
        # answers are empty and dropped below
        tunnel_f = pool.submit(kube.get, "v1", "ConfigMap", TUNNEL_NODES, EDGE_NAMESPACE)
        components_f = pool.submit(components, kube, cached=True)
        grids_f = pool.submit(grids, kube)
        namespace = namespace_f.result()
        leases = {str(x["metadata"]["name"]): x for f in leases_f for x in f.result()}
        pods: list[dict[str, str]] = []
        tunnel_nodes: set[str] | None = None
        if namespace is not None:
            pods = [p for f in pods_f for p in f.result()]
            cm = tunnel_f.result()
            if cm is not None:
                tunnel_nodes = set()
                for text in (cm.get("data") or {}).values():
                    tunnel_nodes |= connected_nodes(str(text))
        comps_all = components_f.result() if namespace is not None else []
        grid_all = grids_f.result() if namespace is not None else []
    if site is not None:
        grid_all = [GridStatus(g.kind, g.namespace, g.name, g.grid_uniq_key,
                               {k: v for k, v in g.states.items() if g.grid_uniq_key != site_label or k == site})
                    for g in grid_all]
    by_node: dict[str, dict[str, str]] = {}
    for row in sorted(pods, key=lambda r: r.get("Name", "")):
        by_node.setdefault(row.get("Node", ""), {})[component_of(row.get("Name", ""))] = pod_state(row)

    out: list[NodeStatus] = []
    for n in nodes:
        name = str(n["metadata"]["name"])
        role = role_of(n)
        renewed = _parse_time(((leases.get(name) or {}).get("spec") or {}).get("renewTime"))
        heard = max(0.0, round((now - renewed).total_seconds(), 1)) if renewed else None  # clocks differ a little
        comps = by_node.get(name, {})
        if role == "edge":
            tunnel = ("no-tunnel-cloud" if tunnel_nodes is None else
                      "connected" if name in tunnel_nodes else "not-connected")
            lite = "serving" if heard is not None and heard <= HEARD_WITHIN else "not-heard-from"
            annotations = n["metadata"].get("annotations") or {}
            health = ("voted-unhealthy" if UNHEALTHY_ANNOTATION in annotations else
                      "ok" if "edge-health" in comps else "not-running")
        else:
            tunnel = lite = health = "-"
        labels = n["metadata"].get("labels") or {}
        out.append(NodeStatus(name=name, site=str(labels.get(site_label) or NO_SITE), role=role,
                              ready=_condition(n, "Ready"),
                              kubelet=str(((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")),
                              heard_seconds_ago=heard, tunnel=tunnel, lite_apiserver=lite, edge_health=health,
                              components=comps))
    return ClusterStatus(site_label=site_label, edge_apps=namespace is not None, components=comps_all,
                         sites=sites_of(out), nodes=out, grids=grid_all)


def component_of(pod: str) -> str:
    """The edge component a pod belongs to, from its name (`<workload>-<hash…>`; the longest name that fits, so
    `edge-health-admission-…` is not `edge-health`); any other pod keeps its own name."""
    fits = [c for _, c in COMPONENTS if pod.startswith(c + "-")]
    return max(fits, key=len) if fits else pod


def pod_state(row: dict[str, str]) -> str:
    """`ready`, or `not-ready (<status>)`, from a pod's table row (READY `n/m` with n = m > 0 and STATUS Running)."""
    done, _, want = row.get("Ready", "").partition("/")
    status = row.get("Status", "") or "unknown"
    if status == "Running" and done.isdigit() and want.isdigit() and 0 < int(want) == int(done):
        return "ready"
    return f"not-ready ({status})"


def _as_list(get: Callable[..., dict[str, Any] | None], *args: str) -> list[dict[str, Any]]:
    obj = get(*args)
    return [obj] if obj is not None else []


def sites_of(nodes: Iterable[NodeStatus]) -> list[SiteStatus]:
    grouped: dict[str, list[NodeStatus]] = {}
    for n in nodes:
        grouped.setdefault(n.site, []).append(n)
    return [SiteStatus(name=site, nodes=len(ns), ready=sum(n.ready == "True" for n in ns),
                       edge=sum(n.role == "edge" for n in ns),
                       tunnel_connected=sum(n.tunnel == "connected" for n in ns))
            for site, ns in sorted(grouped.items(), key=lambda kv: (kv[0] == NO_SITE, kv[0]))]


def table(status: ClusterStatus) -> list[str]:
    """The text display: components, then sites, then one row per node grouped by site."""
    lines: list[str] = []
    if not status.edge_apps:
        lines.append(f"edge apps: not installed (no namespace {EDGE_NAMESPACE}; run `edgeadm addon edge-apps`)")
    else:
        lines.append("edge apps: installed")
        rows: list[tuple[str, ...]] = [("COMPONENT", "KIND", "READY", "VERSION")]
        rows += [(c.name, c.kind, c.summary(), c.version or "-") for c in status.components]
        lines += _columns(rows)
    lines.append("")
    site_rows: list[tuple[str, ...]] = [("SITE", "NODES", "READY", "EDGE", "TUNNEL")]
    site_rows += [(s.name, str(s.nodes), str(s.ready), str(s.edge), f"{s.tunnel_connected}/{s.edge}")
                  for s in status.sites]
    lines += _columns(site_rows)
    lines.append("")
    node_rows: list[tuple[str, ...]] = [("SITE", "NODE", "ROLE", "READY", "HEARD", "TUNNEL", "LITE-APISERVER",
                                         "EDGE-HEALTH", "KUBELET")]
    for site in status.sites:
        for n in (n for n in status.nodes if n.site == site.name):
            heard = "never" if n.heard_seconds_ago is None else f"{n.heard_seconds_ago:.0f}s ago"
            node_rows.append((n.site, n.name, n.role, n.ready, heard, n.tunnel, n.lite_apiserver, n.edge_health,
                         n.kubelet))
    lines += _columns(node_rows)
    lines.append(f"(sites by node label {status.site_label}; {NO_SITE}: nodes without it)")
    if status.grids:
        lines.append("")
        grid_rows: list[tuple[str, ...]] = [("GRID", "KIND", "KEY", "SITE", "READY")]
        for g in status.grids:
            for value, st in (g.states or {"-": {"replicas": 0, "readyReplicas": 0}}).items():
                grid_rows.append((f"{g.namespace}/{g.name}", g.kind, g.grid_uniq_key, value,
                                  f"{st['readyReplicas']}/{st['replicas']}"))
        lines += _columns(grid_rows)
    return lines


def _columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]


__all__ = ["COMPONENTS", "DEFAULT_SITE_LABEL", "ClusterStatus", "Component", "GridStatus", "NodeStatus",
           "SiteStatus", "components", "gather", "grids", "table"]
