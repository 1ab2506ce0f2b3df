"""`edgeadm reset`: undo `edgeadm join` on this machine, from its journal."""

from __future__ import annotations

import sys

import click

from edgeadm import console
from edgeadm.cli import GlobalOptions


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("--delete-node/--keep-node", default=True, show_default=True,
              help="Delete this machine's Node from the cluster (with the node's own credentials).")
@click.pass_obj
def reset(opts: GlobalOptions, force: bool, delete_node: bool) -> None:
    """Revert every change join made to this machine; continues past failures and lists what it could not undo."""
    from edgeadm import host
    from edgeadm.errors import EdgeadmError

    journal = host.Journal.load()
    if journal is None:
        console.step("Nothing to reset: this machine has no edgeadm join journal")
        return
    if not force and sys.stdin.isatty():
        click.confirm(f"Reset will undo {len(journal.entries)} change(s) made by `edgeadm join`. Proceed?",
                      abort=True, err=True)
    problems = host.undo(journal, delete_node=delete_node)
    if problems:
        for p in problems:
            console.warn(f"could not undo: {p}")
        raise EdgeadmError(f"reset left {len(problems)} change(s) behind (listed above)",
                           hint="fix the cause and run `edgeadm reset` again; the journal keeps what is left")
    console.step("[reset] this machine is back to its state before `edgeadm join`")
