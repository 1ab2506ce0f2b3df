"""Our own API error types, so phase code never sees the client's exceptions."""

from __future__ import annotations

from edgeadm.errors import EdgeadmError

_MAX_BODY = 256  # server messages are truncated so logs stay readable and never dump whole objects


class KubeError(EdgeadmError):
    """A request to the API server failed."""

    status: int | None = None


class NotFound(KubeError):
    status = 404


class Conflict(KubeError):
    status = 409


class Forbidden(KubeError):
    status = 403


class Invalid(KubeError):
    status = 422


class Unavailable(KubeError):
    """The API server could not be reached or answered 5xx."""


def truncate(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_BODY else text[: _MAX_BODY - 1] + "…"
