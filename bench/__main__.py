"""Run the benchmarks and print a table of ratios (edgeadm / reference; lower is better), and the join's phases.

    python -m bench                # all (from the repository root, so `tests.harness` imports)
    python -m bench help addon     # selected ones
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import REPO, Row, addon_args, edgeadm_argv, median_of, timed
from tests.harness import cluster as harness


def bench_help(n: int = 15) -> list[Row]:
    edgeadm = str(Path(sys.executable).parent / "edgeadm")
    exe = str(harness.hack_build("build-executable.sh"))  # the release's one-file executable (cached)
    ref = median_of(lambda: timed([sys.executable, "-c", "import click"]), n)
    ours = median_of(lambda: timed([edgeadm, "--help"]), n)
    frozen = median_of(lambda: timed([exe, "--help"]), n)
    return [Row("`edgeadm --help` vs `python -c 'import click'`", ours, ref),
            Row("`./edgeadm --help` from the release executable vs the wheel's `edgeadm --help`", frozen, ours)]


def _settle(c: harness.Cluster) -> None:
    """Both tools start on a cluster whose controllers have finished their start-up work."""
    from edgeadm import kube
    from tests.harness.snapshot import settled_snapshot

    settled_snapshot(kube.connect(c.admin_conf))


def bench_addon(reps: int = 3) -> list[Row]:
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
            first.append(timed(edgeadm_argv(c, *addon_args(c))))
            rerun.append(timed(edgeadm_argv(c, *addon_args(c))))
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
        Row("addon edge-apps (fresh) vs kubectl apply --server-side", statistics.median(first),
            statistics.median(kfirst)),
        Row("addon edge-apps (re-run, no changes) vs kubectl re-apply", statistics.median(rerun),
            statistics.median(krerun)),
    ]


def _export_objects(c: harness.Cluster, out: Path) -> None:
    """The objects addon created or changed, as the server holds them, minus server-managed fields."""
    import yaml

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


def bench_token(n: int = 10) -> list[Row]:
    bins = harness.bin_dir(build=True)
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-"))
    c = harness.up(work / "t", "kubeadm", bins=bins)
    try:
        _settle(c)
        ours = median_of(lambda: timed(edgeadm_argv(c, "token", "create")), n)
        ref = median_of(lambda: timed([str(bins / "kubeadm"), "token", "create", f"--kubeconfig={c.admin_conf}"]), n)
    finally:
        harness.down(c.dir)
    return [Row("`edgeadm token create` vs `kubeadm token create`", ours, ref)]


def bench_token_list(n: int = 5, tokens_n: int = 1000) -> list[Row]:
    """`token list` over 1000 tokens against `kubeadm token list`; the tokens are a batch's per-host bootstrap
    tokens (authentication only), so the size of cluster-info that every join downloads is reported too."""
    from edgeadm import kube, tokens

    bins = harness.bin_dir(build=True)
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-"))
    c = harness.up(work / "t", "kubeadm", bins=bins)
    try:
        _settle(c)
        k = kube.connect(c.admin_conf)
        import datetime as dt

        for _ in range(tokens_n):
            k.create(tokens.new_token(None, ttl=dt.timedelta(hours=1), usages=("authentication",),
                                      groups=(tokens.DEFAULT_GROUP,), description="bench").to_secret())
        time.sleep(3)  # give the bootstrap signer its chance to (not) sign them
        size = len(json.dumps(k.get("v1", "ConfigMap", "cluster-info", "kube-public")["data"]))
        listed = subprocess.run(edgeadm_argv(c, "token", "list", "-o", "json"), check=True, capture_output=True,
                                text=True).stdout
        assert len(json.loads(listed)) >= tokens_n
        ours = median_of(lambda: timed(edgeadm_argv(c, "token", "list")), n)
        ref = median_of(lambda: timed([str(bins / "kubeadm"), "token", "list", f"--kubeconfig={c.admin_conf}"]), n)
    finally:
        harness.down(c.dir)
    return [Row(f"`edgeadm token list` vs `kubeadm token list`, {tokens_n} tokens", ours, ref),
            Row(f"cluster-info data with {tokens_n} authentication-only tokens (KB)", size / 1024, 0.0, figure=True)]


def bench_join() -> list[Row]:
    """Join one edge host, timing each phase: parts of the whole join (no reference tool to race); then a second,
    identical host joined by the release's executable instead of the wheel, raced against the first."""
    import re

    from tests.harness import hosts, network
    from tests.harness.packages import CNI_CONF, build_package

    bins = harness.bin_dir(build=True)
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-"))
    (work / "pkg").mkdir()
    build_package(bins, work / "pkg")
    (work / "rel").mkdir()
    shutil.copy2(harness.hack_build("build-executable.sh"), work / "rel" / "edgeadm")
    hosts.set_kubelet_sysctls()
    with harness.ClusterPool(work, bins) as clusters:
        c = clusters.get("kubeadm", extra_ips=[network.HOSTS_GATEWAY])
        net = network.Network(c.apiserver_port)
        binds = [(str(work / "pkg"), "/pkg"), (str(work / "rel"), "/rel")]
        (work / "hosts").mkdir()
        started: list[hosts.TestHost] = []
        try:
            timed(edgeadm_argv(c, *addon_args(c), "--master-public-addr", net.endpoint))
            info = json.loads(subprocess.run(edgeadm_argv(c, "token", "create", "--print-join-command", "-o", "json"),
                                             capture_output=True, text=True, check=True).stdout)
            times: list[float] = []
            phases = ""
            for name, edgeadm in (("bench1", [str(REPO / ".venv" / "bin" / "edgeadm")]), ("bench2", ["/rel/edgeadm"])):
                h = hosts.TestHost(name, work / "hosts" / name, binds_ro=binds)
                started.append(h)
                h.start(hosts.rootfs(build=True))
                (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
                (h.root / "etc/cni/net.d/10-edgetest.conflist").write_text(CNI_CONF % h.index)
                (h.root / "root/patch.yaml").write_text(h.kubelet_patch)
                t = time.perf_counter()
                res = h.exec([*edgeadm, "-v", "join", info["endpoint"], "--discovery-token-ca-cert-hash",
                              info["caCertHashes"][0], "--install-pkg-path", "/pkg/kube.tar.gz",
                              "--kubelet-config-patch", "/root/patch.yaml"], env={"EDGEADM_TOKEN": info["token"]},
                             check=False)
                times.append(time.perf_counter() - t)
                if res.returncode != 0:
                    raise RuntimeError(res.stderr[-2000:])
                if name == "bench1":
                    phases = res.stderr
            total = times[0]
            rows = [Row(f"join phase `{m.group(1)}`", float(m.group(2)), total, part=True)
                    for m in re.finditer(r"phase (\S+) took ([0-9.]+)s", phases)]
            return rows + [Row("join, start to Node registered (whole)", total, total, part=True),
                           Row("join from the release executable vs from the wheel (identical hosts)", times[1],
                               total)]
        finally:
            for h in started:
                h.stop()
            net.close()

def bench_package(n: int = 5) -> list[Row]:
    """join's `package` phase (locate, one-pass verify-and-unpack, check each image archive) against `sha256sum` plus
    `tar -xzf` of the same package, side by side on this machine (medians of n)."""
    import shutil

    from edgeadm import images, package
    from tests.harness import images as test_images
    from tests.harness.packages import build_package

    bins = harness.bin_dir(build=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pkg = build_package(bins, work, images=test_images.superedge_images(
            harness.cache_dir() / "images", components=("tunnel", "edge-health", "application-grid-wrapper")))
        arch = package.machine_arch()

        def ours() -> float:
            dest = work / "ours"
            t = time.perf_counter()
            local, expected = package.locate(str(pkg), work, pinned_sha256=None)
            unpacked = package.unpack(local, dest, expected_sha256=expected, arch=arch)
            for rel in unpacked.images():
                images.inspect(unpacked.path(rel), arch=unpacked.arch)
            elapsed = time.perf_counter() - t
            shutil.rmtree(dest)
            return elapsed

        def reference() -> float:
            dest = work / "ref"
            dest.mkdir()
            elapsed = timed(["sh", "-c", f"sha256sum {pkg} >/dev/null && tar -xzf {pkg} -C {dest}"])
            shutil.rmtree(dest)
            return elapsed

        size = pkg.stat().st_size
        rows = [Row(f"join's `package` phase ({size / 1e6:.0f} MB package) vs `sha256sum` + `tar -xzf`",
                    median_of(ours, n), median_of(reference, n))]
    return rows


def bench_images(n: int = 3) -> list[Row]:
    """Each SuperEdge component's image archive (our writer, from the cached patched build) against `tar -cf` of
    the same binary: what making an image costs beyond packing its one file. Sizes go to stderr."""
    from tests.harness import images

    bin_dir = images.superedge_bin_dir()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in images.COMPONENTS:
            def ours(c: str = name) -> float:
                t = time.perf_counter()
                images.superedge_images(Path(tmp) / "ours", components=(c,), bin_dir=bin_dir)
                elapsed = time.perf_counter() - t
                for p in (Path(tmp) / "ours").rglob("*.tar"):
                    p.unlink()
                return elapsed

            def tar(c: str = name) -> float:
                return timed(["tar", "-cf", f"{tmp}/{c}.tar", "-C", str(bin_dir), c])

            rows.append(Row(f"image archive of {name} vs `tar -cf` of its binary", median_of(ours, n),
                            median_of(tar, n)))
            size = (bin_dir / name).stat().st_size
            print(f"{name}: binary {size / 1e6:.1f} MB", file=sys.stderr)
    return rows


# Data-path figures from tests/e2e/test_sites.py, raced where the same run has a reference: (ours, reference, label).
DATAPATH_RACES = (
    ("kubectl logs, edge pod through the tunnel (s)", "kubectl logs, master pod (s)",
     "`kubectl logs` of a pod on an edge node behind NAT (through the tunnel) vs of a pod on the master"),
    ("reconnect to Ready and connected, edge site (s)", "reconnect to Ready, cloud node (s)",
     "reconnected: edge site Ready and tunnel connected vs cloud node Ready (cut at the same time)"),
    ("power off to pod evicted (s)", "cut to the control pod evicted (s)",
     "dead edge node (voted unhealthy by its peers) vs cut-off cloud node: down to its pod evicted"),
)


def bench_datapath() -> list[Row]:
    """Run the sites end-to-end tests (a kubeadm master, a cloud node, four edge nodes in two sites behind NAT, the
    real SuperEdge components) and report what they measured."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                              "tests/e2e/test_sites.py"], cwd=REPO, env={**os.environ, "EDGEADM_FIGURES": str(out)},
                             capture_output=True, text=True, check=False)
        if res.returncode != 0 or not out.exists():
            raise RuntimeError(f"tests/e2e/test_sites.py failed: {res.stdout[-3000:]}")
        figures: dict[str, float] = json.loads(out.read_text())
    rows = [Row(label, figures[ours], figures[ref]) for ours, ref, label in DATAPATH_RACES]
    raced = {k for ours, ref, _ in DATAPATH_RACES for k in (ours, ref)}
    rows += [Row(k, v, 0.0, figure=True) for k, v in figures.items() if k not in raced]
    return rows


def bench_batch() -> list[Row]:
    from bench.batch import bench_batch as run

    return run()


def bench_fleet() -> list[Row]:
    from bench.fleet import bench_fleet as run

    return run()


BENCHES: dict[str, Callable[[], list[Row]]] = {
    "help": bench_help, "addon": bench_addon, "token": bench_token, "token-list": bench_token_list,
    "join": bench_join, "package": bench_package,
    "images": bench_images, "datapath": bench_datapath, "batch": bench_batch, "fleet": bench_fleet}


TITLES = {
    "help": "CLI start-up", "addon": "addon vs `kubectl apply --server-side`",
    "token": "token create vs `kubeadm token create`", "token-list": "token list with 1000 tokens",
    "join": "join, phase by phase", "package": "join's package phase", "images": "image archives",
    "datapath": "data path (real SuperEdge components, sites behind NAT)", "batch": "batch join over SSH",
    "fleet": "the control plane side of a fleet (1000 simulated nodes in 100 sites)"}


def render(sections: list[tuple[str, list[Row]]]) -> str:
    """Markdown: per benchmark, its command and one table of its rows (races, shares of a whole, plain figures)."""
    out: list[str] = []
    for name, rows in sections:
        out += [f"## {TITLES.get(name, name)}", "", f"`make bench BENCH_ARGS={name}`", ""]
        races = [r for r in rows if not r.part and not r.figure]
        parts, figures = [r for r in rows if r.part], [r for r in rows if r.figure]
        if races:
            out += ["| figure | edgeadm | reference | ratio |", "|---|---:|---:|---:|"]
            out += [f"| {r.label} | {r.seconds:.3f} s | {r.against:.3f} s | {r.seconds / r.against:.2f} |"
                    for r in races]
            out.append("")
        if parts:
            out += ["| part of the join | time | whole join | share |", "|---|---:|---:|---:|"]
            out += [f"| {r.label} | {r.seconds:.3f} s | {r.against:.3f} s | {r.seconds / r.against:.0%} |"
                    for r in parts]
            out.append("")
        if figures:
            out += ["| figure (no reference tool) | value |", "|---|---:|"]
            out += [f"| {r.label} | {r.seconds:.2f} |" for r in figures]
            out.append("")
    return "\n".join(out)


def _machine() -> str:
    import platform

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                            check=False).stdout.strip() or "unknown"
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), 0)
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit `{commit}`, {os.cpu_count()} cores, "
            f"{mem / (1 << 20):.0f} GiB, Linux {platform.release()}, Python {platform.python_version()}, "
            f"Kubernetes {harness.k8s_version()}")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    sections = [(name, BENCHES[name]()) for name in names]
    text = render(sections)
    print(text)
    rows = [r for _, rows in sections for r in rows]
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(json.dumps(
        [{"benchmark": r.label, "edgeadm_s": r.seconds, "whole_s": r.against, "share": r.seconds / r.against}
         if r.part else {"benchmark": r.label, "edgeadm_s": r.seconds} if r.figure else
         {"benchmark": r.label, "edgeadm_s": r.seconds, "reference_s": r.against, "ratio": r.seconds / r.against}
         for r in rows], indent=2))
    if not argv:  # the whole set, in one run: this is what docs/benchmarks.md shows
        (REPO / "docs").mkdir(exist_ok=True)
        (REPO / "docs" / "benchmarks.md").write_text(
            "# Benchmarks\n\nEvery benchmark of the project, from one run of `make bench` (written by it: "
            "bench/__main__.py). Ratios are edgeadm / the reference tool run side by side in the same run (lower "
            f"is better); figures without a reference are plain measurements.\n\nRun: {_machine()}.\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
