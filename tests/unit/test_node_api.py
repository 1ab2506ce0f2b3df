"""NodeAPI (the kubelet's own identity) against a real HTTPS server that requires a client certificate."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgeadm.errors import EdgeadmError
from edgeadm.kube import Forbidden
from edgeadm.node.api import NodeAPI
from tests.unit.test_rest import Reply, Req, TLSServer, certs, closed_port, status_body

NODE_PATH = "/api/v1/nodes/n1"


def node(ready: str = "True") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": ready}]}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TLSServer]:
    s = TLSServer(tmp_path, require_client_cert=True)
    yield s
    s.stop()


@pytest.fixture
def api(server: TLSServer, tmp_path: Path) -> Iterator[NodeAPI]:
    a = NodeAPI(server.endpoint, certs().ca_pem, certs().write(tmp_path)["client.pem"])
    yield a
    a.close()


def test_get_node(server: TLSServer, api: NodeAPI) -> None:
    server.routes[("GET", NODE_PATH)] = (200, node())
    assert api.get_node("n1") == node()
    assert api.get_node("n2") is None
    assert server.requests[0].client_cn == "system:node:n1"
    server.routes[("GET", NODE_PATH)] = (403, status_body(403, "nodes \"n1\" is forbidden"))
    with pytest.raises(Forbidden):
        api.get_node("n1")


def test_wait_returns_the_ready_status_once_the_node_exists(server: TLSServer, api: NodeAPI) -> None:
    calls: list[Req] = []

    def later(r: Req) -> Reply:
        calls.append(r)
        return (200, node("False")) if len(calls) >= 3 else (404, status_body(404, "not found"))

    server.routes[("GET", NODE_PATH)] = later
    polls: list[None] = []
    assert api.wait_registered("n1", timeout=5, on_poll=lambda: polls.append(None), interval=0.05) == "False"
    assert len(calls) == 3 and len(polls) == 2
    assert len(server.peers) == 1  # one keep-alive connection for the whole wait


def test_wait_without_a_ready_condition_is_unknown(server: TLSServer, api: NodeAPI) -> None:
    server.routes[("GET", NODE_PATH)] = (200, {"kind": "Node", "status": {}})
    assert api.wait_registered("n1", timeout=1) == "Unknown"


def test_wait_times_out_with_the_kubelet_hint(api: NodeAPI) -> None:
    start = time.monotonic()
    with pytest.raises(EdgeadmError) as exc:
        api.wait_registered("n1", timeout=0.3, interval=0.05)
    assert time.monotonic() - start < 2
    assert str(exc.value) == "Node `n1` did not register within 0s"
    assert exc.value.hint == "see `journalctl -u kubelet` on this machine"


def test_wait_survives_the_certificate_appearing_late(server: TLSServer, tmp_path: Path) -> None:
    """Before the kubelet's TLS bootstrap there is no client certificate; the wait keeps polling."""
    pem = tmp_path / "late" / "kubelet-client-current.pem"
    pem.parent.mkdir()
    server.routes[("GET", NODE_PATH)] = (200, node())
    a = NodeAPI(server.endpoint, certs().ca_pem, pem)
    timer = threading.Timer(0.2, lambda: pem.write_bytes(certs().client.cert_pem + certs().client.key_pem))
    timer.start()
    try:
        assert a.wait_registered("n1", timeout=5, interval=0.05) == "True"
    finally:
        timer.join()
        a.close()


@pytest.mark.parametrize("status", [200, 202, 404])
def test_delete_accepts_done_accepted_and_gone(server: TLSServer, api: NodeAPI, status: int) -> None:
    server.routes[("DELETE", NODE_PATH)] = (status, {"kind": "Status"})
    api.delete_node("n1")
    assert server.requests[-1].method == "DELETE"


def test_delete_reports_other_statuses(server: TLSServer, api: NodeAPI) -> None:
    server.routes[("DELETE", NODE_PATH)] = (403, status_body(403, "forbidden"))
    with pytest.raises(EdgeadmError, match=r"^deleting Node `n1` failed: HTTP 403$"):
        api.delete_node("n1")


def test_delete_when_unreachable(tmp_path: Path) -> None:
    a = NodeAPI(f"127.0.0.1:{closed_port()}", certs().ca_pem, certs().write(tmp_path)["client.pem"])
    with pytest.raises(EdgeadmError, match=r"^cannot reach the API server to delete Node `n1`$"):
        a.delete_node("n1")


def test_delete_without_credentials(server: TLSServer, tmp_path: Path) -> None:
    a = NodeAPI(server.endpoint, certs().ca_pem, tmp_path / "missing.pem")
    with pytest.raises(EdgeadmError, match="no node credentials left to delete Node `n1`") as exc:
        a.delete_node("n1")
    assert "kubectl delete node n1" in str(exc.value.hint)


def test_the_node_client_stays_off_heavy_imports() -> None:
    code = ("import sys, edgeadm.node.api, edgeadm.discovery; "
            "print(sorted(m for m in ('kubernetes', 'requests', 'urllib3', 'jinja2', 'paramiko') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
