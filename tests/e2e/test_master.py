"""A real kubeadm master in a test host (tests/harness/master.py): what `kubeadm init` leaves there is what edgeadm
addon works on (static pod manifests the kubelet follows, kube-proxy making Services work on the master)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.harness import hosts, network
from tests.harness.master import CONTROL_PLANE, KUBERNETES_SERVICE_IP, MANIFESTS, Master, MasterError

pytestmark = pytest.mark.node

IN_CI = bool(os.environ.get("CI"))
# What addon-like edits add to kube-apiserver's manifest; harmless to the cluster.
EXTRA_FLAG = "--event-ttl=2h0m0s"


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Master]:
    try:
        hosts.rootfs(build=IN_CI)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    net = network.Network()
    m = None
    try:
        m = Master(tmp_path_factory.mktemp("master"))
        m.start()
        print(f"master ready: {m.timings} s; RSS {m.rss_mib():.0f} MiB (peak {m.peak_rss_mib:.0f})")
        yield m
    finally:
        if m is not None:
            m.stop()
        net.close()


def test_control_plane_runs_as_static_pods(master: Master) -> None:
    manifests = master.host.root / MANIFESTS.lstrip("/")
    assert sorted(p.name for p in manifests.iterdir()) == sorted(f"{c}.yaml" for c in CONTROL_PLANE)
    pods = {p["metadata"]["name"]: p for p in master.pods()}
    for component in CONTROL_PLANE:
        pod = pods[f"{component}-{master.name}"]
        assert pod["status"]["phase"] == "Running", component
        assert pod["metadata"]["annotations"]["kubernetes.io/config.source"] == "file", component  # a mirror pod
    assert master.not_ready() == []


def test_master_node_is_ready_control_plane(master: Master) -> None:
    node = master.get("node", master.name)
    assert master.node_ready()
    assert "node-role.kubernetes.io/control-plane" in node["metadata"]["labels"]
    assert {"type": "InternalIP", "address": master.ip} in node["status"]["addresses"]
    assert node["spec"]["podCIDR"] == "10.244.0.0/24"


def test_kubernetes_service_answers_tls_on_the_master(master: Master) -> None:
    """kube-proxy's rules send the ClusterIP to the API server: TLS with the cluster CA, as `kubernetes.default`."""
    assert master.get("service", "kubernetes", "-n", "default")["spec"]["clusterIP"] == KUBERNETES_SERVICE_IP
    probe = (
        "import json, ssl, urllib.request as u\n"
        "ctx = ssl.create_default_context(cafile='/etc/kubernetes/pki/ca.crt')\n"
        "ctx.check_hostname = False  # the certificate names the IP; verify the chain only\n"
        f"r = u.urlopen('https://{KUBERNETES_SERVICE_IP}:443/version', context=ctx, timeout=5)\n"
        "print(json.load(r)['gitVersion'])\n")
    res = master.host.exec(["python3", "-c", probe], check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == master.version


def test_apiserver_manifest_edit_restarts_the_apiserver(master: Master) -> None:
    """What addon does on a master: change kube-apiserver's manifest; the kubelet restarts it with the new flag."""
    path = master.host.root / MANIFESTS.lstrip("/") / "kube-apiserver.yaml"
    pod = yaml.safe_load(path.read_text())
    command = pod["spec"]["containers"][0]["command"]
    assert EXTRA_FLAG not in command
    command.append(EXTRA_FLAG)
    tmp = path.parent.parent / "kube-apiserver.yaml.new"  # outside the manifest dir: the kubelet reads every file
    tmp.write_text(yaml.safe_dump(pod))
    tmp.rename(path)
    deadline = time.monotonic() + 180
    name = f"kube-apiserver-{master.name}"
    while True:
        try:
            mirror = master.get("pod", name, "-n", "kube-system")
            running = EXTRA_FLAG in mirror["spec"]["containers"][0]["command"] and not master.not_ready()
        except MasterError:  # the API server is restarting
            running = False
        if running:
            break
        assert time.monotonic() < deadline, "the kubelet did not restart kube-apiserver with the new flag"
        time.sleep(2)
    procs = master.host.exec(["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' ' | tr -s ' '"]).stdout
    assert EXTRA_FLAG in procs
    assert Path(master.kubeconfig).exists()
