"""make demo: the whole edgeadm flow on the built-in local cluster, from the release archive, left running.

    .venv/bin/python -m hack.demo [--dir .demo] [--no-hold]

1. builds what the flow needs (cached in ~/.cache/edgeadm after the first time), showing one progress line per
   build; the builds' own output goes to a log file whose path is printed;
2. a kubeadm master in a systemd-nspawn host (the cloud), the release archive unpacked on it: `./edgeadm addon
   edge-apps`, `./edgeadm token create --print-join-command`;
3. a cloud node on the master's network and an edge node on a site network behind NAT (the cloud cannot open a
   connection to it), each joining with `./edgeadm join` from the unpacked archive, as the user's document says;
4. `kubectl get nodes -L superedge.io/edge-node`, `./edgeadm status`, and `kubectl logs` of a pod on the edge node,
   which only works through the tunnel;
5. prints how to look around, detach, reset and tear down, and keeps the cluster up until Ctrl-C (`--no-hold`:
   tears it down at once).

The demo uses the same host network names as the real-node tests: do not run both at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EDGE_LABEL = "superedge.io/edge-node"
SITE_LABEL = "topology.kubernetes.io/zone"  # addon's default --site-label: status groups nodes by it
SITE = "shop-1"
APP = "hello-edge"
CLOUD_IMAGES = ("tunnel", "edge-health-admission", "application-grid-controller")


# --------------------------------------------------------------------------------------------------- display
class Display:
    """What the demo prints: step headings, the commands it runs with their output, one live line per build."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.tty = sys.stdout.isatty() and os.environ.get("TERM", "dumb") != "dumb"

    def heading(self, text: str) -> None:
        print(f"\n==> {text}", flush=True)

    def say(self, text: str) -> None:
        print(text, flush=True)

    def command(self, where: str, cmd: str, output: str = "") -> None:
        print(f"{where + ' ' if where else ''}$ {cmd}", flush=True)
        if output.strip():
            print("\n".join("    " + line for line in output.rstrip().splitlines()), flush=True)

    def build(self, n: int, total: int, what: str, usual: str, argv: list[str],
              env: dict[str, str] | None = None) -> str:
        """Run one build with its output appended to the log; a live elapsed-time line meanwhile. Returns stdout."""
        label = f"[{n}/{total}] {what}"
        with open(self.log, "a") as fh:
            fh.write(f"\n### {what}\n$ {shlex.join(argv)}\n")
            fh.flush()
            proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=fh, text=True,
                                    env={**os.environ, **(env or {})})
            t0 = time.monotonic()
            done = threading.Event()
            if self.tty:
                def tick() -> None:
                    while not done.wait(1.0):
                        m, s = divmod(int(time.monotonic() - t0), 60)
                        print(f"\r  {label} … {m}:{s:02d} (first time usually {usual})\033[K", end="", flush=True)
                ticker = threading.Thread(target=tick, daemon=True)
                ticker.start()
            else:
                print(f"  {label} (first time usually {usual}) …", flush=True)
            out, _ = proc.communicate()
            done.set()
            fh.write(out)
        m, s = divmod(int(time.monotonic() - t0), 60)
        status = "done" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"\r  {label}: {status} in {m}:{s:02d}\033[K" if self.tty else f"  {label}: {status} in {m}:{s:02d}",
              flush=True)
        if proc.returncode != 0:
            raise SystemExit(f"error: building {what} failed; its output is in {self.log}")
        return out


# ------------------------------------------------------------------------------------------------------ builds
def build_all(ui: Display) -> Path:
    """Everything the flow needs, cached after the first run; returns the release archive."""
    from tests.harness import cluster as harness

    py = sys.executable
    cache = {"EDGEADM_CACHE": str(harness.cache_dir())}
    steps: list[tuple[str, str, list[str], dict[str, str]]] = [
        (f"Kubernetes v{harness.k8s_version().lstrip('v')} from the Go module proxy", "10 min",
         ["hack/build-k8s.sh"], cache),
        ("SuperEdge v0.9.0 components (with our patches) and their images", "3 min",
         [py, "-c", "from tests.harness import cluster, images; "
                    "images.superedge_images(cluster.cache_dir() / 'images')"], cache),
        ("lite-apiserver", "1 min", ["hack/build-lite-apiserver.sh"], cache),
        ("Debian 12 root filesystem for the nspawn hosts", "2 min", ["hack/build-host-rootfs.sh"], cache),
        ("release: CPython for Debian 11, the edgeadm executable, the install package, the archive", "5 min",
         ["hack/build-release.sh"], {**cache, "DIST": str(ui.log.parent / "dist"), "EDGEADM_BUILD_LOG": str(ui.log),
                                     "PYTHON": py}),
    ]
    ui.heading(f"Building what the demo needs (cached after the first time; build output: {ui.log})")
    out = ""
    for n, (what, usual, argv, env) in enumerate(steps, start=1):
        out = ui.build(n, len(steps), what, usual, argv, env)
    return Path(out.strip().splitlines()[-1])


# -------------------------------------------------------------------------------------------------------- flow
def _wait(what: str, check: Callable[[], Any], timeout: float, interval: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"error: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _app_pod(node: str) -> dict[str, Any]:
    script = 'i=0; while true; do echo "hello from $NODE_NAME, line $i"; i=$((i+1)); sleep 2; done'
    node_name = {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": APP, "namespace": "default"},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node}, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "app", "image": "demo.local/hello-edge:1", "imagePullPolicy": "Never",
                                     "env": [node_name], "command": ["/bin/sh", "-c", script]}]}}


def run_flow(ui: Display, work: Path, archive: Path, stack: contextlib.ExitStack) -> dict[str, Any]:
    from tests.harness import cluster as harness
    from tests.harness import hosts, images, network
    from tests.harness.master import CTR, Master
    from tests.harness.packages import CNI_CONF

    top = archive.name.removesuffix(".tgz")
    pkg = next(p.name for p in (archive.parent).glob("kube-linux-*.tar.gz"))
    dist = archive.parent

    def unpack(h: Any) -> None:
        h.exec(["tar", "-xzf", f"/dist/{archive.name}", "-C", "/root"])

    def on(h: Any, cmd: str, *, env: dict[str, str] | None = None, shown: str | None = None) -> str:
        res = h.exec(["sh", "-c", f"cd /root/{top} && {cmd}"], env=env, check=False, timeout=600)
        ui.command(f"{h.name}:~/{top}", shown or cmd, res.stderr + res.stdout)
        if res.returncode != 0:
            raise SystemExit(f"error: `{shown or cmd}` failed on {h.name} (exit {res.returncode})")
        return str(res.stdout)

    ui.heading("The cloud: a kubeadm master in a systemd-nspawn host")
    net = network.Network()
    stack.callback(net.close)
    master = Master(work / "cloud")
    stack.callback(master.stop)
    master.host.binds_ro.append((str(dist), "/dist"))
    master.start()
    for tar in images.superedge_images(harness.cache_dir() / "images", components=CLOUD_IMAGES):
        (master.host.root / "root" / tar.name).write_bytes(tar.read_bytes())  # no registry: images are imported
        master.host.exec([*CTR, "images", "import", f"/root/{tar.name}"])
        (master.host.root / "root" / tar.name).unlink()
    ui.say(f"    kubeadm init done: API server https://{master.ip}:6443, Node {master.name} Ready")
    unpack(master.host)
    admin = {"KUBECONFIG": "/etc/kubernetes/admin.conf"}
    on(master.host, f"./edgeadm addon edge-apps --ca.cert /etc/kubernetes/pki/ca.crt --ca.key "
                    f"/etc/kubernetes/pki/ca.key --master-public-addr {master.ip}:6443 --wait --timeout 300",
       env=admin)
    info = json.loads(master.host.exec(["sh", "-c", f"cd /root/{top} && ./edgeadm token create "
                                                    "--print-join-command -o json"], env=admin).stdout)
    secret = info["token"].split(".")[1]
    ui.command(f"{master.name}:~/{top}", "./edgeadm token create --print-join-command",
               info["joinCommand"].replace(secret, "<secret, not shown>"))

    ui.heading("Two nodes join from the release archive: a cloud node, and an edge node at a site behind NAT")
    site = network.SiteNetwork(1)
    stack.callback(site.close)
    base = hosts.rootfs(build=True)
    nodes = {"cloud1": hosts.TestHost("cloud1", work / "cloud1", binds_ro=[(str(dist), "/dist")]),
             "edge1": hosts.TestHost("edge1", work / "edge1", binds_ro=[(str(dist), "/dist")], site=site)}
    for name, h in nodes.items():
        stack.callback(h.stop)
        h.start(base)
        if name == "cloud1":  # the site's addresses lead nowhere from the cloud's network
            h.exec(["ip", "route", "add", "unreachable", site.supernet])
        (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
        (h.root / "etc/cni/net.d/10-demo.conflist").write_text(
            (CNI_CONF % h.index).replace('"ipMasq": false', '"ipMasq": true'))
        (h.root / "root/kubelet-patch.yaml").write_text(h.kubelet_patch)
    master.host.exec(["ip", "route", "add", "unreachable", site.supernet])
    ui.say(f"    {nodes['cloud1'].name} at {nodes['cloud1'].ip}; {nodes['edge1'].name} at {nodes['edge1'].ip} "
           f"(site network {site.subnet}.0/24, reaches the cloud only through its NAT router)")
    for name, h in nodes.items():
        unpack(h)
        ui.command(f"{h.name}:~", f"tar -xzf {archive.name} && cd {top}")
        role = f"--enable-edge=true --node-labels={SITE_LABEL}={SITE}" if name == "edge1" else "--enable-edge=false"
        # the token comes on the environment, never in argv (it would show in `ps`), and is not shown here
        cmd = (f"./edgeadm join {info['endpoint']} --discovery-token-ca-cert-hash {info['caCertHashes'][0]} "
               f"--install-pkg-path {pkg} {role} --kubelet-config-patch /root/kubelet-patch.yaml")
        on(h, cmd, env={"EDGEADM_TOKEN": info["token"]}, shown="EDGEADM_TOKEN=<token> " + cmd)
    names = [h.name for h in nodes.values()]
    _wait("both nodes Ready", lambda: all(
        any(c["type"] == "Ready" and c["status"] == "True"
            for c in master.get("node", n).get("status", {}).get("conditions", [])) for n in names), 180)

    ui.heading("The cluster as kubectl and edgeadm see it")
    kubectl = f"{master.bins / 'kubectl'} --kubeconfig {master.kubeconfig}"
    ui.command("", f"kubectl get nodes -L {EDGE_LABEL}", master.kubectl("get", "nodes", "-L", EDGE_LABEL).stdout)
    edge = nodes["edge1"]
    # status settles once the edge node's tunnel is up and its lite-apiserver serves it
    def settled() -> bool:
        st = json.loads(master.host.exec(["sh", "-c", f"cd /root/{top} && ./edgeadm status -o json"],
                                         env=admin).stdout)
        return all(x["tunnelConnected"] == x["edge"] for x in st["sites"]) and all(
            n["liteApiserver"] == "serving" for n in st["nodes"] if n["role"] == "edge")

    _wait("the edge node connected through the tunnel and served by its lite-apiserver", settled, 300)
    on(master.host, "./edgeadm status", env=admin)

    ui.heading("An app on the edge node; its logs reach kubectl only through the tunnel")
    app_tar = images.write_archive(work / "app.tar", "demo.local/hello-edge:1",
                                   files={"/bin/busybox": Path("/bin/busybox")}, links={"/bin/sh": "busybox"},
                                   dirs=("/tmp",), entrypoint=["/bin/busybox"])
    (edge.root / "root/app.tar").write_bytes(app_tar.read_bytes())
    edge.exec([*CTR, "images", "import", "/root/app.tar"])  # no registry here: the app's image is imported
    (edge.root / "root/app.tar").unlink()
    ui.say(f"    (no registry here: the app's image was imported into {edge.name}'s containerd)")
    res = subprocess.run([str(master.bins / "kubectl"), f"--kubeconfig={master.kubeconfig}", "apply", "-f", "-"],
                         input=json.dumps(_app_pod(edge.name)), capture_output=True, text=True, timeout=60)
    ui.command("", f"kubectl apply -f {APP}.yaml   # a Pod on {edge.name}", res.stdout + res.stderr)
    _wait(f"pod {APP} Running", lambda: master.get("pod", APP, "-n", "default").get("status", {}).get(
        "phase") == "Running", 180)
    logs = _wait("the pod's logs through the tunnel", lambda: master.kubectl(
        "logs", APP, "--tail", "3", check=False).stdout.strip(), 120)
    ui.command("", f"kubectl logs {APP} --tail 3", logs)
    return {"kubectl": kubectl, "master": master, "nodes": nodes, "top": top}


def explain(ui: Display, s: dict[str, Any], hold: bool) -> None:
    master, nodes, top = s["master"], s["nodes"], s["top"]
    edge, cloud = nodes["edge1"], nodes["cloud1"]

    def inside(h: Any, cmd: str) -> str:
        return f"nsenter -t {h.pid} -m -u -i -n -p -- sh -c 'cd /root/{top} && {cmd}'"

    ui.heading("The demo cluster is running")
    ui.say(f"""    look around:     {s['kubectl']} get pods -A -o wide
    a shell on a node: nsenter -t {edge.pid} -a bash        ({edge.name}; {cloud.name}: -t {cloud.pid}; \
{master.name}: -t {master.host.pid})
    reset a node:    {inside(edge, './edgeadm reset -f')}
                     {inside(cloud, './edgeadm reset -f')}
    then detach:     {inside(master.host, 'KUBECONFIG=/etc/kubernetes/admin.conf ./edgeadm detach edge-apps')}
    tear it all down: {"press Ctrl-C here" if hold else "(done now: --no-hold)"}""")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hack.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("DEMO_DIR", ".demo")))
    ap.add_argument("--no-hold", action="store_true", help="tear the cluster down at the end instead of waiting")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("error: the demo starts systemd-nspawn hosts and networks: run it as root", file=sys.stderr)
        return 2
    work = a.dir.resolve()
    pidfile = work / "demo.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text().strip() or 0)
        if pid and Path(f"/proc/{pid}").exists():
            print(f"error: a demo is already running (pid {pid}); stop it with Ctrl-C in its terminal or "
                  f"`kill -INT {pid}`", file=sys.stderr)
            return 1
    work.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(f"{os.getpid()}\n")
    log = work / "build.log"
    log.write_text("")
    ui = Display(log)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        archive = build_all(ui)
        with contextlib.ExitStack() as stack:
            state = run_flow(ui, work, archive, stack)
            explain(ui, state, not a.no_hold)
            if not a.no_hold:
                with contextlib.suppress(KeyboardInterrupt):
                    signal.pause()
            ui.heading("Tearing down: nodes, master, networks")
        ui.say("    done")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: tore down what was started", file=sys.stderr)
        return 130
    finally:
        pidfile.unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())

