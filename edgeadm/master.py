"""The master's side of the data path: kube-apiserver (a kubeadm static pod) reaches kubelets through tunnel-cloud.

addon writes an EgressSelectorConfiguration (HTTP CONNECT over TLS to tunnel-cloud's egress port, with a client
certificate from the cluster CA), puts `Hostname` first in the kubelet address types (tunnel-cloud routes by node
name), mounts the directory holding both into the static pod and lets the kubelet restart the API server. Every
change is journaled on the master (like join's on a node), so detach puts the manifest back byte for byte and
removes the files. The manifest transforms are pure functions over dicts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edgeadm.errors import ConfigError, PreflightError

EGRESS_FLAG = "--egress-selector-config-file"
ADDRESS_TYPES_FLAG = "--kubelet-preferred-address-types"
ADDRESS_TYPES = "Hostname,InternalIP,ExternalIP"
VOLUME = "edgeadm-egress"


@dataclass(frozen=True)
class MasterPaths:
    """Where a kubeadm master keeps things; `root` lets tests use a directory tree instead of `/`."""

    root: Path = Path("/")

    def _at(self, p: str) -> Path:
        return self.root / p.lstrip("/")

    @property
    def manifest(self) -> Path:
        return self._at("/etc/kubernetes/manifests/kube-apiserver.yaml")

    @property
    def ca_crt(self) -> Path:
        return self._at("/etc/kubernetes/pki/ca.crt")

    @property
    def egress_dir(self) -> Path:
        """Mounted into the API server's pod; the paths inside are the same on the host and in the pod."""
        return self._at("/etc/kubernetes/edgeadm")

    @property
    def state_dir(self) -> Path:
        return self._at("/var/lib/edgeadm-master")

    def in_pod(self, path: Path) -> str:
        """A host path as the API server sees it (the same path, without the test root)."""
        return "/" + str(path.relative_to(self.root))


def read_manifest(paths: MasterPaths) -> dict[str, Any]:
    """The kube-apiserver static pod manifest, checked to be what kubeadm writes; PreflightError otherwise."""
    where = paths.manifest
    if not where.is_file():
        raise PreflightError(
            f"this machine runs no kube-apiserver static pod ({where} not found), so addon cannot route the API "
            "server's traffic to edge kubelets through tunnel-cloud",
            hint="run addon on a kubeadm master, or pass --skip-phases egress and configure the API server's "
                 "egress yourself (README: Data path)")
    try:
        pod = yaml.safe_load(where.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {where}: {str(exc).splitlines()[0]}") from None
    apiserver_container(pod, where)
    return pod  # type: ignore[no-any-return]


def apiserver_container(pod: Any, where: Path | str = "the manifest") -> dict[str, Any]:
    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
        raise ConfigError(f"{where} is not a Pod manifest")
    for c in (pod.get("spec") or {}).get("containers") or []:
        if isinstance(c, dict) and c.get("name") == "kube-apiserver":
            if not isinstance(c.get("command"), list) or not all(isinstance(a, str) for a in c["command"]):
                raise ConfigError(f"{where}: the kube-apiserver container has no command list")
            return c
    raise ConfigError(f"{where} has no kube-apiserver container")


def flag(pod: dict[str, Any], name: str) -> str | None:
    """The value of `name=` on the kube-apiserver command line, or None."""
    for arg in apiserver_container(pod)["command"]:
        if arg.startswith(name + "="):
            return str(arg.split("=", 1)[1])
    return None


def advertise_address(pod: dict[str, Any]) -> str | None:
    return flag(pod, "--advertise-address")


def with_egress(pod: dict[str, Any], paths: MasterPaths) -> dict[str, Any]:
    """The manifest with the egress selector configured (idempotent: applying it twice changes nothing more)."""
    out = copy.deepcopy(pod)
    c = apiserver_container(out)
    wanted = {EGRESS_FLAG: paths.in_pod(paths.egress_dir / "egress-selector-configuration.yaml"),
              ADDRESS_TYPES_FLAG: ADDRESS_TYPES}
    command = [a for a in c["command"] if a.split("=", 1)[0] not in wanted]
    c["command"] = command + [f"{k}={v}" for k, v in wanted.items()]
    mount = {"name": VOLUME, "mountPath": paths.in_pod(paths.egress_dir), "readOnly": True}
    c["volumeMounts"] = [m for m in c.get("volumeMounts") or [] if m.get("name") != VOLUME] + [mount]
    spec = out["spec"]
    volume = {"name": VOLUME, "hostPath": {"path": paths.in_pod(paths.egress_dir), "type": "Directory"}}
    spec["volumes"] = [v for v in spec.get("volumes") or [] if v.get("name") != VOLUME] + [volume]
    return out


def egress_configuration(url: str, paths: MasterPaths) -> bytes:
    """The EgressSelectorConfiguration: traffic to the cluster (kubelets, pods, services) goes through an HTTP
    CONNECT proxy at `url`, over TLS verified against the cluster CA, with edgeadm's client certificate."""
    conf = {
        "apiVersion": "apiserver.k8s.io/v1beta1", "kind": "EgressSelectorConfiguration",
        "egressSelections": [{"name": "cluster", "connection": {
            "proxyProtocol": "HTTPConnect",
            "transport": {"tcp": {"url": url, "tlsConfig": {
                "caBundle": paths.in_pod(paths.ca_crt),
                "clientCert": paths.in_pod(paths.egress_dir / "tunnel-egress-client.crt"),
                "clientKey": paths.in_pod(paths.egress_dir / "tunnel-egress-client.key")}}}}}],
    }
    return yaml.safe_dump(conf, sort_keys=False).encode()


def manifest_bytes(pod: dict[str, Any]) -> bytes:
    return yaml.safe_dump(pod, sort_keys=False).encode()
