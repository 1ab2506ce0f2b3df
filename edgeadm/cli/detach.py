"""`edgeadm detach edge-apps`."""

from __future__ import annotations

from pathlib import Path

import click

from edgeadm.cli import GlobalOptions
from edgeadm.cli.common import output_option, show_report


@click.group()
def detach() -> None:
    """Remove capabilities added with `edgeadm addon`."""


@detach.command("edge-apps")
@click.option("--ca.cert", "ca_cert", type=click.Path(path_type=Path), default=None, hidden=True,
              help="Accepted for compatibility; detach needs no CA.")
@click.option("--ca.key", "ca_key", type=click.Path(path_type=Path), default=None, hidden=True)
@click.option("--master-public-addr", default=None, hidden=True)
@click.option("--force", is_flag=True, help="Detach even while edge nodes or grid objects exist.")
@click.option("--dry-run", is_flag=True, help="Change nothing; print what would be removed or restored.")
@output_option
@click.pass_obj
def edge_apps(opts: GlobalOptions, /, force: bool, dry_run: bool, output: str, **_compat: object) -> None:
    """Remove the edge components and restore what addon changed, from addon's record in the cluster."""
    from edgeadm.workflows import detach as wf

    report = wf.run(wf.DetachOptions(kubeconfig=opts.kubeconfig, force=force, dry_run=dry_run), opts.display)
    show_report(report, output, title="detach edge-apps", verbs=("deleted", "restored"))
