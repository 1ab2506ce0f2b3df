"""Both ends of the supported Kubernetes range (tests/harness/versions.py), on real control planes of that version.

Every other test runs on the default version; this module starts the oldest and the newest claimed control plane
(kube-apiserver, kube-controller-manager and that version's own kubeadm) and checks what the README promises
for them: addon -> re-run -> detach restores the cluster exactly, tokens interoperate with that kubeadm both
ways, and on the newest a real kubelet inside the skew policy joins as an edge node and resets without a trace
(a kubelet outside it is refused before anything changes).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import addon, edgeadm, kube_of
from tests.harness import cluster as harness
from tests.harness import hosts, network, versions
from tests.harness.packages import CNI_CONF, build_package
from tests.harness.snapshot import diff, settled_snapshot, snapshot

pytestmark = pytest.mark.cluster

IN_CI = bool(os.environ.get("CI"))
ENDS = [versions.OLDEST, versions.NEWEST]


@pytest.fixture(scope="module", params=ENDS, ids=lambda v: f"v{v.version}")
def end(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[versions.K8s, Path, harness.Cluster]]:
    v: versions.K8s = request.param
    bins = v.bins(build=IN_CI) if IN_CI else _bins_or_skip(v)
    with harness.ClusterPool(tmp_path_factory.mktemp(f"v{v.version}"), bins) as pool:
        yield v, bins, pool["kubeadm"]


def _bins_or_skip(v: versions.K8s) -> Path:
    try:
        return v.bins(build=False)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def kubeadm(bins: Path, c: harness.Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bins / "kubeadm"), *args, f"--kubeconfig={c.admin_conf}"], check=False,
                          capture_output=True, text=True, timeout=60)


def test_the_control_plane_is_the_claimed_version(end: tuple[versions.K8s, Path, harness.Cluster]) -> None:
    v, bins, c = end
    assert c.version == f"v{v.version}"
    out = subprocess.run([str(bins / "kubeadm"), "version", "-o", "short"], check=True, capture_output=True,
                         text=True).stdout.strip()
    assert out == f"v{v.version}"
    # what kubeadm left behind is where the table says, so addon finds the kubelet configuration there
    k = kube_of(c)
    assert k.get("v1", "ConfigMap", v.kubelet_config_map, "kube-system") is not None
    cfg = k.get("v1", "ConfigMap", "kubeadm-config", "kube-system")["data"]["ClusterConfiguration"]
    assert f"apiVersion: {v.kubeadm_api}" in cfg


def test_addon_rerun_detach_restores_exactly(end: tuple[versions.K8s, Path, harness.Cluster]) -> None:
    _, _, c = end
    k = kube_of(c)
    before = settled_snapshot(k)
    first = addon(c, "-o", "json")
    assert first.returncode == 0, first.stderr
    assert "newer than edgeadm was tested with" not in first.stderr  # the newest end is inside the claim
    result = json.loads(first.stdout)
    assert len(result["created"]) > 40 and result["failures"] == []
    k.invalidate_discovery()
    for crd in ("deploymentgrids", "servicegrids", "statefulsetgrids"):
        assert k.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{crd}.superedge.io")
    second = addon(c, "-o", "json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["created"] == [] and again["changed"] == [], again
    out = edgeadm(c, "detach", "edge-apps")
    assert out.returncode == 0, out.stderr
    assert diff(before, snapshot(k)) == []


def test_tokens_interoperate_with_that_kubeadm(end: tuple[versions.K8s, Path, harness.Cluster]) -> None:
    _, bins, c = end
    mine = edgeadm(c, "token", "create", "--description", "from edgeadm")
    assert mine.returncode == 0, mine.stderr
    tok = mine.stdout.strip()
    listed = kubeadm(bins, c, "token", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert tok in listed.stdout
    made = kubeadm(bins, c, "token", "create", "--ttl", "2h")
    assert made.returncode == 0, made.stderr
    theirs = made.stdout.strip()
    entry = next(t for t in json.loads(edgeadm(c, "token", "list", "-o", "json").stdout) if t["token"] == theirs)
    assert entry["usages"] == ["signing", "authentication"]
    for t in (tok, theirs):
        assert edgeadm(c, "token", "delete", t).returncode == 0
    assert tok not in kubeadm(bins, c, "token", "list", "-o", "json").stdout


@pytest.mark.node
def test_a_kubelet_inside_the_skew_joins_the_newest_and_one_outside_is_refused(
        tmp_path_factory: pytest.TempPathFactory, k8s_bins: Path) -> None:
    newest, kubelet = versions.NEWEST, versions.NEWEST_KUBELET
    if IN_CI:
        bins, kubelet_bins, base = newest.bins(build=True), kubelet.bins(build=True), hosts.rootfs(build=True)
    else:
        bins, kubelet_bins = _bins_or_skip(newest), _bins_or_skip(kubelet)
        try:
            base = hosts.rootfs(build=False)
        except FileNotFoundError as exc:
            pytest.skip(str(exc))
    assert newest.minor - 3 <= kubelet.minor <= newest.minor  # the table itself stays inside the skew policy
    hosts.set_kubelet_sysctls()
    work = tmp_path_factory.mktemp("skew")
    pkg_dir = work / "pkg"
    pkg_dir.mkdir()
    build_package(kubelet_bins, pkg_dir, name="kube-new.tar.gz", version=kubelet.version)
    build_package(k8s_bins, pkg_dir, name="kube-default.tar.gz")  # the default kubelet: 4 minors behind 1.37
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(harness.ClusterPool(work / "clusters", bins))
        c = pool.get("kubeadm", extra_ips=[network.HOSTS_GATEWAY])
        net = network.Network(c.apiserver_port)
        stack.callback(net.close)
        res = addon(c, "--master-public-addr", net.endpoint)
        assert res.returncode == 0, res.stderr
        (work / "hosts").mkdir()
        h = hosts.TestHost("skew1", work / "hosts" / "skew1", binds_ro=[(str(pkg_dir), "/pkg")])
        stack.callback(h.stop)
        h.start(base)
        (h.root / "etc" / "cni" / "net.d").mkdir(parents=True, exist_ok=True)
        (h.root / "etc" / "cni" / "net.d" / "10-edgetest.conflist").write_text(CNI_CONF % h.index)
        (h.root / "root" / "kubelet-patch.yaml").write_text(h.kubelet_patch)
        before = h.state()
        info = json.loads(edgeadm(c, "token", "create", "--print-join-command", "-o", "json").stdout)

        def join(pkg: str) -> subprocess.CompletedProcess[str]:
            return h.edgeadm("join", info["endpoint"], "--discovery-token-ca-cert-hash", info["caCertHashes"][0],
                             "--install-pkg-path", pkg, "--kubelet-config-patch", "/root/kubelet-patch.yaml",
                             env={"EDGEADM_TOKEN": info["token"]})

        refused = join("/pkg/kube-default.tar.gz")
        assert refused.returncode == 3, refused.stderr
        default_minor = versions.DEFAULT.minor
        assert (f"KubeletVersion: kubelet v{versions.DEFAULT.version} is not supported with API server "
                f"v{newest.version}") in refused.stderr, refused.stderr
        assert newest.minor - default_minor > 3
        assert not hosts.state_diff(before, h.state())

        joined = join("/pkg/kube-new.tar.gz")
        assert joined.returncode == 0, joined.stderr
        k = kube_of(c)
        deadline = time.monotonic() + 180
        while True:
            n = k.get("v1", "Node", "skew1") or {}
            conds = (n.get("status") or {}).get("conditions") or []
            if any(x["type"] == "Ready" and x["status"] == "True" for x in conds):
                break
            assert time.monotonic() < deadline, f"skew1 not Ready: {conds}"
            time.sleep(1)
        assert n["status"]["nodeInfo"]["kubeletVersion"] == f"v{kubelet.version}"
        assert n["metadata"]["labels"].get("superedge.io/edge-node") == "enable"
        out = h.edgeadm("reset", "-f")
        assert out.returncode == 0, out.stderr
        left = hosts.state_diff(before, h.state())
        assert not left, "\n".join(left)
        assert k.get("v1", "Node", "skew1") is None

