"""`addon edge-apps`: options -> context -> ordered phases; on failure, undo what this run recorded.

`AddonContext` satisfies `edgeadm.phases.addon.data.AddonData` (mypy checks it below).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeadm import events as ev
from edgeadm import kube as kube_seam
from edgeadm import pki, values
from edgeadm.addr import split_host_port
from edgeadm.applier import Applier
from edgeadm.errors import ConfigError, EdgeadmError
from edgeadm.host import Journal, LocalHost, undo
from edgeadm.kube import kubeconfig
from edgeadm.kube.types import KubeAPI
from edgeadm.master import MasterPaths
from edgeadm.options import AddonOptions
from edgeadm.phases.addon import autonomy, certs, deploy, egress, preflight
from edgeadm.phases.addon.data import CA, AddonCluster, AddonData
from edgeadm.record import Record
from edgeadm.record_undo import undo_record
from edgeadm.report import Report
from edgeadm.workflow import Phase, Runner

__all__ = ["AddonContext", "AddonOptions", "phases", "run", "validate"]


@dataclass
class AddonContext:
    options: AddonOptions
    kube: KubeAPI
    events: ev.Events = ev.NULL
    report: Report = field(default_factory=Report)
    signing_verified: bool = False
    record_keys_before: set[str] = field(default_factory=set)  # entries an earlier run recorded (kept on rollback)
    _ca: CA | None = field(default=None, init=False, repr=False)
    _cluster: AddonCluster | None = field(default=None, init=False, repr=False)
    _record: Record | None = field(default=None, init=False, repr=False)
    _values: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _applier: Applier | None = field(default=None, init=False, repr=False)
    master_paths: MasterPaths = field(default_factory=MasterPaths)
    _master_host: LocalHost | None = field(default=None, init=False, repr=False)
    master_journal_existed: bool = False

    def ca(self) -> CA:
        if self._ca is None:
            cert, key = pki.load_cert(self.options.ca_cert), pki.load_key(self.options.ca_key)
            self._ca = CA(cert, key, pki.cert_to_pem(cert))
        return self._ca

    def cluster(self) -> AddonCluster:
        if self._cluster is None:
            self._cluster = preflight.read_cluster(self.kube)
        return self._cluster

    def master(self) -> tuple[str, int]:
        c = self.cluster()
        if self.options.master_public_addr:
            host, port = split_host_port(self.options.master_public_addr, default_port=c.api_port)
            return host, int(port or 6443)
        if c.control_plane_ips:
            return c.control_plane_ips[0], c.api_port
        raise ConfigError("cannot determine the master public address", hint="pass --master-public-addr HOST:PORT")

    def record(self) -> Record:
        if self._record is None:
            self._record = Record.load(self.kube) or Record()
            self.record_keys_before = self._record.keys()
        return self._record

    def values(self) -> dict[str, Any]:
        if self._values is None:
            o, ca, c = self.options, self.ca(), self.cluster()
            host, port = self.master()
            facts = values.service_facts(self.kube)
            material = certs.material(self.kube, ca, master_host=host, control_plane_ips=c.control_plane_ips,
                                      cluster_ip=facts.kubernetes_cluster_ip, edge_virtual_addr=o.edge_virtual_addr)
            self._values = values.build(
                ca_pem=ca.pem.decode(), master_host=host, master_port=port,
                control_plane_label=c.control_plane_label or "node-role.kubernetes.io/control-plane",
                kubernetes_version=c.server_version.get("gitVersion", ""), facts=facts,
                edge_virtual_addr=o.edge_virtual_addr, repo=o.edge_image_repository, version=o.edge_version,
                material=material, site_label=o.site_label)
            values.check_plain(self._values)
            self.record().params.update({
                "masterPublicAddr": self._values["master_public_addr"], "edgeVersion": o.edge_version,
                "imageRepository": o.edge_image_repository, "edgeVirtualAddr": o.edge_virtual_addr,
                "siteLabel": o.site_label})
        return self._values

    def applier(self) -> Applier:
        if self._applier is None:
            self._applier = Applier(self.kube, self.record(), self.report, self.events)
        return self._applier

    def master_host(self) -> LocalHost:
        if self._master_host is None:
            journal = Journal.load(self.master_paths.state_dir)
            self.master_journal_existed = journal is not None
            if journal is None:
                journal = Journal(self.master_paths.state_dir)
            journal.dry_run = self.options.dry_run
            self._master_host = LocalHost(journal, self.events)
        return self._master_host

    @property
    def mutated(self) -> bool:
        return self._applier is not None and not self.options.dry_run


def _satisfies(ctx: AddonContext) -> AddonData:
    return ctx  # mypy proves AddonContext satisfies the AddonData Protocol


def phases() -> tuple[Phase[AddonData], ...]:
    d = deploy
    return (
        Phase("preflight", "Check the CA, the cluster and the address before any change", preflight.run,
              skippable=False),
        Phase("prepare", "Compute values, reuse existing certificates, render every template", d.prepare,
              skippable=False),
        Phase("namespace", "Create the edge namespace and the addon record", d.namespace, skippable=False),
        Phase("join-prerequisites", "Create cluster-info, bootstrap RBAC, kubeadm-config, kubelet config if missing",
              d.join_prerequisites),
        Phase("tunnel", "Deploy tunnel-cloud and tunnel-edge", d.tunnel),
        Phase("edge-health", "Deploy edge-health, its admission webhook and configuration", d.edge_health),
        Phase("service-group", "Install the grid CRDs, application-grid-controller and -wrapper", d.service_group),
        Phase("marginal-autonomy", "Edge kube-proxy copy, kube-proxy affinity split, kubernetes endpoints",
              autonomy.run),
        Phase("edge-info", "lite-apiserver configuration for joining edge nodes", d.edge_info,
              dependencies=("tunnel",)),
        Phase("egress", "Route this master's kube-apiserver to kubelets through tunnel-cloud (static pod manifest)",
              egress.run, dependencies=("tunnel",)),
        Phase("wait", "Wait for the edge workloads to roll out (--wait)", d.wait, run_if=lambda c: c.options.wait),
        Phase("finish", "Mark the record complete", d.finish, skippable=False),
    )


def validate(options: AddonOptions) -> None:
    """Checks of the options that need the phase tuple (--skip-phases); usage errors, before anything else."""
    Runner(phases(), frozenset(options.skip_phases)).validate()


def run(options: AddonOptions, events: ev.Events = ev.NULL) -> Report:
    """Run addon; on failure undo what this run recorded (unless --no-rollback) and re-raise."""
    runner: Runner[AddonData] = Runner(phases(), frozenset(options.skip_phases), events)
    runner.validate()
    k = kube_seam.connect(kubeconfig.resolve(options.kubeconfig), dry_run=options.dry_run)
    k.server_version()  # fail fast, with exit code 1, when the cluster cannot be reached
    ctx = AddonContext(options, k, events, Report(dry_run=options.dry_run))
    try:
        runner.run(ctx)
    except BaseException as exc:
        _rollback(ctx, exc)
        raise
    return ctx.report


def _rollback(ctx: AddonContext, exc: BaseException) -> None:
    if not ctx.mutated:
        return
    if ctx.options.no_rollback:
        ctx.events.emit(ev.Step("[rollback] skipped (--no-rollback); `edgeadm detach edge-apps` undoes this "
                                "partial addon"))
        return
    reason = str(exc) if isinstance(exc, EdgeadmError) else type(exc).__name__
    ctx.events.emit(ev.Step(f"[rollback] addon failed ({reason}); undoing its changes"))
    if ctx._master_host is not None and not ctx.master_journal_existed and ctx._master_host.journal.entries:
        # this run began configuring this master: put its manifest and files back first
        for left in undo(ctx._master_host.journal):
            ctx.events.emit(ev.Warn(f"rollback could not undo {left.what} on this master: {left.reason}"))
    try:
        undo_record(ctx.kube, Report(), only=ctx.record().keys() - ctx.record_keys_before)
        ctx.events.emit(ev.Step("[rollback] the cluster is back to its state before addon"))
    except EdgeadmError as undo_exc:
        ctx.events.emit(ev.Warn(f"rollback incomplete: {undo_exc}; run `edgeadm detach edge-apps` to finish it"))
