"""Re-running addon on a cluster an earlier edgeadm set up: objects that version made and this one no longer does
(the tunnel-coredns design) are deleted, and only those (real cluster, whole-cluster snapshots)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edgeadm.record import MANAGED_LABELS, Record
from tests.e2e.helpers import addon, edgeadm, kube_of
from tests.harness import cluster as harness
from tests.harness.snapshot import diff, settled_snapshot, snapshot

pytestmark = pytest.mark.cluster

NS = "edge-system"


def _old_coredns(labels: dict[str, str]) -> list[dict[str, Any]]:
    """The shape the older templates created (reduced: what matters here is kind, name and ownership mark)."""
    meta = {"namespace": NS, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tunnel-coredns", **meta},
         "data": {"Corefile": ".:53 {}\n"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tunnel-coredns", **meta},
         "spec": {"selector": {"k8s-app": "tunnel-coredns"}, "ports": [{"name": "dns", "port": 53,
                                                                        "protocol": "UDP"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "tunnel-coredns", **meta},
         "spec": {"selector": {"matchLabels": {"k8s-app": "tunnel-coredns"}},
                  "template": {"metadata": {"labels": {"k8s-app": "tunnel-coredns"}}, "spec": {
                      "containers": [{"name": "coredns", "image": "example.invalid/coredns:1.6.9"}]}}}},
    ]


def _ref(obj: dict[str, Any]) -> dict[str, str]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"], "namespace": NS}


def test_a_rerun_retires_what_an_older_addon_made(clusters: harness.ClusterPool) -> None:
    c = clusters["bare"]
    k = kube_of(c)
    before = settled_snapshot(k)
    first = addon(c)
    assert first.returncode == 0, first.stderr
    # what an older addon left: the objects, with our mark, noted as created in the (MAC-protected) record
    record = Record.load(k)
    assert record is not None and record.signed
    for obj in _old_coredns(dict(MANAGED_LABELS)):
        k.create(obj)
        record.add_created(_ref(obj))
    record.save(k)

    again = addon(c, "-o", "json")
    assert again.returncode == 0, again.stderr
    for obj in _old_coredns({}):
        assert k.get(obj["apiVersion"], obj["kind"], "tunnel-coredns", NS) is None, obj["kind"]
    assert sorted(json.loads(again.stdout)["deleted"]) == [f"{kind} {NS}/tunnel-coredns"
                                                          for kind in ("ConfigMap", "Deployment", "Service")]
    reloaded = Record.load(k)
    assert reloaded is not None and not any(r["name"] == "tunnel-coredns" for r in reloaded.created)
    # a third run has nothing left to retire, and detach restores the cluster from before the first addon
    third = addon(c, "-o", "json")
    assert third.returncode == 0 and "tunnel-coredns" not in third.stdout + third.stderr, third.stderr
    out = edgeadm(c, "detach", "edge-apps", "--force")
    assert out.returncode == 0, out.stderr
    assert not diff(before, snapshot(k))


def test_a_rerun_leaves_a_tunnel_coredns_it_did_not_make(clusters: harness.ClusterPool) -> None:
    c = clusters["bare"]
    k = kube_of(c)
    first = addon(c)
    assert first.returncode == 0, first.stderr
    # the user's own objects of the same names (not in the record, no mark): a re-run must not touch them
    for obj in _old_coredns({"team": "dns"}):
        k.create(obj)
    before = snapshot(k)
    again = addon(c)
    assert again.returncode == 0, again.stderr
    changes = diff(before, snapshot(k))
    assert not [line for line in changes if "tunnel-coredns" in line], changes
    for obj in _old_coredns({}):
        k.delete(obj["apiVersion"], obj["kind"], "tunnel-coredns", NS)
    out = edgeadm(c, "detach", "edge-apps", "--force")
    assert out.returncode == 0, out.stderr
