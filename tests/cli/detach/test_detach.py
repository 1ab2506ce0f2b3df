"""`edgeadm detach edge-apps` without a cluster to detach from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.transcript import UNREACHABLE, Transcript

Run = Callable[..., Transcript]


def test_unreachable_api_server(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "detach", "edge-apps") == Transcript(
        1, "", UNREACHABLE.format(what="Node (v1)"))


def test_unreachable_api_server_in_a_dry_run(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "detach", "edge-apps", "--dry-run") == Transcript(
        1, "", UNREACHABLE.format(what="Node (v1)"))


def test_missing_kubeconfig(edgeadm: Run, tmp_path: Path) -> None:
    assert edgeadm("--kubeconfig", str(tmp_path / "nope.conf"), "detach", "edge-apps") == Transcript(
        1, "", f"error: kubeconfig `{tmp_path / 'nope.conf'}` does not exist\n"
               "hint: pass an existing file with --kubeconfig\n")
