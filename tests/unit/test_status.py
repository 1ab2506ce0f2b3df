"""edgeadm.status: what `edgeadm status` and `addon --wait` read, from objects as the API server returns them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from edgeadm import status
from edgeadm.errors import UsageError
from edgeadm.options import StatusOptions

NOW = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.timezone.utc)


def _ago(seconds: float) -> str:
    return (NOW - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _node(name: str, *, labels: dict[str, str], ready: str = "True",
          annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "annotations": annotations or {}},
            "status": {"conditions": [{"type": "Ready", "status": ready}],
                       "nodeInfo": {"kubeletVersion": "v1.33.13"}}}


def _pod(name: str, node: str, app: str, image: str, ready: bool = True) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "edge-system", "labels": {"name": app}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": image}]},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


class Cluster:
    """An in-memory KubeAPI (the read half): only what status reads."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = objects
        self.dry_run = False
        self.calls: list[tuple[str, str | None, str | None]] = []

    def _match(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        return [o for o in self.objects
                if o["kind"] == kind and namespace in (None, o["metadata"].get("namespace"))]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return next((o for o in self._match(kind, namespace) if o["metadata"]["name"] == name), None)

    def list(self, api_version: str, kind: str, *, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None,
             cached: bool = False) -> list[dict[str, Any]]:
        self.calls.append((kind, label_selector, field_selector))
        out = self._match(kind, namespace)
        if label_selector:  # `key=value` only: all status asks for
            key, value = label_selector.split("=", 1)
            out = [o for o in out if (o["metadata"].get("labels") or {}).get(key) == value]
        if field_selector:  # `spec.nodeName=NAME` only
            assert field_selector.startswith("spec.nodeName="), field_selector
            out = [o for o in out if o["spec"].get("nodeName") == field_selector.split("=", 1)[1]]
        return out

    def table(self, api_version: str, kind: str, *, namespace: str | None = None, field_selector: str | None = None,
              cached: bool = False) -> list[dict[str, str]]:
        assert kind == "Pod" and cached, "status reads pods as a table, from the cache"
        return [_row(p) for p in self.list(api_version, kind, namespace=namespace, field_selector=field_selector)]


def _cluster() -> Cluster:
    image = "superedge.tencentcloudcr.com/superedge/{}:v0.9.0"
    objs: list[dict[str, Any]] = [
        _node("master", labels={"node-role.kubernetes.io/control-plane": ""}),
        _node("cloud1", labels={}),
        _node("edge-a1", labels={"superedge.io/edge-node": "enable", "topology.kubernetes.io/zone": "a"}),
        _node("edge-a2", labels={"superedge.io/edge-node": "enable", "topology.kubernetes.io/zone": "a"},
              ready="Unknown", annotations={"nodeunhealth": "yes"}),
        _node("edge-b1", labels={"superedge.io/edge-node": "enable", "topology.kubernetes.io/zone": "b"}),
        {"kind": "Namespace", "metadata": {"name": "edge-system"}},
        {"kind": "ConfigMap", "metadata": {"name": "tunnel-nodes", "namespace": "edge-system"},
         "data": {"hosts": "# tunnel\n10.244.0.5    edge-a1\n10.244.0.5    edge-b1 \n\njunk\n"}},
        {"kind": "Deployment", "metadata": {"name": "tunnel-cloud", "namespace": "edge-system", "generation": 1},
         "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": image.format("tunnel")}]}}},
         "status": {"updatedReplicas": 1, "availableReplicas": 1}},
        {"kind": "DaemonSet", "metadata": {"name": "tunnel-edge", "namespace": "edge-system", "generation": 2},
         "spec": {"template": {"spec": {"containers": [{"image": image.format("tunnel")}]}}},
         "status": {"desiredNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3,
                    "observedGeneration": 2}},
        _pod("edge-health-x", "edge-a1", "edge-health", image.format("edge-health")),
        _pod("edge-health-y", "edge-a2", "edge-health", image.format("edge-health"), ready=False),
    ]
    for name, ago in (("master", 2), ("cloud1", 5), ("edge-a1", 3), ("edge-a2", 95)):
        objs.append({"kind": "Lease", "metadata": {"name": name, "namespace": "kube-node-lease"},
                     "spec": {"renewTime": _ago(ago)}})
    return Cluster(objs)


def _row(pod: dict[str, Any]) -> dict[str, str]:
    """The pod as the API server's table shows it (only the columns status reads)."""
    ready = pod["status"]["conditions"][0]["status"] == "True"
    return {"Name": pod["metadata"]["name"], "Ready": "1/1" if ready else "0/1",
            "Status": pod["status"].get("phase", "Running"), "Node": pod["spec"]["nodeName"]}


def test_gather_reports_each_node_truthfully() -> None:
    st = status.gather(_cluster(), now=NOW)  # type: ignore[arg-type]
    rows = {n.name: (n.site, n.role, n.ready, n.tunnel, n.lite_apiserver, n.edge_health) for n in st.nodes}
    assert rows == {
        "cloud1": ("-", "cloud", "True", "-", "-", "-"),
        "edge-a1": ("a", "edge", "True", "connected", "serving", "ok"),
        "edge-a2": ("a", "edge", "Unknown", "not-connected", "not-heard-from", "voted-unhealthy"),
        "edge-b1": ("b", "edge", "True", "connected", "not-heard-from", "not-running"),  # no Lease: never heard
        "master": ("-", "control-plane", "True", "-", "-", "-"),
    }
    heard = {n.name: n.heard_seconds_ago for n in st.nodes}
    assert heard["edge-a2"] == 95.0 and heard["edge-b1"] is None
    assert [(s.name, s.nodes, s.ready, s.edge, s.tunnel_connected) for s in st.sites] == [
        ("a", 2, 1, 2, 1), ("b", 1, 1, 1, 1), ("-", 2, 2, 0, 0)]
    comps = {c.name: (c.present, c.summary(), c.version, c.rolled_out) for c in st.components}
    assert comps["tunnel-cloud"] == (True, "1/1 ready", "v0.9.0", True)
    assert comps["tunnel-edge"] == (True, "2/3 ready", "v0.9.0", False)
    assert comps["edge-health"] == (False, "absent", "", False)
    assert st.as_dict()["nodes"][1]["liteApiserver"] == "serving"
    text = "\n".join(status.table(st))
    assert "edge-a2  edge           Unknown  95s ago  not-connected  not-heard-from  voted-unhealthy" in text


def test_without_edge_apps_and_with_another_site_label() -> None:
    c = _cluster()
    c.objects = [o for o in c.objects if o["kind"] in ("Node", "Lease")]
    st = status.gather(c, site_label="superedge.io/edge-node", now=NOW)  # type: ignore[arg-type]
    assert not st.edge_apps and st.components == []
    assert {n.tunnel for n in st.nodes if n.role == "edge"} == {"no-tunnel-cloud"}
    assert [s.name for s in st.sites] == ["enable", "-"]
    assert status.table(st)[0].startswith("edge apps: not installed")


@pytest.mark.parametrize("key", ["zone", "topology.kubernetes.io/zone", "example.com/site-1", "a_b.c"])
def test_site_label_accepted(key: str) -> None:
    assert StatusOptions.parse(site_label=key).site_label == key


@pytest.mark.parametrize("key", ["", "-zone", "zone/", "/zone", "UPPER.com/zone", "a" * 64, "x/y/z", "zone\n"])
def test_site_label_refused(key: str) -> None:
    with pytest.raises(UsageError) as exc:
        StatusOptions.parse(site_label=key)
    assert exc.value.message == f"`{key}` is not a label key"

def test_one_site_reads_only_that_site() -> None:
    """`--site a`: a's nodes, their pods asked for by node and their leases by name (nothing fleet-wide is listed
    but the edge workloads themselves);
    a grid keyed on the site label shows a's row only."""
    c = _cluster()
    c.objects.append(_grid("echo", {"a": {"replicas": 1, "readyReplicas": 1}, "b": {"replicas": 2,
                                                                                  "readyReplicas": 0}}))
    c.objects[-1]["spec"]["gridUniqKey"] = "topology.kubernetes.io/zone"
    st = status.gather(c, site="a", now=NOW)  # type: ignore[arg-type]
    assert [(n.name, n.site, n.tunnel, n.edge_health) for n in st.nodes] == [
        ("edge-a1", "a", "connected", "ok"), ("edge-a2", "a", "not-connected", "voted-unhealthy")]
    assert [(s.name, s.nodes) for s in st.sites] == [("a", 2)]
    assert st.nodes[1].heard_seconds_ago == 95.0
    assert sorted(c.calls, key=str) == sorted([
        ("Node", "topology.kubernetes.io/zone=a", None), ("Pod", None, "spec.nodeName=edge-a1"),
        ("Pod", None, "spec.nodeName=edge-a2"), ("DeploymentGrid", None, None), ("StatefulSetGrid", None, None),
        ("Deployment", None, None), ("DaemonSet", None, None)],
        key=str)
    assert st.grids[0].states == {"a": {"replicas": 1, "readyReplicas": 1}}


def test_site_option_refuses_what_is_not_a_label_value() -> None:
    assert StatusOptions.parse(site_label="zone", site="shop-1.east").site == "shop-1.east"
    for bad in ("", "shop 1", "-x", "a" * 64):
        with pytest.raises(UsageError):
            StatusOptions.parse(site_label="zone", site=bad)


def _grid(name: str, states: Any) -> dict[str, Any]:
    return {"apiVersion": "superedge.io/v1", "kind": "DeploymentGrid",
            "metadata": {"name": name, "namespace": "default"}, "spec": {"gridUniqKey": "site"},
            "status": {"states": states}}


def test_grids_per_site_and_malformed_status_counts_zero() -> None:
    c = _cluster()
    c.objects += [_grid("echo", {"site-b": {"replicas": 2, "readyReplicas": 1}, "site-a": {"replicas": 1,
                                                                                            "readyReplicas": 1}}),
                  _grid("odd", {"x": {"replicas": "7", "readyReplicas": -1}, "y": "junk"}), _grid("new", None)]
    st = status.gather(c, now=NOW)  # type: ignore[arg-type]
    got = {g.name: g.states for g in st.grids}
    assert got == {"echo": {"site-a": {"replicas": 1, "readyReplicas": 1},
                            "site-b": {"replicas": 2, "readyReplicas": 1}},
                   "odd": {"x": {"replicas": 0, "readyReplicas": 0}, "y": {"replicas": 0, "readyReplicas": 0}},
                   "new": {}}
    assert st.as_dict()["grids"][0] == {"kind": "DeploymentGrid", "namespace": "default", "name": "echo",
                                        "gridUniqKey": "site", "states": got["echo"]}
    text = "\n".join(status.table(st))
    assert "default/echo  DeploymentGrid  site  site-b  1/2" in text, text
    assert "default/new   DeploymentGrid  site  -       0/0" in text, text


def test_pods_are_told_apart_by_their_workload_and_state() -> None:
    assert status.component_of("edge-health-admission-5d9c7-x2x") == "edge-health-admission"
    assert status.component_of("edge-health-8kq2z") == "edge-health"
    assert status.component_of("tunnel-edge-abcde") == "tunnel-edge"
    assert status.component_of("someone-else") == "someone-else"
    assert status.pod_state({"Ready": "1/1", "Status": "Running"}) == "ready"
    assert status.pod_state({"Ready": "0/1", "Status": "Running"}) == "not-ready (Running)"
    assert status.pod_state({"Ready": "1/1", "Status": "Terminating"}) == "not-ready (Terminating)"
    assert status.pod_state({"Ready": "0/0", "Status": "Running"}) == "not-ready (Running)"
    assert status.pod_state({"Ready": "x/y"}) == "not-ready (unknown)"
    st = status.gather(_cluster(), now=NOW)  # type: ignore[arg-type]
    assert {n.name: n.components for n in st.nodes}["edge-a2"] == {"edge-health": "not-ready (Running)"}
