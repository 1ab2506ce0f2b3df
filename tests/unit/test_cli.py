"""The command tree, exit codes and error boundary, through `main` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgeadm import __version__
from edgeadm.cli import main
from edgeadm.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == EXIT_OK
    for cmd in ("addon", "detach", "token", "join", "reset", "manifests", "version"):
        assert f"  {cmd}" in out


def test_version_client_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "version", "--client", "-o", "json")
    assert code == EXIT_OK
    assert json.loads(out)["clientVersion"]["edgeadmVersion"] == __version__
    assert "serverVersion" not in json.loads(out)


def test_version_without_cluster_warns_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "version")
    assert code == EXIT_OK
    assert out == f"edgeadm version: {__version__}\n"
    assert "server version unavailable" in err


def test_version_with_missing_kubeconfig_flag_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "--kubeconfig", str(tmp_path / "nope"), "version")
    assert code == EXIT_ERROR
    assert out == ""
    assert err.splitlines()[0] == f"error: kubeconfig `{tmp_path / 'nope'}` does not exist"
    assert "Traceback" not in err


def test_malformed_kubeconfig_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("this: [is not a kubeconfig")
    code, _, err = run(capsys, "--kubeconfig", str(bad), "version")
    assert code == EXIT_ERROR
    assert err.startswith(f"error: kubeconfig `{bad}` is not usable")
    assert "Traceback" not in err


def test_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: x}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    code, _, err = run(capsys, "--kubeconfig", str(conf), "version")
    assert code == EXIT_ERROR
    assert "API server unreachable" in err.splitlines()[0]


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--no-such-flag")
    assert code == EXIT_USAGE
    assert "No such option" in err


def test_traceback_only_with_verbose(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "-v", "--kubeconfig", str(tmp_path / "nope"), "version")
    assert code == EXIT_ERROR
    assert "Traceback" in err


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from edgeadm.cli import main; main(['--help']);"
        "heavy=[m for m in ('kubernetes','paramiko','cryptography','jinja2') if m in sys.modules];"
        "print('HEAVY=' + ','.join(heavy))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().splitlines()[-1] == "HEAVY="


def test_join_usage_errors_before_touching_anything(capsys: pytest.CaptureFixture[str]) -> None:
    ok_hash = "sha256:" + "a" * 64
    cases = [
        (["join", "10.0.0.1:6443", "--token", "abcdef.0123456789abcdef", "--install-pkg-path", "p"], "ca-cert-hash"),
        (["join", "10.0.0.1:6443", "--token", "bad", "--discovery-token-ca-cert-hash", ok_hash,
          "--install-pkg-path", "p"], "not of the form"),
        (["join", "10.0.0.1:6443", "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", ok_hash],
         "--install-pkg-path is required"),
        (["join", "10.0.0.1:99999", "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", ok_hash,
          "--install-pkg-path", "p"], "invalid port"),
    ]
    for argv, text in cases:
        code, out, err = run(capsys, *argv)
        assert code == EXIT_USAGE, (argv, err)
        assert text in err and out == ""
