"""The texts join writes on a node: containerd's config, systemd units, kubeconfigs and the kubelet's flags.

Unit and config texts are templates under `manifests/node/`, filled by `edgeadm.resources`; the rest is built as
data and serialised, never by pasting user input into a command line.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import yaml

from edgeadm.errors import ConfigError
from edgeadm.node.paths import CONTAINERD_SOCK, DUMMY_NIC, NodePaths
from edgeadm.resources import node_template

_PLAIN_WORD = re.compile(r"^[A-Za-z0-9@%+=:,./_-]+$")


def containerd_config(paths: NodePaths, *, pause_image: str, systemd_cgroup: bool) -> bytes:
    return node_template("containerd-config.toml", {
        "sock": CONTAINERD_SOCK, "pause": pause_image, "runc": paths.sbin / "runc",
        "systemd": str(systemd_cgroup).lower(), "cni": paths.cni_bin})


def containerd_unit(paths: NodePaths) -> bytes:
    return node_template("containerd.service", {"bin": paths.bin})


def kubelet_unit(paths: NodePaths, *, after: str) -> bytes:
    return node_template("kubelet.service", {"bin": paths.bin, "after": after})


def lite_apiserver_unit(paths: NodePaths, *, addr: str, host: str, port: int, lport: int) -> bytes:
    return node_template("lite-apiserver.service", {
        "nic": DUMMY_NIC, "addr": addr, "bin": paths.bin, "host": host, "port": port, "lport": lport})


def kubelet_flags(args: list[str]) -> bytes:
    """kubeadm-flags.env: the kubelet's extra flags. systemd splits the unquoted variable on white space and honours
    no quoting inside it, so each flag must be one plain word; anything else is refused, never escaped."""
    for arg in args:
        if not _PLAIN_WORD.match(arg):
            raise ConfigError(f"kubelet flag {arg!r} is not a plain word; refusing to write it")
    return f'KUBELET_KUBEADM_ARGS="{" ".join(args)}"\n'.encode()


def kubeconfig(server: str, ca_pem: bytes, user: dict[str, Any]) -> bytes:
    conf = {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "kubernetes", "cluster": {
                "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
            "users": [{"name": "kubelet", "user": user}],
            "contexts": [{"name": "kubelet@kubernetes", "context": {"cluster": "kubernetes", "user": "kubelet"}}],
            "current-context": "kubelet@kubernetes"}
    return yaml.safe_dump(conf, sort_keys=False).encode()


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `patch` into `base` (maps merge, everything else replaces); returns `base`."""
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


_IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")  # what `ip link` accepts as a device name (IFNAMSIZ - 1)
DEFAULT_CNI_BRIDGE = "cni0"  # the bridge plugin's default, and flannel's


def cni_bridges(conf_dir: Path) -> list[str]:
    """The bridges the CNI configuration in `conf_dir` makes for pods (plus the bridge plugin's default, for a
    network add-on that writes its configuration after join). Unreadable files and odd names are skipped: this
    only decides what reset may remove if it appears."""
    names = [DEFAULT_CNI_BRIDGE]
    for f in sorted(conf_dir.glob("*.conf*")) if conf_dir.is_dir() else []:
        try:
            conf = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        plugins = conf.get("plugins", [conf]) if isinstance(conf, dict) else []
        for p in plugins if isinstance(plugins, list) else []:
            if isinstance(p, dict) and p.get("type") == "bridge":
                name = p.get("bridge", DEFAULT_CNI_BRIDGE)
                if isinstance(name, str) and _IFNAME.fullmatch(name) and name not in names:
                    names.append(name)
    return names
