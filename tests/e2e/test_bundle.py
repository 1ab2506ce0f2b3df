"""Pull mode: a site bundle joins a host on a site network the master cannot reach at all, with nothing started from
the cloud; `bundle status` sees which nodes registered and `--revoke` leaves the site no usable token."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import release_archive
from tests.harness import cluster as harness
from tests.harness import hosts, network
from tests.harness.packages import CNI_CONF

pytestmark = pytest.mark.node
IN_CI = bool(os.environ.get("CI"))
SITE = "shop-9"


def test_a_site_bundle_joins_a_host_the_master_cannot_reach(tmp_path_factory: pytest.TempPathFactory,
                                                             k8s_bins: Path, clusters: harness.ClusterPool) -> None:
    from edgeadm import kube

    try:
        base = hosts.rootfs(build=IN_CI)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    hosts.set_kubelet_sysctls()
    work = tmp_path_factory.mktemp("bundle")
    archive = release_archive(work, k8s_bins)
    c = clusters.get("kubeadm", extra_ips=[network.HOSTS_GATEWAY])
    k = kube.connect(c.admin_conf)

    def ours(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edgeadm", "--kubeconfig", str(c.admin_conf), *args],
                              capture_output=True, text=True, timeout=300)

    net = network.Network(c.apiserver_port)
    site = network.SiteNetwork(3)
    (work / "hosts").mkdir()
    h = hosts.TestHost("b1", work / "hosts" / "b1", binds_ro=[(str(work / "out"), "/bundle")], site=site)
    try:
        res = ours("addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key"),
                   "--master-public-addr", net.endpoint, *harness.ADDON_FLAGS)
        assert res.returncode == 0, res.stderr
        (work / "out").mkdir()
        out = work / "out" / f"site-{SITE}.tgz"
        res = ours("bundle", "create", "--site", SITE, "--node", "b1", "--node", "b2", "--release", str(archive),
                   "-o", str(out), "--ttl", "2h")
        assert res.returncode == 0, res.stderr
        assert f"at the site: tar -xzf site-{SITE}.tgz && cd site-{SITE} && ./edgeadm join --bundle" in res.stdout
        assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds tokens
        with tarfile.open(out) as tar:
            info = tar.getmember(f"site-{SITE}/bundle.json")
            assert info.mode == 0o600
            data = json.load(tar.extractfile(info))  # type: ignore[arg-type]
        tokens = [data["discoveryToken"], *(n["token"] for n in data["nodes"])]
        assert not any(t in res.stdout + res.stderr for t in tokens)  # tokens only in the bundle
        status = json.loads(ours("bundle", "status", "--site", SITE, "-o", "json").stdout)
        assert [(n["name"], n["registered"]) for n in status["nodes"]] == [("b1", False), ("b2", False)]

        h.start(base)
        (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
        (h.root / "etc/cni/net.d/10-edgetest.conflist").write_text(CNI_CONF % h.index)
        (h.root / "root/kubelet-patch.yaml").write_text(h.kubelet_patch)
        before = h.state()
        # the site's /24 sits behind its NAT router: this machine (the API server's) has no route into it, and the
        # join below is started at the site, from the bundle alone
        assert site.bridge not in subprocess.run(["ip", "route", "show"], capture_output=True, text=True).stdout
        h.exec(["tar", "-xzf", f"/bundle/{out.name}", "-C", "/root"])
        joined = h.exec(["sh", "-c", f"cd /root/site-{SITE} && ./edgeadm join --bundle bundle.json --node-name b1 "
                                     "--kubelet-config-patch /root/kubelet-patch.yaml"], check=False)
        assert joined.returncode == 0, joined.stderr
        deadline = time.monotonic() + 180
        while True:
            node = k.get("v1", "Node", "b1") or {}
            if any(x["type"] == "Ready" and x["status"] == "True"
                   for x in (node.get("status") or {}).get("conditions") or []):
                break
            assert time.monotonic() < deadline, f"b1 not Ready: {node.get('status')}"
            time.sleep(2)
        labels = node["metadata"]["labels"]
        assert labels.get("topology.kubernetes.io/zone") == SITE and labels.get("superedge.io/edge-node") == "enable"

        table = ours("bundle", "status", "--site", SITE).stdout.splitlines()
        assert table[0].split() == ["NODE", "REGISTERED", "TOKEN", "EXPIRES"]
        assert [line.split()[:2] for line in table[1:]] == [["b1", "yes"], ["b2", "no"]]
        revoked = ours("bundle", "status", "--site", SITE, "--revoke")
        assert revoked.returncode == 0 and f"revoked 3 token(s) of site {SITE}" in revoked.stdout
        for t in tokens:  # b2 can no longer join with this bundle
            assert k.get("v1", "Secret", f"bootstrap-token-{t.split('.')[0]}", "kube-system") is None
        assert ours("bundle", "status", "--site", SITE).returncode == 1

        reset = h.exec(["sh", "-c", f"cd /root/site-{SITE} && ./edgeadm reset -f"], check=False)
        assert reset.returncode == 0, reset.stderr
        h.exec(["rm", "-rf", f"/root/site-{SITE}"])
        left = hosts.state_diff(before, h.state())
        assert not left, "\n".join(left)
        assert k.get("v1", "Node", "b1") is None
    finally:
        h.stop()
        site.close()
        net.close()
