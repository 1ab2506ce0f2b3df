"""addon edge-apps / detach edge-apps against real control planes of both flavours."""

from __future__ import annotations

import json

import pytest

from tests.e2e.helpers import addon, edgeadm, kube_of
from tests.harness import cluster as harness
from tests.harness.snapshot import diff, settled_snapshot, snapshot

pytestmark = pytest.mark.cluster

PHASE_BOUNDARIES = ["preflight", "prepare", "namespace", "join-prerequisites", "tunnel", "edge-health",
                    "service-group", "marginal-autonomy", "edge-info"]


SEED_LINES = [
    "[upload-config] Uploading the kubelet component config to a ConfigMap",
    "Deploy tunnel-cloud.yaml success!", "Deploy tunnel-edge.yaml success!",
    "Create edge-health-admission.yaml success!", "Create edge-health-webhook.yaml success!",
    "Deploy edge-health success!", "Deploy service-group success!",
    "Update Kubernetes cluster config support marginal autonomy success",
    "Config lite-apiserver configMap success",
]


def test_addon_rerun_detach_restores_exactly(cluster: harness.Cluster) -> None:
    k = kube_of(cluster)
    # a user's own affinity on kube-proxy must survive addon and come back exactly after detach
    if cluster.flavor == "kubeadm":
        k.apply({"apiVersion": "apps/v1", "kind": "DaemonSet",
                 "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
                 "spec": {"template": {"spec": {"affinity": {"nodeAffinity": {
                     "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}}}}}})
    before = settled_snapshot(k)

    first = addon(cluster, "-o", "json")
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stderr.splitlines() if line in SEED_LINES]
    assert lines == SEED_LINES
    result = json.loads(first.stdout)
    assert len(result["created"]) > 40 and result["failures"] == []

    for name, kind, ns in [("tunnel-cloud", "Deployment", "edge-system"), ("tunnel-edge", "DaemonSet", "edge-system"),
                           ("tunnel-cloud-internal", "Service", "edge-system"),
                           ("edge-health", "DaemonSet", "edge-system"),
                           ("edge-health-admission", "Service", "edge-system"),
                           ("application-grid-controller", "Deployment", "edge-system"),
                           ("application-grid-wrapper-node", "DaemonSet", "edge-system"),
                           ("edge-info", "ConfigMap", "edge-system"), ("lite-apiserver-tls", "Secret", "edge-system"),
                           ("cluster-info", "ConfigMap", "kube-public"), ("kubelet-config", "ConfigMap", "kube-system"),
                           ("kubeadm-config", "ConfigMap", "kube-system")]:
        av = "apps/v1" if kind in ("Deployment", "DaemonSet") else "v1"
        assert k.get(av, kind, name, ns) is not None, f"{kind} {ns}/{name} missing"
    hook = k.get("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "edge-health-admission")
    assert hook and all(w["clientConfig"]["caBundle"] for w in hook["webhooks"])
    for crd in ("deploymentgrids", "servicegrids", "statefulsetgrids"):
        assert k.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{crd}.superedge.io")
    # grids can be created right after addon (structural schema accepted by the server)
    k.invalidate_discovery()
    grid = {"apiVersion": "superedge.io/v1", "kind": "DeploymentGrid",
            "metadata": {"name": "probe", "namespace": "default"},
            "spec": {"gridUniqKey": "zone", "template": {"replicas": 1}}}
    from edgeadm import kube as kube_mod

    kube_mod.connect(cluster.admin_conf, dry_run=True).apply(grid)
    ep = k.get("v1", "Endpoints", "kubernetes", "default")
    assert ep["metadata"]["annotations"]["superedge.io/local-port"] == "51003"
    eps = k.get("discovery.k8s.io/v1", "EndpointSlice", "kubernetes", "default")
    assert eps["metadata"]["annotations"]["superedge.io/local-endpoint"] == "169.254.20.11"
    if cluster.flavor == "kubeadm":
        terms = k.get("apps/v1", "DaemonSet", "kube-proxy", "kube-system")["spec"]["template"]["spec"]["affinity"][
            "nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                                               {"key": "superedge.io/edge-node", "operator": "DoesNotExist"}]}]
        edge_terms = k.get("apps/v1", "DaemonSet", "edge-kube-proxy", "edge-system")["spec"]["template"]["spec"][
            "affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert edge_terms[0]["matchExpressions"][-1] == {"key": "superedge.io/edge-node", "operator": "Exists"}
    # the lite-apiserver key: a Secret with server-auth only usage, readable by bootstrap tokens by name only
    import base64

    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    tls = k.get("v1", "Secret", "lite-apiserver-tls", "edge-system")
    cert = x509.load_pem_x509_certificate(base64.b64decode(tls["data"]["tls.crt"]))
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    role = k.get("rbac.authorization.k8s.io/v1", "Role", "lite-apiserver", "edge-system")
    assert {tuple(r["resourceNames"]) for r in role["rules"]} == {("edge-info",), ("lite-apiserver-tls",)}
    assert "lite-apiserver.key" not in (k.get("v1", "ConfigMap", "edge-info", "edge-system")["data"])

    second = addon(cluster, "-o", "json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["created"] == [] and again["changed"] == [], again

    dry = addon(cluster, "--dry-run", "-o", "json")  # server-side dry-run of every template on the live cluster
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["changed"] == []

    out = edgeadm(cluster, "detach", "edge-apps")
    assert out.returncode == 0, out.stderr
    assert diff(before, snapshot(k)) == []
    again_detach = edgeadm(cluster, "detach", "edge-apps")
    assert again_detach.returncode == 0
    assert "nothing to do" in again_detach.stderr
    assert diff(before, snapshot(k)) == []


def test_dry_run_changes_nothing(cluster: harness.Cluster) -> None:
    k = kube_of(cluster)
    before = settled_snapshot(k)
    res = addon(cluster, "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "would be created: Deployment edge-system/tunnel-cloud" in res.stdout
    assert diff(before, snapshot(k)) == []


# Phase boundaries: the two before any object is applied on the kubeadm flavour (the kills after every object
# below cover the rest), a sample on bare (the code paths differ only in create-only objects).
KILL_CASES = [("kubeadm", "preflight"), ("kubeadm", "prepare")] + [
    ("bare", p) for p in ("namespace", "join-prerequisites", "marginal-autonomy")]


@pytest.mark.parametrize(("flavor", "phase"), KILL_CASES)
def test_killed_addon_converges_and_detaches_exactly(clusters: harness.ClusterPool, flavor: str,
                                                     phase: str) -> None:
    cluster = clusters[flavor]
    k = kube_of(cluster)
    before = settled_snapshot(k)
    killed = addon(cluster, env={"EDGEADM_TEST_CRASH_AFTER": phase})
    assert killed.returncode == -9, killed.stderr
    rerun = addon(cluster, "-o", "json")
    assert rerun.returncode == 0, rerun.stderr
    third = addon(cluster, "-o", "json")
    assert json.loads(third.stdout)["created"] == [] and json.loads(third.stdout)["changed"] == []
    out = edgeadm(cluster, "detach", "edge-apps")
    assert out.returncode == 0, out.stderr
    assert diff(before, snapshot(k)) == []


def test_addon_killed_after_every_applied_object_converges_and_detaches_exactly(clusters: harness.ClusterPool
                                                                                ) -> None:
    """Kill addon right after the API server accepted its n-th object, for every n: a re-run finishes, a further
    run changes nothing, and detach restores the cluster exactly. The loop ends when addon applies fewer than n
    objects and finishes by itself."""
    cluster = clusters["kubeadm"]
    k = kube_of(cluster)
    before = settled_snapshot(k)
    n = 0
    while True:
        n += 1
        killed = addon(cluster, env={"EDGEADM_TEST_CRASH_AT": f"object-applied:{n}"})
        if killed.returncode == 0:
            break
        assert killed.returncode == -9, f"object {n}: {killed.stderr}"
        rerun = addon(cluster, "-o", "json")
        assert rerun.returncode == 0, f"object {n}: {rerun.stderr}"
        again = json.loads(addon(cluster, "-o", "json").stdout)
        assert (again["created"], again["changed"]) == ([], []), f"object {n}: {again}"
        out = edgeadm(cluster, "detach", "edge-apps")
        assert out.returncode == 0, f"object {n}: {out.stderr}"
        assert diff(before, snapshot(k)) == [], f"after a kill at object {n}"
    assert n > 40, f"addon applied only {n - 1} objects"  # the crash points were really reached
    out = edgeadm(cluster, "detach", "edge-apps")
    assert out.returncode == 0, out.stderr
    assert diff(before, snapshot(k)) == []
