"""Phase `runtime`: containerd's config and unit, started, with the package's pause image imported."""

from __future__ import annotations

from pathlib import Path

from edgeadm import events as ev
from edgeadm import waiting
from edgeadm.node import units
from edgeadm.node.paths import CONTAINERD_SOCK
from edgeadm.phases.join.data import JoinData

SOCKET_TIMEOUT = 30.0  # containerd listens within a second; 30 s covers a slow disk


def run(data: JoinData) -> None:
    h, pkg, paths = data.host(), data.package(), data.paths
    data.events.emit(ev.Step("[runtime] Configuring containerd"))
    systemd = data.cluster().kubelet_config.get("cgroupDriver", "systemd") == "systemd"
    pause = str(pkg.manifest.get("pauseImage", "registry.k8s.io/pause:3.10"))
    h.write_file(paths.containerd_config, units.containerd_config(paths, pause_image=pause, systemd_cgroup=systemd))
    h.write_file(paths.units / "containerd.service", units.containerd_unit(paths))
    h.expect(Path("/var/lib/containerd"))
    h.expect(Path("/opt/containerd"))  # containerd's own plugin directory
    h.expect(Path("/run/containerd"))
    h.unit("containerd.service")
    if not h.dry_run:
        waiting.until(Path(CONTAINERD_SOCK).exists, timeout=SOCKET_TIMEOUT, what="containerd to listen")
    h.command([str(paths.bin / "ctr"), "-a", CONTAINERD_SOCK, "-n", "k8s.io", "images", "import",
               str(pkg.path("images/pause.tar"))], what="import the pause image into containerd", timeout=120)
    data.events.emit(ev.Step(f"[runtime] containerd is running (cgroup driver {'systemd' if systemd else 'cgroupfs'}"
                             f", sandbox image {pause})"))
