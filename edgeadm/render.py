"""Cluster templates: sandboxed Jinja (StrictUndefined) -> parsed Kubernetes objects.

Our templates come from `edgeadm.resources` (the one loader); a same-named file in an override directory wins.
Rendering is pure: no I/O beyond reading templates.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from edgeadm import resources
from edgeadm.errors import ConfigError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster; same safe semantics
_ENV: Any = None
_COMPILED: dict[str, Any] = {}


def template_names() -> list[str]:
    return resources.cluster_templates()


def _location(name: str, override_dir: Path | None) -> tuple[str, str]:
    """(where, text) of the template `name`: the override when there is one, else ours."""
    if override_dir is not None:
        candidate = override_dir / name
        if candidate.is_file():
            return str(candidate), candidate.read_text()
    ours = resources.template(name)
    return str(ours), ours.read_text()


def template_source(name: str, override_dir: Path | None = None) -> str:
    """The raw template text (what `edgeadm manifests --templates` writes)."""
    return _location(name, override_dir)[1]


def _b64(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return base64.b64encode(data).decode()


def _indent_block(value: str, width: int) -> str:
    pad = " " * width
    return "\n".join(pad + line if line else line for line in str(value).splitlines())


def _environment() -> Any:
    global _ENV
    if _ENV is not None:
        return _ENV
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # Sandboxed: a template (ours, or an override from --manifest-dir) can read the values it is given but cannot
    # reach Python internals (`__class__`, `__subclasses__`, ...) or call methods that mutate them.
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False, trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["b64"] = _b64
    env.filters["block"] = _indent_block
    _ENV = env
    return env


def _compiled(text: str) -> Any:
    if text not in _COMPILED:
        _COMPILED[text] = _environment().from_string(text)
    return _COMPILED[text]


def _render_text(name: str, values: Mapping[str, Any], override_dir: Path | None) -> tuple[str, str]:
    import jinja2

    where, source = _location(name, override_dir)
    try:
        return where, str(_compiled(source).render(**values))
    except jinja2.TemplateError as exc:
        lineno = getattr(exc, "lineno", None)
        line = f" line {lineno}" if lineno else ""
        raise ConfigError(f"template `{where}`{line} does not render: {exc}",
                          hint="fix or remove the override in --manifest-dir") from exc


def render_text(name: str, values: Mapping[str, Any], *, override_dir: Path | None = None) -> str:
    """Render one template to YAML text; any template error is a ConfigError naming the file."""
    return _render_text(name, values, override_dir)[1]


def render(name: str, values: Mapping[str, Any], *, override_dir: Path | None = None) -> list[dict[str, Any]]:
    """Render one template and parse it into objects (empty documents dropped)."""
    where, text = _render_text(name, values, override_dir)
    try:
        docs = [d for d in yaml.load_all(text, Loader=_LOADER) if d]
    except yaml.YAMLError as exc:
        raise ConfigError(f"template `{where}` renders invalid YAML: {str(exc).splitlines()[0]}",
                          hint="fix or remove the override in --manifest-dir") from exc
    for doc in docs:
        if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= doc.keys():
            raise ConfigError(f"template `{where}` renders something that is not a Kubernetes object",
                              hint="every document needs apiVersion, kind and metadata")
    return docs
