"""Run the benchmarks and print a table of ratios (edgeadm / reference; lower is better).

    python -m bench                # all
    python -m bench help addon     # selected ones
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness import cluster as harness  # noqa: E402


def timed(argv: list[str], *, env: dict[str, str] | None = None, check: bool = True) -> float:
    t = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - t
    if check and res.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed: {res.stderr[-1500:]}")
    return elapsed


def median_of(fn: Callable[[], float], n: int) -> float:
    return statistics.median(fn() for _ in range(n))


def bench_help(n: int = 15) -> list[tuple[str, float, float]]:
    edgeadm = str(Path(sys.executable).parent / "edgeadm")
    ref = median_of(lambda: timed([sys.executable, "-c", "import click"]), n)
    ours = median_of(lambda: timed([edgeadm, "--help"]), n)
    return [("`edgeadm --help` vs `python -c 'import click'`", ours, ref)]


def _edgeadm(c: harness.Cluster, *args: str) -> list[str]:
    return [sys.executable, "-m", "edgeadm", "--kubeconfig", str(c.admin_conf), *args]


def _addon_args(c: harness.Cluster) -> list[str]:
    return ["addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key")]


def _settle(c: harness.Cluster) -> None:
    """Both tools start on a cluster whose controllers have finished their start-up work."""
    from edgeadm import kube
    from tests.e2e.snapshot import settled_snapshot

    settled_snapshot(kube.connect(c.admin_conf))


def bench_addon(reps: int = 3) -> list[tuple[str, float, float]]:
    bins = harness.bin_dir(build=True)
    kubectl = str(bins / "kubectl")
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-"))
    objects_file = work / "objects.yaml"
    first, rerun, kfirst, krerun = [], [], [], []
    for i in range(reps):
        # edgeadm on a fresh cluster, then a no-change re-run
        c = harness.up(work / f"e{i}", "kubeadm", bins=bins)
        _settle(c)
        try:
            first.append(timed(_edgeadm(c, *_addon_args(c))))
            rerun.append(timed(_edgeadm(c, *_addon_args(c))))
            if i == 0:
                _export_objects(c, objects_file)
        finally:
            harness.down(c.dir)
        # kubectl apply --server-side of the same objects on a fresh cluster of the same flavour
        c = harness.up(work / f"k{i}", "kubeadm", bins=bins)
        _settle(c)
        try:
            env = {"KUBECONFIG": str(c.admin_conf)}
            argv = [kubectl, "apply", "--server-side", "--force-conflicts", "--field-manager=bench", "-f",
                    str(objects_file)]
            kfirst.append(timed(argv, env=env))
            krerun.append(timed(argv, env=env))
        finally:
            harness.down(c.dir)
    return [
        ("addon edge-apps (fresh) vs kubectl apply --server-side", statistics.median(first),
         statistics.median(kfirst)),
        ("addon edge-apps (re-run, no changes) vs kubectl re-apply", statistics.median(rerun),
         statistics.median(krerun)),
    ]


def _export_objects(c: harness.Cluster, out: Path) -> None:
    """The objects addon created or changed, as the server holds them, minus server-managed fields."""
    import yaml

    sys.path.insert(0, str(REPO))
    from edgeadm import kube
    from edgeadm.record import Record, strip_server_fields

    k = kube.connect(c.admin_conf)
    record = Record.load(k, "edge-system")
    assert record is not None
    refs = list(record.created) + [e["ref"] for e in record.changed]
    docs = []
    for ref in refs:
        obj = k.get(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))
        if obj is None:
            continue
        obj = strip_server_fields(obj)
        obj["apiVersion"], obj["kind"] = ref["apiVersion"], ref["kind"]
        if obj["kind"] == "Service":
            for p in obj["spec"].get("ports", []):
                p.pop("nodePort", None)
            for f in ("clusterIP", "clusterIPs"):
                obj["spec"].pop(f, None)
        docs.append(obj)
    # namespace and CRDs first, as addon orders them
    docs.sort(key=lambda d: 0 if d["kind"] in ("Namespace", "CustomResourceDefinition") else 1)
    out.write_text(yaml.safe_dump_all(docs))


def bench_token(n: int = 10) -> list[tuple[str, float, float]]:
    bins = harness.bin_dir(build=True)
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-"))
    c = harness.up(work / "t", "kubeadm", bins=bins)
    try:
        _settle(c)
        ours = median_of(lambda: timed(_edgeadm(c, "token", "create")), n)
        ref = median_of(lambda: timed([str(bins / "kubeadm"), "token", "create", f"--kubeconfig={c.admin_conf}"]), n)
    finally:
        harness.down(c.dir)
    return [("`edgeadm token create` vs `kubeadm token create`", ours, ref)]


def bench_join() -> list[tuple[str, float, float]]:
    """Join one edge host, timing each phase; rows are phase time against the whole join (ratio = share)."""
    import re

    from tests.e2e.test_join import CNI_CONF, build_package
    from tests.harness import hosts

    bins = harness.bin_dir(build=True)
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-"))
    (work / "pkg").mkdir()
    build_package(bins, work / "pkg")
    hosts.set_kubelet_sysctls()
    c = harness.up(work / "c", "kubeadm", bins=bins, extra_ips=[hosts.GATEWAY])
    net = hosts.Network(c.apiserver_port)
    h = hosts.TestHost("bench1", 1, work / "hosts" / "bench1", binds_ro=[(str(work / "pkg"), "/pkg")])
    (work / "hosts").mkdir()
    try:
        timed(_edgeadm(c, *_addon_args(c), "--master-public-addr", net.endpoint))
        info = json.loads(subprocess.run(_edgeadm(c, "token", "create", "--print-join-command", "-o", "json"),
                                         capture_output=True, text=True, check=True).stdout)
        h.start(hosts.rootfs(build=True))
        (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
        (h.root / "etc/cni/net.d/10-edgetest.conflist").write_text(CNI_CONF % 1)
        (h.root / "root/patch.yaml").write_text(f"cgroupRoot: {h.cgroup_root}\ncgroupDriver: cgroupfs\n")
        t = time.perf_counter()
        res = h.edgeadm("-v", "join", info["endpoint"], "--discovery-token-ca-cert-hash", info["caCertHashes"][0],
                        "--install-pkg-path", "/pkg/kube.tar.gz", "--kubelet-config-patch", "/root/patch.yaml",
                        env={"EDGEADM_TOKEN": info["token"]})
        total = time.perf_counter() - t
        if res.returncode != 0:
            raise RuntimeError(res.stderr[-2000:])
        rows = [(f"join phase `{m.group(1)}` (share of the whole join)", float(m.group(2)), total)
                for m in re.finditer(r"phase (\S+) took ([0-9.]+)s", res.stderr)]
        return rows + [("join, start to Node registered (whole)", total, total)]
    finally:
        h.stop()
        net.close()
        harness.down(c.dir)


BENCHES: dict[str, Callable[[], list[tuple[str, float, float]]]] = {
    "help": bench_help, "addon": bench_addon, "token": bench_token, "join": bench_join}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    rows: list[tuple[str, float, float]] = []
    for name in names:
        rows += BENCHES[name]()
    print("| benchmark | edgeadm (s) | reference (s) | ratio |")
    print("|---|---:|---:|---:|")
    for label, ours, ref in rows:
        print(f"| {label} | {ours:.3f} | {ref:.3f} | {ours / ref:.2f} |")
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(json.dumps(
        [{"benchmark": r[0], "edgeadm_s": r[1], "reference_s": r[2], "ratio": r[1] / r[2]} for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
