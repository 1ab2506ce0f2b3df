"""detach edge-apps on a real cluster: later edits by others survive (field by field), a namespace left by a run
killed before its first record is cleaned up (and a user's own namespace is not), --dry-run changes nothing, and
edge nodes block detach unless --force. Every check is a whole-cluster snapshot."""

from __future__ import annotations

import pytest

from edgeadm.record import MANAGED_LABELS, NAMESPACE_CREATED_ANNOTATION
from tests.e2e.helpers import addon, edgeadm, kube_of
from tests.harness import cluster as harness
from tests.harness.snapshot import diff, settled_snapshot, snapshot

pytestmark = pytest.mark.cluster


def test_edits_by_others_after_addon_survive_detach(clusters: harness.ClusterPool) -> None:
    c = clusters["kubeadm"]
    k = kube_of(c)
    before = settled_snapshot(k)
    assert addon(c).returncode == 0
    # another actor edits the objects addon changed, in fields addon does not own
    # (kubectl apply --server-side with another field manager: the edits are theirs, not edgeadm's)
    _apply_as(c, {"apiVersion": "apps/v1", "kind": "DaemonSet",
                  "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"team": "net"}}},
              "someone-else")
    _apply_as(c, {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                  "metadata": {"name": "kubernetes", "namespace": "default",
                               "annotations": {"example.com/owner": "net-team"}}}, "someone-else")
    out = edgeadm(c, "detach", "edge-apps")
    assert out.returncode == 0, out.stderr
    changes = diff(before, snapshot(k))
    # exactly the other actor's edits remain: nothing of addon's, nothing of theirs lost
    assert sorted(changes) == [
        "changed: apps/v1/DaemonSet/kube-system/kube-proxy: .metadata.labels.team: None -> net",
        "changed: discovery.k8s.io/v1/EndpointSlice/default/kubernetes: .metadata.annotations: None -> "
        "{'example.com/owner': 'net-team'}",
    ], changes


def _apply_as(c: harness.Cluster, obj: dict[str, object], manager: str) -> None:
    import json
    import subprocess

    kubectl = harness.bin_dir() / "kubectl"
    res = subprocess.run([str(kubectl), "--kubeconfig", str(c.admin_conf), "apply", "--server-side",
                          f"--field-manager={manager}", "-f", "-"], input=json.dumps(obj), text=True,
                         capture_output=True, check=False)
    assert res.returncode == 0, res.stderr


def test_a_namespace_from_a_run_killed_before_its_record_is_removed(clusters: harness.ClusterPool) -> None:
    c = clusters["bare"]
    k = kube_of(c)
    before = settled_snapshot(k)
    # what addon leaves when killed between creating its namespace and writing its first record
    k.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "edge-system", "labels": dict(MANAGED_LABELS), "annotations": {NAMESPACE_CREATED_ANNOTATION: "addon"}}})
    dry = edgeadm(c, "detach", "edge-apps", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert k.get("v1", "Namespace", "edge-system") is not None
    out = edgeadm(c, "detach", "edge-apps")
    assert out.returncode == 0, out.stderr
    assert diff(before, snapshot(k)) == []
    # the user's own namespace of that name, with no record: detach has nothing to do and leaves it
    k.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge-system"}})
    mine = snapshot(k)
    out = edgeadm(c, "detach", "edge-apps")
    assert out.returncode == 0 and "nothing to do" in out.stderr, out.stderr
    assert diff(mine, snapshot(k)) == []
    k.delete("v1", "Namespace", "edge-system")
    k.wait_for("the namespace to go", lambda: k.get("v1", "Namespace", "edge-system") is None, timeout=60)


def test_dry_run_and_edge_nodes_block_detach(clusters: harness.ClusterPool) -> None:
    c = clusters["bare"]
    k = kube_of(c)
    before = settled_snapshot(k)
    assert addon(c).returncode == 0
    added = snapshot(k)
    dry = edgeadm(c, "detach", "edge-apps", "--dry-run", "-o", "json")
    assert dry.returncode == 0, dry.stderr
    assert "Deployment edge-system/tunnel-cloud" in dry.stdout
    assert diff(added, snapshot(k)) == []
    # an edge node (a Node object carrying the edge label) blocks detach: one line, exit 1, nothing changed
    k.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "edge-x",
                                                               "labels": {"superedge.io/edge-node": "enable"}}})
    with_node = snapshot(k)
    refused = edgeadm(c, "detach", "edge-apps")
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert refused.returncode == 1 and errors == [
        "error: cannot detach edge apps: 1 edge node(s) still carry `superedge.io/edge-node` (edge-x)"], refused.stderr
    assert diff(with_node, snapshot(k)) == []
    forced = edgeadm(c, "detach", "edge-apps", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "(continuing: --force)" in forced.stderr
    k.delete("v1", "Node", "edge-x")
    assert diff(before, snapshot(k)) == []
