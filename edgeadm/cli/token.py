"""`edgeadm token` (not built yet)."""

from __future__ import annotations

import click

from edgeadm.cli._pending import refuse


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def token(args: tuple[str, ...]) -> None:
    """Not available yet in this version (refuses with exit code 1)."""
    refuse("token")
