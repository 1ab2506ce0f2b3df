"""What join learns from the cluster before changing anything: token discovery (signed cluster-info, pinned CA),
then, with the bootstrap token over TLS pinned to that CA, the server version, the cluster's kubelet
configuration and, for edge nodes, addon's edge-info and lite-apiserver serving key."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import yaml

from edgeadm import discovery
from edgeadm import events as ev
from edgeadm.constants import EDGE_NAMESPACE
from edgeadm.errors import EdgeadmError
from edgeadm.options import JoinOptions


@dataclass(frozen=True)
class JoinCluster:
    discovered: discovery.Discovered
    token: str = field(repr=False)
    server_version: dict[str, str]
    kubelet_config: dict[str, Any]
    edge_info: dict[str, str]
    lite_tls: dict[str, bytes] = field(repr=False)

    @property
    def ca_pem(self) -> bytes:
        return self.discovered.ca_pem

    def node_exists(self, name: str) -> bool:
        """Whether Node `name` exists (asked with the bootstrap token; an unknown or expired token raises)."""
        return discovery.api_get(self.discovered, f"/api/v1/nodes/{name}", self.token) is not None


def read_cluster(options: JoinOptions, events: ev.Events) -> JoinCluster:
    events.emit(ev.Step(f"[discovery] Fetching cluster-info from https://{options.endpoint}"))
    d = discovery.discover(options.endpoint, options.discovery_token_id, options.discovery_token_secret,
                           ca_hashes=list(options.ca_hashes), unsafe_skip_ca=options.unsafe_skip_ca_verification,
                           timeout=options.discovery_timeout)
    events.emit(ev.Step("[discovery] cluster-info is signed for this token and its CA matches the pinned hash"))
    token = options.token
    version = discovery.api_get(d, "/version", token) or {}
    cm = discovery.api_get(d, "/api/v1/namespaces/kube-system/configmaps/kubelet-config", token)
    if not cm:
        raise EdgeadmError("cannot read kube-system/kubelet-config with this token",
                           hint="run `edgeadm addon edge-apps` on the master (it creates what joining needs)")
    kubelet_config = yaml.safe_load((cm.get("data") or {}).get("kubelet") or "") or {}
    edge_info: dict[str, str] = {}
    lite_tls: dict[str, bytes] = {}
    if options.enable_edge:
        info = discovery.api_get(d, f"/api/v1/namespaces/{EDGE_NAMESPACE}/configmaps/edge-info", token)
        tls = discovery.api_get(d, f"/api/v1/namespaces/{EDGE_NAMESPACE}/secrets/lite-apiserver-tls", token)
        if not info or not tls:
            raise EdgeadmError("this cluster has no edge apps (edge-system/edge-info is missing)",
                               hint="run `edgeadm addon edge-apps` on the master, or join with --enable-edge=false")
        edge_info = {str(k): str(v) for k, v in (info.get("data") or {}).items()}
        lite_tls = {str(k): base64.b64decode(v) for k, v in (tls.get("data") or {}).items()}
    return JoinCluster(discovered=d, token=token, server_version={k: str(v) for k, v in version.items()},
                       kubelet_config=kubelet_config if isinstance(kubelet_config, dict) else {},
                       edge_info=edge_info, lite_tls=lite_tls)
