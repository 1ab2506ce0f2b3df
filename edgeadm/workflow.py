"""Phases as data and the runner that owns their order, selection, help listing, events and error wrapping."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from edgeadm import events as ev
from edgeadm import testhooks
from edgeadm.errors import EdgeadmError, PhaseError, UsageError

C = TypeVar("C", contravariant=True)



@dataclass(frozen=True)
class Phase(Generic[C]):
    """One named step of a workflow. Names are public (``--skip-phases``) and never contain spaces."""

    name: str
    help: str
    run: Callable[[C], None]
    run_if: Callable[[C], bool] | None = None
    dependencies: tuple[str, ...] = ()
    skippable: bool = True


@dataclass
class Runner(Generic[C]):
    phases: Sequence[Phase[C]]
    skip: frozenset[str] = field(default_factory=frozenset)
    events: ev.Events = ev.NULL

    def validate(self) -> None:
        """Reject unknown phase names and skips that break a dependency, before anything runs."""
        names = [p.name for p in self.phases]
        unknown = sorted(self.skip - set(names) - {"all"})
        if unknown:
            raise UsageError(f"unknown phase(s): {', '.join(unknown)}", hint="known phases: " + ", ".join(names),
                             flag="--skip-phases")
        for p in self.phases:
            if p.name in self.skip and not p.skippable:
                raise UsageError(f"phase `{p.name}` cannot be skipped", flag="--skip-phases")
            for dep in p.dependencies:
                if dep in self.skip and p.name not in self.skip:
                    raise UsageError(f"phase `{p.name}` needs phase `{dep}`, which is skipped", flag="--skip-phases")

    def run(self, ctx: C) -> list[str]:
        """Run the phases in order; returns the names that ran.

        An expected failure (EdgeadmError) is wrapped as PhaseError naming the phase. Anything else is a bug: it
        goes up unchanged, with the phase name added as a note, so the error boundary reports it as unexpected.
        """
        self.validate()
        ran: list[str] = []
        for p in self.phases:
            if p.name in self.skip or (p.run_if is not None and not p.run_if(ctx)):
                continue
            started = time.monotonic()
            self.events.emit(ev.PhaseStarted(p.name))
            try:
                p.run(ctx)
            except PhaseError as exc:
                self.events.emit(ev.PhaseFailed(p.name, str(exc)))
                raise
            except EdgeadmError as exc:
                self.events.emit(ev.PhaseFailed(p.name, str(exc)))
                raise PhaseError(p.name, exc) from exc
            except Exception as exc:
                self.events.emit(ev.PhaseFailed(p.name, f"unexpected {type(exc).__name__}"))
                exc.add_note(f"in phase {p.name}")
                raise
            ran.append(p.name)
            self.events.emit(ev.PhaseDone(p.name, time.monotonic() - started))
            testhooks.after_phase(p.name)
        return ran


def describe(phases: Sequence[Phase[Any]]) -> str:
    """The phase listing shown in a command's --help, from the phase tuple itself."""
    width = max(len(p.name) for p in phases)
    return "\n".join(f"  {p.name.ljust(width)}  {p.help}" for p in phases)
