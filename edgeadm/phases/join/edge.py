"""Phase `edge`: lite-apiserver with addon's serving certificate, on the edge virtual address."""

from __future__ import annotations

import json
import socket

from edgeadm import addr, events, waiting
from edgeadm.constants import EDGE_VIRTUAL_ADDR, LITE_APISERVER_PORT
from edgeadm.errors import EdgeadmError
from edgeadm.node import units
from edgeadm.node.paths import DUMMY_NIC
from edgeadm.phases.join.data import JoinData

LISTEN_TIMEOUT = 60.0


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def run(data: JoinData) -> None:
    h, paths, cluster = data.host(), data.paths, data.cluster()
    data.events.emit(events.Step("[edge] Setting up lite-apiserver"))
    crt, key = cluster.lite_tls.get("tls.crt"), cluster.lite_tls.get("tls.key")
    if not crt or not key:
        raise EdgeadmError("edge-system/lite-apiserver-tls has no certificate; re-run addon on the master")
    h.write_file(paths.edge_dir / "lite-apiserver.crt", crt)
    h.write_file(paths.edge_dir / "lite-apiserver.key", key, 0o600)
    tls = cluster.edge_info.get("tls.json") or json.dumps(
        [{"key": str(paths.kubelet_client_pem), "cert": str(paths.kubelet_client_pem)}])
    h.write_file(paths.edge_dir / "tls.json", tls.encode())
    host, port = addr.split_host_port(data.options.endpoint, default_port=6443)
    vaddr = cluster.edge_info.get("edge-virtual-addr", EDGE_VIRTUAL_ADDR)
    lport = int(cluster.edge_info.get("lite-apiserver-port", LITE_APISERVER_PORT))
    h.write_file(paths.units / "lite-apiserver.service",
                 units.lite_apiserver_unit(paths, addr=vaddr, host=host, port=int(port or 6443), lport=lport))
    h.expect(paths.lite_cache)
    if not paths.lite_cache.parent.exists():
        h.ensure_dir(paths.lite_cache.parent)
    h.netdev(DUMMY_NIC)
    h.unit("lite-apiserver.service")
    if not h.dry_run:
        waiting.until(lambda: _tcp_open(vaddr, lport), timeout=LISTEN_TIMEOUT,
                      what=f"lite-apiserver to listen on {vaddr}:{lport}")
    data.events.emit(events.Step(f"[edge] lite-apiserver listens on {vaddr}:{lport}"))
