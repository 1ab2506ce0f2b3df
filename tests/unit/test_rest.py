"""The stdlib transport and LightKube against a real HTTPS server on 127.0.0.1 (certificates from edgeadm.pki).

`TLSServer` and `Certs` are also used by test_node_api.py and test_discovery.py.
"""

from __future__ import annotations

import functools
import json
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from edgeadm import kube, pki
from edgeadm.errors import ConfigError
from edgeadm.kube import Conflict, KubeError, NotFound, Unauthorized, Unavailable
from edgeadm.kube.errors import error_for_status
from edgeadm.kube.light import KINDS, LightKube
from edgeadm.kube.rest import Anonymous, Auth, BearerToken, ClientCert, ClientCertPEM, Transport

TOKEN = "abcdef.0123456789abcdef"


# ------------------------------------------------------------------------------------------------ test server
@dataclass(frozen=True)
class Certs:
    ca_pem: bytes
    server: pki.KeyPair
    client: pki.KeyPair  # CN system:node:n1, O system:nodes, signed by the CA
    other_ca_pem: bytes  # an unrelated CA

    def write(self, directory: Path) -> dict[str, Path]:
        """The PEMs as files: ca, server.crt/key, client.crt/key and client.pem (certificate and key in one)."""
        files = {"ca": self.ca_pem, "server.crt": self.server.cert_pem, "server.key": self.server.key_pem,
                 "client.crt": self.client.cert_pem, "client.key": self.client.key_pem,
                 "client.pem": self.client.cert_pem + self.client.key_pem}
        out = {}
        for name, data in files.items():
            out[name] = directory / name
            out[name].write_bytes(data)
        return out


@functools.cache
def certs() -> Certs:
    ca, ca_key = pki.new_ca("edgeadm-test-ca")
    other, _ = pki.new_ca("someone-else")
    return Certs(
        ca_pem=pki.cert_to_pem(ca),
        server=pki.sign_pair(ca, ca_key, cn="kube-apiserver", dns=["localhost", "kubernetes"], ips=["127.0.0.1"],
                             server=True),
        client=pki.sign_pair(ca, ca_key, cn="system:node:n1", orgs=["system:nodes"], client=True),
        other_ca_pem=pki.cert_to_pem(other),
    )


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_cn: str | None
    peer: tuple[str, int]

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, Any]  # status and a JSON-able body (bytes are sent as they are)
Route = Reply | Callable[[Req], Reply]


def status_body(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}


@dataclass
class TLSServer:
    """An HTTPS server in a thread answering from `routes` ((METHOD, path) → reply); records every request."""

    directory: Path
    require_client_cert: bool = False
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[Req] = field(default_factory=list)

    def __post_init__(self) -> None:
        files = certs().write(self.directory)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(files["server.crt"]), str(files["server.key"]))
        if self.require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cadata=certs().ca_pem.decode())
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive
            timeout = 10

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                peer: Any = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
                cn = next((v for rdn in (peer or {}).get("subject", ()) for k, v in rdn if k == "commonName"), None)
                req = Req(self.command, parts.path, dict(parse_qsl(parts.query)),
                          {k.lower(): v for k, v in self.headers.items()}, body, cn, self.client_address)
                server.requests.append(req)
                route = server.routes.get((self.command, parts.path))
                if route is None:
                    status, payload = 404, status_body(404, f"{parts.path} not found")
                else:
                    status, payload = route(req) if callable(route) else route
                if status == -1:  # "hang up": close without answering
                    self.close_connection = True
                    return
                if status == 0:  # "drop": answer, then close without saying so (an idle-timeout close)
                    status, self.close_connection = 200, True
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                if self.close_connection:
                    self.connection.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.endpoint}"

    @property
    def peers(self) -> set[tuple[str, int]]:
        """The distinct client connections requests came on."""
        return {r.peer for r in self.requests}

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        if not self._thread.is_alive():
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TLSServer]:
    s = TLSServer(tmp_path)
    yield s
    s.stop()


@pytest.fixture
def mtls_server(tmp_path: Path) -> Iterator[TLSServer]:
    s = TLSServer(tmp_path, require_client_cert=True)
    yield s
    s.stop()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -------------------------------------------------------------------------------------------------------- TLS
def test_pinned_ca_is_accepted(server: TLSServer) -> None:
    server.routes[("GET", "/version")] = (200, {"gitVersion": "v1.33.13"})
    with Transport(server.url, ca_pem=certs().ca_pem) as t:
        assert t.call("GET", "/version", what="get version") == {"gitVersion": "v1.33.13"}


def test_another_ca_is_refused_in_one_line(server: TLSServer) -> None:
    with Transport(server.url, ca_pem=certs().other_ca_pem) as t, pytest.raises(Unavailable) as exc:
        t.call("GET", "/version", what="get version")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"get version: API server unreachable at {server.endpoint} (TLS certificate not trusted")
    assert not server.requests


def test_insecure_skips_verification(server: TLSServer) -> None:
    with Transport(server.url, ca_pem=None, insecure=True) as t:
        assert t.request("GET", "/nothing", what="probe").status == 404


def test_tls_server_name_is_what_the_certificate_is_checked_against(server: TLSServer) -> None:
    server.routes[("GET", "/version")] = (200, {})
    with Transport(server.url, ca_pem=certs().ca_pem, tls_server_name="kubernetes") as t:
        assert t.call("GET", "/version", what="v") == {}
    with Transport(server.url, ca_pem=certs().ca_pem, tls_server_name="elsewhere") as t, pytest.raises(Unavailable):
        t.call("GET", "/version", what="v")


def test_a_ca_that_is_not_pem_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CA bundle is not usable"):
        Transport("https://127.0.0.1:1", ca_pem=b"not a certificate")


@pytest.mark.parametrize("url", ["ftp://x", "https://", "127.0.0.1:6443", "https://h:notaport"])
def test_a_bad_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="is not an API server URL"):
        Transport(url, ca_pem=None)


def test_unreachable_is_one_line_naming_what(tmp_path: Path) -> None:
    port = closed_port()
    with Transport(f"https://127.0.0.1:{port}", ca_pem=certs().ca_pem) as t, pytest.raises(Unavailable) as exc:
        t.request("GET", "/version", what="get server version")
    assert str(exc.value) == f"get server version: API server unreachable at 127.0.0.1:{port} (connection refused)"
    assert exc.value.reason == "connection refused"
    assert exc.value.hint


# ------------------------------------------------------------------------------------------------------- auth
def test_bearer_token_is_sent(server: TLSServer) -> None:
    with Transport(server.url, ca_pem=certs().ca_pem, auth=BearerToken(TOKEN)) as t:
        t.request("GET", "/x", what="x")
    with Transport(server.url, ca_pem=certs().ca_pem, auth=Anonymous()) as t:
        t.request("GET", "/x", what="x")
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in server.requests[1].headers


@pytest.mark.parametrize("kind", ["files", "one-file", "pem"])
def test_client_certificate_is_presented(mtls_server: TLSServer, tmp_path: Path, kind: str) -> None:
    files = certs().write(tmp_path)
    choices: dict[str, Auth] = {"files": ClientCert(files["client.crt"], files["client.key"]),
                                "one-file": ClientCert(files["client.pem"], files["client.pem"]),
                                "pem": ClientCertPEM(certs().client.cert_pem, certs().client.key_pem)}
    auth = choices[kind]
    before = set(Path(tempfile.gettempdir()).glob("edgeadm-client-*"))
    with Transport(mtls_server.url, ca_pem=certs().ca_pem, auth=auth) as t:
        assert t.request("GET", "/x", what="x").status == 404
    assert mtls_server.requests[0].client_cn == "system:node:n1"
    assert set(Path(tempfile.gettempdir()).glob("edgeadm-client-*")) == before  # temp file removed


def test_in_memory_client_certificate_without_memfd(mtls_server: TLSServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where there is no memfd_create, the PEM pair goes through a 0600 temp file that is removed at once."""
    monkeypatch.delattr("os.memfd_create")
    before = set(Path(tempfile.gettempdir()).glob("edgeadm-client-*"))
    with Transport(mtls_server.url, ca_pem=certs().ca_pem,
                   auth=ClientCertPEM(certs().client.cert_pem, certs().client.key_pem)) as t:
        assert t.request("GET", "/x", what="x").status == 404
    assert mtls_server.requests[0].client_cn == "system:node:n1"
    assert set(Path(tempfile.gettempdir()).glob("edgeadm-client-*")) == before


def test_without_a_client_certificate_an_mtls_server_is_unreachable(mtls_server: TLSServer) -> None:
    with Transport(mtls_server.url, ca_pem=certs().ca_pem) as t, pytest.raises(Unavailable) as exc:
        t.request("GET", "/x", what="x")
    assert "\n" not in str(exc.value)


def test_a_missing_client_certificate_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="client certificate .* is not usable"):
        Transport("https://127.0.0.1:1", ca_pem=certs().ca_pem,
                  auth=ClientCert(tmp_path / "none.pem", tmp_path / "none.pem"))


def test_credentials_are_kept_out_of_reprs() -> None:
    assert TOKEN not in repr(BearerToken(TOKEN))
    pem = ClientCertPEM(certs().client.cert_pem, certs().client.key_pem)
    assert b"PRIVATE".decode() not in repr(pem)
    assert TOKEN not in repr(Transport("https://127.0.0.1:1", ca_pem=None, auth=BearerToken(TOKEN)))


# ------------------------------------------------------------------------------------------------- status map
@pytest.mark.parametrize(("status", "cls"), [(404, NotFound), (409, Conflict), (401, Unauthorized),
                                             (403, kube.Forbidden), (422, kube.Invalid), (429, Unavailable),
                                             (500, Unavailable), (503, Unavailable), (418, KubeError)])
def test_status_map(server: TLSServer, status: int, cls: type[KubeError]) -> None:
    server.routes[("GET", "/x")] = (status, status_body(status, "the reason " + "x" * 1000))
    with Transport(server.url, ca_pem=certs().ca_pem) as t, pytest.raises(KubeError) as exc:
        t.call("GET", "/x", what="get thing")
    assert type(exc.value) is cls
    assert exc.value.status == status
    msg = str(exc.value)
    assert msg.startswith("get thing: the reason xxx") and msg.endswith("…")
    assert len(msg) <= len("get thing: ") + 256


def test_a_non_status_body_is_the_message(server: TLSServer) -> None:
    server.routes[("GET", "/x")] = (502, b"<html>bad gateway</html>")
    with Transport(server.url, ca_pem=certs().ca_pem) as t, pytest.raises(Unavailable, match="bad gateway"):
        t.call("GET", "/x", what="x")


def test_the_client_path_uses_the_same_map() -> None:
    """edgeadm.kube.client translates through error_for_status (checked without importing kubernetes)."""
    source = Path(kube.__file__).with_name("client.py").read_text()
    assert "error_for_status(" in source and "{404:" not in source
    assert type(error_for_status(404, "m", "w")) is NotFound


def test_no_token_in_error_text(server: TLSServer) -> None:
    server.routes[("GET", "/x")] = (401, status_body(401, f"token {TOKEN} is not known"))
    with Transport(server.url, ca_pem=certs().ca_pem, auth=BearerToken(TOKEN)) as t:
        with pytest.raises(Unauthorized) as exc:
            t.call("GET", "/x", what="get x")
        assert TOKEN not in str(exc.value) and "<token>" in str(exc.value)
    with Transport(f"https://127.0.0.1:{closed_port()}", ca_pem=certs().ca_pem, auth=BearerToken(TOKEN)) as t:
        with pytest.raises(Unavailable) as exc2:
            t.call("GET", "/x", what="get x")
        assert TOKEN not in str(exc2.value) and TOKEN not in str(exc2.value.hint)


# ------------------------------------------------------------------------------------------------- keep-alive
def test_one_connection_is_reused(server: TLSServer) -> None:
    with Transport(server.url, ca_pem=certs().ca_pem) as t:
        for _ in range(5):
            t.request("GET", "/x", what="x")
        assert t.connections == 1
    assert len(server.peers) == 1 and len(server.requests) == 5


def test_a_dropped_connection_is_reopened_once(server: TLSServer) -> None:
    server.routes[("GET", "/drop")] = (0, {})
    server.routes[("GET", "/ok")] = (200, {"ok": True})
    with Transport(server.url, ca_pem=certs().ca_pem) as t:
        t.request("GET", "/drop", what="drop")
        assert t.call("GET", "/ok", what="ok") == {"ok": True}
        assert t.connections == 2
    assert len(server.peers) == 2


def test_a_reused_connection_that_hangs_up_is_retried_once_on_a_new_one(server: TLSServer) -> None:
    calls = []

    def flaky(r: Req) -> Reply:
        calls.append(r)
        return (-1, None) if len(calls) == 1 else (200, {"n": len(calls)})

    server.routes[("GET", "/ok")] = (200, {})
    server.routes[("GET", "/flaky")] = flaky
    with Transport(server.url, ca_pem=certs().ca_pem) as t:
        t.call("GET", "/ok", what="ok")
        assert t.call("GET", "/flaky", what="flaky") == {"n": 2}
        assert t.connections == 2


def test_a_new_connection_that_hangs_up_is_not_retried(server: TLSServer) -> None:
    server.routes[("GET", "/hangup")] = (-1, None)
    with Transport(server.url, ca_pem=certs().ca_pem) as t, pytest.raises(Unavailable) as exc:
        t.call("GET", "/hangup", what="hang up")
    assert "\n" not in str(exc.value)
    assert len(server.requests) == 1


def test_each_thread_gets_its_own_connection(server: TLSServer) -> None:
    server.routes[("GET", "/x")] = (200, {})
    with Transport(server.url, ca_pem=certs().ca_pem) as t:
        def work() -> None:
            for _ in range(3):
                t.call("GET", "/x", what="x")

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert t.connections == 4
    assert len(server.requests) == 12


# ------------------------------------------------------------------------------------------------- LightKube
@pytest.fixture
def light(server: TLSServer) -> Iterator[LightKube]:
    k = LightKube(Transport(server.url, ca_pem=certs().ca_pem, auth=BearerToken(TOKEN)))
    yield k
    k.close()


SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "kube-system"}}


def test_light_writes_use_our_field_manager(server: TLSServer, light: LightKube) -> None:
    coll = "/api/v1/namespaces/kube-system/secrets"
    server.routes[("POST", coll)] = lambda r: (201, r.json())
    server.routes[("PATCH", f"{coll}/s")] = lambda r: (200, r.json())
    server.routes[("PUT", f"{coll}/s")] = lambda r: (200, r.json())
    assert light.create(SECRET) == SECRET
    assert light.apply(SECRET) == SECRET
    assert light.replace(SECRET) == SECRET
    post, patch, put = server.requests
    assert post.query == {"fieldManager": "edgeadm"}
    assert patch.query == {"fieldManager": "edgeadm", "force": "true"}
    assert patch.headers["content-type"] == "application/apply-patch+yaml"
    assert patch.json() == SECRET
    assert put.query == {"fieldManager": "edgeadm"}


def test_light_dry_run(server: TLSServer, light: LightKube) -> None:
    light.dry_run = True
    server.routes[("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d")] = (200, {})
    server.routes[("DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:x")] = (200, {})
    light.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"}},
                force=False)
    assert light.delete("rbac.authorization.k8s.io/v1", "ClusterRole", "system:x", "ignored-for-cluster-kinds")
    assert server.requests[0].query == {"fieldManager": "edgeadm", "dryRun": "All"}
    assert server.requests[1].query == {"dryRun": "All"}
    assert server.requests[1].json()["propagationPolicy"] == "Background"


def test_light_reads(server: TLSServer, light: LightKube) -> None:
    server.routes[("GET", "/version")] = (200, {"major": "1", "minor": "33", "gitVersion": "v1.33.13"})
    server.routes[("GET", "/api/v1/namespaces/kube-system/secrets")] = (200, {"items": [{"metadata": {}}]})
    server.routes[("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")] = (200, {"a": 1})
    assert light.server_version()["gitVersion"] == "v1.33.13"
    assert light.list("v1", "Secret", namespace="kube-system", label_selector="a=b") == [
        {"metadata": {}, "apiVersion": "v1", "kind": "Secret"}]
    assert server.requests[1].query == {"labelSelector": "a=b"}
    assert light.get("discovery.k8s.io/v1", "EndpointSlice", "kubernetes", "default") == {"a": 1}
    assert light.get("v1", "ConfigMap", "missing", "default") is None
    assert not light.delete("v1", "ConfigMap", "missing", "default")
    assert light.server_url == server.url and light.ca_pem == certs().ca_pem


def test_light_cached_lists_and_tables(server: TLSServer, light: LightKube) -> None:
    """`cached` asks for resourceVersion=0; a table is asked for as one (Accept) with no objects, and anything
    else than a Table in the answer is an error, not rows."""
    server.routes[("GET", "/api/v1/nodes")] = (200, {"items": []})
    assert light.list("v1", "Node", cached=True) == []
    assert server.requests[-1].query == {"resourceVersion": "0"}
    server.routes[("GET", "/api/v1/namespaces/edge-system/pods")] = (200, {
        "kind": "Table", "columnDefinitions": [{"name": "Name"}, {"name": "Ready"}, {"name": "Node"}],
        "rows": [{"cells": ["p1", "1/1", "n1"]}, {"cells": ["p2", None]}, {"cells": "junk"}, "junk"]})
    assert light.table("v1", "Pod", namespace="edge-system", field_selector="spec.nodeName=n1", cached=True) == [
        {"Name": "p1", "Ready": "1/1", "Node": "n1"}, {"Name": "p2", "Ready": ""}]
    assert server.requests[-1].query == {"includeObject": "None", "resourceVersion": "0",
                                         "fieldSelector": "spec.nodeName=n1"}
    assert server.requests[-1].headers["accept"].startswith("application/json;as=Table;v=v1;g=meta.k8s.io")
    server.routes[("GET", "/api/v1/namespaces/edge-system/pods")] = (200, {"kind": "PodList", "items": []})
    with pytest.raises(KubeError, match="did not answer with a Table"):
        light.table("v1", "Pod", namespace="edge-system")


def test_light_kind_table() -> None:
    k = LightKube(Transport("https://127.0.0.1:1", ca_pem=None))
    assert not k.namespaced("v1", "Node") and k.namespaced("apps/v1", "DaemonSet")
    for api_version, kind in [("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "Namespace"), ("v1", "Node"),
                              ("v1", "Service"), ("v1", "Endpoints"), ("v1", "ServiceAccount"),
                              ("apps/v1", "DaemonSet"), ("apps/v1", "Deployment"),
                              ("discovery.k8s.io/v1", "EndpointSlice")] + [
            ("rbac.authorization.k8s.io/v1", x) for x in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")]:
        assert (api_version, kind) in KINDS
    with pytest.raises(KubeError, match="CustomResourceDefinition"):
        k.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "x")


def test_connect_fast_takes_the_light_client_for_a_simple_kubeconfig(server: TLSServer, tmp_path: Path) -> None:
    import base64

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    conf = tmp_path / "kubeconfig"
    conf.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": server.url,
                                                "certificate-authority-data": b64(certs().ca_pem)}}],
        "users": [{"name": "u", "user": {"client-certificate-data": b64(certs().client.cert_pem),
                                         "client-key-data": b64(certs().client.key_pem)}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    server.routes[("GET", "/version")] = (200, {"gitVersion": "v1.33.13"})
    k = kube.connect_fast(conf)
    assert isinstance(k, LightKube)
    assert k.server_version() == {"gitVersion": "v1.33.13"}
    k.close()


def test_importing_the_seam_loads_no_heavy_client() -> None:
    code = ("import sys, edgeadm.kube, edgeadm.kube.rest, edgeadm.kube.light, edgeadm.kube.kubeconfig; "
            "print(sorted(m for m in ('kubernetes', 'requests', 'urllib3', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
