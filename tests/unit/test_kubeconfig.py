"""Which kubeconfig edgeadm uses, and what the stdlib transport reads from it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgeadm.errors import ConfigError
from edgeadm.kube import kubeconfig
from edgeadm.kube.rest import Anonymous, BearerToken, ClientCert, ClientCertPEM


def test_flag_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("x")
    b.write_text("x")
    monkeypatch.setenv("KUBECONFIG", str(b))
    assert kubeconfig.resolve(str(a)) == a


def test_env_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home_conf = Path.home() / ".kube" / "config"
    home_conf.parent.mkdir(parents=True)
    home_conf.write_text("x")
    env = tmp_path / "env"
    env.write_text("x")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{env}")
    assert kubeconfig.resolve(None) == env
    monkeypatch.delenv("KUBECONFIG")
    assert kubeconfig.resolve(None) == home_conf


def test_admin_conf_last(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    admin = tmp_path / "admin.conf"
    admin.write_text("x")
    monkeypatch.setattr(kubeconfig, "ADMIN_CONF", admin)
    assert kubeconfig.resolve(None) == admin


def test_nothing_found_names_every_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kubeconfig, "ADMIN_CONF", tmp_path / "none")
    with pytest.raises(ConfigError) as exc:
        kubeconfig.resolve(None)
    assert str(tmp_path / "none") in str(exc.value)
    assert exc.value.hint


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_a_flag_naming_something_that_is_not_a_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path if kind == "directory" else Path("/dev/null")
    with pytest.raises(ConfigError) as exc:
        kubeconfig.resolve(str(target))
    assert str(exc.value) == f"kubeconfig `{target}` is not a regular file"
    assert exc.value.hint == "pass a file with --kubeconfig"


# -------------------------------------------------------------------------------------------------- load_access
def write_conf(tmp_path: Path, *, cluster: dict[str, Any] | None = None, user: dict[str, Any] | None = None,
               extra: str = "") -> Path:
    conf = {
        "apiVersion": "v1", "kind": "Config", "current-context": "ctx",
        "clusters": [{"name": "k", "cluster": {"server": "https://10.0.0.1:6443", **(cluster or {})}}],
        "users": [{"name": "u", "user": user or {}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "k", "user": "u"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(conf) + extra)
    return path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_embedded_client_certificate(tmp_path: Path) -> None:
    path = write_conf(tmp_path, cluster={"certificate-authority-data": b64(b"CA PEM")},
                      user={"client-certificate-data": b64(b"CERT"), "client-key-data": b64(b"KEY")})
    access = kubeconfig.load_access(path)
    assert access == kubeconfig.Access(server="https://10.0.0.1:6443", ca_pem=b"CA PEM",
                                       auth=ClientCertPEM(b"CERT", b"KEY"))


def test_files_are_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(b"CA FILE")
    path = write_conf(tmp_path, cluster={"certificate-authority": "pki/ca.crt", "tls-server-name": "kubernetes"},
                      user={"client-certificate": "pki/c.crt", "client-key": "/abs/c.key"})
    access = kubeconfig.load_access(path)
    assert access is not None
    assert access.ca_pem == b"CA FILE" and access.tls_server_name == "kubernetes"
    assert access.auth == ClientCert(tmp_path / "pki" / "c.crt", Path("/abs/c.key"))


def test_bearer_token_and_token_file(tmp_path: Path) -> None:
    access = kubeconfig.load_access(write_conf(tmp_path, user={"token": "abcdef.0123456789abcdef"}))
    assert access is not None and access.auth == BearerToken("abcdef.0123456789abcdef")
    assert access.ca_pem is None  # no CA in the kubeconfig: the system's roots
    (tmp_path / "tok").write_text("from-file\n")
    access = kubeconfig.load_access(write_conf(tmp_path, user={"tokenFile": "tok"}))
    assert access is not None and access.auth == BearerToken("from-file")


def test_insecure_skip_tls_verify(tmp_path: Path) -> None:
    access = kubeconfig.load_access(write_conf(tmp_path, cluster={"insecure-skip-tls-verify": True}))
    assert access is not None and access.insecure and access.ca_pem is None and access.auth == Anonymous()


@pytest.mark.parametrize(("cluster", "user"), [
    ({}, {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}}),
    ({}, {"auth-provider": {"name": "oidc"}}),
    ({}, {"username": "admin", "password": "secret"}),
    ({}, {"token": "t", "as": "someone-else"}),
    ({"proxy-url": "socks5://proxy:1080"}, {"token": "t"}),
])
def test_what_needs_the_full_client(tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any]) -> None:
    assert kubeconfig.load_access(write_conf(tmp_path, cluster=cluster, user=user)) is None


@pytest.mark.parametrize(("text", "reason"), [
    ("this: [is not a kubeconfig", "not YAML"),
    ("- a list\n", "not a kubeconfig"),
    ("apiVersion: v1\nkind: Config\n", "no current-context"),
    ("current-context: nope\ncontexts: []\n", "no context named `nope`"),
    ("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n", "no cluster named `k`"),
    ("\udcff\udcfe binary", "not text (UTF-8)"),
    ("current-context: c\ncontexts: {c: 1}\n", "`contexts` is not a list"),
])
def test_a_malformed_kubeconfig_is_a_config_error(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.conf"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ConfigError) as exc:
        kubeconfig.load_access(path)
    assert str(exc.value).startswith(f"kubeconfig `{path}` is not usable: ")
    assert reason in str(exc.value)
    assert exc.value.hint == "check the file, or pass another with --kubeconfig"


@pytest.mark.parametrize(("cluster", "user", "reason"), [
    ({"certificate-authority-data": "%%%"}, {}, "`certificate-authority-data` is not base64"),
    ({"certificate-authority": "missing.crt"}, {}, "cannot read"),
    ({"server": ""}, {}, "has no server"),
    ({}, {"client-certificate-data": b64(b"CERT")}, "without the other"),
])
def test_unusable_entries_are_config_errors(tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any],
                                            reason: str) -> None:
    path = write_conf(tmp_path, cluster=cluster, user=user)
    with pytest.raises(ConfigError, match="is not usable") as exc:
        kubeconfig.load_access(path)
    assert reason in str(exc.value)


def test_a_bad_ca_is_reported_against_the_kubeconfig(tmp_path: Path) -> None:
    from edgeadm.kube.light import connect_light

    path = write_conf(tmp_path, cluster={"certificate-authority-data": b64(b"not a certificate")},
                      user={"token": "t"})
    with pytest.raises(ConfigError) as exc:
        connect_light(path)
    assert str(exc.value).startswith(f"kubeconfig `{path}` is not usable: the CA bundle is not usable")
