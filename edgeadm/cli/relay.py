"""`edgeadm relay-serve` (hidden): what a batch runs on the first host of a site, see edgeadm.relay."""

from __future__ import annotations

from pathlib import Path

import click

from edgeadm import console


@click.command("relay-serve", hidden=True)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--port-file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--receivers", type=click.IntRange(min=1), required=True)
@click.option("--idle", type=click.FloatRange(min=1), default=600.0)
def relay_serve(path: Path, port_file: Path, receivers: int, idle: float) -> None:
    """Serve a file to the other hosts of a site (used by `join --inventory`)."""
    from edgeadm import relay

    console.out(f"sent {relay.serve(path, port_file=port_file, receivers=receivers, idle=idle)}")
