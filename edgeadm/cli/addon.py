"""`edgeadm addon edge-apps`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from edgeadm.cli import GlobalOptions
from edgeadm.cli.common import PhasedCommand, csv_list, output_option, show_report, usage_errors
from edgeadm.constants import DEFAULT_EDGE_VERSION, DEFAULT_IMAGE_REPOSITORY, DEFAULT_SITE_LABEL, EDGE_VIRTUAL_ADDR


def _phases() -> Sequence[Any]:
    from edgeadm.workflows.addon import phases

    return phases()


@click.group()
def addon() -> None:
    """Add capabilities to an existing cluster."""


@addon.command("edge-apps", cls=PhasedCommand, phases=_phases)
@click.option("--ca.cert", "ca_cert", type=click.Path(path_type=Path), default="/etc/kubernetes/pki/ca.crt",
              show_default=True, help="Cluster CA certificate.")
@click.option("--ca.key", "ca_key", type=click.Path(path_type=Path), default="/etc/kubernetes/pki/ca.key",
              show_default=True, help="Cluster CA private key.")
@click.option("--master-public-addr", default=None, metavar="HOST[:PORT]",
              help="HOST[:PORT] edge nodes use to reach kube-apiserver. Default: first control-plane node's "
                   "InternalIP and the API server's port.")
@click.option("--edge-version", default=DEFAULT_EDGE_VERSION, show_default=True, help="SuperEdge image tag.")
@click.option("--edge-image-repository", default=DEFAULT_IMAGE_REPOSITORY, show_default=True)
@click.option("--edge-virtual-addr", default=EDGE_VIRTUAL_ADDR, show_default=True,
              help="Address lite-apiserver listens on, on every edge node.")
@click.option("--site-label", default=DEFAULT_SITE_LABEL, show_default=True, metavar="KEY",
              help="Node label whose value names a node's site: edge-health checks only the edge nodes of its own "
                   "site (nodes without the label form one site).")
@click.option("--manifest-dir", type=click.Path(path_type=Path), default=None,
              help="Directory of templates overriding ours by file name (see `edgeadm manifests`).")
@click.option("--allow-foreign-objects", is_flag=True,
              help="Apply objects an override adds outside what its template is for (other kinds or namespaces, "
                   "powerful RBAC); they are listed first.")
@click.option("--ignore-preflight-errors", callback=csv_list, default="", metavar="NAMES",
              help="Checks to downgrade to warnings (comma-separated, or `all`).")
@click.option("--skip-phases", callback=csv_list, default="", metavar="NAMES", help="Phases to skip.")
@click.option("--dry-run", is_flag=True, help="Change nothing; print what would be created or changed.")
@click.option("--wait/--no-wait", default=False, show_default=True, help="Wait for the workloads to roll out.")
@click.option("--timeout", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds to wait with --wait.")
@click.option("--no-rollback", is_flag=True, help="On failure keep what was done (detach undoes it later).")
@output_option
@click.pass_obj
def edge_apps(opts: GlobalOptions, /, output: str, **flags: Any) -> None:
    """Deploy SuperEdge's edge components and adapt the cluster for edge autonomy."""
    from edgeadm.workflows import addon as wf

    with usage_errors():
        options = wf.AddonOptions.parse(kubeconfig=opts.kubeconfig, **flags)
        wf.validate(options)
    report = wf.run(options, opts.display)
    show_report(report, output, title="addon edge-apps")
