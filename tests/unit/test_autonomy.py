"""The marginal-autonomy transforms, as pure functions over the objects kube-proxy ships with."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from edgeadm.constants import EDGE_LABEL_KEY, GRID_WRAPPER_ADDR
from edgeadm.phases.addon import autonomy

KP_DS: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "DaemonSet",
    "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
    "spec": {"revisionHistoryLimit": 10, "template": {"spec": {
        "priorityClassName": "system-node-critical", "serviceAccount": "kube-proxy",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}},
        "volumes": [{"name": "kube-proxy", "configMap": {"name": "kube-proxy"}}]}}},
}


def test_cloud_kube_proxy_keeps_the_users_terms_and_avoids_edge_nodes() -> None:
    before = copy.deepcopy(KP_DS)
    patch = autonomy.with_edge_affinity(KP_DS, "DoesNotExist", partial=True)
    assert KP_DS == before  # the input is never modified
    assert set(patch) == {"apiVersion", "kind", "metadata", "spec"}
    assert patch["metadata"] == {"name": "kube-proxy", "namespace": "kube-system"}
    terms = patch["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                                           {"key": EDGE_LABEL_KEY, "operator": "DoesNotExist"}]}]
    again = autonomy.with_edge_affinity({**KP_DS, "spec": {"template": {"spec": patch["spec"]["template"]["spec"]}}},
                                        "DoesNotExist", partial=True)
    assert again == patch  # idempotent: the edge expression is replaced, never duplicated


def test_edge_copy_runs_only_on_edge_nodes_with_its_own_config() -> None:
    ds = autonomy.edge_kube_proxy_daemonset(KP_DS)
    assert ds["metadata"]["namespace"] == "edge-system" and ds["metadata"]["name"] == "edge-kube-proxy"
    pod = ds["spec"]["template"]["spec"]
    assert "priorityClassName" not in pod and "serviceAccount" not in pod and pod["serviceAccountName"] == "kube-proxy"
    assert pod["volumes"] == [{"name": "kube-proxy", "configMap": {"name": "edge-kube-proxy"}}]
    exprs = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"]
    assert exprs[-1] == {"key": EDGE_LABEL_KEY, "operator": "Exists"}
    assert "revisionHistoryLimit" not in ds["spec"]


def test_edge_configmap_points_at_the_grid_wrapper() -> None:
    conf = {"clusters": [{"name": "default", "cluster": {"server": "https://10.0.0.1:6443"}}]}
    cm = {"metadata": {"name": "kube-proxy", "labels": {"app": "kube-proxy"}},
          "data": {"kubeconfig.conf": yaml.safe_dump(conf), "config.conf": "mode: iptables\n"}}
    out = autonomy.edge_kube_proxy_configmap(cm)
    assert yaml.safe_load(out["data"]["kubeconfig.conf"])["clusters"][0]["cluster"]["server"] == GRID_WRAPPER_ADDR
    assert out["data"]["config.conf"] == "mode: iptables\n"
    assert yaml.safe_load(cm["data"]["kubeconfig.conf"]) == conf  # the input is never modified


def test_override_objects_outside_their_templates_scope() -> None:
    from edgeadm.phases.addon.deploy import outside_scope

    ours = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "edge-system"}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
             "roleRef": {"name": "tunnel"}}]
    same = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "renamed", "namespace": "edge-system"}}
    other_ns = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "kube-system"}}
    other_kind = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "edge-system"}}
    admin = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
             "roleRef": {"name": "cluster-admin"}}
    harmless = {**admin, "roleRef": {"name": "tunnel"}}
    wildcard = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "w"},
                "rules": [{"verbs": ["*"], "resources": ["pods"]}]}
    got = outside_scope([same, other_ns, other_kind, admin, harmless, wildcard], ours)
    assert got == [other_ns, other_kind, admin, wildcard]
