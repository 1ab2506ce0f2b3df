"""Our own API error types and the one map from an HTTP status to them.

Both transports (the stdlib one in `edgeadm.kube.rest` and the kubernetes client in `edgeadm.kube.client`) turn
a failed response into an error here, so phase code never sees a client's exceptions and a status means the same
thing whichever client made the request.
"""

from __future__ import annotations

import json

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


class Unauthorized(KubeError):
    """The API server did not accept the credentials (unknown, expired or missing)."""

    status = 401


class Invalid(KubeError):
    status = 422


class Unavailable(KubeError):
    """The API server could not be reached, answered 5xx, or asked us to slow down (429)."""

    reason: str | None = None  # for an unreachable server: why, in a few words ("connection refused")


_BY_STATUS: dict[int, type[KubeError]] = {
    401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 422: Invalid, 429: Unavailable,
}


def describe(kind: str, name: str, namespace: str | None) -> str:
    """How messages name an object: Kind `namespace/name`."""
    return f"{kind} `{namespace}/{name}`" if namespace else f"{kind} `{name}`"


def truncate(text: str) -> str:
    """`text` on one line, cut to a length that keeps a log line readable."""
    text = " ".join(text.split())
    return text if len(text) <= _MAX_BODY else text[: _MAX_BODY - 1] + "…"


def status_message(body: bytes | str) -> str:
    """The `message` of a Kubernetes Status body, else the body as text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    message = doc.get("message") if isinstance(doc, dict) else None
    return message if isinstance(message, str) and message else text


def error_for_status(status: int, message: str, what: str) -> KubeError:
    """The error for a non-2xx answer to the request described by `what`, with the server's message truncated."""
    cls = Unavailable if status >= 500 else _BY_STATUS.get(status, KubeError)
    err = cls(f"{what}: {truncate(message) or f'HTTP {status}'}")
    err.status = status
    return err


def transient(err: KubeError) -> bool:
    """True for failures worth retrying: unreachable, 5xx, 429."""
    return isinstance(err, Unavailable)
