"""Golden tests: each folder in tests/data/render holds values.yaml and the expected objects per template.

Regenerate after an intended template change with UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from edgeadm import render
from edgeadm.errors import ConfigError

DATA = Path(__file__).parents[1] / "data" / "render"
CASES = sorted(p.name for p in DATA.iterdir() if (p / "values.yaml").exists())


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("template", render.template_names())
def test_golden(case: str, template: str) -> None:
    values = yaml.safe_load((DATA / case / "values.yaml").read_text())
    got = render.render(template, values)
    expected_file = DATA / case / "expected" / template
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.parent.mkdir(exist_ok=True)
        expected_file.write_text(yaml.safe_dump_all(got, sort_keys=True))
    assert got == list(yaml.safe_load_all(expected_file.read_text()))


def test_every_template_has_a_golden_file() -> None:
    for case in CASES:
        assert sorted(p.name for p in (DATA / case / "expected").iterdir()) == render.template_names()


def test_missing_value_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not render"):
        render.render("namespace.yaml", {})


def test_override_wins_and_bad_yaml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "namespace.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: custom}\n")
    assert render.render("namespace.yaml", {}, override_dir=tmp_path)[0]["metadata"]["name"] == "custom"
    (tmp_path / "namespace.yaml").write_text("apiVersion: v1\nkind: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        render.render("namespace.yaml", {}, override_dir=tmp_path)
    (tmp_path / "namespace.yaml").write_text("just: a map\n")
    with pytest.raises(ConfigError, match="not a Kubernetes object"):
        render.render("namespace.yaml", {}, override_dir=tmp_path)


@pytest.mark.parametrize("attack", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('id') }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{% set x = images.update({'tunnel': 'evil'}) %}{{ x }}",
    "{{ edge_namespace.__class__.__base__.__subclasses__() }}",
    "{{ images.__class__.__init__.__globals__ }}",
])
def test_templates_cannot_reach_python_internals(tmp_path: Path, attack: str) -> None:
    (tmp_path / "namespace.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"
                                             f"  annotations: {{a: \"{attack}\"}}\n")
    values = {"edge_namespace": "edge-system", "images": {"tunnel": "t"}}
    with pytest.raises(ConfigError, match="does not render"):
        render.render("namespace.yaml", values, override_dir=tmp_path)
    assert values["images"] == {"tunnel": "t"}  # nothing the template was given changed
