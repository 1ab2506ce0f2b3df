"""Phases as data and the runner that owns their order, selection and error wrapping."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from edgeadm.errors import EdgeadmError, PhaseError

log = logging.getLogger(__name__)

C = TypeVar("C")

# Testing hook: when set to a phase name, the process kills itself with SIGKILL right after that phase, which is
# exactly what a crash or `kill -9` at that step boundary does. Used by the kill-and-re-run tests.
CRASH_AFTER_ENV = "EDGEADM_TEST_CRASH_AFTER"


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

    def validate(self) -> None:
        """Reject unknown phase names and skips that break a dependency, before anything runs."""
        names = [p.name for p in self.phases]
        unknown = sorted(self.skip - set(names) - {"all"})
        if unknown:
            raise EdgeadmError(f"unknown phase(s) in --skip-phases: {', '.join(unknown)}",
                               hint="known phases: " + ", ".join(names))
        for p in self.phases:
            if p.name in self.skip and not p.skippable:
                raise EdgeadmError(f"phase `{p.name}` cannot be skipped")
            for dep in p.dependencies:
                if dep in self.skip and p.name not in self.skip:
                    raise EdgeadmError(f"phase `{p.name}` needs phase `{dep}`, which is skipped")

    def run(self, ctx: C) -> list[str]:
        """Run the phases in order; returns the names that ran. Failures are wrapped with the phase name."""
        self.validate()
        ran: list[str] = []
        crash_after = os.environ.get(CRASH_AFTER_ENV)
        for p in self.phases:
            if p.name in self.skip:
                log.info("skipping phase %s", p.name)
                continue
            if p.run_if is not None and not p.run_if(ctx):
                continue
            started = time.monotonic()
            try:
                p.run(ctx)
            except PhaseError:
                raise
            except KeyboardInterrupt:
                raise
            except EdgeadmError as exc:
                raise PhaseError(p.name, exc) from exc
            except Exception as exc:  # noqa: BLE001 - named with its phase for the user
                raise PhaseError(p.name, exc) from exc
            ran.append(p.name)
            log.info("phase %s took %.2fs", p.name, time.monotonic() - started)
            if crash_after == p.name:
                os.kill(os.getpid(), signal.SIGKILL)
        return ran


def describe(phases: Sequence[Phase[Any]]) -> str:
    """The phase listing shown in a command's --help."""
    width = max(len(p.name) for p in phases)
    return "\n".join(f"  {p.name.ljust(width)}  {p.help}" for p in phases)
