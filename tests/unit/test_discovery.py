"""JWS verification and CA-hash parsing (the network part runs in tests/e2e/test_join.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from edgeadm import discovery
from edgeadm.errors import ConfigError


def sign(payload: str, tid: str, secret: str) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": tid}).encode()).rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    mac = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}..{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_valid_signature() -> None:
    assert discovery.verify_jws("kubeconfig", sign("kubeconfig", "abcdef", "s" * 16), "abcdef", "s" * 16)


@pytest.mark.parametrize("mutate", [
    lambda sig, p: (sig, p + " "),  # payload tampered
    lambda sig, p: (sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB"), p),  # signature tampered
    lambda sig, p: (sig.replace("..", ".x."), p),  # not detached
    lambda sig, p: ("garbage", p),
])
def test_tampering_is_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    sig, payload = mutate(sign("kubeconfig", "abcdef", "s" * 16), "kubeconfig")
    assert not discovery.verify_jws(payload, sig, "abcdef", "s" * 16)


def test_wrong_secret_or_kid_is_refused() -> None:
    sig = sign("kubeconfig", "abcdef", "s" * 16)
    assert not discovery.verify_jws("kubeconfig", sig, "abcdef", "t" * 16)
    assert not discovery.verify_jws("kubeconfig", sig, "zzzzzz", "s" * 16)


def test_ca_hash_parsing() -> None:
    good = "sha256:" + "a" * 64
    assert discovery.parse_ca_hash(good.upper().replace("SHA256", "sha256")) == good
    for bad in ("a" * 64, "sha256:xyz", "sha1:" + "a" * 40):
        with pytest.raises(ConfigError):
            discovery.parse_ca_hash(bad)
