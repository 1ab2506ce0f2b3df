"""The tunnel on real parts: a kubeadm master (tests/harness/master.py) where the user ran `edgeadm addon`, and an
edge node joined with `edgeadm join` from a package carrying the edge images. The master cannot open connections to
the edge node (as when the edge sits behind NAT); `kubectl logs`, `exec` and `port-forward` to a pod there still
work, through tunnel-cloud and tunnel-edge (SuperEdge v0.9.0 with our patches)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness import hosts, images, network
from tests.harness.cluster import cache_dir
from tests.harness.master import CTR, Master
from tests.harness.packages import CNI_CONF, build_package

pytestmark = pytest.mark.node

IN_CI = bool(os.environ.get("CI"))
CLOUD_IMAGES = ("tunnel", "edge-health-admission", "application-grid-controller")  # what the master runs
EDGE_IMAGES = ("tunnel", "edge-health", "application-grid-wrapper")  # what the package carries for edge nodes


@dataclass
class Site:
    master: Master
    edge: hosts.TestHost
    join_stderr: str


def _kubectl_json(master: Master, *args: str) -> dict[str, Any]:
    return dict(json.loads(master.kubectl(*args, "-o", "json").stdout))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    try:
        base = hosts.rootfs(build=IN_CI)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    work = tmp_path_factory.mktemp("tunnel")
    net = network.Network()
    master = Master(work / "cloud")
    edge = hosts.TestHost("edge-a1", work / "edge-a1", binds_ro=[(str(work / "pkg"), "/pkg")])
    try:
        master.start()
        for tar in images.superedge_images(cache_dir() / "images", components=CLOUD_IMAGES):
            shutil.copyfile(tar, master.host.root / "root" / tar.name)
            master.host.exec([*CTR, "images", "import", f"/root/{tar.name}"])
            (master.host.root / "root" / tar.name).unlink()
        env = {"KUBECONFIG": "/etc/kubernetes/admin.conf"}
        res = master.host.edgeadm("addon", "edge-apps", "--ca.cert", "/etc/kubernetes/pki/ca.crt", "--ca.key",
                                  "/etc/kubernetes/pki/ca.key", "--master-public-addr", f"{master.ip}:6443",
                                  "--wait", "--timeout", "300", env=env)
        assert res.returncode == 0, res.stderr
        # --wait: each cloud component is reported rolled out (the edge ones have no node yet: 0/0)
        for name in ("tunnel-cloud", "edge-health-admission", "application-grid-controller"):
            assert f"[wait] Deployment {name} is rolled out (1/1 ready)" in res.stderr, res.stderr
        info = json.loads(master.host.edgeadm("token", "create", "--print-join-command", "-o", "json",
                                              env=env).stdout)
        # the package: kubelet, runtime, lite-apiserver, and the edge images (kube-proxy's from the master's set)
        edge_images = images.superedge_images(cache_dir() / "images", components=EDGE_IMAGES)
        edge_images.append(master.images[f"registry.k8s.io/kube-proxy:{master.version}"])
        (work / "pkg").mkdir()
        build_package(master.bins, work / "pkg", images=edge_images)
        edge.start(base)
        (edge.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
        (edge.root / "etc/cni/net.d/10-edgetest.conflist").write_text(CNI_CONF % edge.index)
        (edge.root / "root/kubelet-patch.yaml").write_text(f"cgroupRoot: {edge.cgroup_root}\ncgroupDriver: cgroupfs\n")
        joined = edge.edgeadm("join", info["endpoint"], "--discovery-token-ca-cert-hash", info["caCertHashes"][0],
                              "--install-pkg-path", "/pkg/kube.tar.gz", "--kubelet-config-patch",
                              "/root/kubelet-patch.yaml", "--enable-edge=true", env={"EDGEADM_TOKEN": info["token"]})
        assert joined.returncode == 0, joined.stderr
        # from now on the master cannot open connections to the edge node (the edge still reaches the master)
        for chain in ("OUTPUT", "FORWARD"):
            master.host.exec(["iptables", "-I", chain, "-d", edge.ip, "-m", "conntrack", "--ctstate", "NEW",
                              "-j", "REJECT"])
        yield Site(master, edge, joined.stderr)
    finally:
        edge.stop()
        master.stop()
        net.close()


def _wait(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(2)


def _tunnel_edge_pod(site: Site) -> str:
    def running() -> str | None:
        pods = _kubectl_json(site.master, "get", "pods", "-n", "edge-system", "-l", "app=tunnel-edge")["items"]
        for p in pods:
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
            if p["spec"].get("nodeName") == site.edge.name and ready:
                return str(p["metadata"]["name"])
        return None

    return str(_wait("tunnel-edge Ready on the edge node", running, 240))


def test_the_edge_node_joins_with_images_from_the_package(site: Site) -> None:
    assert "[images] Importing 4 images from the package" in site.join_stderr
    node = _kubectl_json(site.master, "get", "node", site.edge.name)
    assert node["metadata"]["labels"].get("superedge.io/edge-node") == "enable"
    assert _tunnel_edge_pod(site)


def test_the_master_cannot_reach_the_edge_kubelet_directly(site: Site) -> None:
    probe = f"import socket; socket.create_connection(('{site.edge.ip}', 10250), timeout=3)"
    res = site.master.host.exec(["python3", "-c", probe], check=False)
    assert res.returncode != 0 and ("refused" in res.stderr or "timed out" in res.stderr), res.stderr


def test_logs_exec_and_port_forward_go_through_the_tunnel(site: Site) -> None:
    pod = _tunnel_edge_pod(site)
    m = site.master
    started = time.monotonic()
    logs = _wait("kubectl logs through the tunnel", lambda: (r := m.kubectl(
        "logs", "-n", "edge-system", pod, "--tail=20", check=False)).returncode == 0 and r.stdout, 300)
    first_logs = time.monotonic() - started
    assert "tunnel" in logs.lower() or "module" in logs, logs[-500:]

    exec_ = m.kubectl("exec", "-n", "edge-system", pod, "--", "/usr/local/bin/tunnel", "--version", check=False)
    assert exec_.returncode == 0 and "v0.9.0+edgeadm" in exec_.stdout, exec_.stderr

    # tunnel-edge runs on the host network: its health port answers on the edge node itself
    with subprocess.Popen([str(m.bins / "kubectl"), f"--kubeconfig={m.kubeconfig}", "port-forward", "-n",
                           "edge-system", f"pod/{pod}", ":51010"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as pf:
        try:
            assert pf.stdout is not None
            line = pf.stdout.readline()
            port = re.search(r"127\.0\.0\.1:(\d+)", line)
            assert port, line
            with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/edge/healthz", timeout=10) as r:
                assert r.status == 200 and r.read()
        finally:
            pf.terminate()
    print(f"first kubectl logs through the tunnel {first_logs:.1f} s after tunnel-edge was Ready")
    # timed: through the edge stream, against a pod on the master (which tunnel-cloud dials directly)
    direct_pod = next(p["metadata"]["name"] for p in _kubectl_json(m, "get", "pods", "-n", "kube-system")["items"]
                      if p["metadata"]["name"].startswith("kube-proxy-") and p["spec"]["nodeName"] == m.name)
    timings = {}
    for name, ns, target in (("tunnel", "edge-system", pod), ("master", "kube-system", direct_pod)):
        t0 = time.monotonic()
        for _ in range(5):
            assert m.kubectl("logs", "-n", ns, target, "--tail=1", check=False).returncode == 0
        timings[name] = (time.monotonic() - t0) / 5
    print(f"kubectl logs: edge pod through the tunnel {timings['tunnel']:.3f} s, master pod {timings['master']:.3f} s, "
          f"ratio {timings['tunnel'] / timings['master']:.2f}")


def _status(site: Site) -> dict[str, Any]:
    res = site.master.host.edgeadm("status", "-o", "json", env={"KUBECONFIG": "/etc/kubernetes/admin.conf"})
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout))


def _node_row(status: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(n for n in status["nodes"] if n["name"] == name))


def test_status_follows_a_cut_and_the_reconnect(site: Site) -> None:
    """`edgeadm status` on the master: the edge node connected and served by lite-apiserver; then the site is cut
    off from the cloud entirely (both directions), and status says so; then the link comes back."""
    m, edge = site.master, site.edge
    _tunnel_edge_pod(site)
    up = _wait("status: the edge node connected", lambda: (
        n := _node_row(_status(site), edge.name))["tunnel"] == "connected" and n, 180)
    assert (up["role"], up["ready"], up["liteApiserver"]) == ("edge", "True", "serving"), up
    assert up["components"]["tunnel-edge"].startswith("v0.9.0 "), up
    full = _status(site)
    master_row = _node_row(full, m.name)
    assert (master_row["role"], master_row["tunnel"], master_row["liteApiserver"]) == ("control-plane", "-", "-")
    comps = {c["name"]: c for c in full["components"]}
    assert comps["tunnel-cloud"]["rolledOut"] and comps["tunnel-cloud"]["version"] == "v0.9.0"
    assert comps["tunnel-edge"]["ready"] == comps["tunnel-edge"]["desired"] == 1

    # the edge's packets reach the master's own processes (INPUT/OUTPUT) and its pods: tunnel-cloud's NodePort is
    # DNATed to a pod, so that stream is forwarded (FORWARD) rather than delivered
    rules = (["INPUT", "-s", edge.ip, "-j", "DROP"], ["OUTPUT", "-d", edge.ip, "-j", "DROP"],
             ["FORWARD", "-s", edge.ip, "-j", "DROP"], ["FORWARD", "-d", edge.ip, "-j", "DROP"])
    for rule in rules:
        m.host.exec(["iptables", "-I", *rule])
    cut_at = time.monotonic()
    try:
        down = _wait("status: the edge node cut off", lambda: (n := _node_row(_status(site), edge.name))[
            "tunnel"] == "not-connected" and n["ready"] == "Unknown" and n["liteApiserver"] == "not-heard-from"
            and n, 300)
        seen_cut = time.monotonic() - cut_at
        assert down["heardSecondsAgo"] > 40, down
        text = m.host.edgeadm("status", env={"KUBECONFIG": "/etc/kubernetes/admin.conf"}).stdout
        assert re.search(rf"^-\s+{edge.name}\s+edge\s+Unknown\s+\d+s ago\s+not-connected\s+not-heard-from\s",
                         text, re.M), text
    finally:
        for rule in rules:
            m.host.exec(["iptables", "-D", *rule], check=False)
    back_at = time.monotonic()
    _wait("the edge node Ready again", lambda: _node_row(_status(site), edge.name)["ready"] == "True", 300)
    ready_after = time.monotonic() - back_at
    again = _wait("status: the edge node connected again", lambda: (
        n := _node_row(_status(site), edge.name))["tunnel"] == "connected" and n, 300)
    connected_after = time.monotonic() - back_at
    assert again["liteApiserver"] == "serving", again
    print(f"status saw the cut after {seen_cut:.0f} s; after reconnecting: Node Ready in {ready_after:.1f} s, "
          f"tunnel connected in {connected_after:.1f} s")
