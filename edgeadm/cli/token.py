"""`edgeadm token`: create, list, delete and generate bootstrap tokens (kubeadm-compatible)."""

from __future__ import annotations

import click

from edgeadm import console
from edgeadm.cli import GlobalOptions
from edgeadm.cli.common import csv_list, usage_errors

_out = click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
                    show_default=True)


@click.group()
def token() -> None:
    """Manage bootstrap tokens for joining nodes."""


@token.command("create")
@click.argument("value", required=False, metavar="[TOKEN]")
@click.option("--ttl", default="24h0m0s", show_default=True, help="Lifetime; 0 means it never expires.")
@click.option("--usages", default="signing,authentication", show_default=True, callback=csv_list)
@click.option("--groups", default="system:bootstrappers:kubeadm:default-node-token", show_default=True,
              callback=csv_list)
@click.option("--description", default="", help="Human-readable note stored with the token.")
@click.option("--print-join-command", is_flag=True, help="Print the full `edgeadm join` command line.")
@_out
@click.pass_obj
def create(opts: GlobalOptions, value: str | None, ttl: str, usages: tuple[str, ...], groups: tuple[str, ...],
           description: str, print_join_command: bool, output: str) -> None:
    """Create a bootstrap token (random unless TOKEN is given); prints the token or the join command."""
    from edgeadm.workflows import token as wf

    with usage_errors():
        options = wf.TokenCreateOptions.parse(value=value, ttl=ttl, usages=usages, groups=groups,
                                              description=description, print_join_command=print_join_command)
    info = wf.create_token(wf.connect(opts.kubeconfig), options)
    if output != "text":
        console.out_data(info or wf.as_dict(options.token), output)
    elif info:
        console.out(info["joinCommand"])
    else:
        console.out(options.token.value)


@token.command("list")
@_out
@click.pass_obj
def list_(opts: GlobalOptions, output: str) -> None:
    """List bootstrap tokens."""
    from edgeadm.workflows import token as wf

    items = wf.list_tokens(wf.connect(opts.kubeconfig))
    if output != "text":
        console.out_data([wf.as_dict(t) for t in items], output)
        return
    for line in wf.table(items):
        console.out(line)


@token.command("delete")
@click.argument("ids", nargs=-1, required=True, metavar="TOKEN_ID...")
@click.pass_obj
def delete(opts: GlobalOptions, ids: tuple[str, ...]) -> None:
    """Delete bootstrap tokens by id (or full token)."""
    from edgeadm.workflows import token as wf

    with usage_errors():
        token_ids = wf.parse_token_ids(ids)
    for tid in wf.delete_tokens(wf.connect(opts.kubeconfig), token_ids):
        console.out(f'bootstrap token "{tid}" deleted')


@token.command("generate")
def generate() -> None:
    """Print a random token without creating it."""
    from edgeadm.workflows import token as wf

    console.out(wf.generate())
