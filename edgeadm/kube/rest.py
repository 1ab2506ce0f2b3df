"""The one HTTP transport to the API server, on the standard library (`http.client` + `ssl`).

Discovery (anonymous, then a bootstrap token over a pinned CA), the node's own client (the kubelet's certificate)
and the light `KubeAPI` (kubeconfig credentials) all talk to the API server through `Transport`, so TLS trust,
authentication, keep-alive, the status → error map and the retry policy exist once. It deliberately avoids
`requests` and `kubernetes`: importing either costs more than `kubeadm token create` takes in all, and this
module is on the path of `edgeadm token` and of `edgeadm join`.

Credentials never appear in messages, logs or reprs.

At ~340 lines it is over the project's ~300-line guide on purpose: the credential kinds, the TLS context, the
connection handling and the retry policy are one seam, and splitting them would spread the trust decisions over
several files.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import urlencode, urlsplit

from edgeadm import __version__
from edgeadm.errors import ConfigError
from edgeadm.kube.errors import KubeError, Unavailable, error_for_status, status_message, transient, truncate

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds per request (connect, then each read)
# Transient failures (unreachable, 5xx, 429) are retried this many times with this base delay (seconds): the
# apiserver restarts or leader changes that cause them resolve within a few seconds.
RETRIES = 4
RETRY_DELAY = 0.5
UNREACHABLE_HINT = "check that the API server is running and the kubeconfig points at it"

T = TypeVar("T")


# ------------------------------------------------------------------------------------------------- credentials
@dataclass(frozen=True)
class Anonymous:
    """No credentials (discovery's first fetch of cluster-info)."""


@dataclass(frozen=True)
class BearerToken:
    """An `Authorization: Bearer` token (bootstrap tokens, service-account tokens, kubeconfig `token`)."""

    token: str = field(repr=False)


@dataclass(frozen=True)
class ClientCert:
    """A client certificate and key in files (the same file for both is fine: kubelet-client-current.pem)."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class ClientCertPEM:
    """A client certificate and key in memory (a kubeconfig's `client-certificate-data`/`client-key-data`)."""

    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)


Auth = Anonymous | BearerToken | ClientCert | ClientCertPEM


# ---------------------------------------------------------------------------------------------------- response
@dataclass(frozen=True)
class Response:
    """One HTTP answer: status, headers (names lower-cased) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body decoded as JSON (raises ValueError when it is not)."""
        return json.loads(self.body) if self.body else {}

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; ValueError naming what is wrong otherwise."""
        try:
            doc = self.json()
        except ValueError as exc:
            raise ValueError("the answer is not JSON") from exc
        if not isinstance(doc, dict):
            raise ValueError("the answer is not a JSON object")
        return doc


# --------------------------------------------------------------------------------------------------------- TLS
def tls_context(ca_pem: bytes | None, *, insecure: bool = False, auth: Auth = Anonymous()) -> ssl.SSLContext:
    """A client TLS context trusting `ca_pem` only (system roots when None), or nothing checked when `insecure`."""
    try:
        if insecure:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif ca_pem is not None:
            ctx = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
            # Trust as Go clients (kubectl, the kubelet) do: every certificate in the bundle is an anchor, even an
            # intermediate, and no RFC 5280 strictness beyond theirs (Python 3.13 adds it; older CAs would fail).
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
        else:
            ctx = ssl.create_default_context()
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the CA bundle is not usable: {_reason(exc)}",
                          hint="it must hold PEM certificates") from exc
    if isinstance(auth, ClientCert):
        try:
            ctx.load_cert_chain(str(auth.cert_file), str(auth.key_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"client certificate `{auth.cert_file}` is not usable: {_reason(exc)}",
                              hint="it must hold a PEM certificate and its unencrypted key") from exc
    elif isinstance(auth, ClientCertPEM):
        _load_pem_chain(ctx, auth)
    return ctx


def _load_pem_chain(ctx: ssl.SSLContext, auth: ClientCertPEM) -> None:
    """`load_cert_chain` only reads files: the pair is put in an anonymous memory file (Linux), else in a 0600
    temp file, for the duration of the call."""
    pem = auth.cert_pem.rstrip(b"\n") + b"\n" + auth.key_pem
    try:
        if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
            fd = os.memfd_create("edgeadm-client-pem", os.MFD_CLOEXEC)
            try:
                os.write(fd, pem)
                ctx.load_cert_chain(f"/proc/self/fd/{fd}")
            finally:
                os.close(fd)
            return
        import tempfile

        fd, name = tempfile.mkstemp(prefix="edgeadm-client-", suffix=".pem")  # created 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            ctx.load_cert_chain(name)
        finally:
            os.unlink(name)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"the client certificate is not usable: {_reason(exc)}",
                          hint="it must be a PEM certificate and its unencrypted key") from exc


class _PinnedNameConnection(http.client.HTTPSConnection):
    """HTTPS whose certificate is checked against `tls_server_name` instead of the host dialled."""

    def __init__(self, host: str, port: int | None, *, tls_server_name: str, context: ssl.SSLContext,
                 timeout: float) -> None:
        super().__init__(host, port, context=context, timeout=timeout)
        self._tls_server_name = tls_server_name
        self._tls_context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls_context.wrap_socket(self.sock, server_hostname=self._tls_server_name)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when an idle keep-alive connection was closed by the server (its socket reads as ready: EOF)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _reason(exc: BaseException) -> str:
    """A short, credential-free reason for a failed connection."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc.__class__.__name__}"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without an answer"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host: {exc.strerror}"
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror).lower()
    return truncate(str(exc)) or type(exc).__name__


# --------------------------------------------------------------------------------------------------- transport
class Transport:
    """HTTP(S) to one API server with one trust setting and one credential, over keep-alive connections.

    Each thread that uses it gets its own connection, kept open and reused for the next request.
    """

    def __init__(self, server_url: str, *, ca_pem: bytes | None, insecure: bool = False, auth: Auth = Anonymous(),
                 timeout: float = TIMEOUT, tls_server_name: str | None = None) -> None:
        parts = urlsplit(server_url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("https", "http") or not parts.hostname or port == -1:
            raise ConfigError(f"`{server_url}` is not an API server URL", hint="expected https://HOST[:PORT]")
        self.server_url = server_url.rstrip("/")
        self.ca_pem = ca_pem
        self.insecure = insecure
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port
        self._prefix = parts.path.rstrip("/")  # e.g. a proxy that serves the API under /k8s/clusters/c-1
        self._tls_server_name = tls_server_name
        self._secret = auth.token if isinstance(auth, BearerToken) and auth.token else None
        self._auth_header = f"Bearer {self._secret}" if self._secret else None
        self._ctx = tls_context(ca_pem, insecure=insecure, auth=auth) if self._https else None
        self._local = threading.local()  # .conn: this thread's connection; .served: requests answered on it
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPConnection] = []
        self.connections = 0  # connections opened in this Transport's life (keep-alive is observable in tests)

    @property
    def netloc(self) -> str:
        """host:port as messages name the server."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self._port}" if self._port else host

    def __repr__(self) -> str:
        return f"Transport({self.server_url!r})"

    def close(self) -> None:
        """Close every open connection (a later request opens a new one)."""
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it already served a request."""
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn in self._open:
            if not _dropped(conn):
                return conn, self._local.served > 0
            self._drop(conn)
        if self._ctx is None:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        elif self._tls_server_name:
            conn = _PinnedNameConnection(self._host, self._port, tls_server_name=self._tls_server_name,
                                         context=self._ctx, timeout=self.timeout)
        else:
            conn = http.client.HTTPSConnection(self._host, self._port, context=self._ctx, timeout=self.timeout)
        self._local.conn, self._local.served = conn, 0
        with self._lock:
            self._open.append(conn)
            self.connections += 1
        return conn, False

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._lock:
            if conn in self._open:
                self._open.remove(conn)
        self._local.conn = None

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                body: bytes | dict[str, Any] | None = None, content_type: str = "application/json",
                accept: str = "application/json", what: str) -> Response:
        """Send one request; any HTTP status is returned. Unreachable → Unavailable naming `what` (one line)."""
        url = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": accept, "User-Agent": f"edgeadm/{__version__}"}
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if self._auth_header:
            headers["Authorization"] = self._auth_header
        while True:
            conn, reused = self._connection()
            try:
                conn.request(method, url, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError,
                    ssl.SSLZeroReturnError) as exc:
                self._drop(conn)
                if reused:  # the server closed an idle keep-alive connection: the request never arrived
                    log.debug("%s: keep-alive connection to %s dropped, reconnecting", what, self.netloc)
                    continue
                raise self._unreachable(exc, what) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(conn)
                raise self._unreachable(exc, what) from exc
            self._local.served += 1
            if resp.will_close:
                self._drop(conn)
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)

    def _unreachable(self, exc: BaseException, what: str) -> Unavailable:
        reason = _reason(exc)
        err = Unavailable(f"{what}: API server unreachable at {self.netloc} ({reason})", hint=UNREACHABLE_HINT)
        err.reason = reason
        return err

    def call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
             body: bytes | dict[str, Any] | None = None, content_type: str = "application/json",
             accept: str = "application/json", what: str) -> dict[str, Any]:
        """Send one request; the decoded JSON object on 2xx, else the KubeError its status maps to."""
        resp = self.request(method, path, params=params, body=body, content_type=content_type, accept=accept,
                            what=what)
        if not resp.ok:
            message = status_message(resp.body)
            if self._secret:  # a server (or proxy) that echoes the credential must not put it in our messages
                message = message.replace(self._secret, "<token>")
            raise error_for_status(resp.status, message, what)
        try:
            return resp.json_object()
        except ValueError as exc:
            raise KubeError(f"{what}: {exc}") from exc


def retrying(what: str, fn: Callable[[], T], *, attempts: int = RETRIES, delay: float | None = None) -> T:
    """Run `fn`, retrying transient KubeErrors (unreachable, 5xx, 429) with a growing delay (RETRY_DELAY)."""
    delay = RETRY_DELAY if delay is None else delay
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except KubeError as err:
            if not transient(err) or attempt == attempts:
                raise
            log.info("%s: attempt %d/%d failed (%s), retrying", what, attempt, attempts, err)
            time.sleep(delay * attempt)
    raise AssertionError("unreachable")
