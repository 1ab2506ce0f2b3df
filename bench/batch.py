"""`make bench BENCH_ARGS=batch`: batch join over SSH against real hosts, and its fan-out against parallel-scp.

One edge site of N_MAX hosts (nspawn, each with its own sshd) behind a NAT router whose uplink is capped (tc tbf on
the router's LAN side: what comes from the cloud into the site) — a shop's WAN link. Measured in one run:
  - batch join wall time for N = 1, 5, 10, 20 hosts against N = 1 (each N from freshly reset hosts);
  - bytes that crossed the site's uplink during the N = N_MAX join, against the release archive's size;
  - the release's fan-out to the N_MAX hosts (the last host having it, from the batch's results) against Debian's
    parallel-scp pushing the same file to the same hosts over the same uplink.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from bench.common import Row, addon_args, edgeadm_argv, timed
from tests.harness import cluster as harness
from tests.harness import hosts, network
from tests.harness.packages import CNI_CONF, build_package

SIZES = tuple(int(n) for n in os.environ.get("EDGEADM_BENCH_BATCH_SIZES", "1,5,10,20").split(","))
UPLINK = os.environ.get("EDGEADM_BENCH_UPLINK", "200mbit")


def _inventory(work: Path, release: Path, hs: list[hosts.TestHost], key: Path) -> Path:
    doc = {"release": str(release), "concurrency": 20, "defaults": {"user": "root", "keyFile": str(key)},
           "sites": [{"name": "shop-1", "hosts": [
               {"address": h.ip, "nodeName": h.name, "kubeletConfigPatch": str(work / f"kubelet-{h.name}.yaml")}
               for h in hs]}]}
    path = work / f"inventory-{len(hs)}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def bench_batch() -> list[Row]:
    from edgeadm import __version__
    from hack import release as rel

    if not shutil.which("parallel-scp"):
        raise RuntimeError("parallel-scp is missing: apt-get install pssh")
    bins = harness.bin_dir(build=True)
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-batch-"))
    version = "v" + harness.k8s_version().lstrip("v")
    pkg = build_package(bins, work, name=f"kube-linux-amd64-{version}.tar.gz")
    release = rel.write(work / "dist", arch="amd64", version=f"v{__version__}",
                        executable=harness.hack_build("build-executable.sh"), package=pkg)
    size = release.stat().st_size
    base = hosts.rootfs(build=True, flavor="sshd")
    hosts.set_kubelet_sysctls()
    key = work / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(key)], check=True)
    known = work / "known_hosts"
    rows: list[Row] = []
    with harness.ClusterPool(work, bins) as clusters:
        c = clusters.get("kubeadm", extra_ips=[network.HOSTS_GATEWAY])
        net = network.Network(c.apiserver_port)
        site = network.SiteNetwork(6)
        started: list[hosts.TestHost] = []
        try:
            site.open_ssh()
            site.limit_uplink(UPLINK)
            timed(edgeadm_argv(c, *addon_args(c), "--master-public-addr", net.endpoint))
            (work / "hosts").mkdir()
            lines = []
            for i in range(max(SIZES)):
                h = hosts.TestHost(f"bb{i + 1}", work / "hosts" / f"bb{i + 1}", site=site)
                h.start(base)
                started.append(h)
                lines.append(f"{h.ip} {h.serve_ssh(Path(f'{key}.pub'))}\n")
                (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
                (h.root / "etc/cni/net.d/10-edgetest.conflist").write_text(CNI_CONF % h.index)
                (work / f"kubelet-{h.name}.yaml").write_text(h.kubelet_patch)
            known.write_text("".join(lines))

            # parallel-scp: the same file to every host at once, each copy over the uplink
            (work / "pssh-hosts").write_text("".join(f"root@{h.ip}\n" for h in started))
            pssh = timed(["parallel-scp", "-h", str(work / "pssh-hosts"), "-p", str(len(started)), "-t", "0",
                          "-x", f"-i {key} -o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes",
                          str(release), "/root/pssh-copy.tgz"])
            for h in started:
                h.exec(["rm", "-f", "/root/pssh-copy.tgz"])

            walls: dict[int, float] = {}
            cpu: dict[int, float] = {}
            fanout = wan = 0.0
            for n in SIZES:
                inv = _inventory(work, release, started[:n], key)
                wan0 = site.wan_bytes()
                run = work / f"run-{n}"
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                walls[n] = timed([*edgeadm_argv(c, "join", "--inventory", str(inv), "--known-hosts", str(known),
                                            "--run-dir", str(run))])
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[n] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                got = json.loads((run / "results.json").read_text())["hosts"]
                if n == max(SIZES):
                    wan = (site.wan_bytes() - wan0) / size
                    fanout = max(h["releaseAt"] for h in got)
                timed([*edgeadm_argv(c, "reset", "--inventory", str(inv), "--known-hosts", str(known), "-f",
                                 "--run-dir", str(work / f"reset-{n}"))])
            for n in SIZES:
                rows.append(Row(f"batch join of {n} host(s) vs of 1 (one site, uplink {UPLINK})", walls[n],
                                walls[SIZES[0]]))
            rows.append(Row(f"release fan-out to {max(SIZES)} hosts of one site (relay) vs parallel-scp "
                            f"(uplink {UPLINK})", fanout, pssh))
            rows.append(Row(f"uplink bytes per site / release archive, {max(SIZES)}-host batch (×)", wan, 0.0,
                            figure=True))
            rows += [Row(f"CPU time of the batch process itself (this machine's side), {n} host(s) (s)", cpu[n],
                         0.0, figure=True) for n in SIZES]
        finally:
            for h in started:
                h.stop()
            site.close()
            net.close()
    shutil.rmtree(work, ignore_errors=True)
    return rows

