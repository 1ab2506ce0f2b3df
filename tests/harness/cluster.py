"""A real control plane for tests and for trying edgeadm by hand.

Starts etcd, kube-apiserver and kube-controller-manager as plain processes on free loopback ports, with a
kubeadm-style PKI in the directory it is given. Two flavours:

* ``kubeadm``: afterwards runs the real ``kubeadm init phase`` commands (upload-config, bootstrap-token, addon)
  against the apiserver, so the cluster holds what ``kubeadm init`` leaves behind;
* ``bare``: nothing beyond what the control plane creates itself (a cluster not built with kubeadm).

Command line (used by ``make cluster-up`` / ``make cluster-down``)::

    python -m tests.harness.cluster up   --dir .cluster --flavor kubeadm
    python -m tests.harness.cluster down --dir .cluster
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

import yaml

from tests.harness.network import HOSTS_GATEWAY  # always in the API server's SANs: test hosts connect there

REPO = Path(__file__).resolve().parents[2]
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
READY_TIMEOUT = 90.0  # apiserver on 2 cores is ready in ~5-15 s; generous for a loaded CI machine
FLAVORS = ("kubeadm", "bare")


class HarnessError(RuntimeError):
    pass


def k8s_version() -> str:
    return os.environ.get("K8S_VERSION") or (REPO / "hack" / "k8s-version").read_text().strip()


def cache_dir() -> Path:
    """$EDGEADM_CACHE, else ~/.cache/edgeadm of the user running this: the home comes from the password database,
    since tests point $HOME at a temporary directory and the hack/ scripts would otherwise rebuild into it."""
    env = os.environ.get("EDGEADM_CACHE")
    return Path(env) if env else Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "edgeadm"


# The control plane here runs as processes, not as kubeadm static pods: addon's `egress` phase (which edits the
# kube-apiserver manifest on a master) does not apply and must be skipped explicitly, as on any such cluster.
ADDON_FLAGS = ("--skip-phases", "egress")


def hack_build(script: str, *args: str, env: dict[str, str] | None = None) -> Path:
    """Run a hack/build-*.sh script on the harness's cache (it reuses what is there) and return the path it prints.
    The script runs with the user's real home, as `cache_dir` reads it: Go and pip keep their caches under $HOME,
    which tests point at a temporary directory."""
    home = pwd.getpwuid(os.getuid()).pw_dir
    out = subprocess.run([str(REPO / "hack" / script), *args], check=True, stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "HOME": home, "EDGEADM_CACHE": str(cache_dir()), **(env or {})})
    return Path(out.stdout.strip().splitlines()[-1])


def bin_dir(*, build: bool | None = None) -> Path:
    """Directory with the pinned Kubernetes binaries; builds them when missing and `build` (default: under CI)."""
    env = os.environ.get("KUBE_TEST_BIN")
    candidate = Path(env) if env else cache_dir() / "k8sbuild" / f"v{k8s_version().lstrip('v')}" / "bin"
    if (candidate / ".complete").exists() or (env and (candidate / "kube-apiserver").exists()):
        return candidate
    if build is None:
        build = bool(os.environ.get("CI"))
    if not build:
        raise FileNotFoundError(f"Kubernetes binaries not found in {candidate}; "
                                "run hack/build-k8s.sh (or make binaries)")
    return hack_build("build-k8s.sh")


def etcd_binary() -> str:
    path = os.environ.get("ETCD_BIN") or shutil.which("etcd") or "/usr/bin/etcd"
    if not Path(path).exists():
        raise FileNotFoundError("etcd not found; install Debian's etcd-server (make deps)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_ip() -> str:
    """The address the apiserver will advertise (its default-route address); nothing connects to it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it only selects the route
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


@dataclass
class Cluster:
    dir: Path
    flavor: str
    version: str
    apiserver_port: int
    etcd_port: int
    etcd_data: str
    pids: dict[str, int] = field(default_factory=dict)
    started_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def admin_conf(self) -> Path:
        return self.dir / "admin.conf"

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    def save(self) -> None:
        data = asdict(self)
        data["dir"] = str(self.dir)
        (self.dir / "state.json").write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, directory: Path) -> Cluster:
        data = json.loads((directory / "state.json").read_text())
        data["dir"] = Path(data["dir"])
        return cls(**data)

    def rss_mib(self) -> float:
        """Current resident memory of the cluster's processes, in MiB."""
        total = 0
        for pid in self.pids.values():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def processes_alive(self) -> dict[str, bool]:
        """For each process the cluster started, whether it still runs (a zombie counts as stopped)."""
        return {name: _alive(pid) for name, pid in self.pids.items()}


# ---------------------------------------------------------------------------------------------------------- PKI
def _write_pki(pki: Path, sans_ips: list[str]) -> None:
    from edgeadm import pki as p

    pki.mkdir(parents=True, exist_ok=True)
    ca, ca_key = p.new_ca("kubernetes")
    (pki / "ca.crt").write_bytes(p.cert_to_pem(ca))
    p.write_private(pki / "ca.key", p.key_to_pem(ca_key))
    server = p.sign_pair(
        ca, ca_key, cn="kube-apiserver", server=True,
        dns=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local"],
        ips=["127.0.0.1", "10.96.0.1", *sans_ips],
    )
    (pki / "apiserver.crt").write_bytes(server.cert_pem)
    p.write_private(pki / "apiserver.key", server.key_pem)
    kc = p.sign_pair(ca, ca_key, cn="kube-apiserver-kubelet-client", orgs=["kubeadm:cluster-admins"], client=True)
    (pki / "apiserver-kubelet-client.crt").write_bytes(kc.cert_pem)
    p.write_private(pki / "apiserver-kubelet-client.key", kc.key_pem)
    sa = p.new_key()
    p.write_private(pki / "sa.key", p.key_to_pem(sa))
    (pki / "sa.pub").write_bytes(p.public_key_pem(sa))
    for name, cn, orgs in (("admin", "kubernetes-admin", ["system:masters"]),
                           ("controller-manager", "system:kube-controller-manager", [])):
        pair = p.sign_pair(ca, ca_key, cn=cn, orgs=orgs, client=True)
        (pki / f"{name}.crt").write_bytes(pair.cert_pem)
        p.write_private(pki / f"{name}.key", pair.key_pem)


def write_kubeconfig(path: Path, server: str, ca_pem: bytes, *, user: str, cert_pem: bytes, key_pem: bytes) -> None:
    import base64

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    cfg = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}],
        "users": [{"name": user, "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)}}],
        "contexts": [{"name": f"{user}@kubernetes", "context": {"cluster": "kubernetes", "user": user}}],
        "current-context": f"{user}@kubernetes",
    }
    from edgeadm import pki as p

    p.write_private(path, yaml.safe_dump(cfg).encode())


# ---------------------------------------------------------------------------------------------------- processes
_PROCS: dict[int, subprocess.Popen[bytes]] = {}

def _spawn(c: Cluster, name: str, argv: list[str]) -> None:
    log = open(c.dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)
    log.close()
    _PROCS[proc.pid] = proc  # keep the handle: lets us reap the child and avoids ResourceWarnings
    c.pids[name] = proc.pid
    c.save()


def add_process(c: Cluster, name: str, argv: list[str]) -> None:
    """Run one more process with the cluster (a scheduler, a simulator): logged with the others, stopped by `down`."""
    _spawn(c, name, argv)


def _wait_http(url: str, *, ca: Path | None, timeout: float, what: str, c: Cluster, proc_name: str) -> None:
    import requests

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        pid = c.pids.get(proc_name)
        if pid and not _alive(pid):
            tail = (c.dir / "logs" / f"{proc_name}.log").read_text(errors="replace")[-2000:]
            raise HarnessError(f"{proc_name} exited during start-up:\n{tail}")
        try:
            r = requests.get(url, verify=str(ca) if ca else False, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.2)
    raise HarnessError(f"{what} not ready after {timeout:.0f}s: {last}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as dead
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def up(directory: Path, flavor: str = "kubeadm", *, bins: Path | None = None, extra_ips: list[str] | None = None,
       bind_address: str = "127.0.0.1") -> Cluster:
    """Start a cluster in `directory` (which must not hold a running one) and return its description."""
    if flavor not in FLAVORS:
        raise HarnessError(f"unknown flavor {flavor!r}; use one of {FLAVORS}")
    bins = bins or bin_dir()
    t0 = time.monotonic()
    directory = directory.resolve()
    if (directory / "state.json").exists():
        raise HarnessError(f"{directory} already holds a cluster; run cluster-down first")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "logs").mkdir(exist_ok=True)
    etcd_data = tempfile.mkdtemp(prefix="edgeadm-etcd-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
    c = Cluster(dir=directory, flavor=flavor, version="", apiserver_port=free_port(), etcd_port=free_port(),
                etcd_data=etcd_data)
    c.save()
    try:
        _start(c, bins, list(dict.fromkeys([HOSTS_GATEWAY, *(extra_ips or [])])), bind_address)
        _register_master_node(c)
        if flavor == "kubeadm":
            _kubeadm_phases(c, bins)
        c.started_seconds = round(time.monotonic() - t0, 2)
        c.save()
        return c
    except BaseException:
        down(directory, remove=False)
        raise


def _start(c: Cluster, bins: Path, extra_ips: list[str], bind_address: str) -> None:
    _write_pki(c.pki, extra_ips)
    ca_pem = (c.pki / "ca.crt").read_bytes()
    for name, user in (("admin", "kubernetes-admin"), ("controller-manager", "system:kube-controller-manager")):
        write_kubeconfig(c.dir / f"{name}.conf", c.server, ca_pem, user=user,
                         cert_pem=(c.pki / f"{name}.crt").read_bytes(), key_pem=(c.pki / f"{name}.key").read_bytes())
    peer = free_port()
    _spawn(c, "etcd", [
        etcd_binary(), "--name", "harness", "--data-dir", c.etcd_data,
        "--listen-client-urls", f"http://127.0.0.1:{c.etcd_port}",
        "--advertise-client-urls", f"http://127.0.0.1:{c.etcd_port}",
        "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
        "--initial-cluster", f"harness=http://127.0.0.1:{peer}", "--logger=zap", "--log-level=warn",
    ])
    _wait_http(f"http://127.0.0.1:{c.etcd_port}/health", ca=None, timeout=30, what="etcd", c=c, proc_name="etcd")
    p = c.pki
    _spawn(c, "kube-apiserver", [
        str(bins / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{c.etcd_port}",
        f"--bind-address={bind_address}", f"--secure-port={c.apiserver_port}",
        f"--tls-cert-file={p}/apiserver.crt", f"--tls-private-key-file={p}/apiserver.key",
        f"--client-ca-file={p}/ca.crt",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={p}/sa.pub", f"--service-account-signing-key-file={p}/sa.key",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
        "--enable-bootstrap-token-auth=true", "--allow-privileged=true",
        f"--kubelet-client-certificate={p}/apiserver-kubelet-client.crt",
        f"--kubelet-client-key={p}/apiserver-kubelet-client.key",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--profiling=false", "--v=1",
    ])
    _wait_http(f"{c.server}/readyz", ca=p / "ca.crt", timeout=READY_TIMEOUT, what="kube-apiserver", c=c,
               proc_name="kube-apiserver")
    kcm_conf = c.dir / "controller-manager.conf"
    _spawn(c, "kube-controller-manager", [
        str(bins / "kube-controller-manager"),
        f"--kubeconfig={kcm_conf}", f"--authentication-kubeconfig={kcm_conf}",
        f"--authorization-kubeconfig={kcm_conf}",
        "--bind-address=127.0.0.1", f"--secure-port={free_port()}", "--leader-elect=false",
        "--controllers=*,bootstrapsigner,tokencleaner",
        f"--cluster-signing-cert-file={p}/ca.crt", f"--cluster-signing-key-file={p}/ca.key",
        f"--root-ca-file={p}/ca.crt", f"--service-account-private-key-file={p}/sa.key",
        "--use-service-account-credentials=true", f"--client-ca-file={p}/ca.crt",
        f"--service-cluster-ip-range={SERVICE_CIDR}", "--profiling=false", "--v=1",
    ])
    c.version = _server_version(c)
    c.save()


MASTER_NODE = "harness-master"


def _register_master_node(c: Cluster) -> None:
    """The control-plane Node a real cluster has (its kubelet is not run here): labelled, with an InternalIP."""
    import requests

    ca = str(c.pki / "ca.crt")
    cert = (str(c.pki / "admin.crt"), str(c.pki / "admin.key"))
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": MASTER_NODE, "labels": {"node-role.kubernetes.io/control-plane": "",
                                                         "kubernetes.io/hostname": MASTER_NODE,
                                                         "kubernetes.io/os": "linux"}},
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}
    r = requests.post(f"{c.server}/api/v1/nodes", json=node, verify=ca, cert=cert, timeout=10)
    if r.status_code != 201:
        raise HarnessError(f"could not register the master Node: {r.status_code} {r.text[:300]}")
    status = {"status": {"addresses": [{"type": "InternalIP", "address": host_ip()},
                                       {"type": "Hostname", "address": MASTER_NODE}]}}
    r = requests.patch(f"{c.server}/api/v1/nodes/{MASTER_NODE}/status", json=status, verify=ca, cert=cert,
                       headers={"Content-Type": "application/merge-patch+json"}, timeout=10)
    if r.status_code != 200:
        raise HarnessError(f"could not set the master Node's address: {r.status_code} {r.text[:300]}")


def _server_version(c: Cluster) -> str:
    import requests

    r = requests.get(f"{c.server}/version", verify=str(c.pki / "ca.crt"), timeout=5)
    r.raise_for_status()
    return str(r.json()["gitVersion"])


def _kubeadm_phases(c: Cluster, bins: Path) -> None:
    """Create what `kubeadm init` leaves in the cluster by running the real kubeadm's phases against it."""
    from tests.harness import versions  # imports this module

    api = versions.facts(c.version).kubeadm_api
    cfg = c.dir / "kubeadm-config.yaml"
    docs = [
        {"apiVersion": api, "kind": "InitConfiguration",
         "localAPIEndpoint": {"advertiseAddress": host_ip(), "bindPort": c.apiserver_port},
         "nodeRegistration": {"name": MASTER_NODE, "criSocket": "unix:///run/containerd/containerd.sock"},
         "bootstrapTokens": [{"ttl": "24h", "groups": ["system:bootstrappers:kubeadm:default-node-token"],
                              "usages": ["signing", "authentication"]}]},
        {"apiVersion": api, "kind": "ClusterConfiguration",
         "kubernetesVersion": c.version, "controlPlaneEndpoint": f"127.0.0.1:{c.apiserver_port}",
         "certificatesDir": str(c.pki),
         "networking": {"serviceSubnet": SERVICE_CIDR, "podSubnet": POD_CIDR, "dnsDomain": "cluster.local"}},
        {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
         "cgroupDriver": "cgroupfs", "failSwapOn": False},
    ]
    cfg.write_text(yaml.safe_dump_all(docs))
    kubeadm = str(bins / "kubeadm")
    for phase in (["upload-config", "all"], ["bootstrap-token"], ["addon", "all"]):
        argv = [kubeadm, "init", "phase", *phase, f"--config={cfg}", f"--kubeconfig={c.admin_conf}"]
        res = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120)
        with open(c.dir / "logs" / "kubeadm.log", "a") as fh:
            fh.write(f"$ {' '.join(argv)}\n{res.stdout}{res.stderr}\n")
        if res.returncode != 0:
            raise HarnessError(f"kubeadm init phase {' '.join(phase)} failed:\n{res.stderr[-2000:]}")


def down(directory: Path, *, remove: bool = True) -> list[str]:
    """Stop every process the cluster started (by pid) and remove its directory; returns what was stopped."""
    directory = directory.resolve()
    state = directory / "state.json"
    stopped: list[str] = []
    if not state.exists():
        if remove and directory.exists() and (directory / "pki").exists():
            shutil.rmtree(directory)
        return stopped
    c = Cluster.load(directory)
    core = ("kube-controller-manager", "kube-apiserver", "etcd")
    for name in [*(n for n in c.pids if n not in core), *core]:  # added processes first, etcd last
        pid = c.pids.get(name)
        if pid and _alive(pid):
            _terminate(pid)
            stopped.append(name)
    if c.etcd_data and Path(c.etcd_data).exists():
        shutil.rmtree(c.etcd_data, ignore_errors=True)
    if remove:
        shutil.rmtree(directory, ignore_errors=True)
    else:
        state.unlink(missing_ok=True)
    return stopped


def _terminate(pid: int, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        _forget(pid)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not _alive(pid):
            _forget(pid)
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    finally:
        _forget(pid)


def _forget(pid: int) -> None:
    proc = _PROCS.pop(pid, None)
    if proc is not None:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class ClusterPool:
    """Clusters started on first use, all stopped by `close()` even when one of them fails to stop.

    The one way tests get a cluster (fixtures in tests/conftest.py): a pool per module gives each module fresh
    clusters, a pool per session shares them. Clusters differ by flavour and by extra API server certificate IPs.
    """

    def __init__(self, directory: Path, bins: Path) -> None:
        self.directory = directory
        self.bins = bins
        self._started: dict[tuple[str, tuple[str, ...]], Cluster] = {}
        self._stops = contextlib.ExitStack()  # runs every registered `down` even if an earlier one raises

    def get(self, flavor: str, *, extra_ips: Sequence[str] = ()) -> Cluster:
        key = (flavor, tuple(extra_ips))
        if key not in self._started:
            c = up(self.directory / "-".join([flavor, *extra_ips]), flavor, bins=self.bins, extra_ips=list(extra_ips))
            self._stops.callback(down, c.dir)
            self._started[key] = c
        return self._started[key]

    def __getitem__(self, flavor: str) -> Cluster:
        return self.get(flavor)

    def close(self) -> None:
        self._started.clear()
        self._stops.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="cluster", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("--dir", default=os.environ.get("CLUSTER_DIR", ".cluster"))
    u.add_argument("--flavor", default=os.environ.get("CLUSTER_FLAVOR", "kubeadm"), choices=FLAVORS)
    d = sub.add_parser("down")
    d.add_argument("--dir", default=os.environ.get("CLUSTER_DIR", ".cluster"))
    args = ap.parse_args(argv)
    directory = Path(args.dir)
    try:
        if args.cmd == "up":
            c = up(directory, args.flavor, bins=bin_dir(build=True))
            print(f"# {c.flavor} cluster {c.version} ready in {c.started_seconds}s at {c.server} "
                  f"(control plane RSS {c.rss_mib():.0f} MiB)", file=sys.stderr)
            print(f"export KUBECONFIG={c.admin_conf}")
        else:
            stopped = down(directory)
            print(f"# stopped {', '.join(stopped) or 'nothing'}; removed {directory}", file=sys.stderr)
    except (HarnessError, FileNotFoundError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
