"""Join phases against a stub of their data (JoinData) and a node tree in a temporary directory: what each phase
writes, that all of it is journaled, and that undoing the journal leaves the tree exactly as it was."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from edgeadm import events as ev
from edgeadm import package
from edgeadm.discovery import Discovered
from edgeadm.host import Journal, LocalHost, local, revert, undo
from edgeadm.node.cluster import JoinCluster
from edgeadm.node.paths import NodePaths
from edgeadm.options import JoinOptions
from edgeadm.phases.join import install, kubelet
from edgeadm.phases.join.data import JoinData

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@dataclass
class StubJoin:
    options: JoinOptions
    paths: NodePaths
    pkg: package.Package
    events: ev.Recorder = field(default_factory=ev.Recorder)
    _host: LocalHost | None = None

    @property
    def cri_socket(self) -> str:
        return self.options.cri_socket or "unix:///run/containerd/containerd.sock"

    def cluster(self) -> JoinCluster:
        return JoinCluster(Discovered(endpoint=self.options.endpoint, ca_pem=CA, server=""), token=self.options.token,
                           server_version={"gitVersion": "v1.33.13"}, kubelet_config={"cgroupDriver": "systemd"},
                           edge_info={}, lite_tls={})

    def package(self) -> package.Package:
        return self.pkg

    def host(self) -> LocalHost:
        if self._host is None:
            self._host = LocalHost(Journal(self.paths.state_dir), self.events)
        return self._host


def _stub_is_join_data(stub: StubJoin) -> JoinData:
    return stub  # mypy checks the stub against the Protocol, as the real context is checked


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StubJoin:
    # our own seam to the machine's programs: every command "succeeds" quietly, `ip link show` finds no device
    monkeypatch.setattr(local, "run", lambda argv, **k: subprocess.CompletedProcess(argv, 1 if argv[:3] == [
        "ip", "link", "show"] else 0, "", ""))
    monkeypatch.setattr(revert, "run", lambda argv, **k: subprocess.CompletedProcess(argv, 0, "", ""))
    proc = tmp_path / "proc"
    (proc / "net" / "ipv4").mkdir(parents=True)
    (proc / "net" / "ipv4" / "ip_forward").write_text("0")
    monkeypatch.setattr(local, "PROC_SYS", proc)
    bins = tmp_path / "bins"
    (bins / "cni").mkdir(parents=True)
    for name in ("kubelet", "lite-apiserver", "containerd", "containerd-shim-runc-v2", "ctr", "runc", "pause.tar",
                 "cni/bridge"):
        (bins / name).write_bytes(name.encode())
    pkg_file = tmp_path / "pkg.tar.gz"
    package.build(pkg_file, arch="amd64", kubernetes_version="v1.33.13", kubelet=bins / "kubelet",
                  containerd_bins=[bins / n for n in ("containerd", "containerd-shim-runc-v2", "ctr", "runc")],
                  cni_dir=bins / "cni", pause_tar=bins / "pause.tar", pause_image="p:1",
                  lite_apiserver=bins / "lite-apiserver")
    pkg = package.unpack(pkg_file, tmp_path / "unpacked")
    root = tmp_path / "node"
    root.mkdir()
    options = JoinOptions.parse(endpoint="10.0.0.1:6443", token="abcdef.0123456789abcdef",
                                ca_hashes=("sha256:" + "a" * 64,), install_pkg_path=str(pkg_file), node_name="edge1")
    return StubJoin(options, NodePaths(root), pkg)


def tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def test_install_and_kubelet_config_are_journaled_and_undone_exactly(stub: StubJoin) -> None:
    before = tree(stub.paths.root)
    install.run(stub)
    kubelet.kubelet_config(stub)
    paths = stub.paths
    assert (paths.bin / "kubelet").read_bytes() == b"kubelet"
    assert (paths.cni_bin / "bridge").stat().st_mode & 0o777 == 0o755
    assert (paths.sbin / "runc").exists() and (paths.bin / "lite-apiserver").exists()
    flags = (paths.kubelet_dir / "kubeadm-flags.env").read_text()
    assert flags == ('KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock '
                     '--hostname-override=edge1 --node-labels=superedge.io/edge-node=enable"\n')
    bootstrap = yaml.safe_load(paths.bootstrap_conf.read_text())
    assert bootstrap["users"][0]["user"]["token"] == "abcdef.0123456789abcdef"
    assert paths.bootstrap_conf.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load((paths.kubelet_dir / "config.yaml").read_text())
    assert config["cgroupDriver"] == "systemd" and config["authentication"]["x509"]["clientCAFile"] == str(paths.ca_crt)
    assert stub.paths.root.joinpath("etc/sysctl.d/99-edgeadm.conf").exists()
    assert stub.events.steps()[0] == "[install] Installing kubelet and CNI plugins"
    assert undo(stub.host().journal) == []
    assert tree(stub.paths.root) == before


def test_dry_run_writes_nothing(stub: StubJoin) -> None:
    stub.options = JoinOptions.parse(endpoint="10.0.0.1:6443", token="abcdef.0123456789abcdef",
                                     ca_hashes=("sha256:" + "a" * 64,), install_pkg_path="/p", node_name="edge1",
                                     dry_run=True)
    stub._host = LocalHost(Journal(stub.paths.state_dir, dry_run=True), stub.events)
    before = tree(stub.paths.root)
    install.run(stub)
    kubelet.kubelet_config(stub)
    assert tree(stub.paths.root) == before
    assert any(s.startswith("[dry-run] would write ") for s in stub.events.steps())
