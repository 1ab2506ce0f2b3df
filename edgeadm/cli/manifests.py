"""`edgeadm manifests`: show or write the templates addon applies."""

from __future__ import annotations

from pathlib import Path

import click

from edgeadm import console
from edgeadm.cli import GlobalOptions
from edgeadm.cli.common import usage_errors


@click.command()
@click.option("-o", "--output-dir", type=click.Path(path_type=Path), default=None,
              help="Write one file per template here instead of printing them.")
@click.option("--templates", is_flag=True,
              help="Write the raw Jinja templates (a starting point for --manifest-dir) instead of rendering.")
@click.option("--offline", is_flag=True, help="Do not contact a cluster; use placeholders for cluster facts.")
@click.option("--manifest-dir", type=click.Path(path_type=Path), default=None, help="Override templates.")
@click.pass_obj
def manifests(opts: GlobalOptions, output_dir: Path | None, templates: bool, offline: bool,
              manifest_dir: Path | None) -> None:
    """Render every template with the values addon would use (placeholders for generated secrets)."""
    from edgeadm.options import parse_manifest_dir
    from edgeadm.workflows.manifests import texts

    with usage_errors():
        manifest_dir = parse_manifest_dir(manifest_dir)
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in texts(kubeconfig_flag=opts.kubeconfig, offline=offline, raw=templates,
                            manifest_dir=manifest_dir, events=opts.display):
        if output_dir is None:
            console.out(f"---\n# {name}\n{text.rstrip()}")
        else:
            (output_dir / name).write_text(text)
            opts.display.step(f"wrote {output_dir / name}")
