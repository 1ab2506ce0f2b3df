"""Phase `install`: kubelet, kubectl, lite-apiserver, the runtime's binaries, CNI plugins and IP forwarding."""

from __future__ import annotations

from pathlib import Path

from edgeadm import events as ev
from edgeadm.errors import EdgeadmError
from edgeadm.phases.join.data import JoinData


def run(data: JoinData) -> None:
    h, pkg, paths, o = data.host(), data.package(), data.paths, data.options
    data.events.emit(ev.Step("[install] Installing kubelet and CNI plugins"))
    h.install(pkg.path("bin/kubelet"), paths.bin / "kubelet")
    if pkg.has("bin/kubectl"):  # a kubectl already there is kept in the journal and put back by reset
        h.install(pkg.path("bin/kubectl"), paths.bin / "kubectl")
    if o.enable_edge:
        if not pkg.has("bin/lite-apiserver"):
            raise EdgeadmError("the install package has no lite-apiserver; it cannot join an edge node",
                               hint="use a package built with lite-apiserver, or --enable-edge=false")
        h.install(pkg.path("bin/lite-apiserver"), paths.bin / "lite-apiserver")
    for rel in pkg.files():
        if rel.startswith("cni/"):
            h.install(pkg.path(rel), paths.cni_bin / Path(rel).name)
    if o.cri_socket is None:
        for name in ("containerd", "containerd-shim-runc-v2", "ctr"):
            h.install(pkg.path(f"container/{name}"), paths.bin / name)
        h.install(pkg.path("container/runc"), paths.sbin / "runc")
    else:
        # a client of our own for the machine's runtime, so reset can remove what the kubelet ran there
        h.install(pkg.path("container/ctr"), paths.bin / "edgeadm-ctr")
    h.write_file(paths.sysctl_conf, b"# written by edgeadm join\nnet.ipv4.ip_forward = 1\n")
    h.sysctl("net.ipv4.ip_forward", "1")
