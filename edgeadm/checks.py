"""Preflight: named checks that all run before any change, reporting warnings and errors separately."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from edgeadm import events as ev
from edgeadm.errors import EdgeadmError, PreflightError


@dataclass
class Outcome:
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Check:
    """A check's `name` is public API (used by --ignore-preflight-errors); `fn` returns warnings and errors."""

    name: str
    fn: Callable[[], Outcome]


def ignored(name: str, ignore: Iterable[str]) -> bool:
    """True when --ignore-preflight-errors names this check (case-insensitive) or `all`."""
    names = {i.strip().lower() for i in ignore if i.strip()}
    return "all" in names or name.lower() in names


def run_checks(checks: Sequence[Check], ignore: Iterable[str], events: ev.Events) -> list[str]:
    """Run every check, emit each finding, raise one PreflightError listing failures; returns names that warned."""
    ignore = list(ignore)
    failed: list[str] = []
    warned: list[str] = []
    for check in checks:
        try:
            outcome = check.fn()
        except EdgeadmError as exc:
            outcome = Outcome(errors=[str(exc)])
        for w in outcome.warnings:
            events.emit(ev.CheckResult(check.name, "warning", w))
            warned.append(check.name)
        for e in outcome.errors:
            skip = ignored(check.name, ignore)
            events.emit(ev.CheckResult(check.name, "error", e, ignored=skip))
            if not skip:
                failed.append(f"{check.name}: {e}")
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise PreflightError(
            f"preflight failed: {first}{more}",
            hint="fix the errors above, or skip a check with --ignore-preflight-errors=<name>",
        )
    return warned
