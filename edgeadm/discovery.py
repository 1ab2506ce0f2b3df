"""Token discovery as kubeadm does it, before anything on the machine changes.

1. fetch `kube-public/cluster-info` anonymously (TLS not yet trusted);
2. verify the detached JWS (HS256, keyed by the token secret) the controller-manager put there for this token;
3. check the CA inside against the pinned `--discovery-token-ca-cert-hash` values;
4. fetch it again over TLS pinned to that CA and require the same content.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edgeadm import pki
from edgeadm.errors import ConfigError, EdgeadmError

CLUSTER_INFO_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
REQUEST_TIMEOUT = 10


class DiscoveryError(EdgeadmError):
    """Discovery refused the cluster; nothing on this machine was changed."""


@dataclass
class Discovered:
    endpoint: str
    ca_pem: bytes
    ca_file: Path  # a temp file holding ca_pem, for pinned TLS
    server: str  # cluster-info's own server URL (informational; nodes use the endpoint they were given)

    def url(self, path: str) -> str:
        return f"https://{self.endpoint}{path}"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_jws(kubeconfig: str, signature: str, token_id: str, token_secret: str) -> bool:
    """True when `signature` is the detached HS256 JWS of `kubeconfig` for this token."""
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] != "":
        return False
    try:
        header = json.loads(_b64url_decode(parts[0]))
    except ValueError:
        return False
    if header.get("alg") != "HS256" or header.get("kid") != token_id:
        return False
    payload = base64.urlsafe_b64encode(kubeconfig.encode()).rstrip(b"=").decode()
    mac = hmac.new(token_secret.encode(), f"{parts[0]}.{payload}".encode(), hashlib.sha256).digest()
    try:
        return hmac.compare_digest(mac, _b64url_decode(parts[2]))
    except ValueError:
        return False


def _get(url: str, *, verify: Any, token: str | None = None) -> Any:
    import requests
    import urllib3

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        return requests.get(url, verify=verify, headers=headers, timeout=REQUEST_TIMEOUT)


def discover(endpoint: str, token_id: str, token_secret: str, *, ca_hashes: list[str], unsafe_skip_ca: bool,
             timeout: float) -> Discovered:
    """Run token discovery against `endpoint` (host:port); raises DiscoveryError with one clear line."""
    import requests

    url = f"https://{endpoint}{CLUSTER_INFO_PATH}"
    deadline = time.monotonic() + timeout
    sig = data = None
    last = ""
    while True:
        try:
            r = _get(url, verify=False)
            if r.status_code == 200:
                data = r.json().get("data") or {}
                sig = data.get(f"jws-kubeconfig-{token_id}")
                if sig:
                    break
                last = f"cluster-info has no signature for token `{token_id}`"
            else:
                last = f"HTTP {r.status_code} reading cluster-info"
        except (requests.RequestException, ValueError) as exc:
            last = f"cannot reach https://{endpoint}: {type(exc).__name__}"
        if time.monotonic() > deadline:
            hint = ("the token is unknown or expired; create one with `edgeadm token create` on the master"
                    if "no signature" in last else "check the address and that the API server is reachable")
            raise DiscoveryError(f"discovery failed: {last}", hint=hint)
        time.sleep(1)
    kubeconfig = data.get("kubeconfig") or ""
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
    ca_file = Path(tempfile.mkstemp(prefix="edgeadm-ca-", suffix=".crt")[1])
    ca_file.write_bytes(ca_pem)
    try:
        again = _get(url, verify=str(ca_file))
    except requests.RequestException as exc:
        raise DiscoveryError(f"discovery failed: TLS to https://{endpoint} is not trusted by the pinned CA "
                             f"({type(exc).__name__})", hint="the endpoint must serve a certificate of that CA "
                                                             "with this address in its SANs") from exc
    if again.status_code != 200 or (again.json().get("data") or {}).get("kubeconfig") != kubeconfig:
        raise DiscoveryError("discovery failed: cluster-info changed between the insecure and the pinned fetch")
    return Discovered(endpoint=endpoint, ca_pem=ca_pem, ca_file=ca_file, server=server)


def _ca_from_kubeconfig(text: str) -> tuple[bytes, str]:
    try:
        conf = yaml.safe_load(text) or {}
        cluster = (conf.get("clusters") or [{}])[0].get("cluster") or {}
        return base64.b64decode(cluster["certificate-authority-data"]), str(cluster.get("server", ""))
    except (yaml.YAMLError, KeyError, ValueError, AttributeError, IndexError) as exc:
        raise DiscoveryError("discovery failed: cluster-info holds no usable kubeconfig") from exc


def api_get(d: Discovered, path: str, token: str) -> dict[str, Any] | None:
    """GET an API path with the bootstrap token over pinned TLS; None when it is missing or not readable (404/403)."""
    import requests

    try:
        r = _get(d.url(path), verify=str(d.ca_file), token=token)
    except requests.RequestException as exc:
        raise DiscoveryError(f"cannot read {path}: {type(exc).__name__}") from exc
    if r.status_code in (403, 404):
        return None
    if r.status_code == 401:
        raise DiscoveryError("the API server rejected the token (unknown or expired)",
                             hint="create a new one with `edgeadm token create --print-join-command`")
    if r.status_code != 200:
        raise DiscoveryError(f"reading {path} failed: HTTP {r.status_code}")
    data: dict[str, Any] = r.json()
    return data


def parse_ca_hash(value: str) -> str:
    v = value.strip().lower()
    if not v.startswith("sha256:") or len(v) != 71 or any(c not in "0123456789abcdef" for c in v[7:]):
        raise ConfigError(f"`{value}` is not a CA hash", hint="expected sha256:<64 hex digits>")
    return v
