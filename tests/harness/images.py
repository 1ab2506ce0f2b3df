"""Container images without a registry: docker-save archives written from files on disk, reproducibly (fixed times,
owners and order), with the platform set so `ctr images import` does not filter them out. Used for the SuperEdge
components built by hack/build-superedge.sh, under the exact names the addon renders, and for the control plane
`kubeadm init` runs (tests/harness/master.py), under the names kubeadm asks for."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

REPO = "superedge.tencentcloudcr.com/superedge"
VERSION = "v0.9.0"
COMPONENTS = ("tunnel", "edge-health", "edge-health-admission", "application-grid-controller",
              "application-grid-wrapper")


def _info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime, info.uid, info.gid = kind, mode, size, 0, 0, 0
    return info


def write_archive(out: Path, ref: str, *, files: dict[str, Path | bytes], dirs: tuple[str, ...] = (),
                  links: dict[str, str] | None = None, entrypoint: list[str], arch: str = "amd64",
                  path: str = "/usr/local/bin:/usr/bin:/bin") -> Path:
    """One image of one layer: `files` maps absolute paths in the image to a file on disk (mode 0755) or bytes
    (mode 0644), `links` paths to symbolic link targets; `path` is the image's $PATH. Same inputs, same bytes."""
    links = links or {}
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as t:
        parents = {str(Path(p).parent).lstrip("/") for p in [*files, *links]} | {d.lstrip("/") for d in dirs}
        every = set()
        for d in parents:
            while d not in ("", "."):
                every.add(d)
                d = str(Path(d).parent)
        for d in sorted(every):
            t.addfile(_info(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755))
        for dest, src in sorted(files.items()):
            if isinstance(src, bytes):
                t.addfile(_info(dest.lstrip("/"), tarfile.REGTYPE, 0o644, len(src)), io.BytesIO(src))
            else:
                with open(src, "rb") as fh:
                    t.addfile(_info(dest.lstrip("/"), tarfile.REGTYPE, 0o755, os.fstat(fh.fileno()).st_size), fh)
        for dest, target in sorted(links.items()):
            info = _info(dest.lstrip("/"), tarfile.SYMTYPE, 0o777)
            info.linkname = target
            t.addfile(info)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Entrypoint": entrypoint, "Env": [f"PATH={path}"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": ["layer.tar"]}]).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as t:
        for name, data in (("layer.tar", layer_bytes), (config_name, config), ("manifest.json", manifest)):
            t.addfile(_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    tmp.rename(out)
    return out


def superedge_bin_dir() -> Path:
    """Build (or reuse) the patched SuperEdge components; returns their directory."""
    from tests.harness.cluster import hack_build

    return hack_build("build-superedge.sh")


def superedge_images(out_dir: Path, *, components: tuple[str, ...] = COMPONENTS, repo: str = REPO,
                     version: str = VERSION, bin_dir: Path | None = None) -> list[Path]:
    """docker-save archives of the SuperEdge components under the names the addon renders by default; each is
    reused when present (keyed by the binary's directory, which hack/build-superedge.sh keys by patch series)."""
    bin_dir = bin_dir or superedge_bin_dir()
    out = []
    for name in components:
        ref = f"{repo}/{name}:{version}"
        target = out_dir / bin_dir.parent.name / f"{name}.tar"
        if not target.exists():
            write_archive(target, ref, files={f"/usr/local/bin/{name}": bin_dir / name,
                                              "/etc/nsswitch.conf": b"hosts: files dns\n"},
                          dirs=("/tmp", "/var/log/tunnel"), entrypoint=[f"/usr/local/bin/{name}"])
        out.append(target)
    return out


# ------------------------------------------------------------------------------------- kubeadm's control plane
K8S_REGISTRY = "registry.k8s.io"
ETCD_TAG = "3.4.23-0"  # Debian's etcd-server; kubeadm is told this tag (etcd.local.imageTag), not its own 3.5.24-0
XTABLES = "/usr/sbin/xtables-nft-multi"
NFT = "/usr/sbin/nft"  # kube-proxy in iptables mode still removes what its nftables mode may have left
XTABLES_EXTENSIONS = Path("/usr/lib/x86_64-linux-gnu/xtables")
# What kube-proxy runs in iptables mode; all of them are names of the nft flavour of the multi-call binary.
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # kube-proxy finds iptables on $PATH
IPTABLES_NAMES = tuple(f"{fam}{tool}" for fam in ("iptables", "ip6tables") for tool in ("", "-save", "-restore"))
_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


def shared_libraries(*binaries: Path) -> dict[str, Path]:
    """The shared libraries (and the loader) `ldd` lists for the binaries, keyed by the path they are loaded from."""
    out: dict[str, Path] = {}
    for b in binaries:
        res = subprocess.run(["ldd", str(b)], check=False, capture_output=True, text=True)
        for line in res.stdout.splitlines():
            m = _LDD_PATH.search(line)
            if m:
                out[m.group(1)] = Path(m.group(1))
    return out


def control_plane_images(out_dir: Path, bins: Path, version: str) -> dict[str, Path]:
    """docker-save archives of what `kubeadm init` runs (reused when present), keyed by image reference.

    The directory is keyed by the version and the recipe (each file's source, size and time), so a rebuilt binary or
    a changed recipe gives new archives.
    kube-proxy carries Debian's iptables (nft flavour, with its extensions and libraries) and nft; etcd is Debian's
    etcd-server binary with its libraries; the others are static Go binaries.
    """
    etcd = Path("/usr/bin/etcd")
    extensions = sorted(XTABLES_EXTENSIONS.glob("*.so"))
    proxy_files: dict[str, Path | bytes] = {"/usr/local/bin/kube-proxy": bins / "kube-proxy", XTABLES: Path(XTABLES),
                                            NFT: Path(NFT), **{str(e): e for e in extensions},
                                            **shared_libraries(Path(XTABLES), Path(NFT), *extensions),
                                            "/etc/protocols": Path("/etc/protocols").read_bytes()}
    specs: dict[str, tuple[dict[str, Path | bytes], dict[str, str], list[str]]] = {
        f"{K8S_REGISTRY}/{name}:{version}": ({f"/usr/local/bin/{name}": bins / name}, {}, [f"/usr/local/bin/{name}"])
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")}
    specs[f"{K8S_REGISTRY}/kube-proxy:{version}"] = (
        proxy_files, {f"/usr/sbin/{n}": "xtables-nft-multi" for n in IPTABLES_NAMES}, ["/usr/local/bin/kube-proxy"])
    specs[f"{K8S_REGISTRY}/etcd:{ETCD_TAG}"] = (
        {"/usr/local/bin/etcd": etcd, **shared_libraries(etcd)}, {}, ["/usr/local/bin/etcd"])
    def fingerprint(src: Path | bytes) -> object:
        if isinstance(src, bytes):
            return hashlib.sha256(src).hexdigest()
        st = os.stat(src)
        return [str(src), st.st_size, st.st_mtime_ns]

    recipe = {ref: [{dst: fingerprint(src) for dst, src in sorted(files.items())}, links, entry]
              for ref, (files, links, entry) in specs.items()}
    stamp = hashlib.sha256(json.dumps([recipe, SBIN_PATH], sort_keys=True).encode())
    target = out_dir / f"{version}-{stamp.hexdigest()[:12]}"
    out: dict[str, Path] = {}
    for ref, (files, links, entrypoint) in specs.items():
        archive = target / (ref.rsplit("/", 1)[1].split(":")[0] + ".tar")
        if not archive.exists():
            write_archive(archive, ref, files={**files, "/etc/nsswitch.conf": b"hosts: files dns\n"},
                          links=links, dirs=("/tmp", "/run", "/var/lib"), entrypoint=entrypoint, path=SBIN_PATH)
        out[ref] = archive
    return out
