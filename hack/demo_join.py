"""Demo: join a real edge host (systemd-nspawn) to the running local cluster, show the Node, then reset it.

    .venv/bin/python -m hack.demo_join .cluster      # from the repository root (hack/demo.sh does this)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.harness import cluster as harness
from tests.harness import hosts, network
from tests.harness.packages import CNI_CONF, build_package


def main(cluster_dir: str) -> int:
    c = harness.Cluster.load(Path(cluster_dir).resolve())
    bins = harness.bin_dir(build=True)
    work = Path(tempfile.mkdtemp(prefix="edgeadm-demo-"))
    (work / "pkg").mkdir()
    print("# building the static install package from real parts", file=sys.stderr)
    build_package(bins, work / "pkg")
    hosts.set_kubelet_sysctls()
    base = hosts.rootfs(build=True)
    net = network.Network(c.apiserver_port)
    h = hosts.TestHost("edge-demo", work / "edge-demo", binds_ro=[(str(work / "pkg"), "/pkg")])
    ed = [sys.executable, "-m", "edgeadm", "--kubeconfig", str(c.admin_conf)]
    try:
        subprocess.run([*ed, "addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key",
                        str(c.pki / "ca.key"), "--master-public-addr", net.endpoint, *harness.ADDON_FLAGS], check=True)
        info = json.loads(subprocess.run([*ed, "token", "create", "--print-join-command", "-o", "json"],
                                         check=True, capture_output=True, text=True).stdout)
        shown = info["joinCommand"].replace(info["token"].split(".")[1], "<secret>")
        print(f"$ {shown} --install-pkg-path /pkg/kube.tar.gz", file=sys.stderr)
        h.start(base)
        (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
        (h.root / "etc/cni/net.d/10-edgetest.conflist").write_text(CNI_CONF % h.index)
        (h.root / "root/patch.yaml").write_text(f"cgroupRoot: {h.cgroup_root}\ncgroupDriver: cgroupfs\n")
        res = h.edgeadm("join", info["endpoint"], "--discovery-token-ca-cert-hash", info["caCertHashes"][0],
                        "--install-pkg-path", "/pkg/kube.tar.gz", "--kubelet-config-patch", "/root/patch.yaml",
                        env={"EDGEADM_TOKEN": info["token"]})
        print(res.stderr, file=sys.stderr)
        if res.returncode != 0:
            return res.returncode
        from edgeadm import kube

        k = kube.connect(c.admin_conf)
        for _ in range(60):
            n = k.get("v1", "Node", "edge-demo") or {}
            ready = [x["status"] for x in (n.get("status") or {}).get("conditions", []) if x["type"] == "Ready"]
            if ready == ["True"]:
                break
            time.sleep(1)
        print(f"Node edge-demo: Ready={ready}, labels={n['metadata']['labels']}")
        res = h.edgeadm("reset", "-f")
        print(res.stderr, file=sys.stderr)
        return res.returncode
    finally:
        h.stop()
        net.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else ".cluster"))
