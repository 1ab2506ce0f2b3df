from __future__ import annotations

import pytest

from edgeadm.errors import EdgeadmError, PhaseError
from edgeadm.workflow import Phase, Runner


def phases(log: list[str]) -> list[Phase[None]]:
    def step(name: str):  # type: ignore[no-untyped-def]
        return lambda _ctx: log.append(name)

    def boom(_ctx: None) -> None:
        raise EdgeadmError("it broke")

    return [Phase("a", "", step("a")), Phase("b", "", step("b"), dependencies=("a",)),
            Phase("c", "", step("c"), run_if=lambda _c: False), Phase("d", "", boom)]


def test_order_skip_and_run_if() -> None:
    log: list[str] = []
    with pytest.raises(PhaseError, match="phase d: it broke"):
        Runner(phases(log)).run(None)
    assert log == ["a", "b"]
    log.clear()
    Runner(phases(log)[:3], frozenset({"b"})).run(None)
    assert log == ["a"]


def test_unknown_and_dependency_violations_are_rejected_before_running() -> None:
    log: list[str] = []
    with pytest.raises(EdgeadmError, match="unknown phase"):
        Runner(phases(log), frozenset({"zz"})).run(None)
    with pytest.raises(EdgeadmError, match="needs phase `a`"):
        Runner(phases(log), frozenset({"a"})).run(None)
    assert log == []
