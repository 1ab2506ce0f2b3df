"""The node's own client of the API server: it authenticates with the kubelet's client certificate.

Join waits with it for the Node to register; reset deletes the Node with it (the Node authorizer lets a kubelet
read and delete its own Node). It runs on the stdlib transport over the CA discovery pinned, so it adds nothing to
the join path's imports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from edgeadm import waiting
from edgeadm.errors import EdgeadmError
from edgeadm.kube.errors import KubeError, NotFound
from edgeadm.kube.rest import ClientCert, Transport

KUBELET_CLIENT_PEM = Path("/var/lib/kubelet/pki/kubelet-client-current.pem")  # certificate and key in one file
POLL_INTERVAL = 1.0


class NodeAPI:
    """Node reads and deletes at `endpoint` (host:port) over TLS pinned to `ca_pem`, as the kubelet's identity.

    The client certificate is read at the first request, so a NodeAPI can be made before the kubelet's TLS
    bootstrap has written it.
    """

    def __init__(self, endpoint: str, ca_pem: bytes, client_pem: Path = KUBELET_CLIENT_PEM, *,
                 timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.ca_pem = ca_pem
        self.client_pem = client_pem
        self.timeout = timeout
        self._transport: Transport | None = None

    def _t(self) -> Transport:
        """The transport (raises ConfigError while the client certificate is missing or unreadable)."""
        if self._transport is None:
            self._transport = Transport(f"https://{self.endpoint}", ca_pem=self.ca_pem,
                                        auth=ClientCert(self.client_pem, self.client_pem), timeout=self.timeout)
        return self._transport

    def close(self) -> None:
        """Close the keep-alive connection."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @staticmethod
    def _path(name: str) -> str:
        return f"/api/v1/nodes/{quote(name, safe='')}"

    def get_node(self, name: str) -> dict[str, Any] | None:
        """The Node, or None when it does not exist; other failures raise KubeError (or ConfigError)."""
        try:
            return self._t().call("GET", self._path(name), what=f"get Node `{name}`")
        except NotFound:
            return None

    def wait_registered(self, name: str, timeout: float, on_poll: Callable[[], None] | None = None, *,
                        interval: float = POLL_INTERVAL) -> str:
        """Poll until the Node exists; returns the status of its Ready condition ("True", "False", "Unknown").

        `on_poll` is called after every attempt that did not find the Node (for progress, or to give up early by
        raising).
        """
        found: list[dict[str, Any]] = []

        def registered() -> bool:
            try:
                node = self.get_node(name)
            except EdgeadmError:  # no certificate yet, API server restarting, not yet authorized: try again
                node = None
            if node is not None:
                found.append(node)
                return True
            if on_poll is not None:
                on_poll()
            return False

        waiting.until(registered, timeout=timeout, interval=interval, what=f"Node `{name}`",
                      message=f"Node `{name}` did not register within {timeout:.0f}s",
                      hint="see `journalctl -u kubelet` on this machine")
        conds = (found[0].get("status") or {}).get("conditions") or []
        return str(next((c.get("status", "Unknown") for c in conds if c.get("type") == "Ready"), "Unknown"))

    def delete_node(self, name: str) -> None:
        """Delete the Node (gone already is fine); raises EdgeadmError when that cannot be done."""
        try:
            r = self._t().request("DELETE", self._path(name), what=f"delete Node `{name}`")
        except KubeError as exc:
            raise EdgeadmError(f"cannot reach the API server to delete Node `{name}`",
                               hint=f"delete it from the control plane (kubectl delete node {name})") from exc
        except EdgeadmError as exc:  # the client certificate is gone or unreadable
            raise EdgeadmError(f"no node credentials left to delete Node `{name}` ({exc.message})",
                               hint=f"delete it from the control plane (kubectl delete node {name})") from exc
        if r.status not in (200, 202, 404):
            raise EdgeadmError(f"deleting Node `{name}` failed: HTTP {r.status}")
