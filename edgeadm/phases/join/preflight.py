"""Phase `preflight`: the machine checks, over inputs gathered here; nothing changes before they pass."""

from __future__ import annotations

from edgeadm import events as ev
from edgeadm import package
from edgeadm.checks import run_checks
from edgeadm.host import Journal
from edgeadm.node.checks import JoinCheckInputs, join_checks
from edgeadm.phases.join.data import JoinData


def run(data: JoinData) -> None:
    data.events.emit(ev.Step("[preflight] Running pre-flight checks"))
    o, cluster, pkg = data.options, data.cluster(), data.package()
    fail_swap_on = cluster.kubelet_config.get("failSwapOn")
    inputs = JoinCheckInputs(
        paths=data.paths, node_name=o.node_name, enable_edge=o.enable_edge, cri_socket=o.cri_socket,
        package_arch=pkg.arch, machine_arch=package.machine_arch(), package_kubelet_version=pkg.kubernetes_version,
        server_version=cluster.server_version.get("gitVersion", ""),
        fail_swap_on=fail_swap_on if isinstance(fail_swap_on, bool) else None, node_exists=cluster.node_exists)
    run_checks(join_checks(inputs, journal_exists=Journal.exists(data.paths.state_dir)), o.ignore_preflight_errors,
               data.events)
    data.host()
