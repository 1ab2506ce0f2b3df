"""addon's `egress` phase on a master, in a directory tree standing in for `/`: what it writes, that a re-run changes
nothing, and that undoing its journal gives back the kube-apiserver manifest byte for byte."""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgeadm import events as ev
from edgeadm import master, pki
from edgeadm.errors import ConfigError, PreflightError
from edgeadm.host import Journal, LocalHost, undo
from edgeadm.options import AddonOptions
from edgeadm.phases.addon import egress
from edgeadm.phases.addon.data import CA

# As kubeadm v1.33 writes it (trimmed to the fields that matter here; the rest passes through untouched).
KUBEADM_MANIFEST = """apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 10.214.0.10:6443
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=10.214.0.10
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname
    - --secure-port=6443
    image: registry.k8s.io/kube-apiserver:v1.33.13
    name: kube-apiserver
    volumeMounts:
    - mountPath: /etc/kubernetes/pki
      name: k8s-certs
      readOnly: true
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki
      type: DirectoryOrCreate
    name: k8s-certs
status: {}
"""


class StubKube:
    """Our KubeAPI seam, as far as the phase uses it: the egress Service, and a kubelet that runs the manifest."""

    dry_run = False

    def __init__(self, paths: master.MasterPaths) -> None:
        self.paths = paths

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        assert (kind, name) == ("Service", "tunnel-cloud-internal")
        return {"spec": {"clusterIP": "10.96.0.42"}}

    def list(self, api_version: str, kind: str, **_: Any) -> list[dict[str, Any]]:
        pod = yaml.safe_load(self.paths.manifest.read_text())  # the mirror pod of what is on disk now
        pod["status"] = {"hostIP": "10.214.0.10", "podIP": "10.214.0.10",
                         "conditions": [{"type": "Ready", "status": "True"}]}
        return [pod]


@dataclass
class StubAddon:
    master_paths: master.MasterPaths
    kube: Any
    ca_pair: CA
    events: ev.Recorder = field(default_factory=ev.Recorder)
    options: AddonOptions = field(default_factory=lambda: AddonOptions(kubeconfig=None, ca_cert=Path("x"),
                                                                       ca_key=Path("x"), master_public_addr=None,
                                                                       timeout=5.0))
    _host: LocalHost | None = None

    def ca(self) -> CA:
        return self.ca_pair

    def master_host(self) -> LocalHost:
        if self._host is None:
            self._host = LocalHost(Journal.load(self.master_paths.state_dir) or Journal(self.master_paths.state_dir))
        return self._host


@pytest.fixture
def stub(tmp_path: Path) -> StubAddon:
    paths = master.MasterPaths(root=tmp_path)
    paths.manifest.parent.mkdir(parents=True)
    paths.manifest.write_text(KUBEADM_MANIFEST)
    paths.manifest.chmod(0o600)
    paths.ca_crt.parent.mkdir(parents=True)
    cert, key = pki.new_ca("kubernetes")
    paths.ca_crt.write_bytes(pki.cert_to_pem(cert))
    return StubAddon(paths, StubKube(paths), CA(cert, key, pki.cert_to_pem(cert)))


def listing(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mode, p.read_bytes() if p.is_file() else b"")
            for p in sorted(root.rglob("*"))}


def test_the_phase_configures_the_apiserver_and_undo_restores_it_exactly(stub: StubAddon, tmp_path: Path) -> None:
    before = listing(tmp_path)
    egress.run(stub)  # type: ignore[arg-type]  # a stub of the AddonData parts the phase reads
    paths = stub.master_paths
    pod = yaml.safe_load(paths.manifest.read_text())
    command = master.apiserver_container(pod)["command"]
    assert "--egress-selector-config-file=/etc/kubernetes/edgeadm/egress-selector-configuration.yaml" in command
    assert "--kubelet-preferred-address-types=Hostname,InternalIP,ExternalIP" in command
    assert sum(a.startswith("--kubelet-preferred-address-types=") for a in command) == 1
    assert {"name": "edgeadm-egress", "mountPath": "/etc/kubernetes/edgeadm", "readOnly": True} in \
        master.apiserver_container(pod)["volumeMounts"]
    assert stat.S_IMODE(paths.manifest.stat().st_mode) == 0o600
    conf = yaml.safe_load((paths.egress_dir / "egress-selector-configuration.yaml").read_text())
    tcp = conf["egressSelections"][0]["connection"]["transport"]["tcp"]
    assert tcp["url"] == "https://10.96.0.42:8000"
    assert tcp["tlsConfig"] == {"caBundle": "/etc/kubernetes/pki/ca.crt",
                                "clientCert": "/etc/kubernetes/edgeadm/tunnel-egress-client.crt",
                                "clientKey": "/etc/kubernetes/edgeadm/tunnel-egress-client.key"}
    key = paths.egress_dir / "tunnel-egress-client.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    client = pki.load_cert_bytes((paths.egress_dir / "tunnel-egress-client.crt").read_bytes(), "client")
    assert pki.reusable((paths.egress_dir / "tunnel-egress-client.crt").read_text(), key.read_text(),
                        stub.ca_pair.cert, [], [])
    assert client.subject.rfc4514_string() == "CN=system:edgeadm:tunnel-egress"  # no groups: no API rights

    # a re-run (a new process: a new journal object) writes nothing
    configured = listing(tmp_path)
    again = StubAddon(paths, stub.kube, stub.ca_pair)
    egress.run(again)  # type: ignore[arg-type]
    assert listing(tmp_path) == configured

    journal = Journal.load(paths.state_dir)
    assert journal is not None
    assert undo(journal) == []
    assert listing(tmp_path) == before


def test_transforms_are_idempotent_and_keep_everything_else() -> None:
    pod = yaml.safe_load(KUBEADM_MANIFEST)
    paths = master.MasterPaths()
    once = master.with_egress(pod, paths)
    assert master.with_egress(once, paths) == once
    assert once["metadata"] == pod["metadata"] and once["spec"]["hostNetwork"] is True
    assert master.apiserver_container(once)["command"][:4] == master.apiserver_container(pod)["command"][:3] + [
        "--secure-port=6443"]


@pytest.mark.parametrize(("text", "error", "message"), [
    (None, PreflightError, "runs no kube-apiserver static pod"),
    ("kind: [", ConfigError, "cannot read"),
    ("apiVersion: v1\nkind: Deployment\n", ConfigError, "is not a Pod manifest"),
    ("kind: Pod\nspec: {containers: [{name: etcd, command: [etcd]}]}\n", ConfigError,
     "has no kube-apiserver container"),
    ("kind: Pod\nspec: {containers: [{name: kube-apiserver, command: kube-apiserver}]}\n", ConfigError,
     "has no command list"),
])
def test_a_manifest_we_do_not_understand_is_refused(tmp_path: Path, text: str | None, error: type[Exception],
                                                    message: str) -> None:
    paths = master.MasterPaths(root=tmp_path)
    if text is not None:
        paths.manifest.parent.mkdir(parents=True)
        paths.manifest.write_text(text)
    with pytest.raises(error, match=message):
        master.read_manifest(paths)


class EndpointsKube:
    """Our KubeAPI seam answering only the `kubernetes` Endpoints (the cluster's API server addresses)."""

    def __init__(self, *ips: str) -> None:
        self.ips = ips

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        assert (kind, name, namespace) == ("Endpoints", "kubernetes", "default")
        return {"subsets": [{"addresses": [{"ip": ip} for ip in self.ips]}]}


def test_a_master_of_another_cluster_is_refused_before_any_change(stub: StubAddon, tmp_path: Path) -> None:
    from edgeadm.phases.addon.preflight import apiserver_egress

    before = listing(tmp_path)
    assert apiserver_egress(EndpointsKube("10.214.0.10"), stub.master_paths).errors == []  # type: ignore[arg-type]
    refused = apiserver_egress(EndpointsKube("10.0.0.5", "10.0.0.6"), stub.master_paths)  # type: ignore[arg-type]
    assert refused.errors == ["the kube-apiserver on this machine advertises 10.214.0.10, which is not one of this "
                              "cluster's API servers (10.0.0.5, 10.0.0.6); run addon on a master of this cluster, or "
                              "pass --skip-phases egress"]
    stub.master_paths.manifest.unlink()
    missing = apiserver_egress(EndpointsKube("10.214.0.10"), stub.master_paths)  # type: ignore[arg-type]
    assert len(missing.errors) == 1 and "runs no kube-apiserver static pod" in missing.errors[0]
    assert listing(tmp_path) == {k: v for k, v in before.items() if "kube-apiserver.yaml" not in k}
