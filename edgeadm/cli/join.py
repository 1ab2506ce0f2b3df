"""`edgeadm join`: join this machine to the cluster as an edge node (or a plain node)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from edgeadm.cli import GlobalOptions, batch
from edgeadm.cli.common import PhasedCommand, csv_list, usage_errors
from edgeadm.errors import UsageError

# what a site bundle fixes for the join (flag values that may not be given with --bundle)
_FROM_BUNDLE = ("endpoint", "token", "discovery_token", "tls_bootstrap_token", "ca_hashes", "install_pkg_path",
                "install_pkg_sha256", "node_labels")
# flag values that are defaults, not choices (allowed with --inventory)
_DEFAULTS = {"enable_edge": True, "discovery_timeout": 60.0, "register_timeout": 180.0}
_FROM_BUNDLE_NAMES = ("HOST:PORT", "the tokens", "the CA pins", "the package", "the node's labels")


def _phases() -> Sequence[Any]:
    from edgeadm.workflows.join import phases

    return phases()


@click.command(cls=PhasedCommand, phases=_phases,
               epilog_note="Tokens may also come from $EDGEADM_TOKEN, $EDGEADM_DISCOVERY_TOKEN and "
                           "$EDGEADM_TLS_BOOTSTRAP_TOKEN, which keeps them out of the process list.")
@click.argument("endpoint", metavar="HOST:PORT", required=False)
@click.option("--bundle", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A site bundle's bundle.json (`edgeadm bundle create`): it gives HOST:PORT, the tokens, the CA "
                   "pins, the package and the node's labels; pick the node with --node-name.")
@click.option("--token", envvar="EDGEADM_TOKEN", default=None,
              help="Bootstrap token for discovery and TLS bootstrap (or $EDGEADM_TOKEN).")
@click.option("--discovery-token", envvar="EDGEADM_DISCOVERY_TOKEN", default=None,
              help="Token whose signature on cluster-info proves the CA (default: --token).")
@click.option("--tls-bootstrap-token", envvar="EDGEADM_TLS_BOOTSTRAP_TOKEN", default=None,
              help="Token the kubelet authenticates with until it has its certificate (default: --token).")
@click.option("--token-stdin", is_flag=True,
              help="Read the token(s) from standard input: one token, or lines token=, discovery-token=, "
                   "tls-bootstrap-token= (what a batch join over SSH sends).")
@click.option("--discovery-token-ca-cert-hash", "ca_hashes", multiple=True, metavar="sha256:HEX",
              help="Pin of the cluster CA (repeatable).")
@click.option("--discovery-token-unsafe-skip-ca-verification", "unsafe_skip_ca_verification", is_flag=True,
              help="Trust any CA that signed cluster-info for the token (not recommended).")
@click.option("--install-pkg-path", metavar="PATH|URL", help="The static install package (file or http(s) URL).")
@click.option("--install-pkg-sha256", metavar="HEX", help="Pin the package's sha256 (else <package>.sha256).")
@click.option("--enable-edge", type=click.BOOL, default=True, show_default=True,
              help="Join as an edge node (lite-apiserver, label superedge.io/edge-node=enable); false: plain node.")
@click.option("--node-name", default=None, help="Node name (default: this machine's hostname).")
@click.option("--node-labels", callback=csv_list, default="", metavar="KEY=VALUE,...",
              help="Labels the kubelet sets on its Node, e.g. topology.kubernetes.io/zone=site-a (the site).")
@click.option("--cri-socket", default=None, help="Use this existing runtime instead of installing containerd.")
@click.option("--kubelet-config-patch", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML merged into the kubelet configuration (e.g. cgroupRoot).")
@click.option("--allow-insecure-kubelet-config", is_flag=True,
              help="Accept a patch that weakens the kubelet's authentication or authorization (not recommended).")
@click.option("--ignore-preflight-errors", callback=csv_list, default="", metavar="NAMES")
@click.option("--skip-phases", callback=csv_list, default="", metavar="NAMES")
@click.option("--discovery-timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds to wait for cluster-info to be signed for the token.")
@click.option("--register-timeout", type=click.FloatRange(min=1), default=180.0, show_default=True)
@click.option("--dry-run", is_flag=True, help="Verify everything, change nothing; print what would change.")
@click.option("--no-rollback", is_flag=True, help="On failure keep what was done (`edgeadm reset` undoes it).")
@batch.options
@click.pass_obj
def join(opts: GlobalOptions, /, **flags: Any) -> None:
    """Join this machine to the cluster at HOST:PORT."""
    from edgeadm.workflows import join as wf

    with usage_errors():
        batch.given_with(flags, "join")
        if flags["inventory"] is not None:
            given = sorted(k for k, v in flags.items() if k not in batch.BATCH_FLAGS and v not in (
                None, (), False) and not (k in _DEFAULTS and v == _DEFAULTS[k]))
            if given:
                what = "HOST:PORT" if given[0] == "endpoint" else "--" + given[0].replace("_", "-")
                raise UsageError(f"--inventory gives each host's join settings; do not pass {what}",
                                 flag="--inventory")
    if flags["inventory"] is not None:
        batch.run(opts, "join", flags)
        return
    for k in batch.BATCH_FLAGS:
        flags.pop(k)
    with usage_errors():
        bundle_file = flags.pop("bundle")
        if bundle_file is not None:
            from edgeadm import bundle

            given = [f for f in _FROM_BUNDLE if flags.get(f) not in (None, (), False)]
            if given or flags["token_stdin"]:
                raise UsageError(f"--bundle gives {', '.join(_FROM_BUNDLE_NAMES)}; do not pass them too",
                                 flag="--bundle")
            from edgeadm.options import parse_node_name

            b = bundle.load(bundle_file)
            flags.update(b.join_flags(parse_node_name(flags["node_name"]), bundle_file.resolve().parent))
        elif not flags["endpoint"]:
            raise UsageError("HOST:PORT is required (or --bundle FILE)")
        if flags.pop("token_stdin"):
            import sys

            from edgeadm.options import parse_token_lines

            flags.update(parse_token_lines(sys.stdin.read(4096)))
        options = wf.JoinOptions.parse(**flags)
        wf.validate(options)
    wf.run(options, opts.display)
