"""Preflight: named checks that all run before any change, reporting warnings and errors separately."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from edgeadm import console
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


def run_checks(checks: Sequence[Check], ignore: Iterable[str]) -> list[str]:
    """Run every check, print `[WARNING Name]` / `[ERROR Name]`, raise one PreflightError listing failures."""
    ignored = {i.strip().lower() for i in ignore if i.strip()}
    failed: list[str] = []
    warned: list[str] = []
    for check in checks:
        try:
            outcome = check.fn()
        except EdgeadmError as exc:
            outcome = Outcome(errors=[str(exc)])
        for w in outcome.warnings:
            console.step(f"\t[WARNING {check.name}]: {w}")
            warned.append(check.name)
        for e in outcome.errors:
            if "all" in ignored or check.name.lower() in ignored:
                console.step(f"\t[WARNING {check.name}]: {e} (ignored)")
            else:
                console.step(f"\t[ERROR {check.name}]: {e}")
                failed.append(f"{check.name}: {e}")
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise PreflightError(
            f"preflight failed: {first}{more}",
            hint="fix the errors above, or skip a check with --ignore-preflight-errors=<name>",
        )
    return warned
