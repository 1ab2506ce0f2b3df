"""The one template loader: finds edgeadm's templates the packaged way, and fills the node-side ones.

Templates live in `manifests/` (cluster objects, Jinja, rendered by `edgeadm.render`) and `manifests/node/`
(systemd units and the containerd config). They are found with `importlib.resources`, so a wheel, a zipapp and a
frozen executable all work; in a source checkout or an editable install (where hatchling's force-include does not
reach the source tree) the repository's `manifests/` beside the package is used.

Node-side templates use `{{ name }}` placeholders filled by plain substitution, not Jinja: the join path runs on
edge machines and stays free of jinja2 (an import contract), and a placeholder can never run code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from edgeadm.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{\{ ([a-z_]+) \}\}")


def manifests() -> Traversable:
    """The directory of edgeadm's own templates (packaged copy first, then the source tree)."""
    packaged = resources.files("edgeadm") / "manifests"
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parent.parent / "manifests"
    if source.is_dir():
        return source
    raise ConfigError("edgeadm's templates are missing from this installation", hint="reinstall edgeadm")


def cluster_templates() -> list[str]:
    """Names of the cluster templates (`*.yaml` at the top of manifests/)."""
    return sorted(t.name for t in manifests().iterdir() if t.name.endswith(".yaml") and t.is_file())


def template(name: str) -> Traversable:
    found = manifests().joinpath(*name.split("/"))
    if not found.is_file():
        raise ConfigError(f"template `{name}` not found", hint="reinstall edgeadm")
    return found


def node_template(name: str, values: Mapping[str, object]) -> bytes:
    """Fill a node-side template (`manifests/node/<name>`); every placeholder needs a value, every value a use."""
    text = template(f"node/{name}").read_text()
    used = set(_PLACEHOLDER.findall(text))
    missing, unused = used - values.keys(), values.keys() - used
    if missing or unused:
        raise ConfigError(f"node template `{name}`: missing {sorted(missing)}, unused {sorted(unused)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text).encode()
