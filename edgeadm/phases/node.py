"""The phases of `join`: everything that happens on the joining machine."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from edgeadm import console, discovery, package
from edgeadm.checks import Check, Outcome, run_checks
from edgeadm.constants import EDGE_LABEL, EDGE_NAMESPACE, EDGE_VIRTUAL_ADDR, LITE_APISERVER_PORT
from edgeadm.errors import EdgeadmError
from edgeadm.workflows.join import JoinContext

BIN = Path("/usr/local/bin")
SBIN = Path("/usr/local/sbin")
CNI_BIN = Path("/opt/cni/bin")
K8S = Path("/etc/kubernetes")
KUBELET_DIR = Path("/var/lib/kubelet")
UNITS = Path("/etc/systemd/system")
CONTAINERD_SOCK = "/run/containerd/containerd.sock"
DUMMY_NIC = "tkeedgedns"
KNOWN_RUNTIME_SOCKETS = ("/run/containerd/containerd.sock", "/var/run/docker.sock", "/run/crio/crio.sock",
                         "/var/run/cri-dockerd.sock")
MIN_MEMORY_MIB = 1700  # kubeadm's threshold for "2 GiB" machines (the kernel reserves some)
MIN_FREE_DISK = 1 << 30  # the user's document: at least 1 GiB of disk


# ------------------------------------------------------------------------------------------ discovery/package
def discover(ctx: JoinContext) -> None:
    o = ctx.options
    console.step(f"[discovery] Fetching cluster-info from https://{o.endpoint}")
    ctx.discovered = discovery.discover(
        o.endpoint, ctx.token_id, ctx.token_secret, ca_hashes=list(o.ca_hashes),
        unsafe_skip_ca=o.unsafe_skip_ca_verification, timeout=o.discovery_timeout)
    console.step("[discovery] cluster-info is signed for this token and its CA matches the pinned hash")
    d = ctx.discovered
    token = f"{ctx.token_id}.{ctx.token_secret}"
    version = discovery.api_get(d, "/version", token) or {}
    ctx.server_version = {k: str(v) for k, v in version.items()}
    cm = discovery.api_get(d, "/api/v1/namespaces/kube-system/configmaps/kubelet-config", token)
    if not cm:
        raise EdgeadmError("cannot read kube-system/kubelet-config with this token",
                           hint="run `edgeadm addon edge-apps` on the master (it creates what joining needs)")
    ctx.kubelet_config = yaml.safe_load(cm["data"]["kubelet"]) or {}
    if o.enable_edge:
        info = discovery.api_get(d, f"/api/v1/namespaces/{EDGE_NAMESPACE}/configmaps/edge-info", token)
        tls = discovery.api_get(d, f"/api/v1/namespaces/{EDGE_NAMESPACE}/secrets/lite-apiserver-tls", token)
        if not info or not tls:
            raise EdgeadmError("this cluster has no edge apps (edge-system/edge-info is missing)",
                               hint="run `edgeadm addon edge-apps` on the master, or join with --enable-edge=false")
        ctx.edge_info = info.get("data") or {}
        ctx.lite_tls = {k: base64.b64decode(v) for k, v in (tls.get("data") or {}).items()}


def package_phase(ctx: JoinContext) -> None:
    o = ctx.options
    if not o.install_pkg_path:
        raise EdgeadmError("--install-pkg-path is required", hint="the static package from the release")
    ctx.staging = Path(tempfile.mkdtemp(prefix="edgeadm-pkg-"))
    local = package.fetch(o.install_pkg_path, ctx.staging, pinned_sha256=o.install_pkg_sha256)
    console.step(f"[package] {o.install_pkg_path}: checksum verified")
    ctx.package = package.unpack(local, ctx.staging / "unpacked")
    if local.parent == ctx.staging:
        local.unlink()
    console.step(f"[package] unpacked kubelet {ctx.package.kubernetes_version} for {ctx.package.arch}")


# --------------------------------------------------------------------------------------------------- preflight
def _minor(v: str) -> int:
    try:
        return int(v.lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        return -1


def preflight(ctx: JoinContext) -> None:
    console.step("[preflight] Running pre-flight checks")
    o = ctx.options
    pkg = ctx.package
    token = f"{ctx.token_id}.{ctx.token_secret}"

    def root() -> Outcome:
        return Outcome() if os.geteuid() == 0 else Outcome(errors=["join must run as root"])

    def cpus() -> Outcome:
        n = os.cpu_count() or 1
        return Outcome() if n >= 2 else Outcome(errors=[f"{n} CPU found; at least 2 are required"])

    def memory() -> Outcome:
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
        mib = kb // 1024
        return Outcome() if mib >= MIN_MEMORY_MIB else Outcome(errors=[f"{mib} MiB of memory; 2 GiB required"])

    def disk() -> Outcome:
        free = shutil.disk_usage("/var" if Path("/var").exists() else "/").free
        return Outcome() if free >= MIN_FREE_DISK else Outcome(errors=[f"{free >> 20} MiB free on /var; 1 GiB "
                                                                            "required"])

    def swap() -> Outcome:
        lines = Path("/proc/swaps").read_text().splitlines()[1:] if Path("/proc/swaps").exists() else []
        if not lines:
            return Outcome()
        if ctx.kubelet_config.get("failSwapOn") is False:
            return Outcome(warnings=["swap is on; the cluster's kubelet config allows it (failSwapOn: false)"])
        return Outcome(errors=["swap is on and the kubelet refuses to run with it; run `swapoff -a`"])

    def port(p: int) -> Any:
        def check() -> Outcome:
            with socket.socket() as s:
                try:
                    s.bind(("0.0.0.0", p))
                except OSError:
                    return Outcome(errors=[f"port {p} is in use"])
            return Outcome()
        return check

    def ip_forward() -> Outcome:
        f = Path("/proc/sys/net/ipv4/ip_forward")
        if f.exists() and f.read_text().strip() != "1":
            return Outcome(warnings=["net.ipv4.ip_forward is 0; join sets it to 1 (reset restores it)"])
        return Outcome()

    def arch() -> Outcome:
        mine = package.machine_arch()
        return Outcome() if pkg.arch == mine else Outcome(
            errors=[f"the install package is for {pkg.arch}, this machine is {mine}"])

    def skew() -> Outcome:
        server, kubelet = _minor(ctx.server_version.get("gitVersion", "")), _minor(pkg.kubernetes_version)
        if server < 0 or kubelet < 0:
            return Outcome(warnings=["cannot compare the kubelet and server versions"])
        if kubelet > server or kubelet < server - 3:
            return Outcome(errors=[f"kubelet {pkg.kubernetes_version} is not supported with API server "
                                   f"{ctx.server_version.get('gitVersion')} (kubelet may be up to 3 minors older, "
                                   "never newer)"])
        return Outcome()

    def token_valid() -> Outcome:
        d = ctx.discovered
        node = discovery.api_get(d, f"/api/v1/nodes/{ctx.node_name}", token)  # 401 raises: unknown/expired
        if node is not None:
            return Outcome(errors=[f"a Node named `{ctx.node_name}` already exists in the cluster; pass "
                                   "--node-name or remove it"])
        return Outcome()

    def runtime() -> Outcome:
        found = [s for s in KNOWN_RUNTIME_SOCKETS if Path(s).exists()]
        if o.cri_socket:
            path = o.cri_socket.removeprefix("unix://")
            if not Path(path).exists():
                return Outcome(errors=[f"--cri-socket {o.cri_socket} does not exist"])
            return Outcome(warnings=[f"using the runtime already on this machine at {path}; edgeadm will not "
                                     "install, reconfigure or remove it"])
        if found:
            return Outcome(errors=[f"a container runtime is already on this machine ({', '.join(found)}); "
                                   f"pass --cri-socket unix://{found[0]} to use it (edgeadm never removes it)"])
        return Outcome()

    def not_joined() -> Outcome:
        from edgeadm import host

        if host.JOURNAL.exists() or (K8S / "kubelet.conf").exists():
            return Outcome(errors=["this machine has already joined (or a join was interrupted); run "
                                   "`edgeadm reset` first"])
        return Outcome()

    def systemd() -> Outcome:
        return Outcome() if Path("/run/systemd/system").is_dir() else Outcome(
            errors=["systemd is not running as the init system"])

    checks = [Check("IsPrivilegedUser", root), Check("NumCPU", cpus), Check("Mem", memory),
              Check("DiskSpace", disk), Check("Swap", swap), Check("Port-10250", port(10250)),
              Check("Port-10248", port(10248)), Check("KernelIPForward", ip_forward),
              Check("PackageArchitecture", arch), Check("KubeletVersion", skew), Check("Token", token_valid),
              Check("ContainerRuntime", runtime), Check("ExistingJoin", not_joined), Check("Systemd", systemd)]
    if o.enable_edge:
        checks.append(Check(f"Port-{LITE_APISERVER_PORT}", port(LITE_APISERVER_PORT)))
    run_checks(checks, o.ignore_preflight_errors)
    if o.cri_socket:
        ctx.cri_socket = o.cri_socket if o.cri_socket.startswith("unix://") else f"unix://{o.cri_socket}"
    _host(ctx)


def _host(ctx: JoinContext) -> Any:
    if ctx.host is None:
        from edgeadm import host

        ctx.host = host.Host(host.Journal(dry_run=ctx.options.dry_run))
        ctx.host.journal.meta.update({"node": ctx.node_name, "endpoint": ctx.options.endpoint,
                                      "edge": ctx.options.enable_edge})
    return ctx.host


# ------------------------------------------------------------------------------------------------------ changes
def install(ctx: JoinContext) -> None:
    h = _host(ctx)
    pkg = ctx.package
    console.step("[install] Installing kubelet and CNI plugins")
    h.install(pkg.path("bin/kubelet"), BIN / "kubelet")
    if ctx.options.enable_edge:
        if not pkg.has("bin/lite-apiserver"):
            raise EdgeadmError("the install package has no lite-apiserver; it cannot join an edge node",
                               hint="use a package built with lite-apiserver, or --enable-edge=false")
        h.install(pkg.path("bin/lite-apiserver"), BIN / "lite-apiserver")
    for rel in sorted(pkg.manifest["files"]):
        if rel.startswith("cni/"):
            h.install(pkg.path(rel), CNI_BIN / Path(rel).name)
    if ctx.options.cri_socket is None:
        for name in ("containerd", "containerd-shim-runc-v2", "ctr"):
            h.install(pkg.path(f"container/{name}"), BIN / name)
        h.install(pkg.path("container/runc"), SBIN / "runc")
    else:
        # a client of our own for the machine's runtime, so reset can remove what the kubelet ran there
        h.install(pkg.path("container/ctr"), BIN / "edgeadm-ctr")
    _sysctl(ctx, "net.ipv4.ip_forward", "1")


def _sysctl(ctx: JoinContext, key: str, value: str) -> None:
    h = _host(ctx)
    path = Path("/proc/sys") / key.replace(".", "/")
    h.write_file(Path("/etc/sysctl.d/99-edgeadm.conf"), f"# written by edgeadm join\n{key} = {value}\n".encode())
    prior = path.read_text().strip() if path.exists() else None
    if prior is not None and prior != value and not h.dry_run:
        h.journal.add({"op": "sysctl", "key": key, "prior": prior})
        path.write_text(value)


CONTAINERD_CONFIG = """# written by edgeadm join
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "{sock}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        SystemdCgroup = {systemd}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni}"
    conf_dir = "/etc/cni/net.d"
"""

CONTAINERD_UNIT = """# written by edgeadm join
[Unit]
Description=containerd container runtime (installed by edgeadm)
After=network.target

[Service]
ExecStart={bin}/containerd --config /etc/containerd/config.toml
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNOFILE=1048576
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
"""


def runtime(ctx: JoinContext) -> None:
    h = _host(ctx)
    console.step("[runtime] Configuring containerd")
    systemd = str(ctx.kubelet_config.get("cgroupDriver", "systemd") == "systemd").lower()
    pause = ctx.package.manifest.get("pauseImage", "registry.k8s.io/pause:3.10")
    h.write_file(Path("/etc/containerd/config.toml"), CONTAINERD_CONFIG.format(
        sock=CONTAINERD_SOCK, pause=pause, runc=SBIN / "runc", systemd=systemd, cni=CNI_BIN).encode())
    h.write_file(UNITS / "containerd.service", CONTAINERD_UNIT.format(bin=BIN).encode())
    h.expect(Path("/var/lib/containerd"))
    h.expect(Path("/opt/containerd"))  # containerd's own plugin directory
    h.expect(Path("/run/containerd"))
    h.unit("containerd.service")
    if not h.dry_run:
        _wait(lambda: Path(CONTAINERD_SOCK).exists(), 30, "containerd to listen")
        from edgeadm import host

        host.run([str(BIN / "ctr"), "-a", CONTAINERD_SOCK, "-n", "k8s.io", "images", "import",
                  str(ctx.package.path("images/pause.tar"))], timeout=120)
    console.step(f"[runtime] containerd is running (cgroup driver {'systemd' if systemd == 'true' else 'cgroupfs'}, "
                 f"sandbox image {pause})")


KUBELET_UNIT = """# written by edgeadm join
[Unit]
Description=kubelet: the Kubernetes node agent (installed by edgeadm)
After=network-online.target {after}
Wants={after}

[Service]
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
ExecStart={bin}/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \\
  --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml $KUBELET_KUBEADM_ARGS
Restart=always
RestartSec=5
StartLimitInterval=0

[Install]
WantedBy=multi-user.target
"""


def _kubeconfig(server: str, ca: bytes, user: dict[str, Any]) -> bytes:
    conf = {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "kubernetes", "cluster": {
                "server": server, "certificate-authority-data": base64.b64encode(ca).decode()}}],
            "users": [{"name": "kubelet", "user": user}],
            "contexts": [{"name": "kubelet@kubernetes", "context": {"cluster": "kubernetes", "user": "kubelet"}}],
            "current-context": "kubelet@kubernetes"}
    return yaml.safe_dump(conf, sort_keys=False).encode()


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v
    return base


def api_server_url(ctx: JoinContext) -> str:
    """Where this node's kubelet talks to: the local lite-apiserver on edge nodes, else the endpoint."""
    if ctx.options.enable_edge:
        addr = ctx.edge_info.get("edge-virtual-addr", EDGE_VIRTUAL_ADDR)
        return f"https://{addr}:{ctx.edge_info.get('lite-apiserver-port', LITE_APISERVER_PORT)}"
    return f"https://{ctx.options.endpoint}"


def kubelet_config(ctx: JoinContext) -> None:
    h = _host(ctx)
    console.step("[kubelet] Writing the kubelet configuration from kube-system/kubelet-config")
    d = ctx.discovered
    h.write_file(K8S / "pki" / "ca.crt", d.ca_pem)
    token = f"{ctx.token_id}.{ctx.token_secret}"
    # TLS bootstrap goes straight to the API server: lite-apiserver can only forward requests with the kubelet's
    # client certificate, which does not exist yet. kubelet-start then points the kubelet at lite-apiserver.
    h.write_file(K8S / "bootstrap-kubelet.conf",
                 _kubeconfig(f"https://{ctx.options.endpoint}", d.ca_pem, {"token": token}), 0o600)
    cfg = dict(ctx.kubelet_config)
    cfg.update({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                "containerRuntimeEndpoint": ctx.cri_socket, "rotateCertificates": True})
    cfg.setdefault("authentication", {}).setdefault("x509", {})["clientCAFile"] = str(K8S / "pki" / "ca.crt")
    if ctx.options.kubelet_config_patch is not None:
        _merge(cfg, yaml.safe_load(ctx.options.kubelet_config_patch.read_text()) or {})
    h.write_file(KUBELET_DIR / "config.yaml", yaml.safe_dump(cfg, sort_keys=False).encode())
    args = [f"--container-runtime-endpoint={ctx.cri_socket}", f"--hostname-override={ctx.node_name}"]
    if ctx.options.enable_edge:
        args.append(f"--node-labels={EDGE_LABEL}")
    h.write_file(KUBELET_DIR / "kubeadm-flags.env", f'KUBELET_KUBEADM_ARGS="{" ".join(args)}"\n'.encode())
    after = "containerd.service" + (" lite-apiserver.service" if ctx.options.enable_edge else "")
    if ctx.options.cri_socket:
        after = "lite-apiserver.service" if ctx.options.enable_edge else ""
    h.write_file(UNITS / "kubelet.service", KUBELET_UNIT.format(bin=BIN, after=after).encode())
    for p in (K8S / "kubelet.conf", KUBELET_DIR / "pki", K8S / "manifests", Path("/var/log/pods"),
              Path("/var/log/containers"), Path("/var/lib/dockershim"), Path("/etc/cni/net.d"),
              Path("/usr/libexec/kubernetes")):  # the kubelet's default volume plugin directory
        h.expect(p)
    if ctx.options.cri_socket and not h.dry_run:
        h.journal.add({"op": "containers", "socket": ctx.cri_socket.removeprefix("unix://"),
                       "ctr": str(BIN / "edgeadm-ctr")})


LITE_UNIT = """# written by edgeadm join
[Unit]
Description=lite-apiserver: the edge node's local API server cache (installed by edgeadm)
After=network.target

[Service]
# The edge virtual address lives on a dummy NIC; kernels without dummy support get it on `lo` instead.
ExecStartPre=/bin/sh -c 'if ip link add {nic} type dummy 2>/dev/null || ip link show {nic} >/dev/null 2>&1; \
  then ip link set {nic} up && ip addr replace {addr}/32 dev {nic}; else ip addr replace {addr}/32 dev lo; fi'
ExecStopPost=-/bin/sh -c 'ip addr del {addr}/32 dev lo 2>/dev/null; ip link del {nic} 2>/dev/null; true'
ExecStart={bin}/lite-apiserver --ca-file=/etc/kubernetes/pki/ca.crt --apiserver-ca-file=/etc/kubernetes/pki/ca.crt \\
  --tls-cert-file=/etc/kubernetes/edge/lite-apiserver.crt --tls-private-key-file=/etc/kubernetes/edge/lite-apiserver.key \\
  --kube-apiserver-url={host} --kube-apiserver-port={port} --port={lport} --address={addr} \\
  --tls-config-file=/etc/kubernetes/edge/tls.json --file-cache-path=/data/lite-apiserver/cache --timeout=3
Restart=always
RestartSec=5
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
"""


def edge(ctx: JoinContext) -> None:
    from edgeadm.addr import split_host_port

    h = _host(ctx)
    console.step("[edge] Setting up lite-apiserver")
    crt, key = ctx.lite_tls.get("tls.crt"), ctx.lite_tls.get("tls.key")
    if not crt or not key:
        raise EdgeadmError("edge-system/lite-apiserver-tls has no certificate; re-run addon on the master")
    edge_dir = K8S / "edge"
    h.write_file(edge_dir / "lite-apiserver.crt", crt)
    h.write_file(edge_dir / "lite-apiserver.key", key, 0o600)
    tls = ctx.edge_info.get("tls.json") or json.dumps(
        [{"key": str(KUBELET_DIR / "pki/kubelet-client-current.pem"),
          "cert": str(KUBELET_DIR / "pki/kubelet-client-current.pem")}])
    h.write_file(edge_dir / "tls.json", tls.encode())
    host_, port = split_host_port(ctx.options.endpoint, default_port=6443)
    addr = ctx.edge_info.get("edge-virtual-addr", EDGE_VIRTUAL_ADDR)
    lport = int(ctx.edge_info.get("lite-apiserver-port", LITE_APISERVER_PORT))
    h.write_file(UNITS / "lite-apiserver.service", LITE_UNIT.format(
        nic=DUMMY_NIC, addr=addr, bin=BIN, host=host_, port=port, lport=lport).encode())
    h.expect(Path("/data/lite-apiserver"))
    if not Path("/data").exists():
        h.ensure_dir(Path("/data"))
    h.netdev(DUMMY_NIC)
    h.unit("lite-apiserver.service")
    if not h.dry_run:
        _wait(lambda: _tcp_open(addr, lport), 60, f"lite-apiserver to listen on {addr}:{lport}")
    console.step(f"[edge] lite-apiserver listens on {addr}:{lport}")


def kubelet_start(ctx: JoinContext) -> None:
    h = _host(ctx)
    console.step("[kubelet-start] Starting the kubelet")
    h.unit("kubelet.service")
    if not h.dry_run:
        h.journal.add({"op": "node", "name": ctx.node_name})
        console.step("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
        pem = KUBELET_DIR / "pki" / "kubelet-client-current.pem"
        _wait(lambda: pem.exists() and (K8S / "kubelet.conf").exists(), ctx.options.register_timeout,
              f"the kubelet TLS bootstrap ({pem})")
        if ctx.options.enable_edge:
            _through_lite_apiserver(ctx)
        ctx.node_ready = _wait_node(ctx)
    if h.dry_run:
        console.step("[dry-run] every check passed; join would make the changes above (nothing was changed)")
        return
    console.step("")
    console.step("This node has joined the cluster:")
    console.step("* Certificate signing request was sent to apiserver and a response was received.")
    console.step("* The Kubelet was informed of the new secure connection details.")
    console.step("")
    console.step("Run 'kubectl get nodes' on the control-plane to see this node join the cluster.")


def _through_lite_apiserver(ctx: JoinContext) -> None:
    """Point the bootstrapped kubelet at the local lite-apiserver and restart it."""
    from edgeadm import host

    conf_path = K8S / "kubelet.conf"
    conf = yaml.safe_load(conf_path.read_text())
    for cluster in conf.get("clusters") or []:
        cluster["cluster"]["server"] = api_server_url(ctx)
    ctx.host.write_file(conf_path, yaml.safe_dump(conf, sort_keys=False).encode(), 0o600)
    host.run(["systemctl", "restart", "kubelet.service"])
    console.step(f"[kubelet-start] The kubelet now reaches the cluster through lite-apiserver at {api_server_url(ctx)}")


def node_client_get(ctx: JoinContext, path: str) -> Any:
    """GET with this node's own credentials (the kubelet's client certificate) over the pinned CA."""
    import requests

    pem = KUBELET_DIR / "pki" / "kubelet-client-current.pem"
    return requests.get(f"https://{ctx.options.endpoint}{path}", cert=(str(pem), str(pem)),
                        verify=str(ctx.discovered.ca_file), timeout=10)


def _wait_node(ctx: JoinContext) -> str:
    deadline = time.monotonic() + ctx.options.register_timeout
    while time.monotonic() < deadline:
        try:
            r = node_client_get(ctx, f"/api/v1/nodes/{ctx.node_name}")
            if r.status_code == 200:
                conds = (r.json().get("status") or {}).get("conditions") or []
                ready = next((c.get("status", "Unknown") for c in conds if c.get("type") == "Ready"), "Unknown")
                console.step(f"[kubelet-start] Node `{ctx.node_name}` registered (Ready={ready})")
                return str(ready)
        except (OSError, ValueError):
            pass
        time.sleep(1)
    raise EdgeadmError(f"Node `{ctx.node_name}` did not register within {ctx.options.register_timeout:.0f}s",
                       hint="see `journalctl -u kubelet` on this machine")


def _tcp_open(host_: str, port: int) -> bool:
    try:
        with socket.create_connection((host_, port), timeout=1):
            return True
    except OSError:
        return False


def _wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise EdgeadmError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)
