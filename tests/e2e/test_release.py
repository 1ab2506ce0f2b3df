"""The release as a user gets it (`make release`): one archive per architecture holding the self-contained `edgeadm`
executable, the static install package with the edge images and SHA256SUMS. Unpacked on an edge machine that has
no Python at all, the user's flow works verbatim — `cd edgeadm-linux-amd64-<v>; ./edgeadm join …
--install-pkg-path kube-linux-amd64-<k8s>.tar.gz` — and `./edgeadm reset` leaves no trace. The executable also runs
on the oldest distribution claimed (Debian 11, glibc 2.31: the tree it is built in)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgeadm import __version__
from tests.harness import cluster as harness
from tests.harness import hosts, network
from tests.harness.packages import CNI_CONF

pytestmark = pytest.mark.node

IN_CI = bool(os.environ.get("CI"))
REPO = Path(__file__).resolve().parents[2]
VERSION = f"v{__version__}"
TOP = f"edgeadm-linux-amd64-{VERSION}"


@dataclass
class Release:
    archive: Path
    executable: Path
    package: Path


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    out = tmp_path_factory.mktemp("release")
    log = out / "build.log"
    res = subprocess.run([str(REPO / "hack" / "build-release.sh")], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "EDGEADM_CACHE": str(harness.cache_dir()), "DIST": str(out / "dist"),
                              "EDGEADM_BUILD_LOG": str(log), "PYTHON": sys.executable})
    assert res.returncode == 0, res.stderr + (log.read_text()[-3000:] if log.exists() else "")
    archive = Path(res.stdout.strip().splitlines()[-1])
    pkgs = sorted((out / "dist").glob("kube-linux-amd64-v*.tar.gz"))
    exe = Path(subprocess.run([str(REPO / "hack" / "build-executable.sh")], cwd=REPO, check=True, text=True,
                              capture_output=True, env={**os.environ, "EDGEADM_CACHE": str(harness.cache_dir())}
                              ).stdout.strip().splitlines()[-1])
    assert len(pkgs) == 1, pkgs
    return Release(archive, exe, pkgs[0])


def test_the_archive_holds_the_executable_the_package_and_their_checksums(release: Release, tmp_path: Path) -> None:
    assert release.archive.name == f"{TOP}.tgz"
    with tarfile.open(release.archive) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [TOP, f"{TOP}/SHA256SUMS", f"{TOP}/edgeadm",
                                             f"{TOP}/{release.package.name}"]
        assert all(m.uid == 0 and m.gid == 0 and m.mtime == 0 for m in members)
        assert members[2].mode == 0o755
        tar.extractall(tmp_path, filter="data")
    top = tmp_path / TOP
    res = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=top, capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.count(": OK") == 2, res.stdout + res.stderr
    assert _sha256(top / "edgeadm") == _sha256(release.executable)
    # the package names its architecture and Kubernetes version as the file name does
    with tarfile.open(top / release.package.name) as pkg:
        manifest = json.load(pkg.extractfile("edge-install/manifest.json"))  # type: ignore[arg-type]
    assert release.package.name == f"kube-linux-{manifest['arch']}-{manifest['kubernetesVersion']}.tar.gz"
    assert manifest["arch"] == "amd64" and len(manifest.get("images") or {}) == 4, manifest


def test_the_archive_is_byte_reproducible(release: Release, tmp_path: Path) -> None:
    from hack import release as rel

    again = rel.write(tmp_path / "again", arch="x86_64", version=VERSION, executable=release.executable,
                      package=release.package)
    assert again.name == release.archive.name and _sha256(again) == _sha256(release.archive)
    # the same check sees one changed byte of an input
    changed = tmp_path / "edgeadm"
    data = release.executable.read_bytes()
    changed.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    other = rel.write(tmp_path / "other", arch="amd64", version=VERSION, executable=changed,
                      package=release.package)
    assert _sha256(other) != _sha256(release.archive)


def test_the_executable_is_byte_reproducible(release: Release, tmp_path: Path) -> None:
    """Frozen again from the same sources in the same tree, into another path, the executable has the same bytes
    (the release archive's reproducibility above rests on it)."""
    again = tmp_path / "edgeadm"
    res = subprocess.run([str(REPO / "hack" / "build-executable.sh")], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "EDGEADM_CACHE": str(harness.cache_dir()), "EDGEADM_EXE_OUT": str(again),
                              "EDGEADM_BUILD_LOG": str(tmp_path / "build.log")})
    assert res.returncode == 0, res.stderr + (tmp_path / "build.log").read_text()[-3000:]
    assert again.stat().st_size == release.executable.stat().st_size
    assert _sha256(again) == _sha256(release.executable)


def _boot(name: str, flavor: str, work: Path, binds: list[tuple[str, str]]) -> hosts.TestHost:
    base = hosts.rootfs(build=True, flavor=flavor)
    h = hosts.TestHost(name, work / name, binds_ro=binds)
    try:
        h.start(base)
    except BaseException:
        h.stop()
        raise
    # what the test is about: no Python on this machine at all
    assert h.exec(["sh", "-c", "ls /usr/bin/python* /usr/local/bin/python* 2>/dev/null; true"]).stdout == ""
    return h


def test_the_executable_runs_on_the_oldest_distribution_claimed(release: Release) -> None:
    """Debian 11 (glibc 2.31), the tree the executable was built for, with its Python out of reach: every command
    answers, one that reads the templates works, and bad input gets its one line and exit code."""
    root = harness.cache_dir() / "release" / "buildroot-bullseye-amd64"
    exe = root / "root" / "edgeadm"
    shutil.copy2(release.executable, exe)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["chroot", str(root), "/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=/root",
                               "/root/edgeadm", *args], capture_output=True, text=True, timeout=60)

    try:
        libc = subprocess.run(["chroot", str(root), "ldd", "--version"], capture_output=True, text=True)
        assert libc.stdout.splitlines()[0].endswith(" 2.31"), libc.stdout
        no_python = subprocess.run(["chroot", str(root), "/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "sh", "-c",
                                    "command -v python3"], capture_output=True)
        assert no_python.returncode != 0  # the tree's own Python (/opt/python) is not on that PATH
        assert run("version").stdout.strip() == f"edgeadm version: {__version__}"
        for cmd in ("addon", "detach", "join", "reset", "token", "status", "package", "manifests"):
            res = run(cmd, "--help")
            assert res.returncode == 0 and "Usage: edgeadm" in res.stdout, (cmd, res.stderr)
        res = run("manifests", "--templates", "-o", "/root/templates")
        assert res.returncode == 0 and (root / "root/templates/tunnel-cloud.yaml").is_file(), res.stderr
        bad = run("join", "not an address", "--token", "x")
        source = subprocess.run([sys.executable, "-m", "edgeadm", "join", "not an address", "--token", "x"],
                                capture_output=True, text=True)
        assert (bad.returncode, bad.stderr) == (2, source.stderr), bad.stderr  # exactly what the wheel says
    finally:
        exe.unlink(missing_ok=True)
        shutil.rmtree(root / "root/templates", ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_env(clusters: harness.ClusterPool) -> Iterator[tuple[harness.Cluster, network.Network]]:
    c = clusters.get("kubeadm", extra_ips=[network.HOSTS_GATEWAY])
    net = network.Network(c.apiserver_port)
    try:
        yield c, net
    finally:
        net.close()


def test_a_host_without_python_joins_from_the_release_and_resets_exactly(
        release: Release, cluster_env: tuple[harness.Cluster, network.Network], tmp_path: Path) -> None:
    c, net = cluster_env
    from edgeadm import kube

    def ours(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edgeadm", "--kubeconfig", str(c.admin_conf), *args],
                              capture_output=True, text=True, timeout=300)

    res = ours("addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key"),
               "--master-public-addr", net.endpoint, *harness.ADDON_FLAGS)
    assert res.returncode == 0, res.stderr
    info = json.loads(ours("token", "create", "--print-join-command", "-o", "json").stdout)
    h = _boot("nopy1", "nopython", tmp_path, [(str(release.archive.parent), "/dist")])
    try:
        (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
        (h.root / "etc/cni/net.d/10-edgetest.conflist").write_text(CNI_CONF % h.index)
        (h.root / "root/kubelet-patch.yaml").write_text(h.kubelet_patch)
        before = h.state()
        h.exec(["tar", "-xzf", f"/dist/{release.archive.name}", "-C", "/root"])
        # the user's document, verbatim but for the token, which comes on the environment (never in argv)
        join = (f"cd /root/{TOP} && ./edgeadm join {info['endpoint']} --discovery-token-ca-cert-hash "
                f"{info['caCertHashes'][0]} --install-pkg-path {release.package.name} --enable-edge=true "
                "--kubelet-config-patch /root/kubelet-patch.yaml")
        t0 = time.monotonic()
        res = h.exec(["sh", "-c", join], env={"EDGEADM_TOKEN": info["token"]}, check=False)
        assert res.returncode == 0, res.stderr
        print(f"join from the release executable: {time.monotonic() - t0:.1f} s")
        k = kube.connect(c.admin_conf)
        deadline = time.monotonic() + 180
        while True:
            node = k.get("v1", "Node", h.name) or {}
            ready = [x for x in (node.get("status") or {}).get("conditions") or [] if x.get("type") == "Ready"]
            if ready and ready[0]["status"] == "True":
                break
            assert time.monotonic() < deadline, f"{h.name} not Ready: {node.get('status')}"
            time.sleep(2)
        assert node["metadata"]["labels"].get("superedge.io/edge-node") == "enable"
        # the edge images came from the package: nothing to pull
        listed = h.exec(["ctr", "-a", "/run/containerd/containerd.sock", "-n", "k8s.io", "images", "ls", "-q"])
        assert "superedge.tencentcloudcr.com/superedge/tunnel:v0.9.0" in listed.stdout.split()
        res = h.exec(["sh", "-c", f"cd /root/{TOP} && ./edgeadm reset -f"], check=False)
        assert res.returncode == 0, res.stderr
        h.exec(["rm", "-rf", f"/root/{TOP}"])
        left = hosts.state_diff(before, h.state())
        assert not left, "\n".join(left)
        assert k.get("v1", "Node", h.name) is None
    finally:
        h.stop()
