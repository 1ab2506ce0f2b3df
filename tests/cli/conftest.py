"""CLI transcript tests: `edgeadm.cli.main` in-process, as a user runs it, with no cluster and no root.

Each test asserts the exit code and the whole of stdout and stderr. Nothing may be written outside tmp_path: HOME
is there already (tests/conftest.py), and here the working directory and the temp directory are too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeadm import cli
from tests.cli.transcript import UNREACHABLE_KUBECONFIG, Transcript


@pytest.fixture(autouse=True)
def _cli_isolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    # `main` remembers -v/--debug from any earlier call in this process (cli._debug_requested only ever turns on),
    # which would add tracebacks to these transcripts after a test that passed -v (tests/unit/test_cli.py does).
    monkeypatch.setattr(cli, "_debug_requested", False)


@pytest.fixture
def edgeadm(capsys: pytest.CaptureFixture[str]) -> Callable[..., Transcript]:
    def run(*args: str) -> Transcript:
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return Transcript(code, out, err)

    return run


@pytest.fixture
def unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig whose API server refuses connections; the kube layer's retries run without their delays."""
    from edgeadm.kube import rest

    monkeypatch.setattr(rest, "RETRY_DELAY", 0)  # same attempts and messages, without 3 s of back-off per test
    path = tmp_path / "unreachable.conf"
    path.write_text(UNREACHABLE_KUBECONFIG)
    return path
