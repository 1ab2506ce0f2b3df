"""Batch join and reset over SSH (`join --inventory`, `reset --inventory`) against six real hosts in two sites, each
host a booted Debian with its own OpenSSH server and host key, each site behind its own NAT router that lets only
SSH in from this machine (the cloud side).

What must hold: unknown host keys are refused by default; with failures injected (wrong credentials, a changed host
key, sshd down, a preflight refusal) the other hosts join, the results name each reason and the exit code is 4;
after fixing them, `--retry-failed` runs exactly those hosts; no token is ever in a command line, an environment,
a log or the results; the batch's tokens are gone when it ends; `reset --inventory` returns every host to its state
before the batch and deletes the Nodes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgeadm import remote
from tests.e2e.helpers import release_archive
from tests.harness import cluster as harness
from tests.harness import hosts, network
from tests.harness.packages import CNI_CONF

pytestmark = pytest.mark.node
IN_CI = bool(os.environ.get("CI"))
SITES = {"shop-1": ("a1", "a2", "a3"), "shop-2": ("b1", "b2", "b3")}
CAP = 25 << 20  # bytes/s: shop-1's bandwidthLimit in the retry run (the test release, ~140 MB, takes 5.4 s at it)
TOKEN = re.compile(rb"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")  # a bootstrap token's shape
ZONE = "topology.kubernetes.io/zone"
SUDO_USER = "edge"  # b1 is reached as this user, who becomes root with sudo and a password
SUDO_PASSWORD = "sudo-e2e-pass"


@dataclass
class Fleet:
    work: Path
    kube: Any
    admin_conf: Path
    hosts: dict[str, hosts.TestHost]
    sites: dict[str, network.SiteNetwork]
    host_keys: dict[str, str]  # node -> its public host key line
    before: dict[str, dict[str, object]]
    release: Path
    figures: dict[str, float] = field(default_factory=dict)

    def edgeadm(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edgeadm", "--kubeconfig", str(self.admin_conf), *args],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)], check=True)
    return path


def _inventory(f: Fleet, *, key: dict[str, str], relay: dict[str, str] | None = None, concurrency: int = 6,
               cap: dict[str, int] | None = None) -> Path:
    """The inventory: one row per host; `key` picks each node's key file (default the good one), `relay` a site's
    relay (default per-site), `cap` a site's bandwidthLimit."""
    doc = {"release": str(f.release), "concurrency": concurrency,
           "defaults": {"user": "root", "keyFile": str(f.work / "id_good")},
           "sites": [{"name": site, **({"relay": relay[site]} if site in (relay or {}) else {}),
                      **({"bandwidthLimit": cap[site]} if site in (cap or {}) else {}), "hosts": [
               {"address": f.hosts[n].ip, "nodeName": n, "labels": {"batch": "e2e"},
                "kubeletConfigPatch": str(f.work / f"kubelet-{n}.yaml"),
                **({"keyFile": str(f.work / key[n])} if n in key else {}),
                **({"user": SUDO_USER, "sudoPassword": {"file": str(f.work / "sudo.pass")}} if n == "b1" else {})}
               for n in names]}
               for site, names in SITES.items()]}
    path = f.work / "inventory.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _known_hosts(f: Fleet, path: Path, entries: dict[str, str]) -> None:
    path.write_text("".join(f"{f.hosts[n].ip} {line}\n" for n, line in entries.items()))


def _results(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text())
    assert data["kind"] == "BatchResults" and data["version"] == 1
    return {h["nodeName"]: h for h in data["hosts"]}


class _Watch:
    """Samples every process's command line and environment on this machine (the hosts' processes included: they
    are ours too) while a batch runs, looking for a token or the sudo password."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for proc in Path("/proc").glob("[0-9]*"):
                for what in ("cmdline", "environ"):
                    try:
                        data = (proc / what).read_bytes()
                    except OSError:
                        continue
                    if TOKEN.search(data) or SUDO_PASSWORD.encode() in data:
                        self.found.append(f"{proc.name} {what}: {data[:200]!r}")
            self.samples += 1
            time.sleep(0.2)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, k8s_bins: Path, clusters: harness.ClusterPool
          ) -> Iterator[Fleet]:
    from edgeadm import kube

    try:
        base = hosts.rootfs(build=IN_CI, flavor="sshd")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    hosts.set_kubelet_sysctls()
    work = tmp_path_factory.mktemp("batch")
    release = release_archive(work, k8s_bins)
    c = clusters.get("kubeadm", extra_ips=[network.HOSTS_GATEWAY])
    net = network.Network(c.apiserver_port)
    sites = {name: network.SiteNetwork(k) for k, name in enumerate(SITES, start=4)}
    started: list[hosts.TestHost] = []
    try:
        for s in sites.values():
            s.open_ssh()
        good = _keygen(work / "id_good")
        (work / "sudo.pass").write_text(SUDO_PASSWORD + "\n")
        (work / "sudo.pass").chmod(0o600)
        _keygen(work / "id_other")
        (work / "hosts").mkdir()
        fleet_hosts: dict[str, hosts.TestHost] = {}
        keys: dict[str, str] = {}
        for site, names in SITES.items():
            for n in names:
                h = hosts.TestHost(n, work / "hosts" / n, site=sites[site])
                fleet_hosts[n] = h
                h.start(base)
                started.append(h)
                user = "root"
                if n == "b1":
                    user = SUDO_USER
                    h.exec(["useradd", "-m", "-s", "/bin/sh", SUDO_USER])
                    h.exec(["chpasswd"], input=f"{SUDO_USER}:{SUDO_PASSWORD}\n")
                    (h.root / f"etc/sudoers.d/{SUDO_USER}").write_text(f"{SUDO_USER} ALL=(ALL:ALL) ALL\n")
                    (h.root / f"etc/sudoers.d/{SUDO_USER}").chmod(0o440)
                    # sudo's first use leaves its lecture mark and timestamp directory: make them part of "before"
                    h.exec(["su", SUDO_USER, "-c", "sudo -S -p '' true"], input=SUDO_PASSWORD + "\n")
                keys[n] = h.serve_ssh(Path(f"{good}.pub"), user=user)
                (h.root / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
                (h.root / "etc/cni/net.d/10-edgetest.conflist").write_text(CNI_CONF % h.index)
                (work / f"kubelet-{n}.yaml").write_text(h.kubelet_patch)
        f = Fleet(work=work, kube=kube.connect(c.admin_conf), admin_conf=c.admin_conf, hosts=fleet_hosts,
                  sites=sites, host_keys=keys, before={}, release=release)
        res = f.edgeadm("addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key"),
                        "--master-public-addr", net.endpoint, *harness.ADDON_FLAGS)
        assert res.returncode == 0, res.stderr
        f.before = {n: h.state() for n, h in fleet_hosts.items()}
        yield f
        print("\nbatch figures:", json.dumps(f.figures, indent=1))
    finally:
        for h in started:
            h.stop()
        for s in sites.values():
            s.close()
        net.close()


def _sessions_closed(h: hosts.TestHost) -> None:
    """Wait until logind has closed the batch's SSH sessions (a user's manager lingers a few seconds after its last
    session)."""
    deadline = time.monotonic() + 60
    while h.exec(["systemctl", "list-units", "user@*", "user-runtime-dir@*", "--state=active,deactivating",
                  "--no-legend", "--plain"], check=False).stdout.strip():
        assert time.monotonic() < deadline, f"{h.name}: the SSH sessions did not close"
        time.sleep(1)


def test_unknown_host_keys_are_refused_by_default(fleet: Fleet) -> None:
    f = fleet
    inv = _inventory(f, key={})
    known = f.work / "known_hosts_empty"
    known.write_text("")
    res = f.edgeadm("join", "--inventory", str(inv), "--known-hosts", str(known), "--run-dir",
                    str(f.work / "run-refused"))
    assert res.returncode == 4, res.stderr
    got = _results(f.work / "run-refused" / "results.json")
    assert {n: r["outcome"] for n, r in got.items()} == {n: "host-key-refused" for n in f.hosts}, got
    assert "is not in" in got["a1"]["message"] and "SHA256:" in got["a1"]["message"], got["a1"]
    assert known.read_text() == ""  # nothing recorded without --accept-new-host-keys
    for n, h in f.hosts.items():  # nothing reached the hosts
        assert not (h.root / "root/edgeadm-release").exists(), n
    assert not (f.hosts["b1"].root / f"home/{SUDO_USER}/edgeadm-release").exists()


def test_a_batch_with_failures_joins_the_rest_and_retry_joins_only_the_failed(fleet: Fleet) -> None:
    f = fleet
    known = f.work / "known_hosts"
    # a3 was "reinstalled": its recorded key is another one
    _known_hosts(f, known, {**f.host_keys, "a3": " ".join(
        Path(f.work / "id_other.pub").read_text().split()[:2])})
    # wrong credentials for a2; shop-2 without its relay: each host gets its own copy over the uplink
    inv = _inventory(f, key={"a2": "id_other"}, relay={"shop-2": "none"})
    f.hosts["b2"].exec(["systemctl", "stop", "ssh"])  # b2 unreachable
    f.kube.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "b3"}})  # b3: its name is taken
    run1 = f.work / "run-1"
    size = f.release.stat().st_size
    wan0 = {name: s.wan_bytes() for name, s in f.sites.items()}
    with _Watch() as watch:
        res = f.edgeadm("join", "--inventory", str(inv), "--known-hosts", str(known), "--accept-new-host-keys",
                        "--run-dir", str(run1))
    wan1 = {name: (s.wan_bytes() - wan0[name]) / size for name, s in f.sites.items()}
    f.figures["run 1 uplink bytes / archive, shop-2 without relay (b1, b3 copied)"] = wan1["shop-2"]
    assert res.returncode == 4, res.stderr
    got = _results(run1 / "results.json")
    first_b1_release = got["b1"]["releaseAt"]
    outcome = {n: (r["outcome"], r["phase"]) for n, r in got.items()}
    assert outcome == {"a1": ("joined", None), "b1": ("joined", None), "a2": ("auth-failed", None),
                       "a3": ("host-key-refused", None), "b2": ("unreachable", None), "b3": ("failed", "preflight")
                       }, got
    assert "ssh-keygen -f" in got["a3"]["message"] and "-R" in got["a3"]["message"]  # how to clear it
    assert "4 of 6 host(s) did not join" in res.stderr, res.stderr
    assert "--retry-failed" in res.stderr
    table = res.stdout.splitlines()
    assert table[0].split() == ["SITE", "NODE", "ADDRESS", "OUTCOME", "PHASE", "SECONDS"], res.stdout
    for n in ("a1", "b1"):
        node = f.kube.get("v1", "Node", n)
        labels = node["metadata"]["labels"]
        site = next(s for s, names in SITES.items() if n in names)
        assert labels.get(ZONE) == site and labels.get("batch") == "e2e", labels
        assert labels.get("superedge.io/edge-node") == "enable", labels
    assert f.kube.get("v1", "Node", "a2") is None
    # the batch's tokens are gone; the per-host ones were never signed into cluster-info
    left = [s["metadata"]["name"] for s in f.kube.list("v1", "Secret", namespace="kube-system",
                                                       label_selector="edgeadm.superedge.io/batch")]
    assert left == [], left
    # no token anywhere: process listings and environments during the run, logs, results, output
    assert watch.samples > 20 and not watch.found, watch.found
    for path in run1.iterdir():
        assert not TOKEN.search(path.read_bytes()), path
        assert path.stat().st_mode & 0o077 == 0, path
    assert not TOKEN.search((res.stdout + res.stderr).encode())
    assert SUDO_PASSWORD not in res.stdout + res.stderr + "".join(p.read_text() for p in run1.iterdir())
    # the joined host's log is edgeadm's own output
    assert "[preflight]" in (run1 / "a1.log").read_text()

    # fix each: a2's inventory row, a3's stale known_hosts entry (as the hint says), b2's sshd, b3's name; and cap
    # shop-1's uplink this time
    inv = _inventory(f, key={}, cap={"shop-1": CAP})
    subprocess.run(["ssh-keygen", "-f", str(known), "-R", f.hosts["a3"].ip], check=True, capture_output=True)
    f.hosts["b2"].exec(["systemctl", "start", "ssh"])
    f.kube.delete("v1", "Node", "b3")
    run2 = f.work / "run-2"
    wan0 = {name: s.wan_bytes() for name, s in f.sites.items()}
    res = f.edgeadm("join", "--inventory", str(inv), "--known-hosts", str(known), "--accept-new-host-keys",
                    "--retry-failed", str(run1 / "results.json"), "--run-dir", str(run2))
    wan2 = {name: (s.wan_bytes() - wan0[name]) / size for name, s in f.sites.items()}
    f.figures["run 2 uplink bytes / archive, shop-1 with relay (a2, a3 needed it)"] = wan2["shop-1"]
    assert res.returncode == 0, res.stderr + res.stdout
    got = _results(run2 / "results.json")
    assert {n: r["outcome"] for n, r in got.items()} == {n: "joined" for n in ("a2", "a3", "b2", "b3")}, got
    # the relay: a2 (shop-1's first host here) got the release over the uplink, a3 read it from a2 over the LAN
    patch = {n: (f.work / f"kubelet-{n}.yaml").stat().st_size for n in f.hosts}  # each host's kubelet patch
    assert (got["a2"]["bytesSent"], got["a2"]["bytesRelayed"]) == (size + patch["a2"], 0), got["a2"]
    assert (got["a3"]["bytesSent"], got["a3"]["bytesRelayed"]) == (patch["a3"], size), got["a3"]
    # shop-1's bandwidthLimit held: a2 had the release no sooner than its size at that rate (one chunk early)
    assert got["a2"]["releaseAt"] >= (size - remote.CHUNK) / CAP, (got["a2"]["releaseAt"], size / CAP)
    f.figures["run 2 a2 release at (s), shop-1 capped"] = got["a2"]["releaseAt"]
    f.figures["run 1 b1 release at (s), uncapped"] = first_b1_release
    assert got["b3"]["bytesSent"] == 0  # it kept the copy (and the patch) run 1 gave it
    # measured on each site's uplink: one copy crossed it with the relay, two without
    assert wan1["shop-2"] > 1.9 and wan2["shop-1"] < 1.25, (wan1, wan2)
    assert f"{f.hosts['a3'].ip} {f.host_keys['a3']}" in known.read_text()  # recorded once accepted
    for n in f.hosts:
        node = f.kube.get("v1", "Node", n)
        assert node is not None, n


def test_a_rerun_touches_no_joined_host_and_a_changed_key_is_refused_even_when_accepting_new_ones(fleet: Fleet) -> None:
    f = fleet
    known = f.work / "known_hosts"
    bad = known.read_text().replace(f.host_keys["b1"], " ".join(Path(f.work / "id_other.pub").read_text()
                                                                 .split()[:2]))
    (f.work / "known_hosts_bad").write_text(bad)
    res = f.edgeadm("join", "--inventory", str(_inventory(f, key={})), "--known-hosts", str(f.work / "known_hosts_bad"),
                    "--accept-new-host-keys", "--run-dir", str(f.work / "run-changed"))
    got = _results(f.work / "run-changed" / "results.json")
    assert got["b1"]["outcome"] == "host-key-refused" and "changed" in got["b1"]["message"], got["b1"]
    assert (f.work / "known_hosts_bad").read_text() == bad  # not overwritten
    # a re-run: the others joined before, so nothing is sent and no token is made for them
    for n in ("a1", "a2", "a3", "b2", "b3"):
        assert got[n]["outcome"] == "joined" and got[n]["message"].startswith("already joined"), got[n]
        assert got[n]["bytesSent"] == 0, got[n]
    assert res.returncode == 4 and "1 of 6 host(s) did not join: b1 (host-key-refused)" in res.stderr, res.stderr


def test_batch_reset_stops_on_ctrl_c_then_resumes_and_leaves_every_host_as_before(fleet: Fleet) -> None:
    f = fleet
    inv = _inventory(f, key={}, concurrency=1)
    run = f.work / "run-reset"
    argv = [sys.executable, "-m", "edgeadm", "--kubeconfig", str(f.admin_conf), "reset", "--inventory", str(inv),
            "--known-hosts", str(f.work / "known_hosts"), "-f", "--run-dir", str(run)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # concurrency 1: a1 first
        seen.append(line)
        if line.startswith("[shop-1/a1] resetting"):
            break
    else:
        raise AssertionError("".join(seen))
    proc.send_signal(signal.SIGINT)  # a1 is being reset: it finishes, nothing else starts
    out, err = proc.communicate(timeout=600)
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "stopping: no new host is started" in err and "--retry-failed" in err, err
    got = _results(run / "results.json")
    assert got["a1"]["outcome"] == "reset", got["a1"]
    assert {r["outcome"] for n, r in got.items() if n != "a1"} == {"not-started"}, got
    assert json.loads((run / "results.json").read_text())["interrupted"] is True

    res = f.edgeadm("reset", "--inventory", str(inv), "--known-hosts", str(f.work / "known_hosts"), "-f",
                    "--retry-failed", str(run / "results.json"), "--run-dir", str(f.work / "run-reset-2"))
    assert res.returncode == 0, res.stderr + res.stdout
    got = _results(f.work / "run-reset-2" / "results.json")
    assert sorted(got) == sorted(n for n in f.hosts if n != "a1"), got
    assert {r["outcome"] for r in got.values()} == {"reset"}, got
    for n, h in f.hosts.items():
        assert f.kube.get("v1", "Node", n) is None, n
        _sessions_closed(h)
        left = hosts.state_diff(f.before[n], h.state())
        assert not left, f"{n}:\n" + "\n".join(left)
