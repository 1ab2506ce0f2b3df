"""`join`: options -> context -> ordered phases; rollback on failure; the done message.

`JoinContext` satisfies `edgeadm.phases.join.data.JoinData` (mypy checks it below): the cluster facts, the
unpacked package and the journaled host are computed on first use and cached.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from edgeadm import events as ev
from edgeadm import package as pkg
from edgeadm import redact
from edgeadm.checks import ignored
from edgeadm.errors import EdgeadmError
from edgeadm.host import Journal, LocalHost, undo
from edgeadm.node.cluster import JoinCluster, read_cluster
from edgeadm.node.paths import CONTAINERD_SOCK, NODE, NodePaths
from edgeadm.options import JoinOptions
from edgeadm.phases.join import discovery, edge, images, install, kubelet, package, preflight, runtime
from edgeadm.phases.join.data import JoinData
from edgeadm.workflow import Phase, Runner

__all__ = ["JoinContext", "JoinOptions", "phases", "run", "validate"]


@dataclass
class JoinContext:
    options: JoinOptions
    events: ev.Events = ev.NULL
    paths: NodePaths = NODE
    _cluster: JoinCluster | None = field(default=None, init=False, repr=False)
    _package: pkg.Package | None = field(default=None, init=False, repr=False)
    _host: LocalHost | None = field(default=None, init=False, repr=False)
    staging: Path | None = field(default=None, init=False)

    @property
    def cri_socket(self) -> str:
        return self.options.cri_socket or f"unix://{CONTAINERD_SOCK}"

    def cluster(self) -> JoinCluster:
        if self._cluster is None:
            self._cluster = read_cluster(self.options, self.events)
        return self._cluster

    def package(self) -> pkg.Package:
        if self._package is None:
            o = self.options
            self.staging = self.paths.staging
            shutil.rmtree(self.staging, ignore_errors=True)  # left by a killed join
            self.staging.mkdir(mode=0o700, parents=True)
            local, expected = pkg.locate(o.install_pkg_path, self.staging, pinned_sha256=o.install_pkg_sha256,
                                         events=self.events)
            # one pass: the archive's checksum, each entry and each file are checked as it is unpacked; a package
            # for another architecture is refused at its manifest, before any file (unless that check is ignored)
            arch = None if ignored("PackageArchitecture", o.ignore_preflight_errors) else pkg.machine_arch()
            self._package = pkg.unpack(local, self.staging / "unpacked", expected_sha256=expected, arch=arch,
                                       events=self.events)
            self.events.emit(ev.Step(f"[package] {redact.url(o.install_pkg_path)}: checksum verified"))
            if local.parent == self.staging:
                local.unlink()
            self.events.emit(ev.Step(f"[package] unpacked kubelet {self._package.kubernetes_version} for "
                                     f"{self._package.arch}"))
        return self._package

    def host(self) -> LocalHost:
        if self._host is None:
            journal = Journal(self.paths.state_dir, dry_run=self.options.dry_run)
            self._host = LocalHost(journal, self.events)
            journal.meta.update({"node": self.options.node_name, "endpoint": self.options.endpoint,
                                 "edge": self.options.enable_edge})
        return self._host

    @property
    def host_changed(self) -> bool:
        return self._host is not None and not self.options.dry_run and bool(self._host.journal.entries)

    def cleanup(self) -> None:
        """Remove the staging directory of the package (it holds ~100 MB); close discovery's connections."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        if self._cluster is not None:
            self._cluster.discovered.close()


def _satisfies(ctx: JoinContext) -> JoinData:
    return ctx  # mypy proves JoinContext satisfies the JoinData Protocol


def phases() -> tuple[Phase[JoinData], ...]:
    return (
        Phase("discovery", "Verify the cluster: signed cluster-info, pinned CA, token", discovery.run,
              skippable=False),
        Phase("package", "Fetch, verify and unpack the static install package", package.run, skippable=False),
        Phase("preflight", "Check this machine, the package and the cluster before any change", preflight.run,
              dependencies=("discovery", "package")),
        Phase("install", "Install kubelet, CNI plugins, runtime binaries and kernel settings", install.run,
              dependencies=("package",)),
        Phase("runtime", "Configure and start containerd (skipped with --cri-socket)", runtime.run,
              run_if=lambda d: d.options.cri_socket is None, dependencies=("install",)),
        Phase("images", "Import the package's images into the runtime", images.run, dependencies=("install",)),
        Phase("kubelet-config", "Write the kubelet configuration, bootstrap kubeconfig and unit",
              kubelet.kubelet_config),
        Phase("edge", "lite-apiserver on this node (with --enable-edge)", edge.run,
              run_if=lambda d: d.options.enable_edge, dependencies=("install",)),
        Phase("kubelet-start", "Start the kubelet, TLS-bootstrap and wait for the Node", kubelet.kubelet_start,
              dependencies=("install", "kubelet-config")),
    )


def validate(options: JoinOptions) -> None:
    """Checks of the options that need the phase tuple (--skip-phases); usage errors, before anything else."""
    Runner(phases(), frozenset(options.skip_phases)).validate()


def run(options: JoinOptions, events: ev.Events = ev.NULL) -> JoinContext:
    """Join this machine; on failure undo what this run did (unless --no-rollback) and re-raise."""
    runner: Runner[JoinData] = Runner(phases(), frozenset(options.skip_phases), events)
    runner.validate()
    ctx = JoinContext(options, events)
    try:
        runner.run(ctx)
    except BaseException as exc:
        _rollback(ctx, exc)
        raise
    finally:
        ctx.cleanup()
    if options.dry_run:
        events.emit(ev.Step("[dry-run] every check passed; join would make the changes above (nothing was changed)"))
        return ctx
    for line in ("", "This node has joined the cluster:",
                 "* Certificate signing request was sent to apiserver and a response was received.",
                 "* The Kubelet was informed of the new secure connection details.", "",
                 "Run 'kubectl get nodes' on the control-plane to see this node join the cluster."):
        events.emit(ev.Step(line))
    return ctx


def _rollback(ctx: JoinContext, exc: BaseException) -> None:
    if not ctx.host_changed:
        return
    if ctx.options.no_rollback:
        ctx.events.emit(ev.Step("[rollback] skipped (--no-rollback); `edgeadm reset` undoes this partial join"))
        return
    reason = str(exc) if isinstance(exc, EdgeadmError) else type(exc).__name__
    ctx.events.emit(ev.Step(f"[rollback] join failed ({reason}); undoing its changes"))
    left = undo(ctx.host().journal)
    if left:
        ctx.events.emit(ev.Warn("rollback could not undo: " + "; ".join(map(str, left)) + " (run `edgeadm reset`)"))
    else:
        ctx.events.emit(ev.Step("[rollback] this machine is back to its state before join"))
