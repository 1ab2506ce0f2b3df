"""A central site and edge sites, as the user runs them: a kubeadm master and a cloud node on the cloud network,
and three edge nodes in two sites, each site on its own network behind NAT (tests/harness/network.SiteNetwork):
edge → cloud only, the master cannot open a connection into a site. Everything comes from the install package;
nothing is pulled. The user's commands: `addon edge-apps --wait` on the master, `join` on every node (edge nodes
with their site as a node label), `status`, and at the end `reset` on every node and `detach` on the master,
which must leave no trace.

What a site must survive: cut off from the cloud, an edge node's kubelet restarts, then the node loses power and
boots again — its pods come back Running from lite-apiserver's cache and keep answering; reconnected, the node is
Ready again and no pod was replaced."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.harness import hosts, images, network
from tests.harness.cluster import cache_dir
from tests.harness.master import CTR, Master
from tests.harness.packages import CNI_CONF, build_package

pytestmark = pytest.mark.node

IN_CI = bool(os.environ.get("CI"))
CLOUD_IMAGES = ("tunnel", "edge-health-admission", "application-grid-controller")
EDGE_IMAGES = ("tunnel", "edge-health", "application-grid-wrapper")
APP_IMAGE = "edgeadm.test/app:1"  # busybox: a shell and an HTTP server
APP_PORT = 18080
ZONE = "topology.kubernetes.io/zone"  # the site as the controller-manager's zone (eviction rates per zone)
# the site as ServiceGrids and DeploymentGrids see it: application-grid-controller stores gridUniqKey as a label
# *value* on what it creates, so the key must not contain a '/'
GRID_KEY = "site"
ADMIN = {"KUBECONFIG": "/etc/kubernetes/admin.conf"}
# three edge nodes in site A: a peer vote needs two voters that still hear from each other (edge-health ignores a
# verdict only one node holds: that one may be the isolated one)
SITES = {"site-a": ("a1", "a2", "a3"), "site-b": ("b1",)}


@dataclass
class Cluster:
    master: Master
    cloud: hosts.TestHost
    edges: dict[str, hosts.TestHost]  # by node name
    sites: dict[str, network.SiteNetwork]  # by site name
    site_of: dict[str, str]  # node name -> site name
    before: dict[str, dict[str, object]] = field(default_factory=dict)  # host states before join
    cluster_before: Any = None  # the master's API objects before addon
    token_id: str = ""  # the bootstrap token the user made with `token create`
    figures: dict[str, float] = field(default_factory=dict)


def _app_image(out: Path) -> Path:
    return images.write_archive(out / "app.tar", APP_IMAGE, files={"/bin/busybox": Path("/bin/busybox")},
                                links={"/bin/sh": "busybox"}, dirs=("/tmp",), entrypoint=["/bin/busybox"])


def _wait(what: str, check: Any, timeout: float, interval: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def _when(value: Any, holds: Any) -> Any:
    """`value` when `holds(value)`, else None (for _wait)."""
    return value if holds(value) else None


def _prepare(h: hosts.TestHost) -> None:
    (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
    # as every real CNI does (flannel's ipMasq), pods' connections leaving the pod network are masqueraded to the
    # node's address: a site's router knows the site's /24, not the nodes' pod ranges
    (h.root / "etc/cni/net.d/10-edgetest.conflist").write_text(
        (CNI_CONF % h.index).replace('"ipMasq": false', '"ipMasq": true'))
    (h.root / "root/kubelet-patch.yaml").write_text(h.kubelet_patch)


def _join(h: hosts.TestHost, info: dict[str, Any], *extra: str) -> None:
    res = h.edgeadm("join", info["endpoint"], "--discovery-token-ca-cert-hash", info["caCertHashes"][0],
                    "--install-pkg-path", "/pkg/kube.tar.gz", "--kubelet-config-patch", "/root/kubelet-patch.yaml",
                    *extra, env={"EDGEADM_TOKEN": info["token"]})
    assert res.returncode == 0, f"{h.name}: {res.stderr}"
    # the node's own containerd gets every image from the package: nothing is pulled
    assert "[images] Importing 5 images from the package" in res.stderr, res.stderr


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    try:
        base = hosts.rootfs(build=IN_CI)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    from edgeadm import kube
    from tests.harness.snapshot import settled_snapshot

    work = tmp_path_factory.mktemp("sites")
    net = network.Network()
    started: list[Any] = []
    try:
        sites = {name: network.SiteNetwork(k) for k, name in enumerate(SITES, start=1)}
        started += sites.values()
        master = Master(work / "cloud")
        started.append(master)
        master.start()
        for tar in images.superedge_images(cache_dir() / "images", components=CLOUD_IMAGES):
            shutil.copyfile(tar, master.host.root / "root" / tar.name)
            master.host.exec([*CTR, "images", "import", f"/root/{tar.name}"])
            (master.host.root / "root" / tar.name).unlink()
        # the sites' addresses lead nowhere from the cloud network (not even towards this machine)
        master.host.exec(["ip", "route", "add", "unreachable", next(iter(sites.values())).supernet])
        cluster_before = settled_snapshot(kube.connect(master.kubeconfig))
        res = master.host.edgeadm("addon", "edge-apps", "--ca.cert", "/etc/kubernetes/pki/ca.crt", "--ca.key",
                                  "/etc/kubernetes/pki/ca.key", "--master-public-addr", f"{master.ip}:6443",
                                  "--wait", "--timeout", "300", env=ADMIN)
        assert res.returncode == 0, res.stderr
        # --wait: each cloud component is reported rolled out (the edge ones have no node yet: 0/0)
        for name in ("tunnel-cloud", "edge-health-admission", "application-grid-controller"):
            assert f"[wait] Deployment {name} is rolled out (1/1 ready)" in res.stderr, res.stderr
        info = json.loads(master.host.edgeadm("token", "create", "--print-join-command", "-o", "json",
                                              env=ADMIN).stdout)
        pkg = work / "pkg"
        pkg.mkdir()
        edge_images = images.superedge_images(cache_dir() / "images", components=EDGE_IMAGES)
        edge_images += [master.images[f"registry.k8s.io/kube-proxy:{master.version}"], _app_image(work)]
        build_package(master.bins, pkg, images=edge_images)

        cloud = hosts.TestHost("cloud1", work / "cloud1", binds_ro=[(str(pkg), "/pkg")])
        started.append(cloud)
        site_of = {node: site for site, nodes in SITES.items() for node in nodes}
        edges = {n: hosts.TestHost(n, work / n, binds_ro=[(str(pkg), "/pkg")], site=sites[site_of[n]])
                 for n in site_of}
        started += edges.values()
        c = Cluster(master, cloud, {h.name: h for h in edges.values()}, sites,
                    {edges[n].name: s for n, s in site_of.items()}, cluster_before=cluster_before,
                    token_id=info["token"].split(".")[0])
        for h in (cloud, *edges.values()):
            h.start(base)
            _prepare(h)
            if h is cloud:
                cloud.exec(["ip", "route", "add", "unreachable", next(iter(sites.values())).supernet])
            c.before[h.name] = h.state()
        _join(cloud, info, "--enable-edge=false")
        for h in edges.values():
            site = c.site_of[h.name]
            _join(h, info, "--enable-edge=true", f"--node-labels={ZONE}={site},{GRID_KEY}={site}")
        yield c
        if os.environ.get("EDGEADM_FIGURES"):  # bench/ (`make bench datapath`) reads what the tests measured
            Path(os.environ["EDGEADM_FIGURES"]).write_text(json.dumps(c.figures, indent=1))
    finally:
        for thing in reversed(started):
            thing.stop() if not isinstance(thing, network.SiteNetwork) else thing.close()
        net.close()


def _status(c: Cluster) -> dict[str, Any]:
    res = c.master.host.edgeadm("status", "-o", "json", env=ADMIN)
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout))


def _nodes(c: Cluster) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in _status(c)["nodes"]}


TOLERATION = 20  # seconds a test pod stays on an unreachable node once the NoExecute taint is on it


def _pod(name: str, node: str) -> dict[str, Any]:
    """An HTTP server on the node's network that answers with its node's name (hostNetwork: no pod routing
    between nodes is needed to reach it), tolerating an unreachable node for TOLERATION seconds only."""
    script = (f"mkdir -p /tmp/www && echo {node} > /tmp/www/index.html && "
              f"exec /bin/busybox httpd -f -p {APP_PORT} -h /tmp/www")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                                            "labels": {"app": "site-app"}},
            "spec": {"nodeName": node, "hostNetwork": True, "terminationGracePeriodSeconds": 1,
                     "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                      "effect": "NoExecute", "tolerationSeconds": TOLERATION}],
                     "containers": [{"name": "app", "image": APP_IMAGE, "imagePullPolicy": "Never",
                                     "command": ["/bin/busybox", "sh", "-c", script]}]}}


def _answers(h: hosts.TestHost) -> bool:
    probe = (f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{APP_PORT}/', "
             "timeout=2).read().decode())")
    res = h.exec(["python3", "-c", probe], check=False)
    return res.returncode == 0 and res.stdout.strip() == h.name


def _app_task(h: hosts.TestHost) -> str:
    """`<container id> <pid>` of the app's container on the host."""
    containers = h.exec([*CTR, "containers", "ls"]).stdout.splitlines()
    ids = [line.split()[0] for line in containers if APP_IMAGE in line]
    tasks = [line.split()[:2] for line in h.exec([*CTR, "tasks", "ls"]).stdout.splitlines()[1:]]
    running = [" ".join(t) for t in tasks if t[0] in ids]
    assert len(running) == 1, (containers, tasks)
    return running[0]


def test_every_node_joins_and_the_cloud_cannot_reach_the_sites(cluster: Cluster) -> None:
    c = cluster
    nodes = _wait("every node Ready", lambda: _when(_nodes(c), lambda n: len(n) == 2 + len(c.edges) and all(
        x["ready"] == "True" for x in n.values())), 240)
    assert {name: (n["role"], n["site"]) for name, n in nodes.items()} == {
        c.master.name: ("control-plane", "-"), c.cloud.name: ("cloud", "-"),
        **{name: ("edge", site) for name, site in c.site_of.items()}}
    # the master has no way into a site: not to an edge node, nor to the router's outside address
    for target in (next(iter(c.edges.values())).ip, ):
        probe = f"import socket; socket.create_connection(('{target}', 10250), timeout=3)"
        res = c.master.host.exec(["python3", "-c", probe], check=False)
        assert res.returncode != 0 and "no route to host" in res.stderr.lower(), res.stderr
    # status: every site's edge nodes connected through the tunnel, served by their lite-apiserver
    seen: list[dict[str, Any]] = []

    def settled() -> dict[str, Any] | None:
        seen[:] = [_status(c)]
        s = seen[0]
        return s if all(site["tunnelConnected"] == site["edge"] for site in s["sites"]) and all(
            n["liteApiserver"] == "serving" for n in s["nodes"] if n["role"] == "edge") and all(
            comp["rolledOut"] for comp in s["components"]) else None

    try:
        st = _wait("every edge node connected and served by its lite-apiserver", settled, 300)
    except AssertionError:
        raise AssertionError(json.dumps(seen, indent=1)) from None
    assert [(s["name"], s["nodes"], s["ready"], s["edge"], s["tunnelConnected"]) for s in st["sites"]] == [
        ("site-a", 3, 3, 3, 3), ("site-b", 1, 1, 1, 1), ("-", 2, 2, 0, 0)]
    print("edge-health after join:", {n["name"]: n["edgeHealth"] for n in st["nodes"] if n["role"] == "edge"})


def test_logs_exec_and_port_forward_reach_each_site_through_the_tunnel(cluster: Cluster) -> None:
    """The master cannot connect into a site, yet `kubectl logs`, `exec` and `port-forward` reach a pod on every
    edge node: the API server's egress goes through tunnel-cloud, and tunnel-edge carries it to the kubelet."""
    c = cluster
    m = c.master
    pods = {}
    for name in c.edges:
        listed = json.loads(m.kubectl("get", "pods", "-n", "edge-system", "-l", "app=tunnel-edge",
                                      "--field-selector", f"spec.nodeName={name}", "-o", "json").stdout)
        pods[name] = pod = listed["items"][0]["metadata"]["name"]
        _wait(f"kubectl logs of {pod} on {name}", lambda p=pod: m.kubectl(
            "logs", "-n", "edge-system", p, "--tail=5", check=False).returncode == 0, 300)
        exec_ = m.kubectl("exec", "-n", "edge-system", pod, "--", "/usr/local/bin/tunnel", "--version", check=False)
        assert exec_.returncode == 0 and "v0.9.0+edgeadm" in exec_.stdout, exec_.stderr
    # tunnel-edge runs on the host network: its health port answers on the edge node itself
    name, pod = next(iter(pods.items()))
    with subprocess.Popen([str(m.bins / "kubectl"), f"--kubeconfig={m.kubeconfig}", "port-forward", "-n",
                           "edge-system", f"pod/{pod}", ":51010"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as pf:
        try:
            assert pf.stdout is not None
            line = pf.stdout.readline()
            port = re.search(r"127\.0\.0\.1:(\d+)", line)
            assert port, line
            with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/edge/healthz", timeout=10) as r:
                assert r.status == 200 and r.read()
        finally:
            pf.terminate()
    # timed side by side: a pod on an edge node (through the edge's stream) and one on the master
    direct = next(p["metadata"]["name"] for p in json.loads(m.kubectl(
        "get", "pods", "-n", "kube-system", "-o", "json").stdout)["items"]
        if p["metadata"]["name"].startswith("kube-proxy-") and p["spec"]["nodeName"] == m.name)
    timings = {}
    for key, ns, target in (("tunnel", "edge-system", pod), ("master", "kube-system", direct)):
        t0 = time.monotonic()
        for _ in range(5):
            assert m.kubectl("logs", "-n", ns, target, "--tail=1", check=False).returncode == 0
        timings[key] = (time.monotonic() - t0) / 5
    c.figures["kubectl logs, edge pod through the tunnel (s)"] = timings["tunnel"]
    c.figures["kubectl logs, master pod (s)"] = timings["master"]
    print(f"kubectl logs: edge pod through the tunnel {timings['tunnel']:.3f} s, master pod "
          f"{timings['master']:.3f} s, ratio {timings['tunnel'] / timings['master']:.2f}")


GRID_PORT = 18081


def _site_nodes(c: Cluster, site: str) -> set[str]:
    return {n for n, s in c.site_of.items() if s == site}


def _get_body(h: hosts.TestHost, url: str) -> str | None:
    probe = f"import urllib.request; print(urllib.request.urlopen('{url}', timeout=3).read().decode())"
    res = h.exec(["python3", "-c", probe], check=False)
    return res.stdout.strip() if res.returncode == 0 else None


def test_a_service_grid_keeps_each_sites_traffic_inside_the_site(cluster: Cluster) -> None:
    """A DeploymentGrid keyed by the site label gives one Deployment per site, its pods only in that site; the
    ServiceGrid's Service, reached from an edge node through the edge kube-proxy (which reads the API through
    application-grid-wrapper), answers only from pods of the caller's own site."""
    from edgeadm import kube

    c = cluster
    api = kube.connect(c.master.kubeconfig)
    script = (f"mkdir -p /tmp/www && echo $NODE_NAME > /tmp/www/index.html && "
              f"exec /bin/busybox httpd -f -p {GRID_PORT} -h /tmp/www")
    pod_spec = {"hostNetwork": True, "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "echo", "image": APP_IMAGE, "imagePullPolicy": "Never",
                                "command": ["/bin/busybox", "sh", "-c", script],
                                "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {
                                    "fieldPath": "spec.nodeName"}}}]}]}
    api.create({"apiVersion": "superedge.io/v1", "kind": "DeploymentGrid",
                "metadata": {"name": "echo", "namespace": "default"},
                "spec": {"gridUniqKey": GRID_KEY, "template": {
                    "replicas": 1, "selector": {"matchLabels": {"app": "echo"}},
                    "template": {"metadata": {"labels": {"app": "echo"}}, "spec": pod_spec}}}})
    api.create({"apiVersion": "superedge.io/v1", "kind": "ServiceGrid",
                "metadata": {"name": "echo", "namespace": "default"},
                "spec": {"gridUniqKey": GRID_KEY, "template": {"selector": {"app": "echo"},
                                                          "ports": [{"port": 80, "targetPort": GRID_PORT}]}}})
    try:
        for site in SITES:
            dep = _wait(f"Deployment echo-{site} available", lambda s=site: _when(
                api.get("apps/v1", "Deployment", f"echo-{s}", "default"),
                lambda d: d is not None and (d.get("status") or {}).get("availableReplicas") == 1), 240)
            assert dep["spec"]["template"]["spec"]["nodeSelector"] == {GRID_KEY: site}
        pods = api.list("v1", "Pod", namespace="default", label_selector="app=echo")
        assert {c.site_of[p["spec"]["nodeName"]] for p in pods} == set(SITES) and len(pods) == len(SITES)
        grid = api.get("superedge.io/v1", "DeploymentGrid", "echo", "default")
        assert set((grid.get("status") or {}).get("states") or {}) == set(SITES), grid.get("status")
        # edgeadm status shows the grid per site
        shown = _wait("status showing the grid ready in every site", lambda: _when(
            [g for g in _status(c)["grids"] if g["name"] == "echo"], lambda gs: len(gs) == 1 and all(
                st["readyReplicas"] == 1 for st in gs[0]["states"].values())), 60)
        assert shown[0]["gridUniqKey"] == GRID_KEY and set(shown[0]["states"]) == set(SITES), shown
        ip = api.get("v1", "Service", "echo-svc", "default")["spec"]["clusterIP"]
        for name, h in c.edges.items():
            site = c.site_of[name]
            first = _wait(f"echo-svc answering on {name}", lambda h=h: _get_body(h, f"http://{ip}/"), 180)
            answers = {first} | {_get_body(h, f"http://{ip}/") for _ in range(7)}
            assert answers <= _site_nodes(c, site), f"{name} in {site} got answers from {answers}"
    finally:
        for kind in ("ServiceGrid", "DeploymentGrid"):
            api.delete("superedge.io/v1", kind, "echo", "default")
        api.delete("v1", "Service", "echo-svc", "default")  # the controller made it without an owner
        _wait("the grid's pods gone", lambda: not api.list("v1", "Pod", namespace="default",
                                                           label_selector="app=echo"), 120)


def _checked_peers(h: hosts.TestHost) -> dict[str, bool]:
    """What edge-health on the host last found about each peer it checks, by the peer's address."""
    probe = ("import urllib.request; "
             "print(urllib.request.urlopen('http://127.0.0.1:51005/localinfo', timeout=3).read().decode())")
    res = h.exec(["python3", "-c", probe], check=False)
    if res.returncode != 0:
        return {}
    return {ip: bool(detail.get("normal")) for ip, detail in (json.loads(res.stdout) or {}).items()}


def test_edge_health_checks_its_own_site_and_votes_a_dead_node_out(cluster: Cluster) -> None:
    """Each edge-health checks exactly the edge nodes of its site (not the cloud node, not the other site it cannot
    reach). A node of site A loses power while the site is connected: its two peers vote it unhealthy, the
    no-eviction webhook no longer protects it, and its pod is evicted. Powered on again, the vote is withdrawn."""
    from edgeadm import kube

    c = cluster
    k = c.master
    api = kube.connect(k.kubeconfig)
    for name, h in c.edges.items():
        peers = {c.edges[n].ip for n in _site_nodes(c, c.site_of[name])}  # itself included, as upstream does
        seen = _wait(f"edge-health on {name} finding its site's peers healthy", lambda h=h, p=peers: _when(
            _checked_peers(h), lambda got: set(got) == p and all(got.values())), 180)
        assert set(seen) == peers, (name, seen)
    a_nodes = sorted(_site_nodes(c, "site-a"))
    dead = c.edges[a_nodes[-1]]
    api.create(_pod("app-dead", dead.name))
    _wait("the app answering on the node about to lose power", lambda: _answers(dead), 120)
    dead.power_off()
    off_at = time.monotonic()
    try:
        _wait(f"{dead.name} voted unhealthy", lambda: "nodeunhealth" in (
            k.get("node", dead.name)["metadata"].get("annotations") or {}), 180)
        c.figures["power off to voted unhealthy (s)"] = time.monotonic() - off_at
        assert _nodes(c)[dead.name]["edgeHealth"] == "voted-unhealthy"
        for name in set(c.edges) - {dead.name}:  # nobody else, in either site
            assert "nodeunhealth" not in (k.get("node", name)["metadata"].get("annotations") or {}), name
        _wait("the dead node's pod evicted", lambda: _evicted(k, "app-dead"), 300, 5)
        c.figures["power off to pod evicted (s)"] = time.monotonic() - off_at
    finally:
        dead.power_on()
    _wait(f"{dead.name} Ready again and the vote withdrawn", lambda: _when(
        _nodes(c)[dead.name], lambda n: n["ready"] == "True" and n["edgeHealth"] == "ok"), 300)
    _wait("the evicted pod gone", lambda: k.kubectl("get", "pod", "app-dead", check=False).returncode != 0, 120)


def _evicted(k: Master, pod: str) -> bool:
    res = k.kubectl("get", "pod", pod, "-o", "json", check=False)
    return res.returncode != 0 or bool(json.loads(res.stdout)["metadata"].get("deletionTimestamp"))


def test_a_cut_off_site_keeps_its_pods_through_a_kubelet_restart_and_a_power_cut(cluster: Cluster) -> None:
    """Site A and, as the control case, the cloud node lose the cloud at the same moment (the master stays, a
    healthy zone, so the controller-manager evicts at its normal rate). The cloud node's pod is evicted once its
    toleration runs out; the edge node's is not (edge-health-admission lifts the NoExecute taint of edge nodes no
    peer voted unhealthy) and keeps running through a kubelet restart and a power cut, from lite-apiserver's
    cache."""
    c = cluster
    node = next(n for n, s in c.site_of.items() if s == "site-a")
    h = c.edges[node]
    k = c.master
    from edgeadm import kube

    api = kube.connect(k.kubeconfig)
    api.create(_pod("app-a", node))
    api.create(_pod("app-cloud", c.cloud.name))
    _wait("the apps answering on their nodes", lambda: _answers(h) and _answers(c.cloud), 120)
    uid = k.get("pod", "app-a")["metadata"]["uid"]

    site = c.sites["site-a"]
    site.cut()
    c.cloud.exec(["ip", "link", "set", "eth0", "down"])
    cut_at = time.monotonic()
    try:
        st = _wait("status: site-a cut off", lambda: _when(_nodes(c), lambda n: all(
            n[x]["tunnel"] == "not-connected" and n[x]["liteApiserver"] == "not-heard-from"
            for x, s in c.site_of.items() if s == "site-a")), 300)
        c.figures["status saw the cut (s)"] = time.monotonic() - cut_at
        other = next(n for n, s in c.site_of.items() if s == "site-b")
        assert st[other]["tunnel"] == "connected" and st[other]["liteApiserver"] == "serving", st[other]

        # the kubelet restarts while the cloud is gone: it reads its pods from lite-apiserver and keeps them
        task = _app_task(h)
        t0 = time.monotonic()
        h.exec(["systemctl", "restart", "kubelet"])
        _wait("the kubelet active again", lambda: h.exec(["systemctl", "is-active", "kubelet"], check=False
                                                         ).stdout.strip() == "active", 60)
        time.sleep(20)  # long enough for a kubelet with an empty pod list to have killed the app
        assert _answers(h), "the app stopped answering after the kubelet restarted"
        assert _app_task(h) == task  # the same container and process: not restarted
        c.figures["kubelet restart to active (s)"] = time.monotonic() - t0 - 20

        # the power goes: every process dies, /run is gone; on boot the kubelet starts the app again from the cache
        t0 = time.monotonic()
        h.power_cycle()
        try:
            _wait("the app answering after the power cut", lambda: _answers(h), 300)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{h.name}'s kubelet:\n{h.journal('kubelet')}") from None
        c.figures["power cut to app answering (s)"] = time.monotonic() - t0
        cached = h.exec(["python3", "-c", (
            "import json, ssl, urllib.request; ctx = ssl.create_default_context(cafile='/etc/kubernetes/pki/ca.crt');"
            "ctx.load_cert_chain('/var/lib/kubelet/pki/kubelet-client-current.pem');"
            # lite-apiserver keys its cache by the first word of the User-Agent: ask as the kubelet did
            f"q = urllib.request.Request('https://169.254.20.11:51003/api/v1/pods?fieldSelector=spec.nodeName%3D{node}',"
            f" headers={{'User-Agent': 'kubelet/{k.version}'}});"
            "r = urllib.request.urlopen(q, context=ctx, timeout=10);"
            "print(json.dumps([p['metadata']['uid'] for p in json.load(r)['items']]))")])
        assert uid in json.loads(cached.stdout), cached.stdout  # lite-apiserver served the pod from its cache
        # pods reach the API through the kubernetes Service: on an edge node kube-proxy (fed by application-grid-
        # wrapper) sends it to lite-apiserver, so in-cluster clients on a cut-off node are still answered
        service_ip = k.get("service", "kubernetes")["spec"]["clusterIP"]
        nat = _wait("kube-proxy's rules back after the power cut", lambda: _when(
            h.exec(["iptables-save", "-t", "nat"]).stdout, lambda t: "default/kubernetes:https" in t), 180)
        assert re.search(r"default/kubernetes:https.*--to-destination 169\.254\.20\.11:51003", nat), nat
        via_service = h.exec(["python3", "-c", (
            "import json, ssl, urllib.request; ctx = ssl.create_default_context(cafile='/etc/kubernetes/pki/ca.crt');"
            "ctx.load_cert_chain('/var/lib/kubelet/pki/kubelet-client-current.pem');"
            f"q = urllib.request.Request('https://{service_ip}/api/v1/pods?fieldSelector=spec.nodeName%3D{node}',"
            f" headers={{'User-Agent': 'kubelet/{k.version}'}});"
            "r = urllib.request.urlopen(q, context=ctx, timeout=10);"
            "print(json.dumps([p['metadata']['uid'] for p in json.load(r)['items']]))")], check=False)
        assert via_service.returncode == 0 and uid in json.loads(via_service.stdout), via_service.stderr

        # no eviction: the control pod on the cloud node goes, the edge node's stays
        _wait("the cloud node's pod evicted", lambda: _evicted(k, "app-cloud"), 300, 5)
        c.figures["cut to the control pod evicted (s)"] = time.monotonic() - cut_at
        time.sleep(TOLERATION)
        assert not _evicted(k, "app-a"), "the cut-off edge node's pod was evicted"
        taints = {(t["key"], t["effect"]) for t in k.get("node", node)["spec"].get("taints") or []}
        assert ("node.kubernetes.io/unreachable", "NoExecute") not in taints, taints
        cloud_taints = {(t["key"], t["effect"]) for t in k.get("node", c.cloud.name)["spec"].get("taints") or []}
        assert ("node.kubernetes.io/unreachable", "NoExecute") in cloud_taints, cloud_taints
    finally:
        site.reconnect()
        c.cloud.exec(["ip", "link", "set", "eth0", "up"])
        c.cloud.exec(["ip", "route", "replace", "default", "via", c.cloud.gateway])
    back_at = time.monotonic()
    back: dict[str, float] = {}

    def both_back() -> bool:
        nodes = _nodes(c)
        if "edge" not in back and all(n["ready"] == "True" and n["tunnel"] == "connected"
                                      for name, n in nodes.items() if c.site_of.get(name) == "site-a"):
            back["edge"] = time.monotonic() - back_at
        if "cloud" not in back and nodes[c.cloud.name]["ready"] == "True":
            back["cloud"] = time.monotonic() - back_at
        return len(back) == 2

    _wait("site-a and the cloud node Ready again", both_back, 300)
    c.figures["reconnect to Ready and connected, edge site (s)"] = back["edge"]
    c.figures["reconnect to Ready, cloud node (s)"] = back["cloud"]
    pod = k.get("pod", "app-a")
    assert pod["metadata"]["uid"] == uid and pod["status"]["phase"] == "Running", pod["status"]
    assert pod["spec"]["nodeName"] == node and not pod["metadata"].get("deletionTimestamp")
    _wait("the evicted pod gone", lambda: k.kubectl("get", "pod", "app-cloud", check=False).returncode != 0, 120)
    print("figures:", {key: round(v, 1) for key, v in c.figures.items()})
    k.kubectl("delete", "pod", "app-a", "--wait=true")


def test_reset_every_node_and_detach_leave_no_trace(cluster: Cluster) -> None:
    from edgeadm import kube
    from tests.harness.snapshot import diff, snapshot

    c = cluster
    for h in (*c.edges.values(), c.cloud):
        out = h.edgeadm("reset", "-f")
        assert out.returncode == 0, f"{h.name}: {out.stderr}"
        left = hosts.state_diff(c.before[h.name], h.state())
        assert not left, f"{h.name}:\n" + "\n".join(left)
    res = c.master.host.edgeadm("detach", "edge-apps", env=ADMIN)
    assert res.returncode == 0, f"{res.stderr}\nthe master's kubelet:\n{c.master.host.journal('kubelet')}"
    # the user's own clean-up of what was theirs: the join token (its signature in cluster-info goes with it)
    res = c.master.host.edgeadm("token", "delete", c.token_id, env=ADMIN)
    assert res.returncode == 0, res.stderr
    k = kube.connect(c.master.kubeconfig)
    last: list[str] = []

    def same() -> bool:
        # Not addon's to undo, so left out: the kubelets' certificate requests (TLS bootstrap; the controller-
        # manager removes approved ones after an hour).
        last[:] = [d for d in diff(c.cluster_before, snapshot(k)) if "/CertificateSigningRequest/" not in d]
        return not last

    try:
        _wait("the cluster as it was before addon", same, 120, 5)
    except AssertionError:
        raise AssertionError("\n".join(last)) from None
