"""`edgeadm reset`: undo `edgeadm join` on this machine, from its journal."""

from __future__ import annotations

import sys

import click

from edgeadm.cli import GlobalOptions


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("--delete-node/--keep-node", default=True, show_default=True,
              help="Delete this machine's Node from the cluster (with the node's own credentials).")
@click.pass_obj
def reset(opts: GlobalOptions, force: bool, delete_node: bool) -> None:
    """Revert every change join made to this machine; continues past failures and lists what it could not undo."""
    from edgeadm.workflows import reset as wf

    def confirm(changes: int) -> bool:
        if sys.stdin.isatty():
            click.confirm(f"Reset will undo {changes} change(s) made by `edgeadm join`. Proceed?", abort=True,
                          err=True)
        return True

    wf.run(wf.ResetOptions(force=force, delete_node=delete_node), opts.display, confirm=confirm)
