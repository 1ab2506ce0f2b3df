"""Image archives a package carries: what is accepted, what is refused (one line naming the archive), and the
journal entry reset uses to remove imported images from a runtime join did not install."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from edgeadm import images
from edgeadm.errors import ConfigError
from edgeadm.host import journal as jr
from tests.harness.images import write_archive

REF = "superedge.tencentcloudcr.com/superedge/tunnel:v0.9.0"


def good(tmp_path: Path, ref: str = REF, arch: str = "amd64") -> Path:
    return write_archive(tmp_path / "img.tar", ref, files={"/usr/local/bin/x": b"#!/bin/true\n"},
                         entrypoint=["/usr/local/bin/x"], arch=arch)


def raw_archive(tmp_path: Path, members: dict[str, bytes]) -> Path:
    out = tmp_path / "raw.tar"
    with tarfile.open(out, "w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out


def config(arch: str = "amd64", os_: str = "linux") -> bytes:
    return json.dumps({"architecture": arch, "os": os_, "rootfs": {"type": "layers", "diff_ids": []}}).encode()


def manifest(**entry: Any) -> bytes:
    return json.dumps([{"Config": "c.json", "RepoTags": [REF], "Layers": ["l.tar"], **entry}]).encode()


def test_a_written_archive_is_accepted_and_reproducible(tmp_path: Path) -> None:
    a = good(tmp_path)
    got = images.inspect(a, arch="amd64")
    assert got.refs == (REF,) and got.arch == "amd64"
    first = a.read_bytes()
    a.unlink()
    assert good(tmp_path).read_bytes() == first


@pytest.mark.parametrize(("members", "why"), [
    ({"x": b"1"}, "has no `manifest.json`"),
    ({"manifest.json": b"not json"}, "has a `manifest.json` that is not JSON"),
    ({"manifest.json": b"[]"}, "has no images in manifest.json"),
    ({"manifest.json": b"{}"}, "has no images in manifest.json"),
    ({"manifest.json": manifest(RepoTags=[]), "c.json": config(), "l.tar": b""}, "has an image without a name"),
    ({"manifest.json": manifest(RepoTags=["--all"]), "c.json": config(), "l.tar": b""},
     "names an image `--all`, which is not an image reference"),
    ({"manifest.json": manifest(RepoTags=["Upper/case:v1"]), "c.json": config(), "l.tar": b""},
     "which is not an image reference"),
    ({"manifest.json": manifest(RepoTags=["a/b:v1\nkind: x"]), "c.json": config(), "l.tar": b""},
     "which is not an image reference"),
    ({"manifest.json": manifest(), "c.json": config()}, f"lists layers of `{REF}` it does not contain"),
    ({"manifest.json": manifest(), "l.tar": b""}, "has no `c.json`"),
    ({"manifest.json": manifest(), "c.json": config(arch="arm64"), "l.tar": b""}, "for linux/arm64, not linux/amd64"),
    ({"manifest.json": manifest(), "c.json": config(os_="windows"), "l.tar": b""}, "for windows/amd64"),
    ({"manifest.json": manifest(), "c.json": b"[1]", "l.tar": b""}, "has a config of"),
    ({"manifest.json": b" " * (images.MAX_METADATA + 1)}, "more than"),
])
def test_a_bad_archive_is_refused_naming_it(tmp_path: Path, members: dict[str, bytes], why: str) -> None:
    with pytest.raises(ConfigError) as err:
        images.inspect(raw_archive(tmp_path, members), arch="amd64")
    assert err.value.message.startswith("image archive `raw.tar` ") and why in err.value.message, err.value.message
    assert "\n" not in err.value.message


def test_not_a_tar_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(b"\x1f\x8b not really")
    with pytest.raises(ConfigError, match=r"image archive `x.tar` is not a readable tar archive"):
        images.inspect(tmp_path / "x.tar", arch="amd64")


@pytest.mark.parametrize(("ref", "ok"), [
    (REF, True), ("registry.k8s.io/pause:3.10", True), ("localhost:5000/a/b", True), ("busybox", True),
    ("a/b@sha256:" + "0" * 64, True), ("-a", False), ("a b", False), ("A/b", False), ("a/b:", False), ("", False),
    ("a/b:" + "x" * 200, False),
])
def test_reference_grammar(ref: str, ok: bool) -> None:
    assert images.is_reference(ref) is ok


def test_the_journal_keeps_only_image_references_for_ctr(tmp_path: Path) -> None:
    entry = jr.ImagesImported("/run/containerd/containerd.sock", "/usr/local/bin/edgeadm-ctr", (REF,))
    assert jr.from_dict(json.loads(json.dumps(jr.to_dict(entry)))) == entry
    for hostile in (["--all"], [REF, "-f"], "abc", [1]):
        raw = {**jr.to_dict(entry), "refs": hostile}
        with pytest.raises(jr.JournalError, match="not image references"):
            jr.from_dict(raw)
