"""Crash points for the kill-and-re-run tests. Documented in README ("Testing hooks"); inert unless set.

A crash is SIGKILL sent to ourselves, which is exactly what `kill -9`, an OOM kill or a power cut does at that
point: no `finally`, no atexit, no flush beyond what was already written.

- ``EDGEADM_TEST_CRASH_AFTER=<phase>``: right after that phase finishes (the workflow runner).
- ``EDGEADM_TEST_CRASH_AT=<point>:<n>``: right after the n-th time (counted from 1) the process passes that point.
  Points: ``journal-write`` (a host journal reached the disk: join, reset, the master's egress journal) and
  ``object-applied`` (the API server accepted one object of addon's templates).
"""

from __future__ import annotations

import os
import signal
import threading

CRASH_AFTER_ENV = "EDGEADM_TEST_CRASH_AFTER"
CRASH_AT_ENV = "EDGEADM_TEST_CRASH_AT"
JOURNAL_WRITE = "journal-write"
OBJECT_APPLIED = "object-applied"

_lock = threading.Lock()
_counts: dict[str, int] = {}


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def after_phase(name: str) -> None:
    if os.environ.get(CRASH_AFTER_ENV) == name:
        _crash()


def passed(point: str) -> None:
    """Count one pass of `point`; crash if this is the pass ``EDGEADM_TEST_CRASH_AT`` names."""
    wanted = os.environ.get(CRASH_AT_ENV)
    if not wanted or not wanted.startswith(point + ":"):
        return
    with _lock:
        _counts[point] = _counts.get(point, 0) + 1
        if str(_counts[point]) == wanted[len(point) + 1:]:
            _crash()
