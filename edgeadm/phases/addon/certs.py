"""Certificates and secrets the edge components need: reuse what an earlier run made when still good, else sign
new ones (tunnel serving certs and token, the webhook's own CA and cert, lite-apiserver's serving cert)."""

from __future__ import annotations

import base64
import re
from typing import Any

from edgeadm import pki
from edgeadm.addr import is_ip
from edgeadm.constants import EDGE_NAMESPACE
from edgeadm.errors import EdgeadmError
from edgeadm.kube.types import KubeAPI
from edgeadm.phases.addon.data import CA
from edgeadm.record import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from edgeadm.values import Material


def _ours(kube: KubeAPI, name: str) -> dict[str, str]:
    """The data of a Secret addon made earlier (decoded), or nothing when it is missing or not ours."""
    obj = kube.get("v1", "Secret", name, EDGE_NAMESPACE)
    if not obj or (obj.get("metadata", {}).get("labels") or {}).get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
        return {}
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def _pair(old: dict[str, str], crt: str, key: str, ca: Any, dns: list[str], ips: list[str]) -> pki.KeyPair | None:
    if pki.reusable(old.get(crt), old.get(key), ca, dns, ips):
        return pki.KeyPair(old[crt].encode(), old[key].encode())
    return None


def tunnel(kube: KubeAPI, ca: CA, master_host: str, control_plane_ips: list[str]) -> dict[str, Any]:
    token_cm = kube.get("v1", "ConfigMap", "tunnel-cloud-token", EDGE_NAMESPACE) or {}
    token = ((token_cm.get("data") or {}).get("token") or "").removeprefix("default:")
    if not re.fullmatch(r"[A-Za-z0-9]{32}", token):  # anything else is not ours: a new one replaces it
        token = pki.random_string(32)
    old = _ours(kube, "tunnel-cloud-cert")
    cloud_dns = ["tunnel.cloud.io", "tunnelcloud.superedge.io"]
    cloud_ips = ["127.0.0.1", *control_plane_ips]
    if is_ip(master_host):
        cloud_ips.append(master_host)
    else:
        cloud_dns.append(master_host)
    cloud_ips = list(dict.fromkeys(cloud_ips))
    cloud = _pair(old, "cloud.crt", "cloud.key", ca.cert, cloud_dns, cloud_ips) or pki.sign_pair(
        ca.cert, ca.key, cn="TunnelCloudService", orgs=["superedge"], server=True, dns=cloud_dns, ips=cloud_ips)
    return {"token": token, "cloud_crt": cloud.cert_pem.decode(), "cloud_key": cloud.key_pem.decode(),
            **egress(kube, ca, None), "nodeport": 0}


def egress(kube: KubeAPI, ca: CA, cluster_ip: str | None) -> dict[str, str]:
    """tunnel-cloud's egress serving pair. The API server dials `tunnel-cloud-internal`'s cluster IP (it cannot
    resolve Service names), so once that IP is known it must be in the certificate; an earlier run's pair is
    kept when it already is."""
    dns = [f"tunnel-cloud-internal.{EDGE_NAMESPACE}.svc", f"tunnel-cloud-internal.{EDGE_NAMESPACE}.svc.cluster.local"]
    ips = ["127.0.0.1", *([cluster_ip] if cluster_ip else [])]
    old = _ours(kube, "tunnel-cloud-cert")
    pair = _pair(old, "egress.crt", "egress.key", ca.cert, dns, ips) or pki.sign_pair(
        ca.cert, ca.key, cn="TunnelAnpServer", orgs=["superedge"], server=True, dns=dns, ips=ips)
    return {"egress_crt": pair.cert_pem.decode(), "egress_key": pair.key_pem.decode()}


def edge_health(kube: KubeAPI) -> dict[str, str]:
    hmac_cm = kube.get("v1", "ConfigMap", "hmac-config", EDGE_NAMESPACE) or {}
    hmac_key = str((hmac_cm.get("data") or {}).get("hmackey") or "")
    if not re.fullmatch(r"[A-Za-z0-9]{16,64}", hmac_key):  # anything else is not ours: a new one replaces it
        hmac_key = pki.random_string(16)
    old = _ours(kube, "validate-admission-control-server-certs")
    dns = [f"edge-health-admission.{EDGE_NAMESPACE}.svc"]
    if old.get("ca.crt"):
        try:
            webhook_ca = pki.load_cert_bytes(old["ca.crt"].encode(), "webhook CA")
            if _pair(old, "server.crt", "server.key", webhook_ca, dns, []):
                return {"hmac_key": hmac_key, "ca_crt": old["ca.crt"], "server_crt": old["server.crt"],
                        "server_key": old["server.key"]}
        except EdgeadmError:
            pass
    # A webhook-only CA: its key is discarded, so it can sign nothing else.
    webhook_ca, webhook_key = pki.new_ca("edge-health-admission-ca")
    server = pki.sign_pair(webhook_ca, webhook_key, cn="edge-health-admission", orgs=["superedge"], server=True,
                           dns=dns)
    return {"hmac_key": hmac_key, "ca_crt": pki.cert_to_pem(webhook_ca).decode(),
            "server_crt": server.cert_pem.decode(), "server_key": server.key_pem.decode()}


def lite_apiserver_sans(cluster_ip: str, edge_virtual_addr: str) -> tuple[list[str], list[str]]:
    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local"]
    return dns, list(dict.fromkeys(["127.0.0.1", cluster_ip, edge_virtual_addr]))


def lite_apiserver(kube: KubeAPI, ca: CA, cluster_ip: str, edge_virtual_addr: str) -> dict[str, str]:
    dns, ips = lite_apiserver_sans(cluster_ip, edge_virtual_addr)
    old = _ours(kube, "lite-apiserver-tls")
    # server auth only: this shared key must never work as a client identity against the API server
    pair = _pair(old, "tls.crt", "tls.key", ca.cert, dns, ips) or pki.sign_pair(
        ca.cert, ca.key, cn="lite-apiserver", orgs=["superedge"], server=True, dns=dns, ips=ips)
    return {"crt": pair.cert_pem.decode(), "key": pair.key_pem.decode()}


def material(kube: KubeAPI, ca: CA, *, master_host: str, control_plane_ips: list[str], cluster_ip: str,
             edge_virtual_addr: str) -> Material:
    return Material(tunnel=tunnel(kube, ca, master_host, control_plane_ips), edge_health=edge_health(kube),
                    lite_apiserver=lite_apiserver(kube, ca, cluster_ip, edge_virtual_addr))
