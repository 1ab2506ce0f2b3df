"""The static install package: build it from given binaries, fetch it, verify it, unpack it safely.

Layout (one top directory, as SuperEdge's `kube-linux-<arch>-<version>.tar.gz`)::

    edge-install/manifest.json          {"arch", "kubernetesVersion", "pauseImage", "files": {path: sha256},
                                         "images": {path: [references]}}
    edge-install/bin/{kubelet,lite-apiserver,kubectl}  (kubectl optional)
    edge-install/container/{containerd,containerd-shim-runc-v2,ctr,runc}
    edge-install/cni/<plugins>
    edge-install/images/pause.tar       (a docker-save archive imported into containerd's k8s.io namespace)
    edge-install/images/<ref>.tar       (more images, from `package build --image`: the edge components, so an
                                         edge site needs no registry)

The archive is verified against a SHA-256 pinned on the command line or published beside it (`<pkg>.sha256`, or a
`SHA256SUMS` listing it); join reads it once: hashing the archive, checking each entry and hashing each file against
the manifest (which comes first) as it is unpacked into a staging directory, removed if anything fails.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import re
import shutil
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from edgeadm import events as ev
from edgeadm import redact
from edgeadm.errors import ConfigError, EdgeadmError, PreflightError, UsageError
from edgeadm.images import ImageArchive

TOP = "edge-install"
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
DOWNLOAD_TIMEOUT = 30  # seconds without progress before a download is abandoned
CHUNK = 1 << 20
MAX_UNPACKED = 8 << 30  # a release package is ~100-200 MB unpacked; 8 GiB leaves room for many images
FREE_MARGIN = 256 << 20  # what unpacking leaves free for the rest of the machine


def machine_arch() -> str:
    return ARCHES.get(platform.machine(), platform.machine())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------------- build
def image_file_name(ref: str) -> str:
    """`images/<this>` for an image: its reference with every character but [a-z0-9.-] made `_`."""
    return re.sub(r"[^a-z0-9.-]", "_", ref) + ".tar"


def build(out: Path, *, arch: str, kubernetes_version: str, kubelet: Path, containerd_bins: list[Path],
          cni_dir: Path, pause_tar: Path, pause_image: str, lite_apiserver: Path | None,
          images: Sequence[ImageArchive] = (), kubectl: Path | None = None) -> str:
    """Assemble a package from binaries already on disk; returns its sha256 and writes `<out>.sha256`."""
    files: dict[str, Path] = {"bin/kubelet": kubelet}
    if lite_apiserver is not None:
        files["bin/lite-apiserver"] = lite_apiserver
    if kubectl is not None:
        files["bin/kubectl"] = kubectl
    for b in containerd_bins:
        files[f"container/{b.name}"] = b
    for plugin in sorted(cni_dir.iterdir()):
        if plugin.is_file():
            files[f"cni/{plugin.name}"] = plugin
    files["images/pause.tar"] = pause_tar
    image_refs: dict[str, list[str]] = {}
    for image in images:
        rel = f"images/{image_file_name(image.refs[0])}"
        if rel in files:
            raise UsageError(f"two archives hold `{image.refs[0]}`", flag="--image")
        files[rel] = image.path
        image_refs[rel] = list(image.refs)
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise ConfigError(f"cannot build the package: missing {', '.join(missing)}")
    manifest: dict[str, Any] = {"arch": arch, "kubernetesVersion": kubernetes_version, "pauseImage": pause_image,
                                "files": {rel: sha256_file(p) for rel, p in sorted(files.items())}}
    if image_refs:
        manifest["images"] = image_refs
    sidecar = Path(str(out) + ".sha256")
    for target in (out, sidecar):
        clash = [str(p) for p in files.values() if p.resolve() == target.resolve()]
        if clash:
            raise UsageError(f"the output `{target}` is one of the inputs ({clash[0]})", flag="-o/--output")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(out.parent, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise ConfigError(f"cannot write the package to `{out}`: {exc.strerror}",
                          hint="pick an output path in a writable directory") from None
    tmp = out.with_suffix(out.suffix + ".part")
    # Reproducible: fixed order, owners, modes and times, and a gzip header without a name or a time, so the same
    # inputs give the same bytes (and the same checksum) wherever and whenever the package is built.
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in sorted({str(PurePosixPath(rel).parent) for rel in files} | {"."}):
            tar.addfile(tar_entry(f"{TOP}/{d}".rstrip("/.") if d != "." else TOP, tarfile.DIRTYPE, 0o755, 0))
        data = json.dumps(manifest, indent=2, sort_keys=True).encode()
        tar.addfile(tar_entry(f"{TOP}/manifest.json", tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
        for rel, src in sorted(files.items()):
            mode = 0o755 if rel.startswith(("bin/", "container/", "cni/")) else 0o644
            with open(src, "rb") as fh:  # a link among the inputs is packaged as the file it points to
                tar.addfile(tar_entry(f"{TOP}/{rel}", tarfile.REGTYPE, mode, os.fstat(fh.fileno()).st_size), fh)
    os.replace(tmp, out)
    digest = sha256_file(out)
    sidecar.write_text(f"{digest}  {out.name}\n")
    return digest


def tar_entry(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    """A tar header that carries nothing of the build machine: owner root, time 0 (reproducible archives)."""
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


# ------------------------------------------------------------------------------------------------------- fetch
def locate(source: str, dest_dir: Path, *, pinned_sha256: str | None,
           events: ev.Events = ev.NULL) -> tuple[Path, str]:
    """The package as a local file, and the sha256 it must have (pinned, or published beside it). A download is
    hashed as it arrives and refused on a mismatch; a local file is left for `unpack` to hash as it reads it."""
    is_url = source.startswith(("http://", "https://"))
    shown = redact.url(source)
    actual = None
    if is_url:
        local = dest_dir / "package.tar.gz"
        actual = _download(source, local, events)
        expected = pinned_sha256 or _sidecar_url(source)
    else:
        local = Path(source)
        if not local.is_file():
            raise ConfigError(f"install package `{source}` does not exist", hint="pass --install-pkg-path")
        expected = pinned_sha256 or _sidecar_file(local)
    if not expected:
        raise ConfigError(f"no checksum for install package `{shown}`",
                          hint="pass --install-pkg-sha256, or publish `<package>.sha256` (or a SHA256SUMS listing "
                               "it) beside it")
    expected = expected.strip().lower().removeprefix("sha256:")
    if actual is not None and actual != expected:
        raise checksum_mismatch(shown, actual, expected)
    return local, expected


def checksum_mismatch(shown: str, actual: str, expected: str) -> ConfigError:
    """The one refusal of a package whose sha256 is not the expected one (download, file, or one-pass unpack)."""
    return ConfigError(f"install package `{shown}` has sha256 {actual}, expected {expected}",
                       hint="the file is corrupt or was tampered with; download it again")


def fetch(source: str, dest_dir: Path, *, pinned_sha256: str | None, events: ev.Events = ev.NULL) -> Path:
    """Download (http/https) or locate (path) the package and verify its checksum; returns the local file."""
    local, expected = locate(source, dest_dir, pinned_sha256=pinned_sha256, events=events)
    actual = sha256_file(local)
    if actual != expected:
        raise checksum_mismatch(redact.url(source), actual, expected)
    return local


def _sidecar_file(pkg: Path) -> str | None:
    """The published checksum beside a local package: `<package>.sha256`, else the package's line in the
    `SHA256SUMS` of its directory (a release archive's layout)."""
    side = Path(str(pkg) + ".sha256")
    if side.is_file():
        return side.read_text().split()[0] if side.read_text().strip() else None
    sums = pkg.parent / "SHA256SUMS"
    if sums.is_file():
        return sums_entry(sums.read_text(errors="replace"), pkg.name)
    return None


def sums_entry(text: str, name: str) -> str | None:
    """The digest `sha256sum` format gives for `name` (`<hex>  <name>` or `<hex> *<name>`), or None."""
    for line in text.splitlines():
        digest, _, listed = line.strip().partition(" ")
        if listed.strip().removeprefix("*") == name and re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            return digest
    return None


def _sidecar_url(url: str) -> str | None:
    import requests

    try:
        r = requests.get(url + ".sha256", timeout=DOWNLOAD_TIMEOUT)
    except requests.RequestException:
        return None
    return r.text.split()[0] if r.status_code == 200 and r.text.strip() else None


def _download(url: str, dest: Path, events: ev.Events) -> str:
    """Write what the URL serves to `dest`; returns its sha256, computed as it arrives."""
    import requests

    task = "[package] downloaded"
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT) as r:
            if r.status_code != 200:
                raise EdgeadmError(f"download of `{redact.url(url)}` failed: HTTP {r.status_code}")
            total = int(r.headers.get("Content-Length") or 0) or None
            done = 0
            with open(dest, "wb") as fh:
                for block in r.iter_content(CHUNK):
                    digest.update(block)
                    fh.write(block)
                    done += len(block)
                    events.emit(ev.Progress(task, done, total))
            events.emit(ev.ProgressDone(task))
        return digest.hexdigest()
    except requests.RequestException as exc:
        # the library's own text quotes the URL (user info, query) and is not shown; the kind of failure is
        reason = ("timed out" if isinstance(exc, requests.Timeout) else "cannot connect"
                  if isinstance(exc, requests.ConnectionError) else type(exc).__name__)
        raise EdgeadmError(f"download of `{redact.url(url)}` failed: {reason}",
                           hint="check the URL and the network") from None


# ------------------------------------------------------------------------------------------------------ unpack
@dataclass
class Package:
    root: Path  # the edge-install directory
    manifest: dict[str, Any]

    @property
    def arch(self) -> str:
        return str(self.manifest.get("arch", ""))

    @property
    def kubernetes_version(self) -> str:
        return str(self.manifest.get("kubernetesVersion", ""))

    def path(self, rel: str) -> Path:
        return self.root / rel

    def has(self, rel: str) -> bool:
        return rel in self.manifest.get("files", {})

    def images(self) -> list[str]:
        """The extra image archives (paths relative to the package root) besides the sandbox image, sorted."""
        listed = self.manifest.get("images") or {}
        return sorted(rel for rel in listed if isinstance(rel, str) and self.has(rel)) if isinstance(listed, dict) \
            else []

    def files(self) -> list[str]:
        """Every file the manifest lists (paths relative to the package root), sorted."""
        return sorted(self.manifest.get("files") or {})


def unpack_limit(dest: Path) -> int:
    """How many bytes a package may expand to: the free space where it is unpacked (less a margin for the rest of
    the machine), and never more than MAX_UNPACKED."""
    probe = dest
    while not probe.exists():
        probe = probe.parent
    return max(0, min(MAX_UNPACKED, shutil.disk_usage(probe).free - FREE_MARGIN))


def check_member(m: tarfile.TarInfo, total: int, limit: int) -> None:
    """Refuse an entry escaping the target, an absolute path, a link pointing outside, a device or fifo, and the
    entry that takes the package beyond `limit` bytes unpacked (`total`: the sizes declared so far, this one's
    included), before anything of it is written."""
    name = m.name
    if total > limit:
        raise ConfigError(f"install package expands to more than {limit >> 20} MiB (free space where it is "
                          f"unpacked, at most {MAX_UNPACKED >> 30} GiB); refusing to unpack",
                          hint="free disk space, or check that the package is the right file")
    p = PurePosixPath(name)
    if p.is_absolute() or name.startswith("/"):
        raise ConfigError(f"install package entry `{name}` is an absolute path; refusing to unpack")
    if ".." in p.parts:
        raise ConfigError(f"install package entry `{name}` escapes the target directory; refusing to unpack")
    if not (p.parts and p.parts[0] == TOP):
        raise ConfigError(f"install package entry `{name}` is outside `{TOP}/`; refusing to unpack")
    if m.isdev() or m.isfifo() or m.ischr() or m.isblk():
        raise ConfigError(f"install package entry `{name}` is a device or fifo; refusing to unpack")
    if m.issym() or m.islnk():
        target = PurePosixPath(m.linkname)
        resolved = _normalize(p.parent / target if m.issym() else target)
        if target.is_absolute() or resolved.parts[:1] != (TOP,):
            raise ConfigError(f"install package entry `{name}` links outside the package; refusing to unpack")
        raise ConfigError(f"install package entry `{name}` is a link (packages hold files and directories only); "
                          "refusing to unpack")


def _normalize(p: PurePosixPath) -> PurePosixPath:
    parts: list[str] = []
    for part in p.parts:
        if part == "..":
            if not parts:
                return PurePosixPath("..")
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


class _Hashing(io.RawIOBase):
    """A read-only view of a file that hashes every byte read through it (so the archive is read once)."""

    def __init__(self, raw: io.BufferedReader, digest: Any) -> None:
        self.raw, self.digest = raw, digest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.raw.readinto(b)
        if n:
            self.digest.update(memoryview(b)[:n])
        return n or 0


MAX_MANIFEST = 4 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _manifest(data: bytes, archive: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise ConfigError(f"install package `{archive}` has no valid {TOP}/manifest.json") from exc
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) and _HEX64.fullmatch(v)
                                              for k, v in files.items()):
        raise ConfigError(f"install package `{archive}` has no file list in {TOP}/manifest.json")
    return dict(manifest)


def unpack(archive: Path, dest: Path, *, expected_sha256: str | None = None, arch: str | None = None,
           events: ev.Events = ev.NULL) -> Package:
    """Unpack into `dest` (a fresh staging directory) in ONE pass over the archive: the archive's sha256 is computed
    as it is read and compared with `expected_sha256` at the end; each entry is checked before anything of it is
    written (see check_member); the manifest must come first, and each file is hashed as it is written and compared
    with it. With `arch`, a package for another architecture is refused as soon as its manifest is read. On any
    failure `dest` is removed: nothing of an unverified or refused package stays, and nothing was installed."""
    try:
        return _unpack(archive, dest, expected_sha256, arch, events)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _unpack(archive: Path, dest: Path, expected_sha256: str | None, arch: str | None,
            events: ev.Events) -> Package:
    limit = unpack_limit(dest)
    dest.mkdir(parents=True, exist_ok=True)
    whole = hashlib.sha256()
    manifest: dict[str, Any] | None = None
    done: set[str] = set()
    total = 0
    task = "[package] unpacked and verified files"
    with open(archive, "rb") as raw:
        reader = io.BufferedReader(_Hashing(raw, whole), CHUNK)
        try:
            with tarfile.open(fileobj=reader, mode="r|*") as tar:
                for m in tar:
                    total += max(m.size, 0)
                    check_member(m, total, limit)
                    target = dest / m.name
                    if m.isdir():
                        target.mkdir(mode=0o755, parents=True, exist_ok=True)
                        continue
                    if not m.isreg():
                        raise ConfigError(f"install package entry `{m.name}` is not a file or directory; refusing "
                                          "to unpack")
                    src = tar.extractfile(m)
                    assert src is not None
                    if m.name == f"{TOP}/manifest.json" and manifest is None:
                        if m.size > MAX_MANIFEST:
                            raise ConfigError(f"install package `{archive}` has an oversized {TOP}/manifest.json")
                        data = src.read()
                        manifest = _manifest(data, archive)
                        if arch is not None and manifest.get("arch") != arch:
                            # join's PackageArchitecture check, made here so that nothing is unpacked first
                            raise PreflightError(
                                f"preflight failed: PackageArchitecture: the install package is for "
                                f"{manifest.get('arch')}, this machine is {arch}",
                                hint=f"use the package for {arch} (kube-linux-{arch}-…), or skip this check with "
                                     "--ignore-preflight-errors=PackageArchitecture")
                        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                        target.write_bytes(data)
                        continue
                    if manifest is None:
                        raise ConfigError(f"install package `{archive}`: {TOP}/manifest.json must come before the "
                                          "files it lists", hint="build the package with `edgeadm package build`")
                    rel = str(PurePosixPath(m.name).relative_to(TOP))
                    expected = manifest["files"].get(rel)
                    if expected is None or rel in done:
                        raise ConfigError(f"install package file `{rel}` is not in the package manifest (or twice "
                                          "in the archive); refusing to unpack")
                    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                    digest = hashlib.sha256()
                    with open(target, "xb") as out:  # x: a fresh file, never through an existing link
                        for block in iter(lambda s=src: s.read(CHUNK), b""):  # type: ignore[misc]
                            digest.update(block)
                            out.write(block)
                    os.chmod(target, 0o755 if m.mode & 0o111 else 0o644)
                    if digest.hexdigest() != expected:
                        raise ConfigError(f"install package file `{rel}` does not match the package manifest")
                    done.add(rel)
                    events.emit(ev.Progress(task, len(done), len(manifest["files"]), unit="files"))
            while reader.read(CHUNK):  # what follows the tar's end (padding, the gzip trailer) counts too
                pass
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise ConfigError(f"install package `{archive}` is not a valid tar archive: {exc}") from exc
    events.emit(ev.ProgressDone(task))
    if manifest is None:
        raise ConfigError(f"install package `{archive}` has no valid {TOP}/manifest.json")
    missing = sorted(set(manifest["files"]) - done)
    if missing:
        raise ConfigError(f"install package file `{missing[0]}` does not match the package manifest (missing)")
    actual = whole.hexdigest()
    if expected_sha256 is not None and actual != expected_sha256:
        raise checksum_mismatch(str(archive), actual, expected_sha256)
    return Package(dest / TOP, manifest)
