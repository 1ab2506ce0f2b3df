"""`detach edge-apps`: guard against edge nodes and grids, then undo addon's record."""

from __future__ import annotations

from edgeadm import events as ev
from edgeadm import kube, master
from edgeadm.errors import EdgeadmError
from edgeadm.host import Journal, undo
from edgeadm.kube import kubeconfig
from edgeadm.kube.types import KubeAPI
from edgeadm.master import MasterPaths
from edgeadm.options import DetachOptions
from edgeadm.phases.addon.egress import wait_for_apiserver
from edgeadm.record_undo import blockers, undo_record
from edgeadm.report import Report

__all__ = ["DetachOptions", "run"]


def _restore_master(k: KubeAPI, options: DetachOptions, events: ev.Events, paths: MasterPaths | None = None) -> bool:
    """Undo addon's egress changes on this master (its kube-apiserver manifest and files), first, so the API
    server no longer depends on tunnel-cloud when that goes. Returns whether there was anything to undo."""
    paths = paths or MasterPaths()
    journal = Journal.load(paths.state_dir)
    if journal is None or not journal.entries:
        return False
    if options.dry_run:
        events.emit(ev.Step(f"[dry-run] would restore {paths.manifest} and remove edgeadm's egress files"))
        return True
    events.emit(ev.Step("Restoring this master's kube-apiserver manifest"))
    left = undo(journal)
    if left:
        raise EdgeadmError(f"could not restore this master: {left[0].what}: {left[0].reason}",
                           hint=f"the journal in {paths.state_dir} is kept; fix the cause and run detach again")
    if paths.manifest.is_file():
        wait_for_apiserver(k, master.read_manifest(paths), timeout=options.timeout)
    return True


def run(options: DetachOptions, events: ev.Events) -> Report:
    k = kube.connect(kubeconfig.resolve(options.kubeconfig), dry_run=options.dry_run)
    report = Report(dry_run=options.dry_run)
    found = blockers(k)
    if found and not options.force:
        raise EdgeadmError(f"cannot detach edge apps: {found[0]}",
                           hint="reset or relabel the edge nodes first, or pass --force")
    for b in found:
        events.emit(ev.Warn(f"{b} (continuing: --force)"))
    restored_master = _restore_master(k, options, events)
    if not undo_record(k, report):
        if not restored_master:
            events.emit(ev.Step("No edge apps found in this cluster; nothing to do"))
    else:
        events.emit(ev.Step("Detach edge-apps success" if not options.dry_run else "Detach edge-apps (dry run)"))
    return report
