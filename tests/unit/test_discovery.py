"""JWS verification, CA-hash parsing, and token discovery against a real HTTPS server on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgeadm import discovery, options, pki
from edgeadm.errors import ConfigError
from edgeadm.kube.errors import Unavailable
from edgeadm.signing import verify_jws
from tests.unit.test_rest import TLSServer, certs, closed_port

TID, SECRET = "abcdef", "0123456789abcdef"


def sign(payload: str, tid: str, secret: str) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": tid}).encode()).rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    mac = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}..{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_valid_signature() -> None:
    assert verify_jws("kubeconfig", sign("kubeconfig", "abcdef", "s" * 16), "abcdef", "s" * 16)


@pytest.mark.parametrize("mutate", [
    lambda sig, p: (sig, p + " "),  # payload tampered
    lambda sig, p: (sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB"), p),  # signature tampered
    lambda sig, p: (sig.replace("..", ".x."), p),  # not detached
    lambda sig, p: ("garbage", p),
])
def test_tampering_is_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    sig, payload = mutate(sign("kubeconfig", "abcdef", "s" * 16), "kubeconfig")
    assert not verify_jws(payload, sig, "abcdef", "s" * 16)


def test_wrong_secret_or_kid_is_refused() -> None:
    sig = sign("kubeconfig", "abcdef", "s" * 16)
    assert not verify_jws("kubeconfig", sig, "abcdef", "t" * 16)
    assert not verify_jws("kubeconfig", sig, "zzzzzz", "s" * 16)


def test_ca_hash_parsing() -> None:
    good = "sha256:" + "a" * 64
    assert options.parse_ca_hash(good.upper().replace("SHA256", "sha256")) == good
    for bad in ("a" * 64, "sha256:xyz", "sha1:" + "a" * 40):
        with pytest.raises(ConfigError):
            options.parse_ca_hash(bad)


# ------------------------------------------------------------------------------------------- discovery on HTTPS
def cluster_info(server: str, ca_pem: bytes, *, tid: str = TID, secret: str = SECRET) -> dict[str, Any]:
    kubeconfig = yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "", "cluster": {
        "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}]})
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"},
            "data": {"kubeconfig": kubeconfig, f"jws-kubeconfig-{tid}": sign(kubeconfig, tid, secret)}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TLSServer]:
    s = TLSServer(tmp_path)
    s.routes[("GET", discovery.CLUSTER_INFO_PATH)] = (200, cluster_info("https://10.0.0.1:6443", certs().ca_pem))
    yield s
    s.stop()


def pin() -> str:
    return pki.bundle_pins(certs().ca_pem)[0]


def run(server: TLSServer, *, hashes: list[str] | None = None, unsafe: bool = False, tid: str = TID,
        secret: str = SECRET) -> discovery.Discovered:
    return discovery.discover(server.endpoint, tid, secret, ca_hashes=[pin()] if hashes is None else hashes,
                              unsafe_skip_ca=unsafe, timeout=0)


def test_discovery_pins_the_ca_in_memory(server: TLSServer) -> None:
    d = run(server)
    assert (d.endpoint, d.ca_pem, d.server) == (server.endpoint, certs().ca_pem, "https://10.0.0.1:6443")
    assert not hasattr(d, "ca_file")  # nothing on disk
    first, second = server.requests
    assert "authorization" not in first.headers and "authorization" not in second.headers
    assert len(server.peers) == 2  # the insecure and the pinned fetch are separate connections


def test_a_ca_that_does_not_match_the_pin_is_refused(server: TLSServer) -> None:
    with pytest.raises(discovery.DiscoveryError, match="does not match --discovery-token-ca-cert-hash"):
        run(server, hashes=["sha256:" + "0" * 64])


def test_an_unknown_token_has_no_signature(server: TLSServer) -> None:
    with pytest.raises(discovery.DiscoveryError, match="no signature for token `zzzzzz`") as exc:
        run(server, tid="zzzzzz")
    assert "unknown or expired" in str(exc.value.hint)


def test_a_wrong_secret_does_not_match(server: TLSServer) -> None:
    with pytest.raises(discovery.DiscoveryError, match="signature does not match the token"):
        run(server, secret="f" * 16)


def test_an_unreachable_endpoint() -> None:
    with pytest.raises(discovery.DiscoveryError, match="cannot reach https://127.0.0.1:[0-9]+: connection refused"):
        discovery.discover(f"127.0.0.1:{closed_port()}", TID, SECRET, ca_hashes=[pin()], unsafe_skip_ca=False,
                           timeout=0)


def test_the_pinned_fetch_needs_a_certificate_of_that_ca(server: TLSServer) -> None:
    server.routes[("GET", discovery.CLUSTER_INFO_PATH)] = (200, cluster_info("https://x", certs().other_ca_pem))
    with pytest.raises(discovery.DiscoveryError, match="not trusted by the pinned CA"):
        run(server, unsafe=True)


def test_cluster_info_must_not_change_between_fetches(server: TLSServer) -> None:
    answers = [cluster_info("https://a", certs().ca_pem), cluster_info("https://b", certs().ca_pem)]
    server.routes[("GET", discovery.CLUSTER_INFO_PATH)] = lambda r: (200, answers.pop(0))
    with pytest.raises(discovery.DiscoveryError, match="changed between the insecure and the pinned fetch"):
        run(server)


def test_api_get_with_the_bootstrap_token(server: TLSServer) -> None:
    d = run(server)
    server.requests.clear()
    token = f"{TID}.{SECRET}"
    server.routes[("GET", "/version")] = (200, {"gitVersion": "v1.33.13"})
    server.routes[("GET", "/api/v1/nodes/n1")] = (403, {"kind": "Status", "message": "forbidden"})
    server.routes[("GET", "/api/v1/nodes/gone")] = (401, {"kind": "Status", "message": "Unauthorized"})
    assert discovery.api_get(d, "/version", token) == {"gitVersion": "v1.33.13"}
    assert discovery.api_get(d, "/api/v1/nodes/n1", token) is None
    assert discovery.api_get(d, "/api/v1/namespaces/x/configmaps/missing", token) is None
    with pytest.raises(discovery.DiscoveryError, match=r"the API server rejected the token \(unknown or expired\)"):
        discovery.api_get(d, "/api/v1/nodes/gone", token)
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {token}"}
    assert len(server.peers) == 1  # one keep-alive connection for every read
    d.close()


def test_api_get_other_failures(server: TLSServer) -> None:
    d = run(server)
    server.routes[("GET", "/x")] = (500, {"kind": "Status", "message": "boom"})
    with pytest.raises(discovery.DiscoveryError, match=r"reading /x failed: HTTP 500"):
        discovery.api_get(d, "/x", "t")
    d.close()
    server.stop()
    server.routes.clear()
    with pytest.raises(discovery.DiscoveryError, match="cannot read /x: connection refused"):
        discovery.api_get(d, "/x", "t")


def test_a_dropped_connection_on_the_pinned_fetch_is_tried_again(server: TLSServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A weak link (here: the pinned fetch's first connection reset) is retried until the deadline; only a
    certificate the pinned CA does not trust fails at once (the test above)."""
    real = discovery._fetch_cluster_info
    calls: list[int] = []

    def flaky(t: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the first pinned attempt
            err = Unavailable("read cluster-info: API server unreachable (connection reset by peer)")
            err.reason = "connection reset by peer"
            raise err
        return real(t)

    monkeypatch.setattr(discovery, "_fetch_cluster_info", flaky)
    d = discovery.discover(server.endpoint, TID, SECRET, ca_hashes=[pin()], unsafe_skip_ca=False, timeout=5)
    assert d.server == "https://10.0.0.1:6443" and len(calls) == 3
