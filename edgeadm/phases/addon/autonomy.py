"""Phase `marginal-autonomy`: an edge copy of kube-proxy that talks to application-grid-wrapper, the cloud
kube-proxy kept off edge nodes, and the `kubernetes` endpoints annotated with lite-apiserver's address.

The object transforms are pure functions over dicts (unit-tested without a cluster); `run` applies them.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from edgeadm import events as ev
from edgeadm.constants import (
    EDGE_LABEL_KEY,
    EDGE_NAMESPACE,
    GRID_WRAPPER_ADDR,
    LITE_APISERVER_PORT,
    LOCAL_ENDPOINT_ANNOTATION,
    LOCAL_PORT_ANNOTATION,
)
from edgeadm.phases.addon.data import AddonData
from edgeadm.record import KNOWN_CHANGES


def edge_kube_proxy_configmap(cm: dict[str, Any]) -> dict[str, Any]:
    """kube-proxy's ConfigMap, copied into the edge namespace with its kubeconfig pointed at the grid wrapper."""
    data = dict(cm.get("data") or {})
    if "kubeconfig.conf" in data:
        conf = yaml.safe_load(data["kubeconfig.conf"]) or {}
        for cluster in conf.get("clusters") or []:
            cluster.setdefault("cluster", {})["server"] = GRID_WRAPPER_ADDR
        data["kubeconfig.conf"] = yaml.safe_dump(conf, sort_keys=False)
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "edge-kube-proxy", "namespace": EDGE_NAMESPACE,
                         "labels": dict(cm["metadata"].get("labels") or {})}, "data": data}


def edge_kube_proxy_daemonset(ds: dict[str, Any]) -> dict[str, Any]:
    """kube-proxy's DaemonSet, copied for edge nodes only, with the edge ConfigMap and its own ServiceAccount."""
    spec = copy.deepcopy(ds["spec"])
    spec.pop("revisionHistoryLimit", None)
    pod = spec["template"]["spec"]
    pod.pop("priorityClassName", None)
    pod["serviceAccountName"] = "kube-proxy"
    pod.pop("serviceAccount", None)
    for vol in pod.get("volumes") or []:
        if vol.get("name") == "kube-proxy" and "configMap" in vol:
            vol["configMap"]["name"] = "edge-kube-proxy"
    obj = {"apiVersion": "apps/v1", "kind": "DaemonSet",
           "metadata": {"name": "edge-kube-proxy", "namespace": EDGE_NAMESPACE,
                        "labels": dict(ds["metadata"].get("labels") or {})},
           "spec": spec}
    return with_edge_affinity(obj, "Exists", partial=False)


def with_edge_affinity(ds: dict[str, Any], operator: str, *, partial: bool) -> dict[str, Any]:
    """Add `superedge.io/edge-node <operator>` to every required node-selector term, keeping the user's terms.

    `partial` returns only the affinity as an apply patch of the DaemonSet (for the cloud kube-proxy, which addon
    changes but does not own); otherwise the whole object.
    """
    pod = ds["spec"]["template"]["spec"]
    affinity = copy.deepcopy(pod.get("affinity") or {})
    node_aff = affinity.setdefault("nodeAffinity", {})
    required = node_aff.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or [{}]
    expr = {"key": EDGE_LABEL_KEY, "operator": operator}
    new_terms = []
    for term in terms:
        term = copy.deepcopy(term)
        exprs = [e for e in term.get("matchExpressions") or [] if e.get("key") != EDGE_LABEL_KEY]
        term["matchExpressions"] = [*exprs, expr]
        new_terms.append(term)
    required["nodeSelectorTerms"] = new_terms
    if not partial:
        out = copy.deepcopy(ds)
        out["spec"]["template"]["spec"]["affinity"] = affinity
        return out
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": ds["metadata"]["name"], "namespace": ds["metadata"]["namespace"]},
            "spec": {"template": {"spec": {"affinity": affinity}}}}


def endpoint_annotations(edge_virtual_addr: str) -> dict[str, str]:
    return {LOCAL_ENDPOINT_ANNOTATION: edge_virtual_addr, LOCAL_PORT_ANNOTATION: str(LITE_APISERVER_PORT)}


def run(data: AddonData) -> None:
    k, a = data.kube, data.applier()
    kp_cm = k.get("v1", "ConfigMap", "kube-proxy", "kube-system")
    kp_ds = k.get("apps/v1", "DaemonSet", "kube-proxy", "kube-system")
    if kp_cm is None or kp_ds is None:
        data.report.warnings.append("no kube-system/kube-proxy DaemonSet and ConfigMap: edge kube-proxy not set up")
        data.events.emit(ev.Warn("kube-system/kube-proxy not found; skipping the edge kube-proxy copy (the cluster "
                                 "runs another service proxy)"))
    else:
        a.apply(edge_kube_proxy_configmap(kp_cm))
        a.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "kube-proxy", "namespace": EDGE_NAMESPACE}})
        a.apply(edge_kube_proxy_daemonset(kp_ds))
        a.apply(with_edge_affinity(kp_ds, "DoesNotExist", partial=True),
                restore_paths=KNOWN_CHANGES[("apps/v1", "DaemonSet", "kube-system", "kube-proxy")], label=False)
    annotations = endpoint_annotations(data.options.edge_virtual_addr)
    for api_version, kind in (("v1", "Endpoints"), ("discovery.k8s.io/v1", "EndpointSlice")):
        paths = KNOWN_CHANGES[(api_version, kind, "default", "kubernetes")]
        if k.get(api_version, kind, "kubernetes", "default") is None:
            data.report.warnings.append(f"{kind} default/kubernetes not found; not annotated")
            continue
        a.apply({"apiVersion": api_version, "kind": kind,
                 "metadata": {"name": "kubernetes", "namespace": "default", "annotations": annotations},
                 **({"addressType": "IPv4"} if kind == "EndpointSlice" else {})},
                restore_paths=paths, label=False)
    data.events.emit(ev.Step("Update Kubernetes cluster config support marginal autonomy success"))
