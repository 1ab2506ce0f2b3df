"""`reset`: replay the join journal backwards; the registered Node is deleted with the node's own credentials."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from edgeadm import events as ev
from edgeadm.errors import EdgeadmError
from edgeadm.host import HostError, Journal, undo
from edgeadm.host.journal import Entry, NodeRegistered
from edgeadm.host.local import run as run_program
from edgeadm.node.api import NodeAPI
from edgeadm.node.paths import NODE, NodePaths
from edgeadm.options import ResetOptions

__all__ = ["ResetOptions", "run"]


def _node_deleter(journal: Journal, paths: NodePaths) -> Callable[[NodeRegistered], None]:
    def delete(entry: NodeRegistered) -> None:
        pem, ca = paths.kubelet_client_pem, paths.ca_crt
        # Stop the kubelet first (its unit's own undo comes later, the journal being undone newest first): a kubelet
        # still registering would create the Node again right after it is deleted, and one still in its TLS
        # bootstrap could get credentials after we looked for them.
        run_program(["systemctl", "stop", "kubelet.service"], check=False, timeout=90)
        if not pem.exists():
            return  # killed before the kubelet's TLS bootstrap: it never had node credentials, so it registered no Node
        if not ca.exists():
            raise HostError("no node credentials left to delete the Node; delete it from the control plane")
        NodeAPI(str(journal.meta.get("endpoint", "")), ca.read_bytes(), pem).delete_node(entry.name)

    return delete


def _needed_for_node(paths: NodePaths) -> Callable[[Entry], bool]:
    """Entries holding what deleting the Node needs: the kubelet's client certificate and the cluster CA (the
    files, and the directories join created on the way to them)."""
    needed = (paths.kubelet_client_pem, paths.ca_crt)

    def check(entry: Entry) -> bool:
        where = getattr(entry, "path", None)
        if where is None:
            return False
        p = Path(where)
        return any(p == n or p in n.parents for n in needed)

    return check


def run(options: ResetOptions, events: ev.Events, *, confirm: Callable[[int], bool],
        paths: NodePaths = NODE) -> bool:
    """Undo join on this machine. Returns False when there is no journal (nothing to do).

    `confirm(n)` is asked before anything happens, with the number of recorded changes; False aborts.
    """
    if paths.staging.exists():  # a join killed while it fetched or unpacked the package (before its journal)
        shutil.rmtree(paths.staging, ignore_errors=True)
        events.emit(ev.Step(f"[reset] removed the install package a stopped join left in {paths.staging}"))
    journal = Journal.load(paths.state_dir)
    if journal is None:
        events.emit(ev.Step("Nothing to reset: this machine has no edgeadm join journal"))
        return False
    if not options.force and not confirm(len(journal.entries)):
        return False
    left = undo(journal, node=_node_deleter(journal, paths) if options.delete_node else None,
                needed_for_node=_needed_for_node(paths))
    if left:
        for item in left:
            events.emit(ev.Warn(f"could not undo: {item}"))
        if any(item.what.startswith("node ") for item in left):
            events.emit(ev.Warn("kept the node's credentials and the cluster CA so that `edgeadm reset` can delete "
                                "the Node once the API server answers (or reset with --keep-node)"))
        raise EdgeadmError(f"reset left {len(left)} change(s) behind (listed above)",
                           hint="fix the cause and run `edgeadm reset` again; the journal keeps what is left")
    events.emit(ev.Step("[reset] this machine is back to its state before `edgeadm join`"))
    return True
