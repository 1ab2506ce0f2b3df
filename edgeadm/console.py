"""The only module that prints: results to stdout, progress and diagnostics to stderr.

Workflows and libraries emit `edgeadm.events`; `Display` turns them into today's step lines. Long work
(`Progress` events) shows as a progress bar on a terminal and as a plain line per tenth otherwise. The bar is
click's own (`click.progressbar`): click is already a dependency and is imported at start-up anyway, so progress
costs no extra package on edge machines and no start-up time.
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

    # what the CLI itself says
    def step(self, text: str) -> None:
        from edgeadm.events import Step

        self.emit(Step(text))

    def emit(self, event: ev.Event) -> None:
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
