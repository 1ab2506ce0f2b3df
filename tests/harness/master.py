"""A real Kubernetes master for tests: `kubeadm init` inside a test host (tests/harness/hosts.py).

The host runs containerd and the kubelet as systemd units; kubeadm's control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler as static pods) and the kube-proxy DaemonSet run from images written locally
(tests/harness/images.py, no registry). The API server listens on the host's bridge address, where the test machine
reaches it with the admin.conf copied out of the host, and Services work from the master's own network as in any
kubeadm cluster.

Things specific to a host under systemd-nspawn on a cgroup v1 machine:

* the kubelet uses the cgroupfs driver and a cgroup root of its own (the controller hierarchies are the machine's);
* this machine's capability bounding set lacks CAP_SYS_RESOURCE, so no process may lower its oom_score_adj: runc
  fails with "can't get final child's PID from pipe: EOF" on the kubelet's -997/-998 for critical pods unless
  containerd clamps the scores (`restrict_oom_score_adj`, which join's containerd config sets);
* no kubeadm preflight error needs ignoring (SystemVerification only warns about cgroup v1); kubeadm never pulls
  (`imagePullPolicy: Never` skips its image step), so a missing image shows as a pod that does not start;
* kube-proxy keeps the conntrack table size (`maxPerCore: 0`): nf_conntrack_max is the machine's, read-only in a
  network namespace, and kube-proxy exits when it cannot write it;
* Debian's etcd 3.4 has no /livez and /readyz, so a kubeadm patch points etcd's probes at /health;
* the CoreDNS addon is skipped (no image); nothing here resolves cluster names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tests.harness import cluster as harness
from tests.harness import images, pause
from tests.harness.hosts import KUBELET_NO_DISK_GC, TestHost, rootfs, set_kubelet_sysctls
from tests.harness.packages import CNI_CONF

API_PORT = 6443
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/12"
KUBERNETES_SERVICE_IP = "10.96.0.1"
# The controller-manager gives the first Node the first /24 of the pod subnet; test hosts' slots start at 1.
MASTER_POD_CIDR_INDEX = 0
MANIFESTS = "/etc/kubernetes/manifests"
CONFIG_DIR = "/etc/kubernetes/harness"  # kubeadm's config and patches inside the host
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
RUNTIME_BINS = {"/usr/local/bin/containerd": "/usr/bin/containerd",
                "/usr/local/bin/containerd-shim-runc-v2": "/usr/bin/containerd-shim-runc-v2",
                "/usr/local/bin/ctr": "/usr/bin/ctr", "/usr/local/sbin/runc": "/usr/sbin/runc"}
KUBE_BINS = ("kubelet", "kubeadm", "kubectl")
CTR = ["ctr", "-a", "/run/containerd/containerd.sock", "-n", "k8s.io"]
# Preflight errors to ignore in a host under nspawn: none so far (see the module docstring).
IGNORE_PREFLIGHT: tuple[str, ...] = ()
READY_TIMEOUT = 300.0
PROXY_HEALTHZ_PORT = 10256

# The kubelet's unit and kubeadm's drop-in for it, in the shape kubeadm's own packages install: kubeadm writes the
# flags file and the configuration, then (re)starts the unit.
KUBELET_UNIT = """[Unit]
Description=kubelet (test master)
Wants=network-online.target containerd.service
After=network-online.target containerd.service

[Service]
ExecStart=/usr/local/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=5

[Install]
WantedBy=multi-user.target
"""
KUBELET_DROP_IN = """[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \
--kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS \
$KUBELET_EXTRA_ARGS
"""
# Debian's etcd 3.4 answers health on /health only (kubeadm 1.33 probes /livez and /readyz of etcd 3.5+).
ETCD_PATCH = {"spec": {"containers": [{"name": "etcd", **{
    probe: {"httpGet": {"path": "/health"}} for probe in ("livenessProbe", "readinessProbe", "startupProbe")}}]}}


def kube_bins() -> Path:
    """The pinned binaries including kube-scheduler and kube-proxy (built by hack/build-k8s.sh when missing)."""
    bins = harness.bin_dir(build=True)
    if not all((bins / p).exists() for p in ("kube-scheduler", "kube-proxy")):
        bins = harness.hack_build("build-k8s.sh")
    return bins


class MasterError(RuntimeError):
    pass


class Master:
    """A one-node kubeadm cluster in a test host; `start()` returns when the Node is Ready and kube-proxy runs."""

    def __init__(self, work: Path, name: str = "master", *, bins: Path | None = None) -> None:
        self.work = work
        self.bins = bins or kube_bins()
        self.version = "v" + harness.k8s_version().lstrip("v")
        self.images = images.control_plane_images(harness.cache_dir() / "k8s-images", self.bins, self.version)
        self.pause_tar = pause.build(harness.cache_dir() / "pause")
        self.images[pause.IMAGE] = self.pause_tar
        self.host = TestHost(name, work / name, binds_ro=[
            (str(next(iter(self.images.values())).parent), "/images"), (str(self.pause_tar.parent), "/images-pause")])
        self.kubeconfig = work / "admin.conf"
        self.timings: dict[str, float] = {}
        self.peak_rss_mib = 0.0  # the highest rss_mib() seen while waiting for readiness

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def ip(self) -> str:
        return self.host.ip

    @property
    def server(self) -> str:
        return f"https://{self.ip}:{API_PORT}"

    # ----------------------------------------------------------------------------------------------- start
    def start(self) -> None:
        t0 = time.monotonic()
        set_kubelet_sysctls()
        self.work.mkdir(parents=True, exist_ok=True)
        self.host.start(rootfs(build=True))
        self._mark("boot", t0)
        self._install()
        self._mark("install", t0)
        for tar in ["/images-pause/" + self.pause_tar.name,
                    *(f"/images/{p.name}" for ref, p in self.images.items() if ref != pause.IMAGE)]:
            self.host.exec([*CTR, "images", "import", tar])
        self._mark("images", t0)
        res = self.host.exec(["kubeadm", "init", f"--config={CONFIG_DIR}/kubeadm.yaml", "--v=1"], check=False,
                             timeout=READY_TIMEOUT)
        (self.work / "kubeadm-init.log").write_text(res.stdout + res.stderr)
        if res.returncode != 0:
            raise MasterError(f"kubeadm init failed (log: {self.work / 'kubeadm-init.log'}):\n{res.stderr[-3000:]}")
        self._mark("kubeadm-init", t0)
        shutil.copyfile(self.host.root / "etc/kubernetes/admin.conf", self.kubeconfig)
        self.kubeconfig.chmod(0o600)
        self.wait_ready(timeout=READY_TIMEOUT)
        self._mark("ready", t0)

    def _mark(self, step: str, t0: float) -> None:
        self.timings[step] = round(time.monotonic() - t0, 1)

    def _install(self) -> None:
        """containerd, runc, CNI plugins, kubelet/kubeadm/kubectl and their configuration, copied into the tree."""
        from edgeadm.node.paths import NodePaths
        from edgeadm.node.units import containerd_config, containerd_unit

        root = self.host.root
        files: dict[str, bytes | Path] = {dst: Path(src) for dst, src in RUNTIME_BINS.items()}
        files |= {f"/usr/local/bin/{b}": self.bins / b for b in KUBE_BINS}
        files |= {f"/opt/cni/bin/{p.name}": p for p in sorted(Path("/usr/lib/cni").iterdir()) if p.is_file()}
        ctd_config = containerd_config(NodePaths(), pause_image=pause.IMAGE, systemd_cgroup=False).decode()
        files |= {
            "/etc/containerd/config.toml": ctd_config.encode(),
            "/etc/systemd/system/containerd.service": containerd_unit(NodePaths()),
            "/etc/systemd/system/kubelet.service": KUBELET_UNIT.encode(),
            "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf": KUBELET_DROP_IN.encode(),
            "/etc/cni/net.d/10-edgetest.conflist": (CNI_CONF % MASTER_POD_CIDR_INDEX).encode(),
            "/etc/sysctl.d/90-kubernetes.conf": b"net.ipv4.ip_forward = 1\n",
            f"{CONFIG_DIR}/kubeadm.yaml": yaml.safe_dump_all(self.kubeadm_config(), sort_keys=False).encode(),
            f"{CONFIG_DIR}/patches/etcd.yaml": yaml.safe_dump(ETCD_PATCH, sort_keys=False).encode(),
        }
        for dst, src in files.items():
            target = root / dst.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, Path):
                shutil.copyfile(src, target)
                target.chmod(0o755)
            else:
                target.write_bytes(src)
        h = self.host
        h.exec(["sysctl", "-w", "net.ipv4.ip_forward=1"])  # the host's own network namespace
        h.exec(["systemctl", "daemon-reload"])
        h.exec(["systemctl", "enable", "--now", "containerd.service"])
        h.exec(["systemctl", "enable", "kubelet.service"])
        deadline = time.monotonic() + 30
        while h.exec([*CTR, "version"], check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise MasterError("containerd did not answer within 30s")
            time.sleep(0.3)

    def kubeadm_config(self) -> list[dict[str, Any]]:
        """kubeadm's InitConfiguration, ClusterConfiguration, KubeletConfiguration and KubeProxyConfiguration."""
        return [
            {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "InitConfiguration",
             "localAPIEndpoint": {"advertiseAddress": self.ip, "bindPort": API_PORT},
             "nodeRegistration": {"name": self.name, "criSocket": "unix:///run/containerd/containerd.sock",
                                  "imagePullPolicy": "Never", "ignorePreflightErrors": list(IGNORE_PREFLIGHT)},
             "skipPhases": ["addon/coredns"],
             "patches": {"directory": f"{CONFIG_DIR}/patches"}},
            {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
             "kubernetesVersion": self.version, "clusterName": "kubernetes",
             "networking": {"podSubnet": POD_SUBNET, "serviceSubnet": SERVICE_SUBNET,
                            "dnsDomain": "cluster.local"},
             "etcd": {"local": {"imageTag": images.ETCD_TAG}}},
            {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
             "cgroupDriver": "cgroupfs", "cgroupRoot": self.host.cgroup_root, "failSwapOn": False,
             **yaml.safe_load(KUBELET_NO_DISK_GC)},  # see TestHost.kubelet_patch
            # maxPerCore 0: keep the conntrack table size; it is the machine's, read-only in a network namespace
            {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
             "mode": "iptables", "conntrack": {"maxPerCore": 0}},
        ]

    # ------------------------------------------------------------------------------------------ cluster view
    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """kubectl on the test machine with the master's admin.conf."""
        res = subprocess.run([str(self.bins / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args], check=False,
                             capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise MasterError(f"kubectl {' '.join(args)}: {res.stderr.strip()[-1000:]}")
        return res

    def get(self, *args: str) -> dict[str, Any]:
        return dict(json.loads(self.kubectl("get", *args, "-o", "json").stdout))

    def node_ready(self) -> bool:
        conds = self.get("node", self.name).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

    def pods(self, namespace: str = "kube-system") -> list[dict[str, Any]]:
        return list(self.get("pods", "-n", namespace)["items"])

    def not_ready(self) -> list[str]:
        """What keeps the master from being usable: the Node, each control-plane pod, kube-proxy on the master."""
        try:
            missing = [] if self.node_ready() else [f"node {self.name} not Ready"]
            pods = {p["metadata"]["name"]: p for p in self.pods()}
        except (MasterError, subprocess.TimeoutExpired) as exc:
            return [str(exc)]
        wanted = [f"{c}-{self.name}" for c in CONTROL_PLANE]
        wanted += [n for n, p in pods.items() if n.startswith("kube-proxy-")
                   and p["spec"].get("nodeName") == self.name] or ["kube-proxy pod on the master"]
        for name in wanted:
            status = pods.get(name, {}).get("status", {})
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
            if status.get("phase") != "Running" or not ready:
                missing.append(f"pod {name}: {status.get('phase', 'missing')}{'' if ready else ', not ready'}")
        if not missing and not self.proxy_healthy():  # kube-proxy has no readiness probe: ask it
            missing.append("kube-proxy has not synced its rules")
        return missing

    def proxy_healthy(self) -> bool:
        """kube-proxy's own health check on the master: 200 once it has programmed the Services."""
        probe = ("import urllib.request as u; "
                 f"u.urlopen('http://127.0.0.1:{PROXY_HEALTHZ_PORT}/healthz', timeout=2)")
        return self.host.exec(["python3", "-c", probe], check=False, timeout=30).returncode == 0

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while missing := self.not_ready():
            self.peak_rss_mib = max(self.peak_rss_mib, self.rss_mib())
            if time.monotonic() > deadline:
                raise MasterError(f"master not ready after {timeout:.0f}s: {'; '.join(missing)}")
            time.sleep(2)

    def rss_mib(self) -> float:
        """Resident memory of every process in the host (systemd, containerd, kubelet, the pods), in MiB."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                parents[int(stat.parent.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
        inside, changed = {self.host.pid}, True
        while changed:
            grown = inside | {pid for pid, ppid in parents.items() if ppid in inside}
            changed, inside = grown != inside, grown
        total = 0
        for pid in inside:
            try:
                total += sum(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                             if line.startswith("VmRSS:"))
            except OSError:
                pass
        return total / 1024  # shared pages count once per process, so this errs high

    def stop(self) -> None:
        """Stop the host: its containers die with it, and TestHost.stop removes its link, cgroups and tree."""
        self.host.stop()
        self.kubeconfig.unlink(missing_ok=True)

    def __enter__(self) -> Master:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    """Boot a master by hand (`python -m tests.harness.master DIR`) and keep it until Enter is pressed."""
    import sys

    from tests.harness.network import Network

    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/master").resolve()
    net = Network()
    m = Master(work)
    try:
        m.start()
        print(f"# ready: {m.timings}; RSS {m.rss_mib():.0f} MiB\nexport KUBECONFIG={m.kubeconfig}")
        if os.isatty(0):
            input("Enter stops the master ")
    finally:
        m.stop()
        net.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
