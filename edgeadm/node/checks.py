"""The machine checks join runs before any change, as named checks over explicit inputs (kubeadm's
RunJoinNodeChecks): the phase builds `JoinCheckInputs` and runs `join_checks(...)` through `checks.run_checks`."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgeadm.checks import Check, Outcome
from edgeadm.constants import LITE_APISERVER_PORT
from edgeadm.node.paths import KNOWN_RUNTIME_SOCKETS, NodePaths

MIN_MEMORY_MIB = 1700  # kubeadm's threshold for "2 GiB" machines (the kernel reserves some)
MIN_FREE_DISK = 1 << 30  # the user's document: at least 1 GiB of disk


@dataclass(frozen=True)
class JoinCheckInputs:
    paths: NodePaths
    node_name: str
    enable_edge: bool
    cri_socket: str | None  # unix:// URL given with --cri-socket
    package_arch: str
    machine_arch: str
    package_kubelet_version: str
    server_version: str
    fail_swap_on: bool | None  # the cluster kubelet config's failSwapOn (None: not set)
    node_exists: Callable[[str], bool]  # asks the API server with the bootstrap token; raises when it is refused


def minor(version: str) -> int:
    """The minor of `v1.33.13` (33), or -1 when it cannot be read."""
    try:
        return int(version.lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        return -1


def privileged() -> Outcome:
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
    if free >= MIN_FREE_DISK:
        return Outcome()
    return Outcome(errors=[f"{free >> 20} MiB free on /var; 1 GiB required"])


def swap(fail_swap_on: bool | None) -> Outcome:
    lines = Path("/proc/swaps").read_text().splitlines()[1:] if Path("/proc/swaps").exists() else []
    if not lines:
        return Outcome()
    if fail_swap_on is False:
        return Outcome(warnings=["swap is on; the cluster's kubelet config allows it (failSwapOn: false)"])
    return Outcome(errors=["swap is on and the kubelet refuses to run with it; run `swapoff -a`"])


def port_free(port: int) -> Outcome:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return Outcome(errors=[f"port {port} is in use"])
    return Outcome()


def ip_forward() -> Outcome:
    f = Path("/proc/sys/net/ipv4/ip_forward")
    if f.exists() and f.read_text().strip() != "1":
        return Outcome(warnings=["net.ipv4.ip_forward is 0; join sets it to 1 (reset restores it)"])
    return Outcome()


def architecture(package_arch: str, machine_arch: str) -> Outcome:
    if package_arch == machine_arch:
        return Outcome()
    return Outcome(errors=[f"the install package is for {package_arch}, this machine is {machine_arch}"])


def kubelet_skew(server: str, kubelet: str) -> Outcome:
    s, k = minor(server), minor(kubelet)
    if s < 0 or k < 0:
        return Outcome(warnings=["cannot compare the kubelet and server versions"])
    if k > s or k < s - 3:
        return Outcome(errors=[f"kubelet {kubelet} is not supported with API server {server} (kubelet may be up "
                               "to 3 minors older, never newer)"])
    return Outcome()


def node_name_free(name: str, node_exists: Callable[[str], bool]) -> Outcome:
    if node_exists(name):
        return Outcome(errors=[f"a Node named `{name}` already exists in the cluster; pass --node-name or remove it"])
    return Outcome()


def runtime(cri_socket: str | None) -> Outcome:
    if cri_socket:
        path = cri_socket.removeprefix("unix://")
        if not Path(path).exists():
            return Outcome(errors=[f"--cri-socket {cri_socket} does not exist"])
        return Outcome(warnings=[f"using the runtime already on this machine at {path}; edgeadm will not "
                                 "install, reconfigure or remove it"])
    found = [s for s in KNOWN_RUNTIME_SOCKETS if Path(s).exists()]
    if found:
        return Outcome(errors=[f"a container runtime is already on this machine ({', '.join(found)}); "
                               f"pass --cri-socket unix://{found[0]} to use it (edgeadm never removes it)"])
    return Outcome()


def not_joined(paths: NodePaths, journal_exists: bool) -> Outcome:
    if journal_exists or paths.kubelet_conf.exists():
        return Outcome(errors=["this machine has already joined (or a join was interrupted); run "
                               "`edgeadm reset` first"])
    return Outcome()


def systemd() -> Outcome:
    if Path("/run/systemd/system").is_dir():
        return Outcome()
    return Outcome(errors=["systemd is not running as the init system"])


def join_checks(i: JoinCheckInputs, *, journal_exists: bool) -> list[Check]:
    """Every join check, in the order they are reported; their names are public (--ignore-preflight-errors)."""
    checks = [
        Check("IsPrivilegedUser", privileged), Check("NumCPU", cpus), Check("Mem", memory),
        Check("DiskSpace", disk), Check("Swap", lambda: swap(i.fail_swap_on)),
        Check("Port-10250", lambda: port_free(10250)), Check("Port-10248", lambda: port_free(10248)),
        Check("KernelIPForward", ip_forward),
        Check("PackageArchitecture", lambda: architecture(i.package_arch, i.machine_arch)),
        Check("KubeletVersion", lambda: kubelet_skew(i.server_version, i.package_kubelet_version)),
        Check("Token", lambda: node_name_free(i.node_name, i.node_exists)),
        Check("ContainerRuntime", lambda: runtime(i.cri_socket)),
        Check("ExistingJoin", lambda: not_joined(i.paths, journal_exists)),
        Check("Systemd", systemd),
    ]
    if i.enable_edge:
        checks.append(Check(f"Port-{LITE_APISERVER_PORT}", lambda: port_free(LITE_APISERVER_PORT)))
    return checks
