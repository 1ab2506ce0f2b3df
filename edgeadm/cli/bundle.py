"""`edgeadm bundle`: site bundles, to join the nodes of a site the cloud cannot reach (pull mode)."""

from __future__ import annotations

from pathlib import Path

import click

from edgeadm import console
from edgeadm.cli import GlobalOptions
from edgeadm.cli.common import csv_list, usage_errors
from edgeadm.constants import DEFAULT_SITE_LABEL

_out = click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
                    show_default=True)


@click.group()
def bundle() -> None:
    """Site bundles: join the nodes of a site the cloud cannot reach."""


@bundle.command("create")
@click.option("--site", required=True, help="The site's name (the value of the site label on its nodes).")
@click.option("--node", "nodes", multiple=True, metavar="NAME", help="A node of the site (repeat the option).")
@click.option("--release", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The release archive (`make release`) the site installs from.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write it (default: site-SITE.tgz).")
@click.option("--ttl", default="48h", show_default=True, help="The site's install window: the tokens' lifetime.")
@click.option("--enable-edge", type=click.BOOL, default=True, show_default=True)
@click.option("--node-labels", callback=csv_list, default="", metavar="KEY=VALUE,...")
@click.option("--site-label", default=DEFAULT_SITE_LABEL, show_default=True)
@click.pass_obj
def create(opts: GlobalOptions, site: str, nodes: tuple[str, ...], release: Path, out: Path | None, ttl: str,
           enable_edge: bool, node_labels: tuple[str, ...], site_label: str) -> None:
    """Write a site bundle: the release, the join configuration and a token per node (file mode 0600)."""
    from edgeadm.workflows import bundle as wf
    from edgeadm.workflows import token as token_wf

    with usage_errors():
        options = wf.BundleCreateOptions.parse(site=site, nodes=nodes, release=release,
                                               output=out or Path(f"site-{site}.tgz"), ttl=ttl,
                                               enable_edge=enable_edge, node_labels=node_labels,
                                               site_label=site_label)
    summary = wf.create(token_wf.connect(opts.kubeconfig), options)
    console.out(f"site bundle written: {summary['output']} ({len(summary['nodes'])} nodes, tokens expire "
                f"{summary['expires']})")
    console.out(f"at the site: tar -xzf {Path(summary['output']).name} && cd site-{site} && "
                "./edgeadm join --bundle bundle.json --node-name NODE")


@bundle.command("status")
@click.option("--site", required=True)
@click.option("--revoke", is_flag=True, help="Delete the site's remaining tokens (nodes not joined yet cannot).")
@_out
@click.pass_obj
def status(opts: GlobalOptions, site: str, revoke: bool, output: str) -> None:
    """Show which of a site bundle's nodes have registered; --revoke deletes its tokens."""
    from edgeadm.workflows import bundle as wf
    from edgeadm.workflows import token as token_wf

    kube = token_wf.connect(opts.kubeconfig)
    states = wf.status(kube, site)
    gone = wf.revoke(kube, site) if revoke else []
    if output != "text":
        console.out_data({"site": site, "nodes": [{"name": s.name, "tokenId": s.token_id, "expires": s.expires,
                                                   "registered": s.registered} for s in states],
                          "revoked": gone}, output)
        return
    rows = [("NODE", "REGISTERED", "TOKEN", "EXPIRES")] + [
        (s.name, "yes" if s.registered else "no", s.token_id, s.expires) for s in states]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        console.out("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if revoke:
        console.out(f"revoked {len(gone)} token(s) of site {site}")
