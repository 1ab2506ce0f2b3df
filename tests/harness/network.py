"""The test hosts' network: a bridge on this machine and a relay from its address to the API server on loopback.

Test hosts (tests/harness/hosts.py) sit on BRIDGE in 10.213.0.0/24; this machine is HOSTS_GATEWAY there. The control
plane (tests/harness/cluster.py) listens on loopback only, so the Forwarder is the hosts' one way to reach it, and
cluster.py puts HOSTS_GATEWAY in the API server certificate.
"""

from __future__ import annotations

import socket
import subprocess
import threading

BRIDGE = "edgeadm-br0"
HOSTS_GATEWAY = "10.213.0.1"  # this machine's address on the bridge; where test hosts reach the API server


class Network:
    """A bridge for the test hosts plus a forwarder from HOSTS_GATEWAY:port to the API server on loopback."""

    def __init__(self, api_port: int) -> None:
        subprocess.run(["ip", "link", "del", BRIDGE], check=False, capture_output=True)  # left over from a killed run
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"{HOSTS_GATEWAY}/24", "dev", BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
        self.forwarder = Forwarder((HOSTS_GATEWAY, api_port), ("127.0.0.1", api_port))
        self.endpoint = f"{HOSTS_GATEWAY}:{api_port}"

    def close(self) -> None:
        self.forwarder.close()
        subprocess.run(["ip", "link", "del", BRIDGE], check=False, capture_output=True)


class Forwarder:
    """A TCP relay from a bridge address to the API server on loopback (threads; stops with the network)."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(listen)
        self.sock.listen(64)
        self.target = target
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            src.close()  # every socket is the source of exactly one pipe, so each is closed once

    def close(self) -> None:
        self.stopped = True
        self.sock.close()
