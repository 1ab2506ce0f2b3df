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


def _files(root: Path, *tops: str) -> dict[str, tuple[int, int, int, bytes]]:
    """Content, mode and owner of every file under `tops` in the host's tree."""
    out = {}
    for top in tops:
        for p in sorted((root / top.lstrip("/")).rglob("*")):
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, p.read_bytes() if p.is_file() else b"")
    return out


def test_addon_on_the_master_routes_the_apiserver_through_tunnel_cloud_and_detach_puts_it_back(
        master: Master) -> None:
    """The user's command on a kubeadm master: addon configures this kube-apiserver's egress to tunnel-cloud (the
    real v0.9.0 image, patched), `kubectl logs` of a pod on the master still works through it, and detach restores
    the manifest byte for byte, removes edgeadm's files on the master and leaves the cluster as it was."""
    import shutil

    from edgeadm import kube
    from tests.harness import images
    from tests.harness.cluster import cache_dir
    from tests.harness.master import CTR
    from tests.harness.snapshot import diff, settled_snapshot, snapshot

    # tunnel-cloud's image, as a registry would provide it to the master
    for tar in images.superedge_images(cache_dir() / "images", components=("tunnel",)):
        shutil.copyfile(tar, master.host.root / "root" / tar.name)
        master.host.exec([*CTR, "images", "import", f"/root/{tar.name}"])
        (master.host.root / "root" / tar.name).unlink()
    root = master.host.root
    manifest = root / MANIFESTS.lstrip("/") / "kube-apiserver.yaml"
    watched = ("/etc/kubernetes", "/var/lib/edgeadm-master")
    files_before = _files(root, *watched)
    k = kube.connect(master.kubeconfig)
    before = settled_snapshot(k)

    ca = ["--ca.cert", "/etc/kubernetes/pki/ca.crt", "--ca.key", "/etc/kubernetes/pki/ca.key"]
    env = {"KUBECONFIG": "/etc/kubernetes/admin.conf"}
    t0 = time.monotonic()
    res = master.host.edgeadm("addon", "edge-apps", *ca, "--master-public-addr", f"{master.ip}:6443", env=env)
    t_addon = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    assert "[egress] kube-apiserver on this master reaches kubelets through tunnel-cloud" in res.stderr
    mirror = master.get("pod", f"kube-apiserver-{master.name}", "-n", "kube-system")
    command = mirror["spec"]["containers"][0]["command"]
    assert "--egress-selector-config-file=/etc/kubernetes/edgeadm/egress-selector-configuration.yaml" in command
    assert "--kubelet-preferred-address-types=Hostname,InternalIP,ExternalIP" in command
    key = root / "etc/kubernetes/edgeadm/tunnel-egress-client.key"
    assert key.stat().st_mode & 0o777 == 0o600
    # a re-run on the master changes nothing there (and does not restart the API server)
    configured = _files(root, *watched)
    again = master.host.edgeadm("addon", "edge-apps", *ca, "--master-public-addr", f"{master.ip}:6443", env=env)
    assert again.returncode == 0 and "waiting for the kubelet to restart" not in again.stderr, again.stderr
    assert _files(root, *watched) == configured

    # the API server -> kubelet path now crosses tunnel-cloud: logs of a pod on the master (a cloud node) still
    # come back once tunnel-cloud has learnt its routes (it reads them from a mounted ConfigMap, ~1-2 min)
    proxy = next(p["metadata"]["name"] for p in master.pods() if p["metadata"]["name"].startswith("kube-proxy-"))
    t0 = time.monotonic()
    deadline = t0 + 300
    while (logs := master.kubectl("logs", "-n", "kube-system", proxy, "--tail=1", check=False)).returncode != 0:
        assert time.monotonic() < deadline, f"kubectl logs through tunnel-cloud: {logs.stderr}"
        time.sleep(2)
    t_logs = time.monotonic() - t0

    t0 = time.monotonic()
    out = master.host.edgeadm("detach", "edge-apps", env=env)
    t_detach = time.monotonic() - t0
    assert out.returncode == 0, out.stderr
    print(f"addon on the master {t_addon:.1f} s (API server restart included); kubectl logs through tunnel-cloud "
          f"after {t_logs:.1f} s more; detach {t_detach:.1f} s")
    assert _files(root, *watched) == files_before  # the manifest byte for byte; edgeadm's files and journal gone
    mirror = master.get("pod", f"kube-apiserver-{master.name}", "-n", "kube-system")
    assert not any(a.startswith("--egress-selector-config-file") for a in mirror["spec"]["containers"][0]["command"])
    assert master.not_ready() == []
    assert diff(before, snapshot(k)) == []
    assert manifest.exists()
