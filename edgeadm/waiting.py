"""Polling with a deadline: the one loop behind every "wait until" of join, addon and detach."""

from __future__ import annotations

import time
from collections.abc import Callable

from edgeadm.errors import EdgeadmError


def until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.5,
          error: type[EdgeadmError] = EdgeadmError, hint: str | None = None, message: str | None = None) -> None:
    """Call `predicate` every `interval` seconds until it is true; after `timeout` raise `error` with `message`
    (default: "timed out after Ns waiting for <what>")."""
    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise error(message or f"timed out after {timeout:.0f}s waiting for {what}", hint)
        time.sleep(min(interval, remaining))
