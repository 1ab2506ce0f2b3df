"""Static install packages for test hosts, built from real parts (the e2e tests, `make bench` and the demo use them).

The package holds the pinned kubelet and kubectl, lite-apiserver (hack/build-lite-apiserver.sh), Debian's containerd
and runc, Debian's CNI plugins and a locally built pause image, assembled by `edgeadm package build` itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.harness import cluster as harness
from tests.harness import pause

# What a network add-on would put in /etc/cni/net.d on a node; `% n` picks the node's pod subnet 10.244.<n>.0/24.
CNI_CONF = """{"cniVersion": "0.4.0", "name": "edgetest", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.%d.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
"""


def _lite_apiserver() -> Path:
    """The lite-apiserver binary (built from the Go module proxy on first use, then cached by the script)."""
    return harness.hack_build("build-lite-apiserver.sh")


def build_package(bins: Path, out_dir: Path, *, arch: str | None = None, name: str = "kube.tar.gz",
                  images: list[Path] | None = None, version: str | None = None) -> Path:
    """Write `out_dir/name` (and its .sha256) with `edgeadm package build`; `arch` only labels the package.

    `bins` holds the kubelet; `version` is its version (default: the pinned one, hack/k8s-version).

    The binaries are always this machine's: a package for another `arch` is for testing the refusal to install it.
    """
    pause_tar = pause.build(harness.cache_dir() / "pause")
    out = out_dir / name
    cmd = [sys.executable, "-m", "edgeadm", "package", "build", "-o", str(out), "--kubernetes-version",
           "v" + (version or harness.k8s_version()).lstrip("v"), "--kubelet", str(bins / "kubelet"),
           "--lite-apiserver", str(_lite_apiserver()), "--cni-dir", "/usr/lib/cni", "--pause-tar", str(pause_tar)]
    for b in ("/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/ctr", "/usr/sbin/runc"):
        cmd += ["--containerd-bin", b]
    if (bins / "kubectl").exists():  # a bin directory built for the kubelet alone has none
        cmd += ["--kubectl", str(bins / "kubectl")]
    if arch:
        cmd += ["--arch", arch]
    for image in images or []:
        cmd += ["--image", str(image)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out
