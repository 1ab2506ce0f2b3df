"""`addon edge-apps`: options -> context -> ordered phases. Phase bodies live in edgeadm.phases.edgeapps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeadm import console
from edgeadm.errors import ConfigError, EdgeadmError
from edgeadm.record import Record
from edgeadm.report import Report
from edgeadm.workflow import Phase, Runner


@dataclass(frozen=True)
class AddonOptions:
    kubeconfig: str | None
    ca_cert: Path
    ca_key: Path
    master_public_addr: str | None
    edge_version: str
    edge_image_repository: str
    edge_virtual_addr: str
    manifest_dir: Path | None
    ignore_preflight_errors: tuple[str, ...] = ()
    skip_phases: tuple[str, ...] = ()
    dry_run: bool = False
    wait: bool = False
    timeout: float = 300.0
    no_rollback: bool = False


@dataclass
class AddonContext:
    """What addon phases read and write. `kube` is connected by `build_context`; values fill in during prepare."""

    options: AddonOptions
    kube: Any
    report: Report
    record: Record
    ca_cert: Any = None
    ca_key: Any = None
    ca_pem: bytes = b""
    server_version: str = ""
    master_host: str = ""
    master_port: int = 6443
    control_plane_label: str = "node-role.kubernetes.io/control-plane"
    control_plane_ips: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    applier: Any = None
    signing_verified: bool = False
    record_keys_before: set[str] = field(default_factory=set)  # entries an earlier run recorded (kept on rollback)


def phases() -> tuple[Phase[AddonContext], ...]:
    from edgeadm.phases import edgeapps as p

    return (
        Phase("preflight", "Check the CA, the cluster and the address before any change", p.preflight,
              skippable=False),
        Phase("prepare", "Compute values, reuse existing certificates, render every template", p.prepare,
              skippable=False),
        Phase("namespace", "Create the edge namespace and the addon record", p.namespace, skippable=False),
        Phase("join-prerequisites", "Create cluster-info, bootstrap RBAC, kubeadm-config, kubelet config if missing",
              p.join_prerequisites),
        Phase("tunnel", "Deploy tunnel-coredns, tunnel-cloud and tunnel-edge", p.tunnel),
        Phase("edge-health", "Deploy edge-health, its admission webhook and configuration", p.edge_health),
        Phase("service-group", "Install the grid CRDs, application-grid-controller and -wrapper", p.service_group),
        Phase("marginal-autonomy", "Edge kube-proxy copy, kube-proxy affinity split, kubernetes endpoints",
              p.marginal_autonomy),
        Phase("edge-info", "lite-apiserver configuration for joining edge nodes", p.edge_info,
              dependencies=("tunnel",)),
        Phase("wait", "Wait for the edge workloads to roll out (--wait)", p.wait, run_if=lambda c: c.options.wait),
        Phase("finish", "Mark the record complete", p.finish, skippable=False),
    )


def build_context(options: AddonOptions) -> AddonContext:
    from edgeadm import kube, kubeconfig

    if options.manifest_dir is not None and not options.manifest_dir.is_dir():
        raise ConfigError(f"--manifest-dir `{options.manifest_dir}` is not a directory")
    k = kube.connect(kubeconfig.resolve(options.kubeconfig), dry_run=options.dry_run)
    k.server_version()  # fail fast, with exit code 1, when the cluster cannot be reached
    from edgeadm.constants import EDGE_NAMESPACE

    return AddonContext(options=options, kube=k, report=Report(dry_run=options.dry_run),
                        record=Record(namespace=EDGE_NAMESPACE))


def run(options: AddonOptions) -> Report:
    """Run addon; on failure undo what this run recorded (unless --no-rollback) and re-raise."""
    runner: Runner[AddonContext] = Runner(phases(), frozenset(options.skip_phases))
    runner.validate()
    ctx = build_context(options)
    try:
        runner.run(ctx)
    except (EdgeadmError, KeyboardInterrupt) as exc:
        mutated = ctx.applier is not None and not options.dry_run
        if mutated and not options.no_rollback:
            console.step(f"[rollback] addon failed ({exc}); undoing its changes")
            from edgeadm.phases import detach

            try:
                detach.undo_record(ctx.kube, Report(), only=ctx.record.keys() - ctx.record_keys_before)
                console.step("[rollback] the cluster is back to its state before addon")
            except EdgeadmError as undo_exc:
                console.warn(f"rollback incomplete: {undo_exc}; run `edgeadm detach edge-apps` to finish it")
        elif mutated:
            console.step("[rollback] skipped (--no-rollback); `edgeadm detach edge-apps` undoes this partial addon")
        raise
    return ctx.report
