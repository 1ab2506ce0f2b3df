"""Both KubeAPI implementations read the same things from a real API server: cached lists (resourceVersion=0) and
server-side tables, as `edgeadm status` uses them."""

from __future__ import annotations

import pytest

from edgeadm import kube
from edgeadm.kube.light import connect_light
from tests.harness import cluster as harness

pytestmark = pytest.mark.cluster


def test_full_and_light_clients_agree_on_cached_lists_and_tables(kubeadm_cluster: harness.Cluster) -> None:
    c = kubeadm_cluster
    full, light = kube.connect(c.admin_conf), connect_light(c.admin_conf)
    assert light is not None
    try:
        _agree(full, light)
    finally:
        light.close()


def _agree(full: kube.KubeAPI, light: kube.KubeAPI) -> None:
    for k in (full, light):
        nodes = k.list("v1", "Node", cached=True)
        assert [n["metadata"]["name"] for n in nodes] == [harness.MASTER_NODE]
        rows = k.table("v1", "Node", cached=True)
        assert [r["Name"] for r in rows] == [harness.MASTER_NODE] and "Roles" in rows[0]
        pods = k.table("v1", "Pod", namespace="kube-system", field_selector="spec.nodeName=nowhere", cached=True)
        assert pods == []
    secrets = full.table("v1", "Secret", namespace="kube-system")
    assert {r["Name"] for r in secrets} == {r["Name"] for r in light.table("v1", "Secret", namespace="kube-system")}
    assert all(set(r) >= {"Name", "Type", "Data", "Age"} for r in secrets)
