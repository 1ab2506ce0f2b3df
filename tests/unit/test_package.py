"""Package safety: entries escaping the target, absolute paths, outside links and devices are refused."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from edgeadm import package
from edgeadm.errors import ConfigError, EdgeadmError, PreflightError


def make(tmp: Path, *members: tarfile.TarInfo) -> Path:
    p = tmp / "p.tar.gz"
    with tarfile.open(p, "w:gz") as t:
        for m in members:
            data = b"x" * m.size if m.isfile() else None
            t.addfile(m, io.BytesIO(data) if data is not None else None)
    return p


def info(name: str, *, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 1) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type = kind
    m.linkname = link
    m.size = size if kind == tarfile.REGTYPE else 0
    return m


@pytest.mark.parametrize(("member", "message"), [
    (info("edge-install/../../etc/passwd"), "escapes"),
    (info("/etc/passwd"), "absolute"),
    (info("other/file"), "outside"),
    (info("edge-install/l", kind=tarfile.SYMTYPE, link="/etc/shadow"), "links outside"),
    (info("edge-install/l", kind=tarfile.SYMTYPE, link="../../etc"), "links outside"),
    (info("edge-install/h", kind=tarfile.LNKTYPE, link="etc/passwd"), "links outside"),
    (info("edge-install/dev", kind=tarfile.CHRTYPE), "device"),
    (info("edge-install/fifo", kind=tarfile.FIFOTYPE), "device or fifo"),
])
def test_unsafe_members(tmp_path: Path, member: tarfile.TarInfo, message: str) -> None:
    p = make(tmp_path, member)
    with pytest.raises(ConfigError, match=message):
        package.unpack(p, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_build_unpack_round_trip_and_checksums(tmp_path: Path) -> None:
    bins = tmp_path / "bins"
    (bins / "cni").mkdir(parents=True)
    for name in ("kubelet", "containerd", "runc", "pause.tar", "cni/bridge"):
        (bins / name).write_bytes(name.encode())
    out = tmp_path / "pkg.tar.gz"
    digest = package.build(out, arch="amd64", kubernetes_version="v1.33.13", kubelet=bins / "kubelet",
                           containerd_bins=[bins / "containerd", bins / "runc"], cni_dir=bins / "cni",
                           pause_tar=bins / "pause.tar", pause_image="p:1", lite_apiserver=None)
    assert (tmp_path / "pkg.tar.gz.sha256").read_text().split()[0] == digest
    local = package.fetch(str(out), tmp_path, pinned_sha256=None)  # finds the .sha256 beside it
    pkg = package.unpack(local, tmp_path / "u")
    assert pkg.arch == "amd64" and pkg.kubernetes_version == "v1.33.13"
    assert pkg.path("cni/bridge").read_bytes() == b"cni/bridge"
    with pytest.raises(ConfigError, match="has sha256"):
        package.fetch(str(out), tmp_path, pinned_sha256="0" * 64)
    (tmp_path / "pkg.tar.gz.sha256").unlink()
    with pytest.raises(ConfigError, match="no checksum"):
        package.fetch(str(out), tmp_path, pinned_sha256=None)


def test_download_over_http_verifies_the_published_checksum(tmp_path: Path) -> None:
    """A real HTTP server on loopback serves the package and its .sha256 (no mocks)."""
    import functools
    import http.server
    import threading

    bins = tmp_path / "srv"
    (bins / "cni").mkdir(parents=True)
    for name in ("kubelet", "pause.tar", "cni/loopback"):
        (bins / name).write_bytes(b"x")
    package.build(bins / "pkg.tar.gz", arch="amd64", kubernetes_version="v1.33.13", kubelet=bins / "kubelet",
                  containerd_bins=[], cni_dir=bins / "cni", pause_tar=bins / "pause.tar", pause_image="p:1",
                  lite_apiserver=None)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(bins)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/pkg.tar.gz"
        dest = tmp_path / "dl"
        dest.mkdir()
        local = package.fetch(url, dest, pinned_sha256=None)
        assert local.read_bytes() == (bins / "pkg.tar.gz").read_bytes()
        with pytest.raises(ConfigError, match="has sha256"):
            package.fetch(url, dest, pinned_sha256="f" * 64)
        with pytest.raises(Exception, match="HTTP 404"):
            package.fetch(url + ".missing", dest, pinned_sha256="f" * 64)
        # credentials in the URL never reach a message: not on a checksum mismatch, not on HTTP or network errors
        port = server.server_address[1]
        secret = f"http://admin:s3cr3t@127.0.0.1:{port}/pkg.tar.gz?token=abc123&x=1"
        for source in (secret, secret.replace("pkg.tar.gz", "nope.tgz"), secret.replace(str(port), "1")):
            with pytest.raises(EdgeadmError) as err:
                package.fetch(source, dest, pinned_sha256="f" * 64)
            shown = f"{err.value} {err.value.hint}"
            assert "s3cr3t" not in shown and "admin" not in shown and "abc123" not in shown, shown
            assert "REDACTED@127.0.0.1" in shown
    finally:
        server.shutdown()
        server.server_close()


def _bomb(tmp: Path, sizes: list[int]) -> Path:
    """A gzip tar whose members are runs of zeros: tiny on disk, `sum(sizes)` bytes unpacked."""
    p = tmp / "bomb.tar.gz"

    class Zeros(io.RawIOBase):
        def __init__(self, n: int) -> None:
            self.left = n

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    files = {f"zeros-{i}": hashlib.sha256(bytes(size)).hexdigest() for i, size in enumerate(sizes)}
    manifest = json.dumps({"arch": "amd64", "files": files}).encode()
    with tarfile.open(p, "w:gz", compresslevel=9) as t:
        m = tarfile.TarInfo("edge-install/manifest.json")
        m.size = len(manifest)
        t.addfile(m, io.BytesIO(manifest))  # a valid manifest: only the size is wrong with this package
        for i, size in enumerate(sizes):
            m = tarfile.TarInfo(f"edge-install/zeros-{i}")
            m.size = size
            t.addfile(m, io.BufferedReader(Zeros(size)))
    return p


@pytest.mark.parametrize("sizes", [[30 << 20], [10 << 20] * 3, [1 << 20] * 30, [0] * 5 + [25 << 20]])
def test_a_package_that_expands_beyond_the_limit_is_refused_and_nothing_stays(tmp_path: Path, sizes: list[int],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _bomb(tmp_path, sizes)
    assert bomb.stat().st_size < sum(sizes) // 100  # small on disk: its checksum would match what was published
    monkeypatch.setattr(package, "MAX_UNPACKED", 20 << 20)
    with pytest.raises(ConfigError, match="expands to more than 20 MiB"):
        package.unpack(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_the_limit_follows_free_space(tmp_path: Path) -> None:
    free = __import__("shutil").disk_usage(tmp_path).free
    assert package.unpack_limit(tmp_path / "not" / "yet") == max(0, min(package.MAX_UNPACKED,
                                                                        free - package.FREE_MARGIN))


def _inputs(tmp: Path) -> dict[str, Path]:
    bins = tmp / "bins"
    (bins / "cni").mkdir(parents=True)
    for name in ("kubelet", "containerd", "runc", "pause.tar", "cni/bridge"):
        (bins / name).write_bytes(name.encode() * 1000)
    (bins / "cni" / "loopback").symlink_to(bins / "cni" / "bridge")  # distributions ship links among plugins
    return {"kubelet": bins / "kubelet", "cni_dir": bins / "cni", "pause_tar": bins / "pause.tar",
            "containerd": bins / "containerd", "runc": bins / "runc"}


def _build(out: Path, i: dict[str, Path]) -> str:
    return package.build(out, arch="amd64", kubernetes_version="v1.33.13", kubelet=i["kubelet"],
                         containerd_bins=[i["containerd"], i["runc"]], cni_dir=i["cni_dir"], pause_tar=i["pause_tar"],
                         pause_image="p:1", lite_apiserver=None)


def test_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    import os
    import time

    i = _inputs(tmp_path)
    first = _build(tmp_path / "a" / "kube.tar.gz", i)
    time.sleep(1.1)  # a later second, other file times: nothing of either may reach the package
    for p in i.values():
        os.utime(p, (time.time(), time.time()))
    second = _build(tmp_path / "b" / "other-name.tar.gz", i)
    assert first == second
    assert (tmp_path / "a" / "kube.tar.gz").read_bytes() == (tmp_path / "b" / "other-name.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "a" / "kube.tar.gz") as t:
        link = t.getmember("edge-install/cni/loopback")
        assert link.isfile() and link.size == len(b"cni/bridge" * 1000)  # packaged as the file it points to
        assert {(m.uid, m.gid, m.mtime) for m in t.getmembers()} == {(0, 0, 0)}


@pytest.mark.parametrize("which", ["kubelet", "pause_tar", "sidecar"])
def test_an_output_that_is_an_input_is_refused(tmp_path: Path, which: str) -> None:
    from edgeadm.errors import UsageError

    i = _inputs(tmp_path)
    target = i["kubelet"] if which != "pause_tar" else i["pause_tar"]
    before = target.read_bytes()
    out = Path(str(i["kubelet"])[: -len(".sha256")]) if which == "sidecar" else target
    if which == "sidecar":  # the checksum file would overwrite an input named <output>.sha256
        out = tmp_path / "bins" / "k"
        i["kubelet"] = i["kubelet"].rename(tmp_path / "bins" / "k.sha256")
        target, before = i["kubelet"], i["kubelet"].read_bytes()
    with pytest.raises(UsageError, match="is one of the inputs"):
        _build(out, i)
    assert target.read_bytes() == before


@pytest.mark.parametrize(("flag", "value"), [("--kubernetes-version", "1.33"), ("--kubernetes-version", "latest"),
                                             ("--kubernetes-version", "v2.0.0"), ("--arch", "mips")])
def test_package_build_flags_are_checked(flag: str, value: str) -> None:
    from edgeadm import options
    from edgeadm.errors import UsageError

    with pytest.raises(UsageError) as err:
        (options.parse_kubernetes_version if flag == "--kubernetes-version" else options.parse_arch)(value)
    assert err.value.flag == flag
    assert options.parse_arch("x86_64") == "amd64" and options.parse_kubernetes_version("1.33.13") == "v1.33.13"


def test_an_output_under_a_file_is_one_line(tmp_path: Path) -> None:
    i = _inputs(tmp_path)
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(ConfigError, match="cannot write the package to"):
        _build(tmp_path / "plain-file" / "kube.tar.gz", i)


def test_a_release_directorys_sha256sums_verifies_the_package(tmp_path: Path) -> None:
    pkg = tmp_path / "kube-linux-amd64-v1.33.13.tar.gz"
    pkg.write_bytes(b"package bytes")
    digest = hashlib.sha256(b"package bytes").hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  edgeadm\n{digest}  {pkg.name}\n")
    assert package.fetch(str(pkg), tmp_path, pinned_sha256=None) == pkg
    (tmp_path / "SHA256SUMS").write_text(f"{'1' * 64} *{pkg.name}\n")  # binary-mode marker, wrong digest
    with pytest.raises(ConfigError, match="has sha256"):
        package.fetch(str(pkg), tmp_path, pinned_sha256=None)
    (tmp_path / "SHA256SUMS").write_text(f"{digest}  other.tar.gz\nnot a line\n\x00\n")  # nothing for this file
    with pytest.raises(ConfigError, match="no checksum"):
        package.fetch(str(pkg), tmp_path, pinned_sha256=None)


@pytest.mark.parametrize("line", ["", "abc  pkg.tgz", f"{'g' * 64}  pkg.tgz", f"{'a' * 64}  pkg.tgz.evil",
                                  f"{'a' * 63}  pkg.tgz"])
def test_sums_entry_refuses_what_is_not_a_digest_for_the_name(line: str) -> None:
    assert package.sums_entry(line, "pkg.tgz") is None


def _built(tmp: Path, arch: str = "amd64") -> tuple[Path, str]:
    i = _inputs(tmp)
    out = tmp / "pkg.tar.gz"
    digest = package.build(out, arch=arch, kubernetes_version="v1.33.13", kubelet=i["kubelet"],
                           containerd_bins=[i["containerd"], i["runc"]], cni_dir=i["cni_dir"],
                           pause_tar=i["pause_tar"], pause_image="p:1", lite_apiserver=None)
    return out, digest


def test_unpack_verifies_the_archive_checksum_in_the_same_pass(tmp_path: Path) -> None:
    from edgeadm import events as ev

    out, digest = _built(tmp_path)
    rec = ev.Recorder()
    pkg = package.unpack(out, tmp_path / "ok", expected_sha256=digest, arch="amd64", events=rec)
    assert sorted(pkg.files()) == pkg.files() and all(pkg.path(f).is_file() for f in pkg.files())
    assert [e for e in rec.events if isinstance(e, ev.Progress)][-1].done == len(pkg.files())
    with pytest.raises(ConfigError, match=f"has sha256 {digest}, expected {'0' * 64}"):
        package.unpack(out, tmp_path / "bad", expected_sha256="0" * 64)
    assert not (tmp_path / "bad").exists()  # what was unpacked from an unverified archive is gone


def test_a_package_for_another_architecture_is_refused_before_any_file_is_written(tmp_path: Path) -> None:
    from edgeadm import events as ev

    out, _ = _built(tmp_path, arch="arm64")
    rec = ev.Recorder()
    with pytest.raises(PreflightError, match="PackageArchitecture: the install package is for arm64, this machine is "
                                             "amd64"):
        package.unpack(out, tmp_path / "u", arch="amd64", events=rec)
    assert not [e for e in rec.events if isinstance(e, ev.Progress)]  # not one file was unpacked
    assert not (tmp_path / "u").exists()
    assert package.unpack(out, tmp_path / "any").arch == "arm64"  # without `arch` (the check ignored): unpacked


def _rewrite(src: Path, dst: Path, edit: Any) -> Path:
    """Copy a package's entries through `edit(members) -> members` (each a (TarInfo, bytes) pair)."""
    with tarfile.open(src) as t:
        members = [(m, t.extractfile(m).read() if m.isfile() else b"") for m in t.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(dst, "w:gz") as t:
        for m, data in edit(members):
            m.size = len(data) if m.isfile() else 0
            t.addfile(m, io.BytesIO(data) if m.isfile() else None)
    return dst


@pytest.mark.parametrize(("edit", "message"), [
    (lambda ms: [m for m in ms if not m[0].name.endswith("manifest.json")] + [
        m for m in ms if m[0].name.endswith("manifest.json")], "must come before the files"),
    (lambda ms: ms + [ms[-1]], "not in the package manifest"),  # a listed file twice
    (lambda ms: ms[:-1], "missing"),
    (lambda ms: ms[:-1] + [(ms[-1][0], ms[-1][1] + b"!")], "does not match the package manifest"),
    (lambda ms: [(m, b"{not json" if m.name.endswith("manifest.json") else d) for m, d in ms], "no valid"),
])
def test_a_package_that_does_not_match_its_manifest_is_refused(tmp_path: Path, edit: Any, message: str) -> None:
    out, _ = _built(tmp_path)
    bad = _rewrite(out, tmp_path / "bad.tar.gz", edit)
    with pytest.raises(ConfigError, match=message):
        package.unpack(bad, tmp_path / "u")
    assert not (tmp_path / "u").exists()
