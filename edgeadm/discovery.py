"""Token discovery as kubeadm does it, before anything on the machine changes.

1. fetch `kube-public/cluster-info` anonymously (TLS not yet trusted);
2. verify the detached JWS (HS256, keyed by the token secret) the controller-manager put there for this token;
3. check the CA inside against the pinned `--discovery-token-ca-cert-hash` values;
4. fetch it again over TLS pinned to that CA and require the same content.

The pinned CA stays in memory (nothing is written to disk), and later reads with the bootstrap token (`api_get`)
reuse one keep-alive connection per credential.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

from edgeadm import pki
from edgeadm.errors import ConfigError, EdgeadmError
from edgeadm.kube.errors import Unavailable
from edgeadm.kube.rest import BearerToken, Transport
from edgeadm.signing import verify_jws

CLUSTER_INFO_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
REQUEST_TIMEOUT = 10


class DiscoveryError(EdgeadmError):
    """Discovery refused the cluster; nothing on this machine was changed."""


@dataclass
class Discovered:
    """A cluster whose CA discovery verified: the endpoint nodes use and the CA to pin it to."""

    endpoint: str
    ca_pem: bytes
    server: str  # cluster-info's own server URL (informational; nodes use the endpoint they were given)
    _transports: dict[str, Transport] = field(default_factory=dict, repr=False, compare=False)

    def url(self, path: str) -> str:
        """The URL of an API path at the endpoint."""
        return f"https://{self.endpoint}{path}"

    def transport(self, token: str) -> Transport:
        """A keep-alive transport to the endpoint, pinned to the CA, authenticating with the bootstrap token."""
        t = self._transports.get(token)
        if t is None:
            t = Transport(f"https://{self.endpoint}", ca_pem=self.ca_pem, auth=BearerToken(token),
                          timeout=REQUEST_TIMEOUT)
            self._transports[token] = t
        return t

    def close(self) -> None:
        """Close the connections `api_get` kept open."""
        for t in self._transports.values():
            t.close()
        self._transports.clear()

    def get(self, path: str, token: str) -> dict[str, Any] | None:
        """GET an API path with the bootstrap token over pinned TLS; None when it is missing or not readable."""
        try:
            r = self.transport(token).request("GET", path, what=f"read {path}")
        except Unavailable as exc:
            raise DiscoveryError(f"cannot read {path}: {exc.reason}") from exc
        if r.status in (403, 404):
            return None
        if r.status == 401:
            raise DiscoveryError("the API server rejected the token (unknown or expired)",
                                 hint="create a new one with `edgeadm token create --print-join-command`")
        if r.status != 200:
            raise DiscoveryError(f"reading {path} failed: HTTP {r.status}")
        try:
            return r.json_object()
        except ValueError as exc:
            raise DiscoveryError(f"reading {path} failed: {exc}") from exc


def _fetch_cluster_info(t: Transport) -> tuple[int, dict[str, Any]]:
    """(status, data of cluster-info when 200) over `t`; raises Unavailable or ValueError."""
    r = t.request("GET", CLUSTER_INFO_PATH, what="read cluster-info")
    if r.status != 200:
        return r.status, {}
    doc = r.json()
    data = doc.get("data") if isinstance(doc, dict) else None
    return r.status, data if isinstance(data, dict) else {}


def discover(endpoint: str, token_id: str, token_secret: str, *, ca_hashes: list[str], unsafe_skip_ca: bool,
             timeout: float) -> Discovered:
    """Run token discovery against `endpoint` (host:port); raises DiscoveryError with one clear line."""
    url = f"https://{endpoint}"
    deadline = time.monotonic() + timeout
    sig = ""
    data: dict[str, Any] = {}
    last = ""
    try:
        insecure = Transport(url, ca_pem=None, insecure=True, timeout=REQUEST_TIMEOUT)
    except ConfigError as exc:
        raise DiscoveryError(f"discovery failed: {exc.message}", hint=exc.hint) from exc
    with insecure:
        while True:
            try:
                status, data = _fetch_cluster_info(insecure)
                if status == 200:
                    sig = str(data.get(f"jws-kubeconfig-{token_id}") or "")
                    if sig:
                        break
                    last = f"cluster-info has no signature for token `{token_id}`"
                else:
                    last = f"HTTP {status} reading cluster-info"
            except Unavailable as exc:
                last = f"cannot reach {url}: {exc.reason}"
            except ValueError:
                last = f"cluster-info from {url} is not JSON"
            if time.monotonic() > deadline:
                hint = ("the token is unknown or expired; create one with `edgeadm token create` on the master"
                        if "no signature" in last else "check the address and that the API server is reachable")
                raise DiscoveryError(f"discovery failed: {last}", hint=hint)
            time.sleep(1)
    kubeconfig = str(data.get("kubeconfig") or "")
    if not verify_jws(kubeconfig, sig, token_id, token_secret):
        raise DiscoveryError("discovery failed: the cluster-info signature does not match the token",
                             hint="wrong token secret, or cluster-info was tampered with")
    ca_pem, server = _ca_from_kubeconfig(kubeconfig)
    if not unsafe_skip_ca:
        pins = {h.lower() for h in ca_hashes}
        actual = pki.bundle_pins(ca_pem, "cluster CA")
        if not any(a in pins for a in actual):
            raise DiscoveryError(f"discovery failed: the cluster CA {', '.join(actual)} does not match "
                                 "--discovery-token-ca-cert-hash",
                                 hint="copy the hash from `edgeadm token create --print-join-command`")
    try:
        pinned = Transport(url, ca_pem=ca_pem, timeout=REQUEST_TIMEOUT)
    except ConfigError as exc:
        raise DiscoveryError(f"discovery failed: the CA in cluster-info is not usable ({exc.message})") from exc
    with pinned:
        while True:
            try:
                status, again = _fetch_cluster_info(pinned)
                break
            except Unavailable as exc:
                if (exc.reason or "").startswith("TLS"):  # the server's certificate: retrying cannot change it
                    raise DiscoveryError(f"discovery failed: TLS to {url} is not trusted by the pinned CA "
                                         f"({exc.reason})", hint="the endpoint must serve a certificate of that CA "
                                                                 "with this address in its SANs") from exc
                # the network (a reset, a timeout): a weak link is no reason to give up before the deadline
                if time.monotonic() > deadline:
                    raise DiscoveryError(f"discovery failed: cannot reach {url} over TLS pinned to the cluster CA "
                                         f"({exc.reason})", hint="check that the API server is reachable") from exc
                time.sleep(1)
            except ValueError:
                status, again = 0, {}
                break
    if status != 200 or again.get("kubeconfig") != kubeconfig:
        raise DiscoveryError("discovery failed: cluster-info changed between the insecure and the pinned fetch")
    return Discovered(endpoint=endpoint, ca_pem=ca_pem, server=server)


def _ca_from_kubeconfig(text: str) -> tuple[bytes, str]:
    """The CA bundle and server URL of cluster-info's kubeconfig."""
    import yaml

    try:
        conf = yaml.safe_load(text) or {}
        cluster = (conf.get("clusters") or [{}])[0].get("cluster") or {}
        return base64.b64decode(cluster["certificate-authority-data"]), str(cluster.get("server", ""))
    except (yaml.YAMLError, KeyError, ValueError, AttributeError, IndexError, TypeError) as exc:
        raise DiscoveryError("discovery failed: cluster-info holds no usable kubeconfig") from exc


def api_get(d: Discovered, path: str, token: str) -> dict[str, Any] | None:
    """GET an API path with the bootstrap token over pinned TLS; None when it is missing or not readable (404/403)."""
    return d.get(path, token)
