"""`join`: options -> context -> ordered phases (bodies in edgeadm.phases.node); rollback on failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeadm import console
from edgeadm.errors import EdgeadmError
from edgeadm.workflow import Phase, Runner


@dataclass(frozen=True)
class JoinOptions:
    endpoint: str
    token: str
    ca_hashes: tuple[str, ...]
    unsafe_skip_ca_verification: bool
    install_pkg_path: str | None
    install_pkg_sha256: str | None
    enable_edge: bool = True
    node_name: str | None = None
    cri_socket: str | None = None
    ignore_preflight_errors: tuple[str, ...] = ()
    skip_phases: tuple[str, ...] = ()
    dry_run: bool = False
    no_rollback: bool = False
    discovery_timeout: float = 60.0
    register_timeout: float = 180.0
    kubelet_config_patch: Path | None = None


@dataclass
class JoinContext:
    options: JoinOptions
    node_name: str
    token_id: str
    token_secret: str
    host: Any = None  # edgeadm.host.Host, created when the first change is about to happen
    discovered: Any = None
    server_version: dict[str, str] = field(default_factory=dict)
    kubelet_config: dict[str, Any] = field(default_factory=dict)
    edge_info: dict[str, str] = field(default_factory=dict)
    lite_tls: dict[str, bytes] = field(default_factory=dict)
    package: Any = None
    staging: Path | None = None
    cri_socket: str = "unix:///run/containerd/containerd.sock"
    node_ready: str = "Unknown"


def phases() -> tuple[Phase[JoinContext], ...]:
    from edgeadm.phases import node as p

    return (
        Phase("discovery", "Verify the cluster: signed cluster-info, pinned CA, token", p.discover, skippable=False),
        Phase("package", "Fetch, verify and unpack the static install package", p.package_phase, skippable=False),
        Phase("preflight", "Check this machine, the package and the cluster before any change", p.preflight),
        Phase("install", "Install kubelet, CNI plugins, runtime binaries and kernel settings", p.install,
              dependencies=("package",)),
        Phase("runtime", "Configure and start containerd (skipped with --cri-socket)", p.runtime,
              run_if=lambda c: c.options.cri_socket is None),
        Phase("kubelet-config", "Write the kubelet configuration, bootstrap kubeconfig and unit", p.kubelet_config),
        Phase("edge", "lite-apiserver on this node (with --enable-edge)", p.edge,
              run_if=lambda c: c.options.enable_edge),
        Phase("kubelet-start", "Start the kubelet, TLS-bootstrap and wait for the Node", p.kubelet_start),
    )


def run(options: JoinOptions, node_name: str, token_id: str, token_secret: str) -> JoinContext:
    runner: Runner[JoinContext] = Runner(phases(), frozenset(options.skip_phases))
    runner.validate()
    ctx = JoinContext(options=options, node_name=node_name, token_id=token_id, token_secret=token_secret)
    try:
        runner.run(ctx)
    except (EdgeadmError, KeyboardInterrupt) as exc:
        _rollback(ctx, exc)
        raise
    finally:
        from edgeadm import package

        if ctx.staging is not None:
            package.clean(ctx.staging)
        if ctx.discovered is not None:
            ctx.discovered.ca_file.unlink(missing_ok=True)
    return ctx


def _rollback(ctx: JoinContext, exc: BaseException) -> None:
    if ctx.host is None or ctx.options.dry_run or not ctx.host.journal.entries:
        return
    if ctx.options.no_rollback:
        console.step("[rollback] skipped (--no-rollback); `edgeadm reset` undoes this partial join")
        return
    from edgeadm import host

    console.step(f"[rollback] join failed ({exc}); undoing its changes")
    problems = host.undo(ctx.host.journal)
    if problems:
        console.warn("rollback could not undo: " + "; ".join(problems) + " (run `edgeadm reset`)")
    else:
        console.step("[rollback] this machine is back to its state before join")
