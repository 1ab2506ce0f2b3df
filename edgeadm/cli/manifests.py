"""`edgeadm manifests`: show or write the templates addon applies."""

from __future__ import annotations

from pathlib import Path

import click

from edgeadm import console
from edgeadm.cli import GlobalOptions


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
    from edgeadm import render
    from edgeadm.errors import EdgeadmError
    from edgeadm.phases.edgeapps import placeholder_values

    kube_client = None
    if not offline and not templates:
        from edgeadm import kube, kubeconfig

        try:
            kube_client = kube.connect(kubeconfig.resolve(opts.kubeconfig))
            kube_client.server_version()
        except EdgeadmError as exc:
            if opts.kubeconfig:
                raise
            console.warn(f"no cluster ({exc}); rendering with placeholders")
            kube_client = None
    values = placeholder_values(kube_client)
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
    for name in render.template_names():
        if templates:
            text = render.template_path(name, manifest_dir).read_text()
        else:
            render.render(name, values, override_dir=manifest_dir)  # validates
            text = render.render_text(name, values, override_dir=manifest_dir)
        if output_dir is None:
            console.out(f"---\n# {name}\n{text.rstrip()}")
        else:
            (output_dir / name).write_text(text)
            console.step(f"wrote {output_dir / name}")
