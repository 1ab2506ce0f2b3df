"""The only module that prints: results to stdout, progress and diagnostics to stderr.

Workflows and libraries emit `edgeadm.events`; `Display` turns them into today's step lines. Long work
(`Progress` events) shows as a progress bar on a terminal and as a plain line per tenth otherwise. The bar is
click's own (`click.progressbar`): click is already a dependency and is imported at start-up anyway, so progress
costs no extra package on edge machines and no start-up time. A batch's `HostState` events show on a terminal as a
board, one line per site, redrawn in place below the step lines (which scroll above it); elsewhere the step lines
alone say the same.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # events (dataclasses), logging and json load on first use: `edgeadm --help` needs none of them
    from edgeadm import events as ev


def configure_logging(verbosity: int, *, debug: bool = False) -> None:
    """-v shows INFO logs, -vv DEBUG; third-party loggers stay quiet unless --debug."""
    import logging

    level = logging.WARNING
    if verbosity >= 2 or debug:
        level = logging.DEBUG
    elif verbosity == 1:
        level = logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname).1s %(name)s: %(message)s", force=True)
    for noisy in ("urllib3", "kubernetes", "paramiko"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.ERROR)


def out(text: str = "") -> None:
    """A result line for scripts (stdout)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def out_data(data: Any, fmt: str) -> None:
    """Structured result on stdout as json or yaml."""
    if fmt == "json":
        import json

        out(json.dumps(data, indent=2, sort_keys=False))
    elif fmt == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))
        sys.stdout.flush()
    else:
        raise ValueError(f"unknown output format {fmt}")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def warn(text: str) -> None:
    _err(f"warning: {text}")


def error(text: str, hint: str | None = None) -> None:
    _err(f"error: {text}")
    if hint:
        _err(f"hint: {hint}")


class Display:
    """Shows a run's events on stderr: steps unless quiet (verbosity < 0), details with -v, warnings always."""

    def __init__(self, verbosity: int = 0, *, tty: bool | None = None) -> None:
        self.verbosity = verbosity
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._bar: Any = None
        self._bar_task = ""
        self._bar_done = 0
        self._last_tenth: dict[str, int] = {}
        self._board: Board | None = None

    # what the CLI itself says
    def step(self, text: str) -> None:
        from edgeadm.events import Step

        self.emit(Step(text))

    def emit(self, event: ev.Event) -> None:
        from edgeadm import events as ev

        if isinstance(event, ev.HostState | ev.BatchDone):
            if self.tty and self.verbosity >= 0:
                self._board = self._board or Board()
                if isinstance(event, ev.HostState):
                    self._board.update(event)
                sys.stderr.write(self._board.clear() + self._board.draw())
                sys.stderr.flush()
                if isinstance(event, ev.BatchDone):
                    self._board = None
            return
        if self._board is None:
            self._emit(event)
            return
        sys.stderr.write(self._board.clear())  # lines go above the board, which is drawn again below them
        self._emit(event)
        sys.stderr.write(self._board.draw())
        sys.stderr.flush()

    def _emit(self, event: ev.Event) -> None:
        import logging

        from edgeadm import events as ev

        log = logging.getLogger("edgeadm.phases")
        if isinstance(event, ev.Step):
            if self.verbosity >= 0:
                self._close_bar()
                _err(event.text)
        elif isinstance(event, ev.Detail):
            if self.verbosity >= 1:
                self._close_bar()
                _err(event.text)
        elif isinstance(event, ev.Warn):
            self._close_bar()
            warn(event.text)
        elif isinstance(event, ev.CheckResult):
            if self.verbosity >= 0:
                level = "WARNING" if event.level == "warning" or event.ignored else "ERROR"
                suffix = " (ignored)" if event.ignored else ""
                _err(f"\t[{level} {event.check}]: {event.message}{suffix}")
        elif isinstance(event, ev.PhaseStarted):
            log.debug("phase %s started", event.name)
        elif isinstance(event, ev.PhaseDone):
            log.info("phase %s took %.2fs", event.name, event.seconds)
        elif isinstance(event, ev.PhaseFailed):
            self._close_bar()
            log.info("phase %s failed: %s", event.name, event.error)
        elif isinstance(event, ev.Progress):
            if self.verbosity >= 0:
                self._progress(event)
        elif isinstance(event, ev.ProgressDone):
            if self._bar_task == event.task:
                self._close_bar()
            self._last_tenth.pop(event.task, None)

    def _progress(self, event: ev.Progress) -> None:
        if self.tty and event.total:
            import click

            if self._bar is None or self._bar_task != event.task:
                self._close_bar()
                self._bar = click.progressbar(length=event.total, label=event.task, file=sys.stderr,
                                              show_pos=event.unit == "files")
                self._bar.__enter__()
                self._bar_task, self._bar_done = event.task, 0
            self._bar.update(event.done - self._bar_done)
            self._bar_done = event.done
            return
        # not a terminal: a plain line per tenth of a download (per 10 MiB when the size is unknown), and one line
        # when a count of files is complete
        if event.unit == "files":
            if event.done == event.total:
                _err(f"{event.task} {event.done}/{event.total}")
            return
        tenth = event.done * 10 // event.total if event.total else event.done // (10 << 20)
        if self._last_tenth.get(event.task, -1) == tenth:
            return
        self._last_tenth[event.task] = tenth
        pct = f" ({event.done * 100 // event.total}%)" if event.total else ""
        _err(f"{event.task} {event.done >> 20} MiB{pct}")

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
            self._bar_task = ""


DONE_STATES = ("joined", "reset")


class Board:
    """A batch's live state on a terminal: one line per site (done / failed / running with what each host does /
    waiting). Sites with hosts still running or failed come first when there are more sites than screen rows."""

    def __init__(self, columns: int | None = None, rows: int | None = None) -> None:
        import shutil

        size = shutil.get_terminal_size()
        self.columns = columns or size.columns
        self.rows = rows or size.lines
        self.sites: dict[str, dict[str, tuple[str, str]]] = {}
        self.drawn = 0

    def update(self, event: ev.HostState) -> None:
        self.sites.setdefault(event.site, {})[event.node] = (event.state, event.doing)

    def lines(self) -> list[str]:
        def line(site: str, hosts: dict[str, tuple[str, str]]) -> tuple[int, str]:
            states = [s for s, _ in hosts.values()]
            done = sum(s in DONE_STATES for s in states)
            running = [f"{n}: {d or 'starting'}" for n, (s, d) in hosts.items() if s == "running"]
            waiting = states.count("waiting")
            failed = len(states) - done - len(running) - waiting
            parts = [f"{done}/{len(states)} done"]
            if failed:
                why = sorted({s for s in states if s not in (*DONE_STATES, "running", "waiting")})
                parts.append(f"{failed} not done ({', '.join(why)})")
            if running:
                parts.append(f"running {len(running)} ({', '.join(running)})")
            if waiting:
                parts.append(f"waiting {waiting}")
            text = f"{site}  " + " · ".join(parts)
            if len(text) > self.columns - 1:
                text = text[: self.columns - 2] + "…"
            return (0 if running else 1 if failed else 2 if waiting else 3), text

        ranked = sorted((line(site, hosts) for site, hosts in self.sites.items()), key=lambda r: r[0])
        room = max(self.rows - 2, 1)
        shown = [t for _, t in ranked[:room]]
        if len(ranked) > room:
            shown[-1] = f"… and {len(ranked) - room + 1} more sites"
        return shown

    def clear(self) -> str:
        """Move up over the lines drawn last and erase to the end of the screen."""
        text = f"\x1b[{self.drawn}F\x1b[J" if self.drawn else ""
        self.drawn = 0
        return text

    def draw(self) -> str:
        lines = self.lines()
        self.drawn = len(lines)
        return "".join(f"{x}\n" for x in lines)
