"""`edgeadm version`: this build's version and, when a cluster answers, the server's."""

from __future__ import annotations

import click

from edgeadm import console
from edgeadm.cli import GlobalOptions


@click.command()
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.option("--client", is_flag=True, help="Only the client version; do not contact a cluster.")
@click.pass_obj
def version(opts: GlobalOptions, output: str, client: bool) -> None:
    """Print the edgeadm version and the cluster's version when reachable."""
    from edgeadm.workflows.version import collect

    data = collect(opts.kubeconfig, opts.display, client_only=client)
    if output != "text":
        console.out_data(data, output)
        return
    console.out(f"edgeadm version: {data['clientVersion']['edgeadmVersion']}")
    server = data.get("serverVersion")
    if server:
        console.out(f"Server version: {server.get('gitVersion')}")
