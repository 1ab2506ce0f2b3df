"""The test hosts' network: a bridge on this machine and a relay from its address to the API server on loopback.

Test hosts (tests/harness/hosts.py) sit on BRIDGE in SUBNET.0/24; this machine is HOSTS_GATEWAY there. The control
plane (tests/harness/cluster.py) listens on loopback only, so the Forwarder is the hosts' one way to reach it, and
cluster.py puts HOSTS_GATEWAY in the API server certificate.

Test runs that share a machine at the same time must not share a network: each picks its own bridge, /24, link
prefix and host-name prefix with EDGEADM_TEST_NET=<bridge>,<first three octets>,<link prefix>,<name prefix>
(e.g. `kinit-br0,10.214.0,ki,kinit-`); unset, the main suite's values below are used.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading

_DEFAULT_NET = "edgeadm-br0,10.213.0,eh,"
_NET = re.compile(r"(?P<bridge>[a-z][a-z0-9-]{0,14}),(?P<subnet>10\.\d{1,3}\.\d{1,3}),(?P<link>[a-z]{2}),"
                  r"(?P<names>(?:[a-z][a-z0-9-]{0,19})?)")


def _net() -> dict[str, str]:
    value = os.environ.get("EDGEADM_TEST_NET") or _DEFAULT_NET
    m = _NET.fullmatch(value)
    if not m:
        raise ValueError(f"EDGEADM_TEST_NET={value!r}: want <bridge>,<10.x.y>,<two-letter link prefix>,<name prefix>")
    return m.groupdict()


_SELECTED = _net()
BRIDGE = _SELECTED["bridge"]
SUBNET = _SELECTED["subnet"]  # the first three octets of the hosts' /24
LINK_PREFIX = _SELECTED["link"]  # host n's veth is <LINK_PREFIX><n> (<= 15 characters, the kernel's IFNAMSIZ - 1)
NAME_PREFIX = _SELECTED["names"]  # put before every host's name (its machine name, hostname and cgroup root)
HOSTS_GATEWAY = f"{SUBNET}.1"  # this machine's address on the bridge; where test hosts reach the API server


class Network:
    """A bridge for the test hosts plus, given `api_port`, a forwarder from HOSTS_GATEWAY:port to the API server on
    loopback (a master in a host, tests/harness/master.py, is reached on the bridge directly)."""

    def __init__(self, api_port: int | None = None) -> None:
        subprocess.run(["ip", "link", "del", BRIDGE], check=False, capture_output=True)  # left over from a killed run
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"{HOSTS_GATEWAY}/24", "dev", BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
        self.forwarder = Forwarder((HOSTS_GATEWAY, api_port), ("127.0.0.1", api_port)) if api_port else None
        self.endpoint = f"{HOSTS_GATEWAY}:{api_port}" if api_port else ""

    def close(self) -> None:
        if self.forwarder is not None:
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


def _run(*argv: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


class SiteNetwork:
    """An edge site behind NAT, as at a shop or a plant: its own bridge and /24 (`<a>.<b>.<100+k>`, never routed on
    this machine), whose only way out is a router — a network namespace with a leg on the hosts' bridge
    (`<SUBNET>.<1+k>`, an address host slots never take) that masquerades the site's connections. Hosts on the
    hosts' bridge (the master, cloud nodes) cannot open a connection into the site; the site's hosts reach them.

    `cut()` takes the router's outside link down (the site keeps its LAN, loses the cloud, both directions) and
    `reconnect()` brings it back. Give site hosts `site=` (tests/harness/hosts.py)."""

    MAX_SITES = 8

    def __init__(self, k: int) -> None:
        if not 1 <= k <= self.MAX_SITES:
            raise ValueError(f"site number {k} is not in 1..{self.MAX_SITES}")
        a, b, _ = SUBNET.split(".")
        self.k = k
        self.subnet = f"{a}.{b}.{100 + k}"
        self.supernet = f"{a}.{b}.0.0/16"  # what hosts outside the sites route nowhere (see `isolate`)
        self.gateway = f"{self.subnet}.1"
        self.wan_ip = f"{SUBNET}.{1 + k}"
        self.bridge = f"{BRIDGE}s{k}"[:15]
        self.netns = f"{NAME_PREFIX}edgeadm-site{k}"
        self._links = (f"{LINK_PREFIX}w{k}", f"{LINK_PREFIX}l{k}")
        self.close()  # whatever a killed run left
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "link", "set", self.bridge, "up")
        _run("ip", "netns", "add", self.netns)
        for outside, (inside, master, address) in zip(self._links, (
                ("wan", BRIDGE, f"{self.wan_ip}/24"), ("lan", self.bridge, f"{self.gateway}/24")), strict=True):
            _run("ip", "link", "add", outside, "type", "veth", "peer", "name", f"{outside}c")
            _run("ip", "link", "set", f"{outside}c", "netns", self.netns)
            _run("ip", "link", "set", outside, "master", master)
            _run("ip", "link", "set", outside, "up")
            _run("ip", "link", "set", f"{outside}c", "name", inside, netns=self.netns)
            _run("ip", "addr", "add", address, "dev", inside, netns=self.netns)
            _run("ip", "link", "set", inside, "up", netns=self.netns)
        _run("ip", "link", "set", "lo", "up", netns=self.netns)
        # no default route: the router reaches the hosts' /24 and its site, nothing else
        for argv in (["sysctl", "-qw", "net.ipv4.ip_forward=1"],
                     ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"],
                     ["iptables", "-A", "FORWARD", "-i", "wan", "-m", "conntrack", "--ctstate",
                      "ESTABLISHED,RELATED", "-j", "ACCEPT"],
                     ["iptables", "-A", "FORWARD", "-i", "wan", "-j", "DROP"]):
            _run(*argv, netns=self.netns)

    def open_ssh(self) -> None:
        """Let this machine reach the site's hosts on port 22 only (as a VPN or a port-forward to a site does for
        the cloud's batch join): a route here, and the router lets new SSH connections in."""
        _run("iptables", "-I", "FORWARD", "1", "-i", "wan", "-p", "tcp", "--dport", "22", "-j", "ACCEPT",
             netns=self.netns)
        _run("ip", "route", "replace", f"{self.subnet}.0/24", "via", self.wan_ip)

    def limit_uplink(self, rate: str) -> None:
        """Cap what enters the site from outside (tc tbf on the router's LAN side), e.g. "200mbit"."""
        _run("tc", "qdisc", "replace", "dev", "lan", "root", "tbf", "rate", rate, "burst", "256kb", "latency",
             "100ms", netns=self.netns)

    def wan_bytes(self) -> int:
        """Bytes that entered the site from outside (its router's WAN link, received)."""
        out = _run("cat", "/sys/class/net/wan/statistics/rx_bytes", netns=self.netns).stdout
        return int(out.strip())

    def cut(self) -> None:
        _run("ip", "link", "set", "wan", "down", netns=self.netns)

    def reconnect(self) -> None:
        _run("ip", "link", "set", "wan", "up", netns=self.netns)

    def close(self) -> None:
        _run("ip", "route", "del", f"{self.subnet}.0/24", check=False)
        for link in (*self._links, self.bridge):
            _run("ip", "link", "del", link, check=False)
        _run("ip", "netns", "del", self.netns, check=False)
