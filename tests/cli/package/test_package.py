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


def test_an_image_archive_for_another_architecture_is_refused(edgeadm: Run, tmp_path: Path) -> None:
    from tests.harness.images import write_archive

    img = write_archive(tmp_path / "tunnel.tar", "example.com/edge/tunnel:v1", files={"/x": b"x"}, entrypoint=["/x"],
                        arch="arm64")
    assert edgeadm(*args(tmp_path, **{"--arch": "amd64"}), "--image", str(img)) == Transcript(
        2, "", USAGE + "Error: Invalid value for '--image': image archive `tunnel.tar` holds "
                       "`example.com/edge/tunnel:v1` for linux/arm64, not linux/amd64 (write it with `docker save`, "
                       "`ctr images export` or an equivalent tool)\n")
    assert not (tmp_path / "kube.tar.gz").exists()


def test_images_are_listed_in_the_manifest(edgeadm: Run, tmp_path: Path) -> None:
    import json
    import tarfile

    from tests.harness.images import write_archive

    a = write_archive(tmp_path / "a.tar", "example.com/edge/tunnel:v1", files={"/x": b"x"}, entrypoint=["/x"])
    b = write_archive(tmp_path / "b.tar", "example.com/edge/edge-health:v1", files={"/y": b"y"}, entrypoint=["/y"])
    t = edgeadm(*args(tmp_path, **{"--arch": "amd64"}), "--image", str(a), "--image", str(b))
    assert t.code == 0, t.err
    with tarfile.open(tmp_path / "kube.tar.gz") as tar:
        fh = tar.extractfile("edge-install/manifest.json")
        assert fh is not None
        manifest = json.load(fh)
    assert manifest["images"] == {"images/example.com_edge_edge-health_v1.tar": ["example.com/edge/edge-health:v1"],
                                  "images/example.com_edge_tunnel_v1.tar": ["example.com/edge/tunnel:v1"]}
    assert set(manifest["images"]) <= set(manifest["files"])
    again = edgeadm(*args(tmp_path, **{"--arch": "amd64"}), "--image", str(a), "--image", str(a))
    assert again == Transcript(2, "", USAGE + "Error: Invalid value for '--image': two archives hold "
                                              "`example.com/edge/tunnel:v1`\n")
