"""`edgeadm join`: every usage error is refused before any network access or change to this machine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.transcript import Transcript

USAGE = "Usage: edgeadm join [OPTIONS] HOST:PORT\nTry 'edgeadm join --help' for help.\n\n"
TOKEN = "abcdef.0123456789abcdef"
CA_HASH = "sha256:" + "a" * 64
PKG = ("--install-pkg-path", "kube.tar.gz")

Run = Callable[..., Transcript]


def test_bad_token_form(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--token", "abcdef-0123456789abcdef",
                   "--discovery-token-ca-cert-hash", CA_HASH, *PKG) == Transcript(
        2, "", USAGE + "Error: the token is not of the form [a-z0-9]{6}.[a-z0-9]{16} "
                          "(generate one with `edgeadm token generate`)\n")


MISSING_TOKEN = ("Error: a bootstrap token is required: --token, or both --discovery-token and --tls-bootstrap-token "
                 "(create one on the master: edgeadm token create)\n")


def test_missing_token(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--discovery-token-ca-cert-hash", CA_HASH, *PKG) == Transcript(
        2, "", USAGE + MISSING_TOKEN)
    # one of kubeadm's two separate tokens is not enough either
    assert edgeadm("join", "10.0.0.1:6443", "--discovery-token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH,
                   *PKG) == Transcript(2, "", USAGE + MISSING_TOKEN)


def test_missing_ca_cert_hash(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--token", TOKEN, *PKG) == Transcript(
        2, "", USAGE + "Error: --discovery-token-ca-cert-hash is required (or "
                       "--discovery-token-unsafe-skip-ca-verification)\n")


def test_missing_install_pkg_path(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH) == Transcript(
        2, "", USAGE + "Error: --install-pkg-path is required (the static install package: a file or http(s) URL)\n")


def test_bad_port(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:99999", "--token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH,
                   *PKG) == Transcript(2, "", USAGE + "Error: address `10.0.0.1:99999` has an invalid port `99999` "
                                                "(use a port from 1 to 65535)\n")


def test_endpoint_without_a_port(edgeadm: Run) -> None:
    """Refused before any network access (it used to go to port 443 of that host)."""
    assert edgeadm("join", "192.0.2.1", "--token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH,
                   *PKG) == Transcript(2, "", USAGE + "Error: address `192.0.2.1` has no port "
                                                "(the API server's HOST:PORT, e.g. 10.0.0.1:6443)\n")


def test_bad_ca_hash_form(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", "sha256:abc",
                   *PKG) == Transcript(2, "", USAGE + "Error: `sha256:abc` is not a CA hash "
                                                "(expected sha256:<64 hex digits>)\n")


def test_ca_hash_of_another_algorithm(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", "md5:" + "a" * 32,
                   *PKG) == Transcript(2, "", USAGE + f"Error: `md5:{'a' * 32}` is not a CA hash "
                                                "(expected sha256:<64 hex digits>)\n")


def test_missing_kubelet_config_patch(edgeadm: Run, tmp_path: Path) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH, *PKG,
                   "--kubelet-config-patch", str(tmp_path / "patch.yaml")) == Transcript(
        2, "", USAGE + f"Error: Invalid value for '--kubelet-config-patch': File '{tmp_path / 'patch.yaml'}' does "
                       "not exist.\n")


def test_unknown_phase_to_skip(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH, *PKG,
                   "--skip-phases", "nope") == Transcript(
        2, "", USAGE + "Error: Invalid value for '--skip-phases': unknown phase(s): nope (known phases: discovery, "
                       "package, preflight, install, runtime, images, kubelet-config, edge, kubelet-start)\n")


def test_phase_that_cannot_be_skipped(edgeadm: Run) -> None:
    assert edgeadm("join", "10.0.0.1:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH, *PKG,
                   "--skip-phases", "package") == Transcript(
        2, "", USAGE + "Error: Invalid value for '--skip-phases': phase `package` cannot be skipped\n")


def test_kubelet_patch_that_opens_the_kubelet(edgeadm: Run, tmp_path: Path) -> None:
    patch = tmp_path / "patch.yaml"
    patch.write_text("authentication:\n  anonymous:\n    enabled: true\n")
    assert edgeadm("join", "10.0.0.1:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH, *PKG,
                   "--kubelet-config-patch", str(patch)) == Transcript(
        2, "", USAGE + f"Error: Invalid value for '--kubelet-config-patch': `{patch}` sets "
                       "authentication.anonymous.enabled: True (anonymous requests are accepted) (remove it, or pass "
                       "--allow-insecure-kubelet-config if you mean it)\n")


def test_tokens_on_stdin_are_checked_like_flags(edgeadm: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    base = ("join", "10.0.0.1:6443", "--token-stdin", "--discovery-token-ca-cert-hash", CA_HASH, *PKG)
    monkeypatch.setattr("sys.stdin", io.StringIO("password=hunter2\n"))
    got = edgeadm(*base)
    assert got.code == 2 and "line 1 of standard input is not token=" in got.err and "hunter2" not in got.err
    monkeypatch.setattr("sys.stdin", io.StringIO("tls-bootstrap-token=" + TOKEN + "\n"))
    assert edgeadm(*base) == Transcript(2, "", USAGE + MISSING_TOKEN)  # the discovery role is not covered
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert "standard input holds no token" in edgeadm(*base).err


def test_endpoint_or_bundle(edgeadm: Run, tmp_path: Path) -> None:
    assert edgeadm("join", "--token", TOKEN, "--discovery-token-ca-cert-hash", CA_HASH, *PKG) == Transcript(
        2, "", USAGE + "Error: HOST:PORT is required (or --bundle FILE)\n")
    got = edgeadm("join", "10.0.0.1:6443", "--bundle", str(tmp_path / "bundle.json"), "--node-name", "b1")
    assert got.code == 2 and "--bundle gives HOST:PORT, the tokens, the CA pins, the package" in got.err
    got = edgeadm("join", "--bundle", str(tmp_path / "bundle.json"), "--node-name", "b1")
    assert got.code == 2 and "cannot read the bundle" in got.err
