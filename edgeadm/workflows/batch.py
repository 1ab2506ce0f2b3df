"""`edgeadm join --inventory` and `edgeadm reset --inventory`: many hosts over SSH, from the master.

Each host runs its own `./edgeadm join` from the release archive (so its journal, log and `reset` stay on the host);
this module gets the archive there, starts the command with the tokens on its standard input, and collects what
happened. Per batch there is ONE signing token (discovery: cluster-info is re-signed per signing token, so one per
host would grow it for every join) and one authentication-only token per host, each deleted as soon as that host's
join returns; everything the batch made is deleted when it ends, and the TTL bounds a batch that is killed.

One host's failure never stops the others. A site with a failure budget stops starting hosts once it is spent;
a stop request (SIGINT) stops starting hosts anywhere. Hosts that are running finish. Results are written after
every host, so a killed batch still leaves them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from edgeadm import events as ev
from edgeadm import remote, tokens
from edgeadm.errors import ConfigError, EdgeadmError
from edgeadm.host.journal import JOURNAL_FILE
from edgeadm.inventory import RESULTS_KIND, RESULTS_VERSION, BatchOptions, Host, Site
from edgeadm.kube.types import KubeAPI
from edgeadm.node.paths import NodePaths
from edgeadm.package import sha256_file
from edgeadm.workflows import token as token_wf
from edgeadm.workflows.bundle import RELEASE_EXECUTABLE, release_members

REMOTE_DIR = "edgeadm-release"  # under the login's home directory; `reset --inventory` removes it
TOKEN_TTL = dt.timedelta(hours=1)  # bounds the tokens of a batch that is killed before it deletes them
LABEL_BATCH = "edgeadm.superedge.io/batch"
JOIN_JOURNAL = str(NodePaths().state_dir / JOURNAL_FILE)  # what `edgeadm join` leaves on a host until `reset`
_PHASE = re.compile(r"^error: phase ([A-Za-z0-9/_-]+):", re.M)
_ERROR = re.compile(r"^error: (.*)$", re.M)


@dataclass
class HostResult:
    """One host's outcome (`inventory.OUTCOMES`); `phase` names the join phase that failed."""

    site: str
    where: str
    address: str
    port: int
    nodeName: str  # noqa: N815 - the results file's schema (camelCase like the inventory)
    outcome: str = "not-started"
    phase: str | None = None
    exitCode: int | None = None  # noqa: N815
    message: str = ""
    seconds: float = 0.0
    bytesSent: int = 0  # noqa: N815 - sent by this machine (over the site's uplink)
    bytesRelayed: int = 0  # noqa: N815 - read from the site's first host over the site's LAN
    releaseAt: float | None = None  # noqa: N815 - seconds from the batch's start to the release being on the host
    log: str | None = None


@dataclass(frozen=True)
class Release:
    path: Path
    sha256: str
    top: str  # the directory the archive unpacks to
    package: str
    package_sha256: str


RELAY_WAIT = 7200.0  # seconds a host waits for its site's first host to have the release (it says so sooner)
RELAY_PORT_FILE = f"{REMOTE_DIR}/.relay-port"


class _Relay:
    """A site's relay: its first host (`seed`) receives the release and serves it to the site's other hosts, which
    wait for it. The serving command runs on its own SSH session until every other host has fetched or given up."""

    def __init__(self, seed: str, receivers: int) -> None:
        self.seed = seed
        self.receivers = receivers
        self.source: tuple[str, int] | None = None  # where the others read it, once it is served
        self.ready = threading.Event()
        self._pending = receivers
        self._left: set[str] = set()
        self._lock = threading.Lock()
        self._held: tuple[remote.Session, remote.Running] | None = None

    def offer(self, address: str, port: int, session: remote.Session, proc: remote.Running) -> None:
        with self._lock:
            self._held = (session, proc)
            self.source = (address, port)
        self.ready.set()

    def leave(self, node: str) -> None:
        """`node` is done with the relay (fetched, failed, or never started); idempotent."""
        with self._lock:
            if node in self._left:
                return
            self._left.add(node)
            if node != self.seed:
                self._pending -= 1
            last = self._pending <= 0
        if node == self.seed:
            self.ready.set()  # the others stop waiting: from here they read from it or get their own copy
        if last:
            self.close()

    def close(self) -> str:
        """Stop serving; returns what the serving command said."""
        with self._lock:
            held, self._held = self._held, None
        if held is None:
            return ""
        session, proc = held
        try:
            proc.close_stdin()
            res = proc.wait(60)
            return (res.stdout + res.stderr).strip()
        except (remote.RemoteError, OSError):
            return ""
        finally:
            session.close()


@dataclass
class Batch:
    options: BatchOptions
    results: list[HostResult] = field(default_factory=list)
    interrupted: bool = False
    release: Release | None = None

    def failed(self) -> list[HostResult]:
        done = "joined" if self.options.action == "join" else "reset"
        return [r for r in self.results if r.outcome != done]

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        return {"kind": RESULTS_KIND, "version": RESULTS_VERSION, "action": self.options.action,
                "inventory": str(self.options.inventory.path), "runDir": str(self.options.run_dir),
                "interrupted": self.interrupted, "summary": counts, "hosts": [asdict(r) for r in self.results]}


def read_release(path: Path) -> Release:
    """The release archive's digest, top directory and package with its pinned digest (from SHA256SUMS)."""
    members, package = release_members(path)
    top = PurePosixPath(members[0][0].name).parts[0]
    with tarfile.open(path, "r:*") as tar:
        sums_member = next(m for m, _ in members if PurePosixPath(m.name).name == "SHA256SUMS")
        raw = tar.extractfile(sums_member)
        assert raw is not None
        sums: dict[str, str] = {}
        for line in raw.read(1 << 16).decode(errors="replace").splitlines():
            digest, _, name = line.strip().partition(" ")
            sums[name.strip().lstrip("*")] = digest
    pin = sums.get(package)
    if not pin or not re.fullmatch(r"[0-9a-f]{64}", pin):
        raise ConfigError(f"release archive `{path}`: SHA256SUMS has no digest for {package}")
    return Release(path=path, sha256=sha256_file(path), top=top, package=package, package_sha256=pin)


class _Serial:
    """Events from many threads, one at a time, each line prefixed with its host."""

    def __init__(self, events: ev.Events) -> None:
        self._events = events
        self._lock = threading.Lock()

    def step(self, who: str, text: str) -> None:
        with self._lock:
            self._events.emit(ev.Step(f"[{who}] {text}"))
            site, _, node = who.partition("/")
            if node:
                self._events.emit(ev.HostState(site, node, "running", text))

    def state(self, site: str, node: str, state: str) -> None:
        with self._lock:
            self._events.emit(ev.HostState(site, node, state))

    def done(self) -> None:
        with self._lock:
            self._events.emit(ev.BatchDone())

    def warn(self, text: str) -> None:
        with self._lock:
            self._events.emit(ev.Warn(text))


def _private_write(path: Path, data: str) -> None:
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(data)
    os.replace(part, path)


def _order(sites: tuple[Site, ...], only: frozenset[str] | None) -> Iterator[tuple[Site, Host]]:
    """Round-robin over the sites, so that every site makes progress from the start."""
    queues = [[h for h in s.hosts if only is None or h.node_name in only] for s in sites]
    for i in range(max((len(q) for q in queues), default=0)):
        for s, q in zip(sites, queues, strict=True):
            if i < len(q):
                yield s, q[i]


def run(kube: KubeAPI, o: BatchOptions, events: ev.Events, stop: threading.Event) -> Batch:
    """Run the batch; returns every host's result (the caller decides the exit code)."""
    batch = Batch(o)
    if o.action == "join":
        batch.release = read_release(o.inventory.release)
    o.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    out = _Serial(events)
    t_batch = time.monotonic()
    kube_lock = threading.Lock()
    results_lock = threading.Lock()
    plan = list(_order(o.inventory.sites, o.only))
    for s, h in plan:
        batch.results.append(HostResult(site=s.name, where=h.where, address=h.address, port=h.port,
                                        nodeName=h.node_name))
    by_node = {r.nodeName: r for r in batch.results}
    for s, h in plan:
        out.state(s.name, h.node_name, "waiting")

    def save() -> None:
        with results_lock:
            _private_write(o.results, json.dumps(batch.to_dict(), indent=2) + "\n")

    relays: dict[str, _Relay] = {}
    for site in o.inventory.sites:
        mine = [h.node_name for s, h in plan if s.name == site.name]
        if o.action == "join" and site.relay == "per-site" and len(mine) > 1:
            relays[site.name] = _Relay(mine[0], len(mine) - 1)
    # a site's copies from here share its cap (relayed copies stay on the site's LAN and are not capped)
    pacers = {s.name: remote.Pacer(s.bandwidth_limit) for s in o.inventory.sites if s.bandwidth_limit}
    batch_id = o.run_dir.name.lower()[-63:].strip("-.") or "batch"
    made: list[str] = []
    discovery = None
    join_info: tuple[str, tuple[str, ...]] = ("", ())
    if o.action == "join":
        clusters = token_wf.cluster_info(kube)
        join_info = (token_wf.join_endpoint(kube, clusters), tuple(token_wf.ca_hashes(kube, clusters)))
        discovery = _token(kube, made, batch_id, ("signing",), (), "discovery", None)
    spent: dict[str, int] = {s.name: 0 for s in o.inventory.sites}
    site_slots = {s.name: threading.Semaphore(s.concurrency) for s in o.inventory.sites}
    budget = {s.name: s.failure_budget for s in o.inventory.sites}

    def one(site: Site, h: Host) -> None:
        r = by_node[h.node_name]
        with site_slots[site.name]:
            with results_lock:
                b = budget[site.name]
                if stop.is_set() or (b is not None and spent[site.name] > b):
                    r.message = "interrupted" if stop.is_set() else f"site {site.name} spent its failure budget"
                    if site.name in relays:
                        relays[site.name].leave(h.node_name)
                    out.state(site.name, h.node_name, r.outcome)
                    return
            t0 = time.monotonic()
            who = f"{site.name}/{h.node_name}"
            log = o.run_dir / f"{h.node_name}.log"
            r.log = str(log)
            try:
                if o.action == "join":
                    assert discovery is not None and batch.release is not None
                    issued: list[tokens.Token] = []

                    def auth_token(h: Host = h, issued: list[tokens.Token] = issued) -> str:
                        issued.append(_token_locked(kube, kube_lock, made, batch_id, h))
                        return issued[-1].value

                    def registered(name: str) -> bool:
                        with kube_lock:
                            return kube.get("v1", "Node", name) is not None

                    try:
                        _join_host(h, r, batch.release, join_info, discovery.value, auth_token, registered, o, out,
                                   who, log, relays.get(site.name), t_batch, pacers.get(site.name))
                    finally:
                        for t in issued:  # worth one node for minutes at most: gone as soon as the join returns
                            with kube_lock:
                                token_wf.delete(kube, t.id)
                else:
                    _reset_host(h, r, o, out, who, log)
                    if r.outcome == "reset":
                        with kube_lock:
                            if kube.delete("v1", "Node", h.node_name):
                                out.step(who, f"deleted Node {h.node_name}")
            except remote.RemoteError as exc:
                r.outcome, r.message = exc.reason, exc.message + (f" ({exc.hint})" if exc.hint else "")
                out.step(who, f"{exc.reason}: {exc.message}")
            except EdgeadmError as exc:
                r.outcome, r.message = "failed", exc.message
                out.step(who, f"failed: {exc.message}")
            except Exception as exc:  # noqa: BLE001 - one host's surprise must not stop the others
                r.outcome, r.message = "failed", f"unexpected {type(exc).__name__}: {exc}"[:500]
                out.step(who, r.message)
            finally:
                if site.name in relays:
                    relays[site.name].leave(h.node_name)
                r.seconds = round(time.monotonic() - t0, 2)
                with results_lock:
                    if r.outcome not in ("joined", "reset"):
                        spent[site.name] += 1
                out.state(site.name, h.node_name, r.outcome)
            save()

    try:
        save()
        with ThreadPoolExecutor(max_workers=o.inventory.concurrency, thread_name_prefix="batch") as pool:
            for f in [pool.submit(one, s, h) for s, h in plan]:
                f.result()
    finally:
        for relay in relays.values():
            relay.close()
        for tid in made:
            with kube_lock:
                token_wf.delete(kube, tid)
        batch.interrupted = stop.is_set()
        save()
        out.done()
    return batch


def _token(kube: KubeAPI, made: list[str], batch_id: str, usages: tuple[str, ...], groups: tuple[str, ...],
           what: str, node: str | None) -> tokens.Token:
    t = tokens.new_token(None, ttl=TOKEN_TTL, usages=usages, groups=groups,
                         description=f"edgeadm batch {batch_id}: {what}")
    secret = t.to_secret()
    secret["metadata"]["labels"] = {LABEL_BATCH: batch_id}
    kube.create(secret)
    made.append(t.id)
    return t


def _token_locked(kube: KubeAPI, lock: threading.Lock, made: list[str], batch_id: str, h: Host) -> tokens.Token:
    with lock:
        return _token(kube, made, batch_id, ("authentication",), (tokens.DEFAULT_GROUP,), f"node {h.node_name}",
                      h.node_name)


def _connect(h: Host, o: BatchOptions) -> remote.Session:
    return remote.connect(h.address, h.port, h.user, known_hosts=o.known_hosts,
                          accept_new=o.accept_new_host_keys, key_file=h.key_file, agent=h.agent,
                          password=h.password.read() if h.password else None)


def _as_root(h: Host, argv: list[str], stdin: bytes) -> tuple[list[str], bytes]:
    """`argv` as root: directly for root, else through sudo (its password, if any, as the first line of stdin)."""
    if h.user == "root":
        return argv, stdin
    if h.sudo_password is not None:
        return ["sudo", "-S", "-p", "", "--", *argv], h.sudo_password.read().encode() + b"\n" + stdin
    return ["sudo", "-n", "--", *argv], stdin


def _log(log: Path, title: str, res: remote.Result) -> None:
    with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as fh:
        fh.write(f"--- {title}: exit {res.exit_code}\n{res.stdout}{res.stderr}")


def _check(s: remote.Session, argv: list[str], what: str, stdin: bytes = b"") -> None:
    res = s.run(argv, stdin=stdin)
    if res.exit_code != 0:
        raise EdgeadmError(f"{what}: {res.stderr.strip()[-300:] or f'exit {res.exit_code}'}")


def _serve_site(h: Host, o: BatchOptions, relay: _Relay, rel: Release, there: str, out: _Serial, who: str) -> None:
    """Start serving the release to the site's other hosts (on a session of its own, kept until they are done).
    Anything that goes wrong only means they get their own copies."""
    try:
        session = _connect(h, o)
    except remote.RemoteError:
        return
    try:
        session.run(["rm", "-f", RELAY_PORT_FILE])
        proc = session.start([f"{REMOTE_DIR}/{rel.top}/{RELEASE_EXECUTABLE}", "relay-serve", there, "--port-file",
                              RELAY_PORT_FILE, "--receivers", str(relay.receivers)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            got = session.run(["cat", RELAY_PORT_FILE]).stdout.strip()
            if got.isdigit():
                relay.offer(h.address, int(got), session, proc)
                out.step(who, f"serving the release to the site's other hosts on port {got}")
                return
            time.sleep(0.2)
        proc.close_stdin()
        session.close()
    except (remote.RemoteError, OSError):
        session.close()


def _fetch_from_site(s: remote.Session, relay: _Relay, rel: Release, there: str, out: _Serial, who: str) -> bool:
    """Read the release from the site's first host over the LAN (bash's /dev/tcp: the host has no edgeadm yet);
    True when the copy has the release's sha256."""
    out.step(who, f"waiting for {relay.seed} to have the release")
    relay.ready.wait(RELAY_WAIT)
    if relay.source is None:
        out.step(who, f"{relay.seed} does not serve it")
        return False
    address, port = relay.source
    part = there + ".relay"
    script = f"exec 3<>/dev/tcp/{address}/{int(port)} && cat <&3 > {shlex.quote(part)}"
    out.step(who, f"reading the release from {relay.seed} over the site's network")
    res = s.run(["bash", "-c", script], timeout=3600)
    if res.exit_code == 0 and s.sha256(part) == rel.sha256:
        s.run(["mv", "-f", part, there])
        return True
    s.run(["rm", "-f", part])
    out.step(who, f"the copy from {relay.seed} failed ({_last_error(res) if res.exit_code else 'wrong sha256'})")
    return False


def _last_error(res: remote.Result) -> str:
    """The command's own `error:` line (edgeadm's one-line failure), else its last line of output."""
    errors = _ERROR.findall(res.stderr)
    lines = res.stderr.strip().splitlines() or [f"exit {res.exit_code}"]
    return (errors[-1] if errors else lines[-1])[:500]


def _join_host(h: Host, r: HostResult, rel: Release, info: tuple[str, tuple[str, ...]], discovery: str,
               auth_token: Callable[[], str], registered: Callable[[str], bool], o: BatchOptions, out: _Serial,
               who: str, log: Path, relay: _Relay | None, t_batch: float, pacer: remote.Pacer | None) -> None:
    out.step(who, f"connecting to {h.user}@{h.address}:{h.port}")
    with _connect(h, o) as s:
        argv, stdin = _as_root(h, ["test", "-e", JOIN_JOURNAL], b"")
        if s.run(argv, stdin=stdin).exit_code == 0:  # a re-run of the batch: this host joined before
            if registered(h.node_name):
                r.outcome, r.message = "joined", "already joined (its join journal is on the host, its Node exists)"
                out.step(who, r.message)
                return
            r.outcome, r.phase = "failed", "preflight"
            r.message = (f"the host has a join journal ({JOIN_JOURNAL}) but no Node {h.node_name}: reset it "
                         "(`edgeadm reset --inventory` or `./edgeadm reset` there), then join again")
            out.step(who, r.message)
            return
        _check(s, ["mkdir", "-p", "-m", "700", REMOTE_DIR], "cannot make the release directory")
        there = f"{REMOTE_DIR}/{rel.path.name}"
        size = rel.path.stat().st_size
        if s.sha256(there) == rel.sha256:
            out.step(who, f"{rel.path.name} is there already")
        elif relay is not None and relay.seed != h.node_name and _fetch_from_site(s, relay, rel, there, out, who):
            r.bytesRelayed = size
        else:
            out.step(who, f"copying {rel.path.name} ({size / 1e6:.1f} MB)")
            r.bytesSent = s.put(rel.path, there, sha256=rel.sha256, pacer=pacer)
        r.releaseAt = round(time.monotonic() - t_batch, 2)
        patch_flag: list[str] = []
        if h.kubelet_config_patch is not None:
            remote_patch = f"{REMOTE_DIR}/kubelet-config-patch.yaml"
            r.bytesSent += s.put(h.kubelet_config_patch, remote_patch, sha256=sha256_file(h.kubelet_config_patch))
            patch_flag = ["--kubelet-config-patch", "../kubelet-config-patch.yaml"]
        _check(s, ["tar", "-xzf", there, "-C", REMOTE_DIR], "cannot unpack the release")
        if relay is not None and relay.seed == h.node_name:
            _serve_site(h, o, relay, rel, there, out, who)
        endpoint, hashes = info
        join = [f"./{RELEASE_EXECUTABLE}", "join", endpoint, "--token-stdin", "--install-pkg-path", rel.package,
                "--install-pkg-sha256", rel.package_sha256, "--node-name", h.node_name,
                f"--enable-edge={'true' if h.enable_edge else 'false'}", *patch_flag]
        for pin in hashes:
            join += ["--discovery-token-ca-cert-hash", pin]
        if h.labels:
            join += ["--node-labels", ",".join(f"{k}={v}" for k, v in h.labels)]
        argv, stdin = _as_root(h, ["sh", "-c", f"cd {shlex.quote(f'{REMOTE_DIR}/{rel.top}')} && exec "
                                              + shlex.join(join)],
                               f"discovery-token={discovery}\ntls-bootstrap-token={auth_token()}\n".encode())
        out.step(who, "joining")
        res = s.run(argv, stdin=stdin, timeout=900)
    _log(log, "edgeadm join", res)
    r.exitCode = res.exit_code
    if res.exit_code == 0:
        r.outcome, r.message = "joined", ""
        out.step(who, "joined")
        return
    r.outcome = "failed"
    m = _PHASE.search(res.stderr)
    r.phase = m.group(1) if m else None
    r.message = _last_error(res)
    out.step(who, f"failed (exit {res.exit_code}{f', phase {r.phase}' if r.phase else ''}): {r.message}")


def _reset_host(h: Host, r: HostResult, o: BatchOptions, out: _Serial, who: str, log: Path) -> None:
    out.step(who, f"connecting to {h.user}@{h.address}:{h.port}")
    with _connect(h, o) as s:
        found = s.run(["sh", "-c", f"ls -d {REMOTE_DIR}/*/{RELEASE_EXECUTABLE} 2>/dev/null | head -n 1"])
        exe = found.stdout.strip()
        if exe:
            argv, stdin = _as_root(h, ["sh", "-c", f"cd {shlex.quote(str(PurePosixPath(exe).parent))} && exec "
                                                  f"./{RELEASE_EXECUTABLE} reset -f"], b"")
            out.step(who, "resetting")
            res = s.run(argv, stdin=stdin, timeout=900)
            _log(log, "edgeadm reset", res)
            r.exitCode = res.exit_code
            if res.exit_code != 0:
                r.outcome, r.message = "failed", _last_error(res)
                out.step(who, f"reset failed (exit {res.exit_code}): {r.message}")
                return
        else:
            out.step(who, f"no release under ~/{REMOTE_DIR}: nothing of a batch join to reset")
        argv, stdin = _as_root(h, ["rm", "-rf", "--", REMOTE_DIR], b"")
        _check(s, argv, "cannot remove the release directory", stdin)
    r.outcome, r.message = "reset", ""
    out.step(who, "reset")


__all__ = ["Batch", "BatchOptions", "HostResult", "read_release", "run"]
