"""The test control plane itself, checked against the real processes."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.harness import cluster as harness
from tests.harness import versions as harness_versions

pytestmark = pytest.mark.cluster

KUBEADM_OBJECTS = [
    ("v1", "ConfigMap", "kube-public", "cluster-info"),
    ("rbac.authorization.k8s.io/v1", "Role", "kube-public", "kubeadm:bootstrap-signer-clusterinfo"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", None, "kubeadm:kubelet-bootstrap"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", None, "kubeadm:node-autoapprove-bootstrap"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", None, "kubeadm:get-nodes"),
    ("v1", "ConfigMap", "kube-system", "kubeadm-config"),
    ("v1", "ConfigMap", "kube-system", "kubelet-config"),
    ("apps/v1", "DaemonSet", "kube-system", "kube-proxy"),
    ("v1", "ConfigMap", "kube-system", "kube-proxy"),
    ("apps/v1", "Deployment", "kube-system", "coredns"),
    ("v1", "ConfigMap", "kube-system", "coredns"),
]


def _kube(c: harness.Cluster):  # type: ignore[no-untyped-def]
    from edgeadm import kube

    return kube.connect(c.admin_conf)


def _new_token_secret(k, ttl_s: int = 600) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from edgeadm import tokens

    tid, tsec = tokens.parse(tokens.generate())
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl_s)
    k.create(tokens.Token(tid, tsec, expires, usages=("authentication", "signing"),
                          groups=(tokens.DEFAULT_GROUP,)).to_secret())
    return tid, tsec


def test_apiserver_reports_pinned_version(kubeadm_cluster: harness.Cluster) -> None:
    want = "v" + harness.k8s_version().lstrip("v")
    assert kubeadm_cluster.version == want
    assert _kube(kubeadm_cluster).server_version()["gitVersion"] == want


def test_bootstrap_token_authenticates(kubeadm_cluster: harness.Cluster) -> None:
    c = kubeadm_cluster
    tid, tsec = _new_token_secret(_kube(c))
    url = f"{c.server}/apis/authentication.k8s.io/v1/selfsubjectreviews"
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    ca = str(c.pki / "ca.crt")
    deadline = time.monotonic() + 10
    while True:
        r = requests.post(url, json=body, headers={"Authorization": f"Bearer {tid}.{tsec}"}, verify=ca, timeout=5)
        if r.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 201, r.text
    info = r.json()["status"]["userInfo"]
    assert info["username"] == f"system:bootstrap:{tid}"
    assert "system:bootstrappers:kubeadm:default-node-token" in info["groups"]
    # and a wrong secret is refused
    bad = requests.post(url, json=body, headers={"Authorization": f"Bearer {tid}.{'x' * 16}"}, verify=ca, timeout=5)
    assert bad.status_code == 401


def test_controller_manager_signs_cluster_info(kubeadm_cluster: harness.Cluster) -> None:
    k = _kube(kubeadm_cluster)
    tid, tsec = _new_token_secret(k)
    deadline = time.monotonic() + 60
    cm = None
    while time.monotonic() < deadline:
        cm = k.get("v1", "ConfigMap", "cluster-info", "kube-public")
        if cm and f"jws-kubeconfig-{tid}" in (cm.get("data") or {}):
            break
        time.sleep(0.5)
    assert cm is not None
    sig = cm["data"].get(f"jws-kubeconfig-{tid}")
    assert sig, "bootstrapsigner did not sign cluster-info"
    # verify the detached JWS ourselves: HS256 keyed by the token secret over header.payload
    import hashlib
    import hmac

    header, empty, mac = sig.split(".")
    assert empty == ""
    payload = base64.urlsafe_b64encode(cm["data"]["kubeconfig"].encode()).rstrip(b"=").decode()
    want = hmac.new(tsec.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4)) == want


def test_kubeadm_flavour_has_kubeadm_objects(kubeadm_cluster: harness.Cluster) -> None:
    k = _kube(kubeadm_cluster)
    missing = [f"{kind} {ns}/{name}" for av, kind, ns, name in KUBEADM_OBJECTS if k.get(av, kind, name, ns) is None]
    assert missing == []


def test_bare_flavour_has_none_of_them(bare_cluster: harness.Cluster) -> None:
    k = _kube(bare_cluster)
    present = [f"{kind} {ns}/{name}" for av, kind, ns, name in KUBEADM_OBJECTS if k.get(av, kind, name, ns) is not None]
    assert present == []
    assert k.get("v1", "Namespace", "kube-public") is not None  # the control plane itself still made this


def test_down_stops_every_process(tmp_path: Path, k8s_bins: Path) -> None:
    c = harness.up(tmp_path / "c", "bare", bins=k8s_bins)
    assert all(c.processes_alive().values())
    harness.down(tmp_path / "c")
    assert not any(c.processes_alive().values())
    assert not (tmp_path / "c").exists()
    assert not Path(c.etcd_data).exists()


def test_build_script_builds_static_and_cgo_programs_into_an_empty_cache(tmp_path: Path, k8s_bins: Path) -> None:
    """hack/build-k8s.sh from an empty cache with several programs at once -- the path only a cold CI took, where a
    cold run found two faults (the kubelet skipped when others were missing too; `kubectl --version`). With the Go
    build cache the pinned binaries left (`k8s_bins`), this is mostly linking (~45 s)."""
    # every program, as a cold CI builds them: the same module graph as the pinned build, so the Go cache serves it
    progs = harness_versions.ALL_PROGRAMS
    bin_dir = harness.hack_build("build-k8s.sh", env={"EDGEADM_CACHE": str(tmp_path), "K8S_PROGS": " ".join(progs)})
    version = f"v{harness_versions.DEFAULT.version}"
    assert bin_dir == tmp_path / "k8sbuild" / version / "bin"
    assert sorted(p.name for p in bin_dir.iterdir()) == sorted([*progs, ".complete"])
    assert subprocess.run([str(bin_dir / "kubelet"), "--version"], capture_output=True, text=True,
                          check=True).stdout.split() == ["Kubernetes", version]
