"""join and reset on real nodes: systemd-nspawn hosts running containerd and the kubelet, joined to the real
test control plane; reset must leave no trace (files, units, network devices, the Node)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
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
from tests.harness import hosts, images, network
from tests.harness.packages import CNI_CONF, build_package

pytestmark = pytest.mark.node

IN_CI = bool(os.environ.get("CI"))
IMAGES_PKG = "/pkg/kube-images.tar.gz"
CARRIED = ("tunnel", "edge-health")
CARRIED_REFS = [f"{images.REPO}/{c}:{images.VERSION}" for c in CARRIED]
CTR = ["ctr", "-a", "/run/containerd/containerd.sock", "-n", "k8s.io"]


@dataclass
class Env:
    cluster: harness.Cluster
    net: network.Network
    pkg_dir: Path
    pkg: str  # path of the package inside the hosts
    base: Path
    work: Path

    def kube(self) -> Any:
        from edgeadm import kube

        return kube.connect(self.cluster.admin_conf)

    def edgeadm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edgeadm", "--kubeconfig", str(self.cluster.admin_conf), *args],
                              check=False, capture_output=True, text=True, timeout=300)

    def join_info(self, *extra: str) -> dict[str, Any]:
        res = self.edgeadm("token", "create", "--print-join-command", "-o", "json", *extra)
        assert res.returncode == 0, res.stderr
        return dict(json.loads(res.stdout))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, k8s_bins: Path, clusters: harness.ClusterPool) -> Iterator[Env]:
    try:
        base = hosts.rootfs(build=IN_CI)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    hosts.set_kubelet_sysctls()
    work = tmp_path_factory.mktemp("nodes")
    pkg_dir = work / "pkg"
    pkg_dir.mkdir()
    build_package(k8s_bins, pkg_dir)
    # a second package that also carries edge component images (real SuperEdge builds), for the tests about them
    build_package(k8s_bins, pkg_dir, name=IMAGES_PKG.rsplit("/", 1)[1],
                  images=images.superedge_images(harness.cache_dir() / "images", components=CARRIED))
    c = clusters.get("kubeadm", extra_ips=[network.HOSTS_GATEWAY])
    net = network.Network(c.apiserver_port)
    e = Env(cluster=c, net=net, pkg_dir=pkg_dir, pkg="/pkg/kube.tar.gz", base=base, work=work)
    try:
        res = e.edgeadm("addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key"),
                        "--master-public-addr", net.endpoint, *harness.ADDON_FLAGS)
        assert res.returncode == 0, res.stderr
        yield e
    finally:
        net.close()


@pytest.fixture
def make_host(env: Env) -> Iterator[Any]:
    with contextlib.ExitStack() as stops:  # every host is stopped, even when stopping another one fails

        def make(name: str) -> hosts.TestHost:
            h = hosts.TestHost(name, env.work / "hosts" / name, binds_ro=[(str(env.pkg_dir), "/pkg")])
            stops.callback(h.stop)  # before start(): a host that fails to boot is stopped too
            (env.work / "hosts").mkdir(exist_ok=True)
            h.start(env.base)
            (h.root / "etc" / "cni" / "net.d").mkdir(parents=True, exist_ok=True)  # what a network add-on provides
            (h.root / "etc" / "cni" / "net.d" / "10-edgetest.conflist").write_text(CNI_CONF % h.index)
            (h.root / "root" / "kubelet-patch.yaml").write_text(h.kubelet_patch)
            return h

        yield make


def join_args(env: Env, info: dict[str, Any], *extra: str, pkg: str | None = None) -> list[str]:
    return ["join", info["endpoint"], "--discovery-token-ca-cert-hash", info["caCertHashes"][0],
            "--install-pkg-path", pkg or env.pkg, "--kubelet-config-patch", "/root/kubelet-patch.yaml", *extra]


def image_names(h: hosts.TestHost, ctr: str = "ctr") -> set[str]:
    return set(h.exec([ctr, *CTR[1:], "images", "ls", "-q"]).stdout.split())


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
    edge = make_host("edge1")
    plain = make_host("cloud1")
    before_edge, before_plain = edge.state(), plain.state()
    info = env.join_info()
    assert info["endpoint"] == env.net.endpoint

    res = edge.edgeadm(*join_args(env, info, pkg=IMAGES_PKG), env={"EDGEADM_TOKEN": info["token"]})
    assert res.returncode == 0, res.stderr
    assert "This node has joined the cluster:" in res.stderr
    # the edge components' images came with the package: the node needs no registry
    assert "[images] Importing 2 images from the package" in res.stderr
    assert set(CARRIED_REFS) <= image_names(edge, "/usr/local/bin/ctr")
    n = wait_ready(env, "edge1")
    assert n["metadata"]["labels"].get("superedge.io/edge-node") == "enable"
    # kubectl came with the package (reset removes it: the host oracle below)
    client = edge.exec(["/usr/local/bin/kubectl", "version", "--client"]).stdout
    assert f"Client Version: v{harness.k8s_version().lstrip('v')}" in client, client
    # its kubelet talks to the cluster through lite-apiserver
    conf = edge.exec(["cat", "/etc/kubernetes/kubelet.conf"]).stdout
    assert "server: https://169.254.20.11:51003" in conf
    assert edge.exec(["systemctl", "is-active", "lite-apiserver"]).stdout.strip() == "active"
    # lite-apiserver logs each request through klog, which flushes every few seconds: the Node can be Ready
    # before the line reaches the journal
    from edgeadm import waiting

    def logged() -> bool:
        return "/api/v1/nodes/edge1" in edge.exec(["journalctl", "-u", "lite-apiserver", "--no-pager"]).stdout

    waiting.until(logged, timeout=60, interval=2, what="lite-apiserver's line for GET /api/v1/nodes/edge1")

    # the plain node joins with a token made by the real kubeadm
    made = subprocess.run([str(k8s_bins / "kubeadm"), "token", "create", f"--kubeconfig={env.cluster.admin_conf}"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    res = plain.edgeadm(*join_args(env, info, "--enable-edge=false"), env={"EDGEADM_TOKEN": made.stdout.strip()})
    assert res.returncode == 0, res.stderr
    p = wait_ready(env, "cloud1")
    assert "superedge.io/edge-node" not in p["metadata"]["labels"]
    assert plain.exec(["systemctl", "is-active", "lite-apiserver"], check=False).stdout.strip() != "active"

    # a pod on each node (bound directly: the test cluster has no scheduler): CNI gives it an address on its
    # bridge and keeps state in /var/lib/cni, which reset must remove too
    k = env.kube()
    for name in ("edge1", "cloud1"):
        k.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p-{name}", "namespace": "default"},
                  "spec": {"nodeName": name, "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10"}],
                           "terminationGracePeriodSeconds": 0}})
    for name in ("edge1", "cloud1"):
        k.wait_for(f"pod p-{name} running", lambda n=name: ((k.get("v1", "Pod", f"p-{n}", "default") or {}).get(
            "status") or {}).get("phase") == "Running", timeout=120)
        pod_ip = k.get("v1", "Pod", f"p-{name}", "default")["status"]["podIP"]
        assert pod_ip.startswith("10.244."), pod_ip
    assert "cni0" in edge.netdevs() and plain.exec(["ls", "/var/lib/cni/networks/edgetest"]).stdout.strip()

    for h, before, name in ((edge, before_edge, "edge1"), (plain, before_plain, "cloud1")):
        out = h.edgeadm("reset", "-f")
        assert out.returncode == 0, out.stderr
        diff = hosts.state_diff(before, h.state())
        assert not diff, "\n".join(diff)
        assert node(env, name) is None
        again = h.edgeadm("reset", "-f")
        assert again.returncode == 0 and "Nothing to reset" in again.stderr
        k.delete("v1", "Pod", f"p-{name}", "default")  # the API object outlives its deleted Node


def test_separate_discovery_and_tls_bootstrap_tokens(env: Env, make_host: Any) -> None:
    """kubeadm's split: a signing-only token proves the CA through its signature on cluster-info, an
    authentication-only token is the kubelet's bootstrap credential (what a batch gives each host), both read from
    standard input. Swapped, the join is refused at discovery before anything changes."""
    h = make_host("split1")
    before = h.state()
    info = env.join_info()

    def token(*args: str) -> str:
        res = env.edgeadm("token", "create", "--ttl", "10m", *args)
        assert res.returncode == 0, res.stderr
        return res.stdout.strip()

    disc, boot = token("--usages", "signing", "--groups", ""), token("--usages", "authentication")
    args = ["join", info["endpoint"], "--discovery-token-ca-cert-hash", info["caCertHashes"][0], "--install-pkg-path",
            env.pkg, "--kubelet-config-patch", "/root/kubelet-patch.yaml", "--enable-edge=false"]
    swapped = h.edgeadm(*args, "--discovery-timeout", "3",
                        env={"EDGEADM_DISCOVERY_TOKEN": boot, "EDGEADM_TLS_BOOTSTRAP_TOKEN": disc})
    assert swapped.returncode == 1
    assert f"cluster-info has no signature for token `{boot.split('.')[0]}`" in swapped.stderr
    assert not hosts.state_diff(before, h.state())
    # as a batch join over SSH sends them: on standard input, in neither argv nor the environment
    res = h.edgeadm(*args, "--token-stdin", input=f"discovery-token={disc}\ntls-bootstrap-token={boot}\n")
    assert res.returncode == 0, res.stderr
    wait_ready(env, "split1")
    assert boot not in h.exec(["sh", "-c", "cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '"]).stdout
    out = h.edgeadm("reset", "-f")
    assert out.returncode == 0, out.stderr
    left = hosts.state_diff(before, h.state())
    assert not left, "\n".join(left)
    assert node(env, "split1") is None


# The phase boundaries before the journal exists (discovery, package): a kill there must leave nothing either.
EARLY_PHASES = ["discovery", "package"]


@pytest.mark.parametrize("phase", EARLY_PHASES)
def test_killed_join_then_reset_leaves_no_trace(env: Env, make_host: Any, phase: str) -> None:
    h = make_host(f"kill-{phase}")
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


def test_join_killed_after_every_journal_write_then_reset_leaves_no_trace(env: Env, make_host: Any) -> None:
    """Kill join right after its n-th journal write, for every n (the journal is written before each change, so
    this also covers "killed between noting a change and making it"); reset must then leave no trace. The loop ends
    when join writes fewer than n times and finishes: that is the re-join on a host reset many times. Then reset is
    killed after each of its own journal writes, and re-run, until it finishes: still no trace."""
    h = make_host("kill-writes")
    before = h.state()
    info = env.join_info()
    n = 0
    while True:
        n += 1
        res = h.edgeadm(*join_args(env, info), env={"EDGEADM_TOKEN": info["token"],
                                                    "EDGEADM_TEST_CRASH_AT": f"journal-write:{n}"})
        if res.returncode == 0:
            break
        assert res.returncode in (-9, 137), f"write {n}: {res.stderr}"
        out = h.edgeadm("reset", "-f")
        assert out.returncode == 0, f"write {n}: {out.stderr}"
        diff = hosts.state_diff(before, h.state())
        assert not diff, f"after a kill at journal write {n}:\n" + "\n".join(diff)
        assert node(env, h.name) is None, f"write {n}"
    assert n > 20, f"join wrote its journal only {n - 1} times"  # the crash points were really reached
    wait_ready(env, h.name)

    resets = 0
    while True:
        resets += 1
        out = h.edgeadm("reset", "-f", env={"EDGEADM_TEST_CRASH_AT": "journal-write:1"})
        if out.returncode == 0:
            break
        assert out.returncode in (-9, 137), f"reset {resets}: {out.stderr}"
        assert resets < 200
    assert resets > 10, f"reset wrote its journal only {resets - 1} times"
    diff = hosts.state_diff(before, h.state())
    assert not diff, "after resets killed at every journal write:\n" + "\n".join(diff)
    assert node(env, h.name) is None
    print(f"join journal writes: {n - 1}; reset runs to finish: {resets}")


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


# Each refusal: the exact exit code, and the exact error and hint lines (regular expressions for the parts that
# vary from run to run: hashes, token ids, ports).
EXPECTED: dict[str, tuple[int, str, str | None]] = {
    "wrong-ca-hash": (1, r"phase discovery: discovery failed: the cluster CA sha256:[0-9a-f]{64} does not match "
                         r"--discovery-token-ca-cert-hash",
                      r"copy the hash from `edgeadm token create --print-join-command`"),
    "bad-signature": (1, r"phase discovery: discovery failed: the cluster-info signature does not match the token",
                      r"wrong token secret, or cluster-info was tampered with"),
    "unknown-token": (1, r"phase discovery: discovery failed: cluster-info has no signature for token `abcdef`",
                      r"the token is unknown or expired; create one with `edgeadm token create` on the master"),
    "expired-token": (1, r"phase discovery: discovery failed: cluster-info has no signature for token `[a-z0-9]{6}`",
                      r"the token is unknown or expired; create one with `edgeadm token create` on the master"),
    "bad-checksum": (1, r"phase package: install package `/pkg/kube.tar.gz` has sha256 [0-9a-f]{64}, expected 0{64}",
                     r"the file is corrupt or was tampered with; download it again"),
    "escaping-entries": (1, r"phase package: install package entry `edge-install/\.\./\.\./etc/evil` escapes the "
                            r"target directory; refusing to unpack", None),
    # refused at the package's manifest, before anything is unpacked (exit 3, as the preflight check it is)
    "other-arch": (3, r"phase package: preflight failed: PackageArchitecture: the install package is for arm64, "
                      r"this machine is amd64",
                   r"use the package for amd64 \(kube-linux-amd64-…\), or skip this check with "
                   r"--ignore-preflight-errors=PackageArchitecture"),
    "unreachable-endpoint": (1, r"phase discovery: discovery failed: cannot reach https://10\.213\.0\.1:1: "
                                r"connection refused", r"check the address and that the API server is reachable"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_join_changes_nothing(env: Env, make_host: Any, case: str, k8s_bins: Path) -> None:
    h = make_host(f"ref-{case}")
    before = h.state()
    info = env.join_info()
    token = info["token"]
    args = join_args(env, info, "--discovery-timeout", "3")
    if case == "wrong-ca-hash":
        args[3] = "sha256:" + "0" * 64
    elif case == "bad-signature":
        token = token.split(".")[0] + "." + "x" * 16
    elif case == "unknown-token":
        token = "abcdef.0123456789abcdef"
    elif case == "expired-token":  # cluster-info drops an expired token's signature before the API server sees it
        token = env.join_info("--ttl", "1s")["token"]
        time.sleep(3)
    elif case == "bad-checksum":
        args += ["--install-pkg-sha256", "0" * 64]
    elif case == "escaping-entries":
        _escaping_package(env.pkg_dir)
        args[args.index(env.pkg)] = "/pkg/evil.tar.gz"
    elif case == "other-arch":
        if not (env.pkg_dir / "arm.tar.gz").exists():
            build_package(k8s_bins, env.pkg_dir, arch="arm64", name="arm.tar.gz")
        args[args.index(env.pkg)] = "/pkg/arm.tar.gz"
    elif case == "unreachable-endpoint":
        args[1] = f"{network.HOSTS_GATEWAY}:1"
    res = h.edgeadm(*args, env={"EDGEADM_TOKEN": token})
    code, error, hint = EXPECTED[case]
    assert res.returncode == code, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    hints = [line for line in res.stderr.splitlines() if line.startswith("hint:")]
    assert len(errors) == 1 and re.fullmatch("error: " + error, errors[0]), res.stderr
    assert hints == [] if hint is None else (len(hints) == 1 and re.fullmatch("hint: " + hint, hints[0])), res.stderr
    assert "Traceback" not in res.stderr
    diff = hosts.state_diff(before, h.state())
    assert not diff, "\n".join(diff)


def test_dry_run_join_changes_nothing(env: Env, make_host: Any) -> None:
    h = make_host("dry-run")
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
    h = make_host("own-runtime")
    # the machine already runs containerd (its own binaries, unit and state), as a distribution install would
    for src, dst in (("/usr/bin/containerd", "usr/bin/containerd"),
                     ("/usr/bin/containerd-shim-runc-v2", "usr/bin/containerd-shim-runc-v2"),
                     ("/usr/sbin/runc", "usr/sbin/runc")):
        subprocess.run(["cp", "-a", src, str(h.root / dst)], check=True)
    (h.root / "etc/systemd/system/containerd.service").write_text(CONTAINERD_UNIT)
    h.exec(["systemctl", "daemon-reload"])
    h.exec(["systemctl", "enable", "--now", "containerd"])
    # the runtime already holds one of the images the package carries: reset must leave that one to it
    shutil.copy(images.superedge_images(harness.cache_dir() / "images", components=("edge-health",))[0],
                h.root / "root" / "edge-health.tar")
    subprocess.run(["cp", "-a", "/usr/bin/ctr", str(h.root / "usr/bin/ctr")], check=True)
    h.exec(["ctr", *CTR[1:], "images", "import", "/root/edge-health.tar"])
    h.exec(["rm", "/root/edge-health.tar"])
    info = env.join_info()
    refused = h.edgeadm(*join_args(env, info, "--enable-edge=false"), env={"EDGEADM_TOKEN": info["token"]})
    assert refused.returncode == 3 and "--cri-socket unix:///run/containerd/containerd.sock" in refused.stderr
    before = h.state()
    res = h.edgeadm(*join_args(env, info, "--enable-edge=false", "--cri-socket", "unix:///run/containerd/containerd.sock",
                              pkg=IMAGES_PKG), env={"EDGEADM_TOKEN": info["token"]})
    assert res.returncode == 0, res.stderr
    assert "edgeadm will not install, reconfigure or remove it" in res.stderr
    assert "[images] 1 of them were already in the runtime and are left to it on reset" in res.stderr
    assert set(CARRIED_REFS) <= image_names(h)
    wait_ready(env, "own-runtime")
    out = h.edgeadm("reset", "-f")
    assert out.returncode == 0, out.stderr
    remaining = image_names(h)
    assert CARRIED_REFS[0] not in remaining and CARRIED_REFS[1] in remaining, remaining
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


# Each kind of change join makes, the journal entries whose undo a case breaks, and what the host oracle must then
# report (a substring of one of its lines for each item).
ORACLE_BREAKS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "file content": (lambda e: e.get("path") == "/etc/sysctl.d/99-edgeadm.conf",
                     ("file changed: etc/sysctl.d/99-edgeadm.conf",)),
    "sysctl": (lambda e: e["op"] == "sysctl", ("sysctls gone: net.ipv4.ip_forward = 0",
                                               "sysctls left behind: net.ipv4.ip_forward = 1")),
    "unit and address": (lambda e: e["op"] == "unit" and e["name"] == "lite-apiserver.service",
                         ("units left behind: active lite-apiserver.service",
                          "addresses left behind: lo inet 169.254.20.11")),
    "rule": (lambda e: e["op"] == "chains", ("rules left behind: :KUBE-FIREWALL",)),
}


def test_host_oracle_catches_each_broken_undo(env: Env, make_host: Any) -> None:
    """Break reset's undo of one kind of change at a time (drop its entries from the journal before reset) and
    show the host comparison reports the leftover; then undo just those entries and show it reports nothing."""
    h = make_host("oracle")
    conf = h.root / "etc/sysctl.d/99-edgeadm.conf"  # a file the admin had: join backs it up and rewrites it
    conf.write_text("# the admin's own settings\n")
    before = h.state()
    state_dir = h.root / "var/lib/edgeadm"
    for kind, (dropped, expected) in ORACLE_BREAKS.items():
        info = env.join_info()
        res = h.edgeadm(*join_args(env, info), env={"EDGEADM_TOKEN": info["token"]})
        assert res.returncode == 0, f"{kind}: {res.stderr}"
        saved = h.root.parent / f"saved-{h.name}"
        shutil.copytree(state_dir, saved, symlinks=True)
        journal = json.loads((state_dir / "journal.json").read_text())
        kept = [e for e in journal["entries"] if not dropped(e)]
        assert len(kept) < len(journal["entries"]), f"{kind}: no entry to drop"
        (state_dir / "journal.json").write_text(json.dumps({**journal, "entries": kept}))
        out = h.edgeadm("reset", "-f")
        assert out.returncode == 0, f"{kind}: {out.stderr}"
        diff = hosts.state_diff(before, h.state())
        for item in expected:
            assert any(item in line for line in diff), f"{kind}: the oracle did not report {item!r}: {diff}"
        # undo exactly the dropped entries: the host is back as it was
        shutil.copytree(saved, state_dir, symlinks=True)
        shutil.rmtree(saved)
        (state_dir / "journal.json").write_text(json.dumps(
            {**journal, "entries": [e for e in journal["entries"] if dropped(e)]}))
        out = h.edgeadm("reset", "-f")
        assert out.returncode == 0, f"{kind}: {out.stderr}"
        if kind == "unit and address":
            # the broken reset removed the unit file while the service ran; systemd's reload then dropped the
            # unit's ExecStopPost, which is what removes the address: the test removes it by hand
            h.exec(["ip", "addr", "del", "169.254.20.11/32", "dev", "lo"])
        diff = hosts.state_diff(before, h.state())
        assert not diff, f"{kind}: " + "\n".join(diff)
    assert conf.read_text() == "# the admin's own settings\n"
