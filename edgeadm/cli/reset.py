"""`edgeadm reset`: undo `edgeadm join` on this machine, from its journal."""

from __future__ import annotations

import sys
from typing import Any

import click

from edgeadm.cli import GlobalOptions, batch
from edgeadm.cli.common import usage_errors
from edgeadm.errors import UsageError


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("--delete-node/--keep-node", default=True, show_default=True,
              help="Delete this machine's Node from the cluster (with the node's own credentials).")
@batch.options
@click.pass_obj
def reset(opts: GlobalOptions, /, force: bool, delete_node: bool, **flags: Any) -> None:
    """Revert every change join made to this machine; continues past failures and lists what it could not undo."""
    with usage_errors():
        batch.given_with(flags, "reset")
        if flags["inventory"] is not None and not delete_node:
            raise UsageError("--inventory always deletes the Nodes of the hosts it resets", flag="--keep-node")
    if flags["inventory"] is not None:
        if not force and sys.stdin.isatty():
            click.confirm(f"Reset every host of {flags['inventory']}?", abort=True, err=True)
        batch.run(opts, "reset", flags)
        return
    from edgeadm.workflows import reset as wf

    def confirm(changes: int) -> bool:
        if sys.stdin.isatty():
            click.confirm(f"Reset will undo {changes} change(s) made by `edgeadm join`. Proceed?", abort=True,
                          err=True)
        return True

    wf.run(wf.ResetOptions(force=force, delete_node=delete_node), opts.display, confirm=confirm)
