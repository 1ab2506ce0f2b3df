"""`make bench BENCH_ARGS=fleet`: the control plane side of a fleet — 1000 simulated nodes in 100 sites.

A real API server, controller-manager and scheduler (the harness's kubeadm-flavour cluster) with the edge apps
installed; KWOK (built from the Go module proxy, hack/build-kwok.sh) plays the kubelets of 1000 Node objects that
carry the edge label and a site label, renews their Leases and runs the pods the DaemonSets place on them. Measured
in one run, side by side:
  - the batch's tokens for 1000 hosts (one signing token for discovery, one authentication-only token per host,
    made by the batch's own code in one process) against `kubeadm token create` run 1000 times;
  - the size of `kube-public/cluster-info` after each (the bootstrap signer adds a signature per signing token, and
    every join downloads it);
  - `edgeadm status` over the fleet against `kubectl get nodes`, and for one site against
    `kubectl get nodes -l <site label>=<site>`;
  - the health probes of one edge node's edge-health (the real, patched binary, run in a test host as if it were
    that node) per minute, counted where they arrive: every simulated node's address is local in that host, where
    a listener plays the peers' kubelets (TLS on 10250, 200 to /healthz) and notes which address each probe was
    sent to.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.common import Row, addon_args, edgeadm_argv, median_of, timed
from tests.harness import cluster as harness

NODES = int(os.environ.get("EDGEADM_BENCH_FLEET_NODES", "1000"))
SITES = int(os.environ.get("EDGEADM_BENCH_FLEET_SITES", "100"))
SITE_LABEL = "topology.kubernetes.io/zone"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
SETTLE_TIMEOUT = 900.0


def node_ip(i: int) -> str:
    """Each simulated node's own InternalIP (a Node may be created with its status; KWOK keeps the address)."""
    return f"10.201.{i // 250}.{i % 250 + 1}"


def _node(i: int) -> dict[str, object]:
    name = f"edge-{i:04d}"
    return {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": name, "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
        "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                   "superedge.io/edge-node": "enable", SITE_LABEL: f"site-{i % SITES:03d}"}},
        "status": {"addresses": [{"type": "InternalIP", "address": node_ip(i)}, {"type": "Hostname",
                                                                                 "address": name}]}}


def _cluster_info_kb(k: object) -> float:
    cm = k.get("v1", "ConfigMap", "cluster-info", "kube-public")  # type: ignore[attr-defined]
    return len(json.dumps(cm["data"])) / 1024


def _bench_tokens(c: harness.Cluster, bins: Path) -> list[Row]:
    """The batch's tokens for NODES hosts (its own functions, one process) vs `kubeadm token create` × NODES."""
    from edgeadm import kube
    from edgeadm.workflows import batch, token

    k = kube.connect_fast(c.admin_conf)
    made: list[str] = []
    lock = threading.Lock()
    base = _cluster_info_kb(k)

    class _Host:  # the one field of an inventory host the token's description reads
        def __init__(self, i: int) -> None:
            self.node_name = f"edge-{i:04d}"

    checkpoints = [n for n in (10, 100) if n < NODES] + [NODES]
    sizes: dict[int, float] = {}
    ours = 0.0
    t = time.perf_counter()
    batch._token(k, made, "bench", ("signing",), (), "discovery", None)
    for i in range(NODES):
        batch._token_locked(k, lock, made, "bench", _Host(i))  # type: ignore[arg-type]
        if i + 1 in checkpoints:
            ours += time.perf_counter() - t
            time.sleep(5)  # the bootstrap signer's turn
            sizes[i + 1] = _cluster_info_kb(k)
            t = time.perf_counter()
    for tid in made:
        token.delete(k, tid)

    kubeadm = [str(bins / "kubeadm"), "token", "create", f"--kubeconfig={c.admin_conf}"]
    t = time.perf_counter()
    for _ in range(NODES):
        subprocess.run(kubeadm, check=True, capture_output=True)
    ref = time.perf_counter() - t
    time.sleep(5)
    ref_kb = _cluster_info_kb(k)
    for item in k.list("v1", "Secret", namespace="kube-system", field_selector="type=bootstrap.kubernetes.io/token"):
        k.delete("v1", "Secret", item["metadata"]["name"], "kube-system")
    return [
        Row(f"batch tokens for {NODES} hosts (1 signing + {NODES} authentication-only, one process) vs "
            f"`kubeadm token create` ×{NODES}", ours, ref),
        *[Row(f"cluster-info data after the batch's tokens for {n} hosts (KB; {base:.1f} KB before)", kb, 0.0,
              figure=True) for n, kb in sizes.items()],
        Row(f"cluster-info data after `kubeadm token create` ×{NODES} (KB)", ref_kb, 0.0, figure=True),
    ]


def _start_fleet(c: harness.Cluster, bins: Path, kwok: Path) -> float:
    """Scheduler and KWOK up, NODES Nodes created; returns the seconds until every Node, Lease and edge pod ran."""
    from edgeadm import kube
    from edgeadm.status import COMPONENTS

    harness.add_process(c, "kube-scheduler", [
        str(bins / "kube-scheduler"), f"--kubeconfig={c.admin_conf}", f"--authentication-kubeconfig={c.admin_conf}",
        f"--authorization-kubeconfig={c.admin_conf}", "--leader-elect=false", "--bind-address=127.0.0.1",
        f"--secure-port={harness.free_port()}", "--kube-api-qps=500", "--kube-api-burst=1000", "--v=1"])
    harness.add_process(c, "kwok", [
        str(kwok), f"--kubeconfig={c.admin_conf}", f"--config={kwok.parent / 'stages.yaml'}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake", "--node-lease-duration-seconds=40",
        "--cidr=10.200.0.0/16", "--node-ip=10.199.0.1"])
    k = kube.connect_fast(c.admin_conf)
    t = time.perf_counter()
    for i in range(NODES):
        k.create(_node(i))
    daemonsets = sum(kind == "DaemonSet" for kind, _ in COMPONENTS)
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        nodes = k.list("v1", "Node", label_selector="superedge.io/edge-node=enable")
        ready = sum(any(x.get("type") == "Ready" and x.get("status") == "True"
                        for x in (n.get("status") or {}).get("conditions") or []) for n in nodes)
        leases = len(k.list("coordination.k8s.io/v1", "Lease", namespace="kube-node-lease"))
        running = sum((p.get("status") or {}).get("phase") == "Running"
                      for p in k.list("v1", "Pod", namespace="edge-system"))
        if ready >= NODES and leases >= NODES and running >= NODES * (daemonsets - 1):
            return time.perf_counter() - t
        if time.monotonic() > deadline:
            raise RuntimeError(f"fleet not settled after {SETTLE_TIMEOUT:.0f}s: {ready} Ready, {leases} leases, "
                               f"{running} edge pods running")
        time.sleep(5)


# Runs in the test host: plays every peer's kubelet (port 10250, TLS) and notes (time, address) of each probe.
PROBE_COUNTER = r"""
import json, socket, ssl, sys, threading, time
t0 = time.monotonic()
until = t0 + float(sys.argv[1])
hits = []
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("/root/probe.crt", "/root/probe.key")

def answer(c):
    try:
        c.settimeout(5)
        c = ctx.wrap_socket(c, server_side=True)
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    except Exception:
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 10250))
s.listen(512)
s.settimeout(0.5)
print("listening", flush=True)
while time.monotonic() < until:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    hits.append((round(time.monotonic() - t0, 2), c.getsockname()[0]))
    threading.Thread(target=answer, args=(c,), daemon=True).start()
json.dump(hits, open("/root/hits.json", "w"))
"""
PROBE_WINDOW = 60.0  # seconds counted, after the first round


def _probes(c: harness.Cluster, checked: int) -> list[Row]:
    """One edge node's edge-health probes per minute, and how many distinct peers they went to."""
    from edgeadm import pki
    from tests.harness import hosts, images, network

    name = f"edge-{checked:04d}"
    site_size = len([i for i in range(NODES) if i % SITES == checked % SITES])
    binary = images.superedge_bin_dir() / "edge-health"
    net = network.Network(c.apiserver_port)
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-probes-"))
    h = hosts.TestHost("probe", work / "probe")
    try:
        h.start(hosts.rootfs(build=True))
        cert, key = pki.new_ca("probe")
        (h.root / "root/probe.crt").write_bytes(pki.cert_to_pem(cert))
        (h.root / "root/probe.key").write_bytes(pki.key_to_pem(key))
        (h.root / "root/count.py").write_text(PROBE_COUNTER)
        (h.root / "usr/local/bin/edge-health").write_bytes(binary.read_bytes())
        (h.root / "usr/local/bin/edge-health").chmod(0o755)
        conf = c.admin_conf.read_text().replace(c.server, f"https://{net.endpoint}")
        (h.root / "root/kubeconfig").write_text(conf)
        # the service account token edge-health sends with each probe (the listener accepts any); /run is the
        # host's own tmpfs, so it is written from inside
        h.exec(["sh", "-c", "mkdir -p /run/secrets/kubernetes.io/serviceaccount && "
                            "printf probe > /run/secrets/kubernetes.io/serviceaccount/token"])
        h.exec(["ip", "addr", "add", "10.201.0.0/16", "dev", "lo"])  # every simulated node's address is local
        run = PROBE_WINDOW + 25
        env = {"NODE_NAME": name, "NODE_IP": node_ip(checked), "POD_IP": node_ip(checked), "POD_NAME": "probe",
               "NAMESPACE": "edge-system"}
        h.exec(["sh", "-c", f"python3 /root/count.py {run} & sleep 1; timeout {run - 3} edge-health "
                "--kubeconfig /root/kubeconfig --kubeletauthplugin=timeout=5,retrytime=3,weight=1,port=10250 "
                "--v=2 >/root/edge-health.log 2>&1; wait"], env=env, timeout=run + 60)
        hits = json.loads((h.root / "root/hits.json").read_text())
        first = min((t for t, _ in hits), default=0.0)
        window = [(t, ip) for t, ip in hits if first + 5 <= t < first + 5 + PROBE_WINDOW]
        peers = {ip for _, ip in window}
        if not window:
            raise RuntimeError("edge-health sent no probe: " + (h.root / "root/edge-health.log").read_text()[-2000:])
    finally:
        h.stop()
        net.close()
    others = peers - {node_ip(i) for i in range(NODES) if i % SITES == checked % SITES}
    if others:
        raise RuntimeError(f"edge-health probed {len(others)} addresses outside its site: {sorted(others)[:5]}")
    return [Row(f"edge-health probes per minute from one node of a {site_size}-node site (fleet of {NODES}; "
                f"{len(peers)} distinct addresses, its own included; a round every 10 s)", float(len(window)), 0.0,
                figure=True),
            Row("edge-health probes per round (the same run, per 10 s)", len(window) / (PROBE_WINDOW / 10), 0.0,
                figure=True)]


def bench_fleet() -> list[Row]:
    bins = harness.bin_dir(build=True)
    kwok = harness.hack_build("build-kwok.sh")
    work = Path(tempfile.mkdtemp(prefix="edgeadm-bench-fleet-"))
    c = harness.up(work / "c", "kubeadm", bins=bins)
    try:
        rows = _bench_tokens(c, bins)
        timed(edgeadm_argv(c, *addon_args(c)))
        settled = _start_fleet(c, bins, kwok)
        rows.append(Row(f"fleet of {NODES} simulated edge nodes in {SITES} sites: created to all Ready with their "
                        "edge pods running (s)", settled, 0.0, figure=True))
        kubectl = [str(bins / "kubectl"), f"--kubeconfig={c.admin_conf}", "get", "nodes"]
        site = f"site-{7 % SITES:03d}"
        ours = median_of(lambda: timed(edgeadm_argv(c, "status")), 5)
        ref = median_of(lambda: timed(kubectl), 5)
        rows.append(Row(f"`edgeadm status`, {NODES} nodes in {SITES} sites vs `kubectl get nodes`", ours, ref))
        ours = median_of(lambda: timed(edgeadm_argv(c, "status", "--site", site)), 5)
        ref = median_of(lambda: timed([*kubectl, "-l", f"{SITE_LABEL}={site}"]), 5)
        rows.append(Row(f"`edgeadm status --site` (one site of {NODES // SITES}) vs `kubectl get nodes -l` "
                        "(target: ≤ 0.1 s)", ours, ref))
        rows += _probes(c, 7)
    finally:
        harness.down(c.dir)
    return rows
