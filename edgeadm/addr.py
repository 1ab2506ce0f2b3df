"""Parsing of HOST[:PORT] addresses given on the command line."""

from __future__ import annotations

import ipaddress
import re

from edgeadm.errors import ConfigError

_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


def split_host_port(value: str, default_port: int | None = None) -> tuple[str, int | None]:
    """Split `host`, `host:port`, `[v6]:port` or a bare IPv6 address; raise ConfigError when malformed."""
    v = value.strip()
    if not v or any(c.isspace() for c in v) or "/" in v or "://" in v:
        raise ConfigError(f"address `{value}` is not HOST[:PORT]", hint="e.g. 203.0.113.10:6443 or api.example.com")
    host, port_s = v, None
    if v.startswith("["):
        end = v.find("]")
        if end < 0:
            raise ConfigError(f"address `{value}` has an unclosed `[`")
        host, rest = v[1:end], v[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"address `{value}` is not HOST[:PORT]")
            port_s = rest[1:]
    elif v.count(":") == 1:
        host, port_s = v.split(":")
    port = default_port
    if port_s is not None:
        if not port_s.isdigit() or not 0 < int(port_s) < 65536:
            raise ConfigError(f"address `{value}` has an invalid port `{port_s}`", hint="use a port from 1 to 65535")
        port = int(port_s)
    if not valid_host(host):
        raise ConfigError(f"address `{value}` has an invalid host `{host}`", hint="use an IP address or a DNS name")
    return host, port


def valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if len(host) > 253 or not host:
        return False
    labels = host.rstrip(".").split(".")
    if all(label.isdigit() for label in labels):
        return False  # looks like a broken IPv4 address
    return all(_DNS_LABEL.match(label) for label in labels)


def join_host_port(host: str, port: int | None) -> str:
    h = f"[{host}]" if ":" in host else host
    return f"{h}:{port}" if port else h


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
