"""The only module that prints: results to stdout, progress and diagnostics to stderr."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_verbosity = 0


def configure(verbosity: int, *, debug: bool = False) -> None:
    """Set verbosity once per process: -v shows INFO logs, -vv DEBUG; third-party loggers stay quiet unless debug."""
    global _verbosity
    _verbosity = verbosity
    level = logging.WARNING
    if verbosity >= 2 or debug:
        level = logging.DEBUG
    elif verbosity == 1:
        level = logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname).1s %(name)s: %(message)s", force=True)
    for noisy in ("urllib3", "kubernetes", "paramiko"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.ERROR)


def verbosity() -> int:
    return _verbosity


def out(text: str = "") -> None:
    """A result line for scripts (stdout)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def out_data(data: Any, fmt: str) -> None:
    """Structured result on stdout as json or yaml."""
    if fmt == "json":
        out(json.dumps(data, indent=2, sort_keys=False))
    elif fmt == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))
        sys.stdout.flush()
    else:  # pragma: no cover - guarded by click.Choice
        raise ValueError(fmt)


def step(text: str) -> None:
    """A progress line (stderr); hidden with -q."""
    if _verbosity >= 0:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def info(text: str) -> None:
    """A detail line shown only with -v."""
    if _verbosity >= 1:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")
    sys.stderr.flush()


def error(text: str, hint: str | None = None) -> None:
    sys.stderr.write(f"error: {text}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()
