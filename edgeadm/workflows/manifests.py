"""`manifests`: the templates addon applies, rendered with cluster facts when a cluster answers (placeholders for
generated secrets), or raw."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from edgeadm import events as ev
from edgeadm import kube as kube_seam
from edgeadm import render, values
from edgeadm.errors import EdgeadmError
from edgeadm.kube import kubeconfig
from edgeadm.kube.types import KubeAPI


def _cluster(kubeconfig_flag: str | None, events: ev.Events) -> KubeAPI | None:
    try:
        k = kube_seam.connect(kubeconfig.resolve(kubeconfig_flag))
        k.server_version()
        return k
    except EdgeadmError as exc:
        if kubeconfig_flag:
            raise
        events.emit(ev.Warn(f"no cluster ({exc}); rendering with placeholders"))
        return None


def texts(*, kubeconfig_flag: str | None, offline: bool, raw: bool, manifest_dir: Path | None,
          events: ev.Events) -> Iterator[tuple[str, str]]:
    """(template name, text) for every template, in name order."""
    k = None if offline or raw else _cluster(kubeconfig_flag, events)
    vals = values.placeholders(k)
    for name in render.template_names():
        if raw:
            yield name, render.template_source(name, manifest_dir)
        else:
            render.render(name, vals, override_dir=manifest_dir)  # validates
            yield name, render.render_text(name, vals, override_dir=manifest_dir)
