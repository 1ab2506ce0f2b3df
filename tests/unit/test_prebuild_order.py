"""The CI prebuilder and the real-cluster module order must agree, or a cold run waits on each build in turn."""

from __future__ import annotations

from pathlib import Path

from tests import conftest
from tests.harness import prebuild, versions

E2E = Path(__file__).resolve().parents[1] / "e2e"


def test_every_late_module_exists() -> None:
    # a renamed module would silently fall back to running first, before what it needs is built
    missing = [m for m in conftest.LATE_MODULES if not (E2E / f"{m}.py").exists()]
    assert missing == []


def test_the_prebuilder_builds_the_pinned_kubernetes_first_and_every_version_of_the_table() -> None:
    names = [what for what, _ in prebuild.steps()]
    assert names[0].startswith(f"Kubernetes v{versions.DEFAULT.version} ")
    for row in versions.TABLE:
        assert sum(n.startswith(f"Kubernetes v{row.version} ") for n in names) == 1, row.version
    assert len(names) == len(set(names))
