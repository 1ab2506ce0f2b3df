"""`edgeadm package build`: missing inputs are usage errors, before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.transcript import Transcript

Run = Callable[..., Transcript]

USAGE = "Usage: edgeadm package build [OPTIONS]\nTry 'edgeadm package build --help' for help.\n\n"


def args(tmp_path: Path, **override: str) -> list[str]:
    """A full, valid set of flags (empty stand-in files), with some replaced."""
    for name in ("kubelet", "containerd", "pause.tar"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "cni").mkdir(exist_ok=True)
    flags = {"-o": str(tmp_path / "kube.tar.gz"), "--kubernetes-version": "v1.33.13",
             "--kubelet": str(tmp_path / "kubelet"), "--containerd-bin": str(tmp_path / "containerd"),
             "--cni-dir": str(tmp_path / "cni"), "--pause-tar": str(tmp_path / "pause.tar"), **override}
    return ["package", "build", *[x for kv in flags.items() for x in kv]]


def test_missing_output(edgeadm: Run) -> None:
    assert edgeadm("package", "build") == Transcript(2, "", USAGE + "Error: Missing option '-o' / '--output'.\n")


def test_missing_kubelet_file(edgeadm: Run, tmp_path: Path) -> None:
    assert edgeadm(*args(tmp_path, **{"--kubelet": str(tmp_path / "nope")})) == Transcript(
        2, "", USAGE + f"Error: Invalid value for '--kubelet': File '{tmp_path / 'nope'}' does not exist.\n")
    assert not (tmp_path / "kube.tar.gz").exists()


def test_cni_dir_that_is_a_file(edgeadm: Run, tmp_path: Path) -> None:
    assert edgeadm(*args(tmp_path, **{"--cni-dir": str(tmp_path / "kubelet")})) == Transcript(
        2, "", USAGE + f"Error: Invalid value for '--cni-dir': Directory '{tmp_path / 'kubelet'}' is a file.\n")
    assert not (tmp_path / "kube.tar.gz").exists()
