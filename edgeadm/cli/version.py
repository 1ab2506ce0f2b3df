"""`edgeadm version`: this build's version and, when a cluster answers, the server's."""

from __future__ import annotations

import click

from edgeadm.cli import GlobalOptions


@click.command()
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.option("--client", is_flag=True, help="Only the client version; do not contact a cluster.")
@click.pass_obj
def version(opts: GlobalOptions, output: str, client: bool) -> None:
    """Print the edgeadm version and the cluster's version when reachable."""
    from edgeadm.workflows.version import collect, show

    show(collect(opts.kubeconfig, client_only=client), output)
