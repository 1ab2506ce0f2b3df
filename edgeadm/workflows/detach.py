"""`detach edge-apps`: guard against edge nodes and grids, then undo addon's record."""

from __future__ import annotations

from edgeadm import events as ev
from edgeadm import kube
from edgeadm.errors import EdgeadmError
from edgeadm.kube import kubeconfig
from edgeadm.options import DetachOptions
from edgeadm.record_undo import blockers, undo_record
from edgeadm.report import Report

__all__ = ["DetachOptions", "run"]


def run(options: DetachOptions, events: ev.Events) -> Report:
    k = kube.connect(kubeconfig.resolve(options.kubeconfig), dry_run=options.dry_run)
    report = Report(dry_run=options.dry_run)
    found = blockers(k)
    if found and not options.force:
        raise EdgeadmError(f"cannot detach edge apps: {found[0]}",
                           hint="reset or relabel the edge nodes first, or pass --force")
    for b in found:
        events.emit(ev.Warn(f"{b} (continuing: --force)"))
    if not undo_record(k, report):
        events.emit(ev.Step("No edge apps found in this cluster; nothing to do"))
    else:
        events.emit(ev.Step("Detach edge-apps success" if not options.dry_run else "Detach edge-apps (dry run)"))
    return report
