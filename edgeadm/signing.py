"""Bootstrap-token signatures on `kube-public/cluster-info`: verifying them (join, addon) and proving that the
controller-manager's bootstrapsigner and tokencleaner run (addon preflight)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from edgeadm import tokens
from edgeadm.kube.types import KubeAPI
from edgeadm.record import MANAGED_LABELS


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
    if not isinstance(header, dict) or header.get("alg") != "HS256" or header.get("kid") != token_id:
        return False
    payload = base64.urlsafe_b64encode(kubeconfig.encode()).rstrip(b"=").decode()
    mac = hmac.new(token_secret.encode(), f"{parts[0]}.{payload}".encode(), hashlib.sha256).digest()
    try:
        return hmac.compare_digest(mac, _b64url_decode(parts[2]))
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------------- the probe
SIGNING_TIMEOUT = 20.0  # bootstrapsigner signs within a second or two; 20 s covers a busy controller-manager
CONTROLLERS_HINT = "start kube-controller-manager with --controllers=*,bootstrapsigner,tokencleaner"


@dataclass(frozen=True)
class SignerEvidence:
    """What the probe found: `verified` when bootstrapsigner is proven to sign; otherwise a warning or an error."""

    verified: bool
    warning: str | None = None
    error: str | None = None


def signed_by_cluster(kube: KubeAPI, cluster_info: dict[str, Any]) -> bool:
    """True when cluster-info carries a valid signature for an existing signing token (bootstrapsigner is alive)."""
    data = cluster_info.get("data") or {}
    for key, sig in data.items():
        if not key.startswith("jws-kubeconfig-"):
            continue
        tid = key.removeprefix("jws-kubeconfig-")
        secret = kube.get("v1", "Secret", f"bootstrap-token-{tid}", "kube-system")
        tsec = base64.b64decode(((secret or {}).get("data") or {}).get("token-secret", "")).decode()
        if tsec and verify_jws(data.get("kubeconfig") or "", sig, tid, tsec):
            return True
    return False


def probe(kube: KubeAPI) -> SignerEvidence:
    """Prove bootstrapsigner/tokencleaner run by what the cluster does with a short-lived probe token.

    An existing valid signature is evidence enough. Without cluster-info there is nothing to sign, so an already
    expired probe token proves tokencleaner instead (bootstrapsigner is verified after addon creates cluster-info).
    """
    if kube.dry_run:
        return SignerEvidence(False, warning="token signing not probed in --dry-run")
    cluster_info = kube.get("v1", "ConfigMap", "cluster-info", "kube-public")
    if cluster_info is not None and signed_by_cluster(kube, cluster_info):
        return SignerEvidence(True)
    expired = cluster_info is None
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    token = tokens.new_token(None, ttl=dt.timedelta(seconds=120), usages=("signing",), groups=(),
                             description="edgeadm preflight probe; deleted within seconds")
    if expired:
        token = dataclasses.replace(token, expires=now - dt.timedelta(seconds=60))
    secret = token.to_secret()
    secret["metadata"]["labels"] = dict(MANAGED_LABELS)
    name = secret["metadata"]["name"]
    kube.create(secret)
    try:
        deadline = time.monotonic() + SIGNING_TIMEOUT
        while time.monotonic() < deadline:
            if expired:
                if kube.get("v1", "Secret", name, "kube-system") is None:
                    return SignerEvidence(False, warning="cluster-info does not exist yet: tokencleaner works; "
                                                         "bootstrapsigner is verified after cluster-info is created")
            else:
                cm = kube.get("v1", "ConfigMap", "cluster-info", "kube-public") or {}
                if f"jws-kubeconfig-{token.id}" in (cm.get("data") or {}):
                    return SignerEvidence(True)
            time.sleep(0.25)
    finally:
        kube.delete("v1", "Secret", name, "kube-system")
    what = "tokencleaner did not remove an expired token" if expired else "bootstrapsigner did not sign cluster-info"
    return SignerEvidence(False, error=f"{what} within {SIGNING_TIMEOUT:.0f}s; {CONTROLLERS_HINT}")
