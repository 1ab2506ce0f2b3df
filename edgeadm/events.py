"""What a run reports while it works, as data: the runner and the libraries emit events, `console` displays them.

Nothing below the CLI prints. A library that has something to say takes an `Events` and emits; the CLI passes a
display from `edgeadm.console` (a step printer on stderr, or nothing under `-q`), tests pass a `Recorder`, and
batch runs will pass one recorder per host so lines never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True)
class Step:
    """A progress line ("[preflight] Running pre-flight checks"); hidden with -q."""

    text: str


@dataclass(frozen=True)
class Detail:
    """A detail line, shown only with -v."""

    text: str


@dataclass(frozen=True)
class Warn:
    """Something the user should know; shown even with -q."""

    text: str


@dataclass(frozen=True)
class CheckResult:
    """One finding of a named preflight check; `ignored` when --ignore-preflight-errors downgraded it."""

    check: str
    level: Literal["warning", "error"]
    message: str
    ignored: bool = False


@dataclass(frozen=True)
class PhaseStarted:
    name: str


@dataclass(frozen=True)
class PhaseDone:
    name: str
    seconds: float


@dataclass(frozen=True)
class PhaseFailed:
    name: str
    error: str


@dataclass(frozen=True)
class Progress:
    """Long work advanced: `done` of `total` units (bytes, files); total None when unknown."""

    task: str
    done: int
    total: int | None
    unit: Literal["bytes", "files"] = "bytes"


@dataclass(frozen=True)
class ProgressDone:
    task: str


@dataclass(frozen=True)
class HostState:
    """A batch host moved on: `state` is waiting, running, or its outcome (joined, failed, unreachable, …);
    `doing` what a running host does now. A terminal shows these as a live board per site."""

    site: str
    node: str
    state: str
    doing: str = ""


@dataclass(frozen=True)
class BatchDone:
    """The batch started no more hosts and every started one returned: the board is final."""


Event = (Step | Detail | Warn | CheckResult | PhaseStarted | PhaseDone | PhaseFailed | Progress | ProgressDone
         | HostState | BatchDone)


class Events(Protocol):
    """Where events go. Implementations must not raise."""

    def emit(self, event: Event) -> None: ...


class NullEvents:
    """Drops everything (library calls from tests and tools that want no output)."""

    def emit(self, event: Event) -> None:
        return None


@dataclass
class Recorder:
    """Keeps every event (tests; later, per-host logs of a batch)."""

    events: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def steps(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Step)]


NULL = NullEvents()
