"""Bootstrap-token signatures on `kube-public/cluster-info`: verifying them (join, addon) and proving that the
controller-manager's bootstrapsigner and tokencleaner run (addon preflight)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


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
