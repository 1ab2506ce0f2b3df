"""join and reset on real nodes: systemd-nspawn hosts running containerd and the kubelet, joined to the real
test control plane; reset must leave no trace (files, units, network devices, the Node)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness import cluster as harness
from tests.harness import hosts, pause

pytestmark = pytest.mark.node

IN_CI = bool(os.environ.get("CI"))
REPO = Path(__file__).resolve().parents[2]
CNI_CONF = """{"cniVersion": "0.4.0", "name": "edgetest", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.%d.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
"""


@dataclass
class Env:
    cluster: harness.Cluster
    net: hosts.Network
    pkg_dir: Path
    pkg: str  # path of the package inside the hosts
    base: Path
    work: Path

    def kube(self) -> Any:
        from edgeadm import kube

        return kube.connect(self.cluster.admin_conf)

    def edgeadm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edgeadm", "--kubeconfig", str(self.cluster.admin_conf), *args],
                              capture_output=True, text=True, timeout=300)

    def join_info(self, *extra: str) -> dict[str, Any]:
        res = self.edgeadm("token", "create", "--print-join-command", "-o", "json", *extra)
        assert res.returncode == 0, res.stderr
        return dict(json.loads(res.stdout))


def _lite_apiserver() -> Path:
    out = subprocess.run([str(REPO / "hack" / "build-lite-apiserver.sh")], check=True, stdout=subprocess.PIPE,
                         text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def build_package(bins: Path, out_dir: Path, *, arch: str | None = None, name: str = "kube.tar.gz") -> Path:
    cache = Path(os.environ.get("EDGEADM_CACHE", Path.home() / ".cache" / "edgeadm"))
    pause_tar = pause.build(cache / "pause")
    out = out_dir / name
    cmd = [sys.executable, "-m", "edgeadm", "package", "build", "-o", str(out), "--kubernetes-version",
           "v" + harness.k8s_version().lstrip("v"), "--kubelet", str(bins / "kubelet"),
           "--lite-apiserver", str(_lite_apiserver()), "--cni-dir", "/usr/lib/cni", "--pause-tar", str(pause_tar)]
    for b in ("/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/ctr", "/usr/sbin/runc"):
        cmd += ["--containerd-bin", b]
    if arch:
        cmd += ["--arch", arch]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, k8s_bins: Path) -> Iterator[Env]:
    try:
        base = hosts.rootfs(build=IN_CI)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    hosts.set_kubelet_sysctls()
    work = tmp_path_factory.mktemp("nodes")
    pkg_dir = work / "pkg"
    pkg_dir.mkdir()
    build_package(k8s_bins, pkg_dir)
    c = harness.up(work / "cluster", "kubeadm", bins=k8s_bins, extra_ips=[hosts.GATEWAY])
    net = hosts.Network(c.apiserver_port)
    e = Env(cluster=c, net=net, pkg_dir=pkg_dir, pkg="/pkg/kube.tar.gz", base=base, work=work)
    try:
        res = e.edgeadm("addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key"),
                        "--master-public-addr", net.endpoint)
        assert res.returncode == 0, res.stderr
        yield e
    finally:
        net.close()
        harness.down(c.dir)


@pytest.fixture
def make_host(env: Env) -> Iterator[Any]:
    started: list[hosts.TestHost] = []

    def make(name: str, index: int) -> hosts.TestHost:
        h = hosts.TestHost(name, index, env.work / "hosts" / name, binds_ro=[(str(env.pkg_dir), "/pkg")])
        (env.work / "hosts").mkdir(exist_ok=True)
        h.start(env.base)
        started.append(h)
        (h.root / "etc" / "cni" / "net.d").mkdir(parents=True, exist_ok=True)  # what a network add-on provides
        (h.root / "etc" / "cni" / "net.d" / "10-edgetest.conflist").write_text(CNI_CONF % index)
        (h.root / "root" / "kubelet-patch.yaml").write_text(f"cgroupRoot: {h.cgroup_root}\ncgroupDriver: cgroupfs\n")
        return h

    yield make
    for h in started:
        h.stop()


def join_args(env: Env, info: dict[str, Any], *extra: str) -> list[str]:
    return ["join", info["endpoint"], "--discovery-token-ca-cert-hash", info["caCertHashes"][0],
            "--install-pkg-path", env.pkg, "--kubelet-config-patch", "/root/kubelet-patch.yaml", *extra]


def node(env: Env, name: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = env.kube().get("v1", "Node", name)
    return result


def wait_ready(env: Env, name: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        n = node(env, name) or {}
        conds = (n.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
            return n
        if time.monotonic() > deadline:
            raise AssertionError(f"node {name} not Ready: {conds}")
        time.sleep(1)


def test_edge_and_plain_nodes_join_and_reset_leaves_no_trace(env: Env, make_host: Any, k8s_bins: Path) -> None:
    edge = make_host("edge1", 1)
    plain = make_host("cloud1", 2)
    before_edge, before_plain = edge.state(), plain.state()
    info = env.join_info()
    assert info["endpoint"] == env.net.endpoint

    res = edge.edgeadm(*join_args(env, info), env={"EDGEADM_TOKEN": info["token"]})
    assert res.returncode == 0, res.stderr
    assert "This node has joined the cluster:" in res.stderr
    n = wait_ready(env, "edge1")
    assert n["metadata"]["labels"].get("superedge.io/edge-node") == "enable"
    # its kubelet talks to the cluster through lite-apiserver
    conf = edge.exec(["cat", "/etc/kubernetes/kubelet.conf"]).stdout
    assert "server: https://169.254.20.11:51003" in conf
    assert edge.exec(["systemctl", "is-active", "lite-apiserver"]).stdout.strip() == "active"
    seen = edge.exec(["journalctl", "-u", "lite-apiserver", "--no-pager"]).stdout
    assert "/api/v1/nodes/edge1" in seen

    # the plain node joins with a token made by the real kubeadm
    made = subprocess.run([str(k8s_bins / "kubeadm"), "token", "create", f"--kubeconfig={env.cluster.admin_conf}"],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    res = plain.edgeadm(*join_args(env, info, "--enable-edge=false"), env={"EDGEADM_TOKEN": made.stdout.strip()})
    assert res.returncode == 0, res.stderr
    p = wait_ready(env, "cloud1")
    assert "superedge.io/edge-node" not in p["metadata"]["labels"]
    assert plain.exec(["systemctl", "is-active", "lite-apiserver"], check=False).stdout.strip() != "active"

    for h, before, name in ((edge, before_edge, "edge1"), (plain, before_plain, "cloud1")):
        out = h.edgeadm("reset", "-f")
        assert out.returncode == 0, out.stderr
        diff = hosts.state_diff(before, h.state())
        assert not diff, "\n".join(diff)
        assert node(env, name) is None
        again = h.edgeadm("reset", "-f")
        assert again.returncode == 0 and "Nothing to reset" in again.stderr


JOIN_PHASES = ["discovery", "package", "preflight", "install", "runtime", "kubelet-config", "edge", "kubelet-start"]


@pytest.mark.parametrize("phase", JOIN_PHASES)
def test_killed_join_then_reset_leaves_no_trace(env: Env, make_host: Any, phase: str) -> None:
    h = make_host(f"kill-{phase}"[:14], 3)
    before = h.state()
    info = env.join_info()
    res = h.edgeadm(*join_args(env, info), env={"EDGEADM_TOKEN": info["token"],
                                                "EDGEADM_TEST_CRASH_AFTER": phase})
    assert res.returncode == -9 or res.returncode == 137, res.stderr
    out = h.edgeadm("reset", "-f")
    assert out.returncode == 0, out.stderr
    diff = hosts.state_diff(before, h.state())
    assert not diff, "\n".join(diff)
    assert node(env, h.name) is None


def _escaping_package(d: Path) -> Path:
    import hashlib
    import io

    p = d / "evil.tar.gz"
    with tarfile.open(p, "w:gz") as t:
        data = b"owned"
        info = tarfile.TarInfo("edge-install/../../etc/evil")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    (d / "evil.tar.gz.sha256").write_text(hashlib.sha256(p.read_bytes()).hexdigest() + "  evil.tar.gz\n")
    return p


REFUSALS = ["wrong-ca-hash", "bad-signature", "unknown-token", "expired-token", "bad-checksum", "escaping-entries",
            "other-arch", "unreachable-endpoint"]


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_join_changes_nothing(env: Env, make_host: Any, case: str, k8s_bins: Path) -> None:
    h = make_host(f"ref-{case}"[:14], 4)
    before = h.state()
    info = env.join_info()
    token = info["token"]
    args = join_args(env, info, "--discovery-timeout", "3")
    expect = ""
    if case == "wrong-ca-hash":
        args[3] = "sha256:" + "0" * 64
        expect = "does not match --discovery-token-ca-cert-hash"
    elif case == "bad-signature":
        token = token.split(".")[0] + "." + "x" * 16
        expect = "signature does not match the token"
    elif case == "unknown-token":
        token = "abcdef.0123456789abcdef"
        expect = "no signature for token"
    elif case == "expired-token":
        token = env.join_info("--ttl", "1s")["token"]
        time.sleep(3)
        expect = "token"  # refused at discovery (no signature) or by the API server (401), whichever comes first
    elif case == "bad-checksum":
        args += ["--install-pkg-sha256", "0" * 64]
        expect = "has sha256"
    elif case == "escaping-entries":
        _escaping_package(env.pkg_dir)
        args[args.index(env.pkg)] = "/pkg/evil.tar.gz"
        expect = "escapes the target directory"
    elif case == "other-arch":
        if not (env.pkg_dir / "arm.tar.gz").exists():
            build_package(k8s_bins, env.pkg_dir, arch="arm64", name="arm.tar.gz")
        args[args.index(env.pkg)] = "/pkg/arm.tar.gz"
        expect = "is for arm64"
    elif case == "unreachable-endpoint":
        args[1] = f"{hosts.GATEWAY}:1"
        expect = "cannot reach"
    res = h.edgeadm(*args, env={"EDGEADM_TOKEN": token})
    assert res.returncode != 0
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expect in errors[0], res.stderr
    assert "Traceback" not in res.stderr
    diff = hosts.state_diff(before, h.state())
    assert not diff, "\n".join(diff)


def test_dry_run_join_changes_nothing(env: Env, make_host: Any) -> None:
    h = make_host("dry-run", 5)
    before = h.state()
    info = env.join_info()
    res = h.edgeadm(*join_args(env, info, "--dry-run"), env={"EDGEADM_TOKEN": info["token"]})
    assert res.returncode == 0, res.stderr
    assert "[dry-run] would enable and start kubelet.service" in res.stderr
    assert "nothing was changed" in res.stderr
    diff = hosts.state_diff(before, h.state())
    assert not diff, "\n".join(diff)
    assert node(env, "dry-run") is None


CONTAINERD_UNIT = """[Unit]
Description=containerd (the machine's own runtime, installed before edgeadm)
[Service]
ExecStart=/usr/bin/containerd
Type=notify
Delegate=yes
KillMode=process
[Install]
WantedBy=multi-user.target
"""


def test_existing_runtime_is_used_and_never_removed(env: Env, make_host: Any) -> None:
    h = make_host("own-runtime", 6)
    # the machine already runs containerd (its own binaries, unit and state), as a distribution install would
    for src, dst in (("/usr/bin/containerd", "usr/bin/containerd"),
                     ("/usr/bin/containerd-shim-runc-v2", "usr/bin/containerd-shim-runc-v2"),
                     ("/usr/sbin/runc", "usr/sbin/runc")):
        subprocess.run(["cp", "-a", src, str(h.root / dst)], check=True)
    (h.root / "etc/systemd/system/containerd.service").write_text(CONTAINERD_UNIT)
    h.exec(["systemctl", "daemon-reload"])
    h.exec(["systemctl", "enable", "--now", "containerd"])
    info = env.join_info()
    refused = h.edgeadm(*join_args(env, info, "--enable-edge=false"), env={"EDGEADM_TOKEN": info["token"]})
    assert refused.returncode == 3 and "--cri-socket unix:///run/containerd/containerd.sock" in refused.stderr
    before = h.state()
    res = h.edgeadm(*join_args(env, info, "--enable-edge=false", "--cri-socket", "unix:///run/containerd/containerd.sock"),
                    env={"EDGEADM_TOKEN": info["token"]})
    assert res.returncode == 0, res.stderr
    assert "edgeadm will not install, reconfigure or remove it" in res.stderr
    wait_ready(env, "own-runtime")
    out = h.edgeadm("reset", "-f")
    assert out.returncode == 0, out.stderr
    after = h.state()
    # the runtime's own database changes when a kubelet talks to it; that state belongs to the runtime, not to join
    for state in (before, after):
        files = state["files"]
        assert isinstance(files, dict)
        for k in [k for k in files if k.startswith("var/lib/containerd/")]:
            files.pop(k)
    diff = hosts.state_diff(before, after)
    assert not diff, "\n".join(diff)
    assert h.exec(["systemctl", "is-active", "containerd"]).stdout.strip() == "active"
    assert h.exec(["systemctl", "is-enabled", "containerd"]).stdout.strip() == "enabled"
    assert node(env, "own-runtime") is None
