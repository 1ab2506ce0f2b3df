"""`edgeadm status`: the edge components and, per site and node, Ready, tunnel, lite-apiserver and edge-health."""

from __future__ import annotations

import click

from edgeadm import console
from edgeadm.cli import GlobalOptions
from edgeadm.cli.common import usage_errors
from edgeadm.status import DEFAULT_SITE_LABEL


@click.command()
@click.option("--site-label", default=DEFAULT_SITE_LABEL, show_default=True, metavar="KEY",
              help="Node label whose value names a node's site.")
@click.option("--site", default=None, metavar="NAME",
              help="Only this site: the nodes whose site label has this value (components are shown as usual).")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.pass_obj
def status(opts: GlobalOptions, site_label: str, site: str | None, output: str) -> None:
    """Show the edge components and each site's and node's state (read-only)."""
    from edgeadm.workflows import status as wf

    with usage_errors():
        options = wf.StatusOptions.parse(site_label=site_label, site=site)
    result = wf.collect(opts.kubeconfig, options)
    if output != "text":
        console.out_data(result.as_dict(), output)
        return
    for line in wf.status.table(result):
        console.out(line)
