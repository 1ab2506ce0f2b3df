"""Real test hosts: a Debian tree booted with systemd-nspawn (systemd as PID 1, its own network namespace).

Each host gets a veth link into the tests' bridge (tests/harness/network.py: <SUBNET>.<10+n> inside, where n is a
slot this module allocates; the test machine is <SUBNET>.1, where a forwarder relays to the test API server on
loopback), so the node reaches the control plane only through addresses the tests created. edgeadm runs inside
from the repository's virtualenv (bind-mounted read-only).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.cluster import cache_dir, hack_build
from tests.harness.network import BRIDGE, HOSTS_GATEWAY, LINK_PREFIX, NAME_PREFIX, SUBNET, SiteNetwork

REPO = Path(__file__).resolve().parents[2]
CGROUP_V1 = ("pids", "cpuset", "freezer", "devices", "cpuacct", "cpu", "blkio", "memory", "systemd",
             "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc")
# systemd-nspawn (--keep-unit) puts the host's processes in `payload` under its own cgroup in the name=systemd and
# unified hierarchies: started from one cgroup, every host on the machine (of any test run) would share that
# `payload`, its systemd's units and the kubelet's cgroups there. Each host starts from a cgroup of its own.
NSPAWN_HIERARCHIES = ("systemd", "unified")
# Host kernel settings the kubelet insists on (it cannot write them from inside a container); set once per machine.
KUBELET_SYSCTLS = {"vm.overcommit_memory": "1", "vm.panic_on_oom": "0", "kernel.panic": "10",
                   "kernel.panic_on_oops": "1", "kernel.keys.root_maxkeys": "1000000",
                   "kernel.keys.root_maxbytes": "25000000"}
# See TestHost.kubelet_patch: 100 turns image garbage collection off; 0% thresholds never trigger disk eviction.
KUBELET_NO_DISK_GC = ("imageGCHighThresholdPercent: 100\nevictionHard:\n  memory.available: 100Mi\n"
                      "  nodefs.available: 0%\n  nodefs.inodesFree: 0%\n  imagefs.available: 0%\n")
# Limits that every host shares, because every host's processes run as this machine's root: inotify instances are
# counted per user, machine-wide. A booted host holds ~18 (systemd 5, kubelet 6, logind, dbus, containerd, ...), so
# the sites test's six hosts hold ~110 of Debian's default 128, and a kubelet or systemd that boots again (a power
# cut) can then not get one and never starts its pods. Raised (never lowered) before any host boots, as kind
# advises for many kubelets on one machine.
SHARED_LIMITS = {"fs.inotify.max_user_instances": 8192, "fs.inotify.max_user_watches": 1048576}
# What a file listing ignores: kernel filesystems, runtime state, logs, caches that systemd itself rewrites.
LISTING_EXCLUDES = ("proc", "sys", "dev", "run", "tmp", "var/log", "var/tmp", "var/cache", "var/lib/systemd")
# Inside the host's /run: what systemd, journald and udev keep for themselves while the host runs (state that
# changes with every unit start, not something join or reset leaves).
# /tmp/systemd-private-*: PrivateTmp= directories systemd makes for services (logind), named at random on each
# start, so a reboot renames them.
# /run/agetty.reload: agetty's empty flag file, (re)created when network links come and go so that the console
# login banner shows current addresses; the OS reacting to links, not a change of ours (seen after a power cycle).
# /run/motd.dynamic: the message of the day pam_motd writes at every SSH login (a batch logs in to do its work);
# /run/sudo/ts: sudo's timestamp records, one more per login session that used sudo.
INSIDE_EXCLUDES = ("/run/systemd", "/run/log", "/run/udev", "/run/dbus", "/run/user", "/run/mount", "/run/lock",
                   "/run/credentials", "/run/utmp", "/run/initctl", "/run/sshd", "/tmp/systemd-private-",
                   "/run/agetty.reload", "/run/motd.dynamic", "/run/sudo/ts/")
# Values the kernel changes on its own: counters, random numbers, the last pid.
VOLATILE_SYSCTLS = ("kernel.random.", "kernel.ns_last_pid", "kernel.pty.nr", "net.netfilter.nf_conntrack_count",
                    "kernel.perf_event_max_sample_rate", "vm.stat_refresh", "kernel.core_pipe_limit",
                    "net.ipv4.route.gc_", "net.ipv6.route.gc_", "fs.")
_DIGESTS: dict[tuple[int, int, int, int, int], str] = {}


def _digest(path: str, st: os.stat_result) -> str:
    """A regular file's sha256, cached by inode, size and times (a rewrite changes the ctime at least)."""
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()[:16]
    return _DIGESTS[key]


ROOTFS_FLAVORS = {"bookworm": "rootfs-bookworm", "nopython": "rootfs-bookworm-nopython",
                  "sshd": "rootfs-bookworm-sshd"}  # hack/build-host-rootfs.sh


def rootfs(*, build: bool, flavor: str = "bookworm") -> Path:
    cached = cache_dir() / "hosts" / ROOTFS_FLAVORS[flavor]
    if (cached / "lib" / "systemd" / "systemd").exists():
        return cached
    if not build:
        raise FileNotFoundError(f"test host tree {cached} missing; run hack/build-host-rootfs.sh {flavor}")
    return hack_build("build-host-rootfs.sh", flavor)


def set_kubelet_sysctls() -> None:
    for key, value in KUBELET_SYSCTLS.items():
        Path("/proc/sys", *key.split(".")).write_text(value)
    raise_shared_limits()


def raise_shared_limits() -> None:
    for key, least in SHARED_LIMITS.items():
        path = Path("/proc/sys", *key.split("."))
        if int(path.read_text()) < least:
            path.write_text(str(least))


# Slot n gives a host the address <SUBNET>.(10+n) and the veth `<LINK_PREFIX><n>`; the last address of the /24 is .254.
MAX_SLOTS = 244
_slots_taken: set[int] = set()
_slots_lock = threading.Lock()


def _take_slot() -> int:
    """The lowest free slot in this process (given back by TestHost.stop), so tests never pick addresses."""
    with _slots_lock:
        slot = next((n for n in range(1, MAX_SLOTS + 1) if n not in _slots_taken), None)
        if slot is None:
            raise RuntimeError(f"all {MAX_SLOTS} test host slots are in use; stop() hosts that are done")
        _slots_taken.add(slot)
        return slot


def _give_back_slot(slot: int) -> None:
    with _slots_lock:
        _slots_taken.discard(slot)


# The host name is systemd-nspawn's machine name (-M) and the container's hostname (so also its Node name).
# nspawn refuses a machine name that is not a valid hostname: at most HOST_NAME_MAX = 64 characters of letters,
# digits, '-' and '.', no label starting or ending with '-' (systemd src/basic/hostname-util.c, hostname_is_valid;
# the kernel's own hostname limit, __NEW_UTS_LEN, is 64 too). Names made from test parameters are cut to fit here.
MACHINE_NAME_MAX = 64
_MACHINE_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?")  # one label: all the tests need


def machine_name(name: str) -> str:
    cut = name[:MACHINE_NAME_MAX].rstrip("-")
    if not _MACHINE_NAME.fullmatch(cut):
        raise ValueError(f"{name!r} cannot be a test host name (letters, digits and inner '-')")
    return cut


@dataclass
class TestHost:
    """One nspawn host; its name (after network.NAME_PREFIX) is cut to a valid machine name, and its slot (address)
    is taken until stop()."""

    name: str
    root: Path
    binds_ro: list[tuple[str, str]] = field(default_factory=list)
    site: SiteNetwork | None = None  # on an edge site's network behind NAT instead of the hosts' bridge
    nspawn: subprocess.Popen[bytes] | None = None
    pid: int = 0
    index: int = field(init=False)
    _holds_slot: bool = field(init=False, default=False, repr=False)

    def __post_init__(self) -> None:
        self.name = machine_name(NAME_PREFIX + self.name)
        self.index = _take_slot()
        self._holds_slot = True

    @property
    def ip(self) -> str:
        return f"{self.site.subnet if self.site else SUBNET}.{self.index + 10}"

    @property
    def gateway(self) -> str:
        return self.site.gateway if self.site else HOSTS_GATEWAY

    @property
    def bridge(self) -> str:
        return self.site.bridge if self.site else BRIDGE

    @property
    def veth(self) -> str:
        return f"{LINK_PREFIX}{self.index}"

    @property
    def cgroup_root(self) -> str:
        return f"/edgeadm-test-{self.name}"

    @property
    def kubelet_patch(self) -> str:
        """What every test host's kubelet gets (`join --kubelet-config-patch`): its own cgroup root, and no disk
        garbage collection or eviction. The hosts share this machine's disk, which the kubelet sees as its own: at
        Debian's defaults it deletes "unused" images (the pause image, an air-gapped node's only copy of its pods'
        images) and evicts pods whenever the machine's disk is more than 85% used, which a long test run reaches."""
        return (f"cgroupRoot: {self.cgroup_root}\ncgroupDriver: cgroupfs\n{KUBELET_NO_DISK_GC}")

    def _nspawn_groups(self) -> list[Path]:
        return [Path("/sys/fs/cgroup", h, f"edgeadm-host-{self.name}") for h in NSPAWN_HIERARCHIES
                if Path("/sys/fs/cgroup", h).is_dir()]

    def start(self, base: Path) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(self.root)], check=True)
        (self.root / "etc" / "hostname").write_text(self.name + "\n")
        (self.root / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n{self.ip} {self.name}\n")
        self._boot()

    def power_cycle(self) -> None:
        """Cut the power and boot again: every process in the host ends at once (SIGKILL to its init, as stop()
        does), its tmpfs mounts (/run) are gone, its files stay. Same name, address and slot."""
        self.power_off()
        self.power_on()

    def power_off(self) -> None:
        """Cut the power (see power_cycle); power_on() boots the same tree again."""
        assert self.nspawn is not None and self.pid
        self._kill_init()
        subprocess.run(["ip", "link", "del", self.veth], check=False, capture_output=True)
        self.pid = 0

    def _kill_init(self) -> None:
        """SIGKILL the host's init: its whole PID namespace ends at once (a clean poweroff takes ~20 s)."""
        assert self.nspawn is not None
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.nspawn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.nspawn.pid, signal.SIGKILL)
            self.nspawn.wait(timeout=10)

    def power_on(self) -> None:
        self._boot()

    def _boot(self) -> None:
        raise_shared_limits()
        args = ["systemd-nspawn", "-D", str(self.root), "--boot", "--register=no", "--keep-unit", "-M", self.name,
                "--private-network", "--capability=all", "--system-call-filter=@keyring bpf", "--bind=/dev/kmsg",
                f"--bind-ro={REPO}"]
        if not sys.base_prefix.startswith(("/usr", "/bin")):  # a Python outside the system tree (pyenv, /opt)
            args.append(f"--bind-ro={sys.base_prefix}")
        args += [f"--bind-ro={src}:{dst}" for src, dst in self.binds_ro]
        enter = ""
        for group in self._nspawn_groups():  # nspawn starts in the host's own cgroup, see NSPAWN_HIERARCHIES
            group.mkdir(exist_ok=True)
            enter += f"echo $$ > {group}/cgroup.procs && "
        args = ["sh", "-c", enter + 'exec "$@"', "sh", *args]
        log = open(self.root.parent / f"{self.name}.console.log", "ab")  # noqa: SIM115 - handed to the child
        self.nspawn = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            children = self._children(self.nspawn.pid)
            if children:
                self.pid = children[0]
                if self.exec(["systemctl", "is-system-running"], check=False).stdout.strip() in (
                        "running", "degraded"):
                    break
            if self.nspawn.poll() is not None:
                raise RuntimeError(f"host {self.name} did not boot: "
                                   f"{(self.root.parent / f'{self.name}.console.log').read_text()[-1500:]}")
            time.sleep(0.3)
        else:
            raise RuntimeError(f"host {self.name} did not reach `running` within 60s")
        self._network()
        self._cgroups()

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                out += [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                pass
        return out

    def _network(self) -> None:
        # a link left over from a killed run
        subprocess.run(["ip", "link", "del", self.veth], check=False, capture_output=True)
        subprocess.run(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", f"{self.veth}c"], check=True)
        subprocess.run(["ip", "link", "set", f"{self.veth}c", "netns", str(self.pid)], check=True)
        subprocess.run(["ip", "link", "set", self.veth, "master", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.veth, "up"], check=True)
        for cmd in (["ip", "link", "set", f"{self.veth}c", "name", "eth0"],
                    ["ip", "addr", "add", f"{self.ip}/24", "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
                    ["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "default", "via", self.gateway]):
            subprocess.run(["nsenter", "-t", str(self.pid), "-n", "--", *cmd], check=True)

    def _cgroups(self) -> None:
        """Writable controller hierarchies (nspawn mounts them read-only on cgroup v1) and a cgroup root per host."""
        for ctrl in CGROUP_V1:
            mnt = Path("/sys/fs/cgroup") / ctrl
            if not mnt.is_dir():
                continue
            self.exec(["mount", "-o", "remount,bind,rw", str(mnt)], check=False, namespaces="-m")
            # inside the host's mount/cgroup view: some hierarchies are rooted at the container's own cgroup
            self.exec(["mkdir", "-p", f"{mnt}{self.cgroup_root}"], check=False)

    def exec(self, argv: list[str], *, env: dict[str, str] | None = None, check: bool = True,
             timeout: float = 600, namespaces: str = "-m -u -i -n -p", input: str | None = None,
             ) -> subprocess.CompletedProcess[str]:
        base_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
                    "LANG": "C.UTF-8"}
        cmd = ["nsenter", "-t", str(self.pid), *namespaces.split(), "--", "env", "-i",
               *[f"{k}={v}" for k, v in {**base_env, **(env or {})}.items()], *argv]
        res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, input=input)
        if check and res.returncode != 0:
            raise RuntimeError(f"{argv} failed in {self.name}: {res.stderr[-2000:]}")
        return res

    def edgeadm(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.exec([str(REPO / ".venv" / "bin" / "edgeadm"), *args], env=env, check=False, timeout=timeout,
                         input=input)

    def serve_ssh(self, authorized: Path, *, user: str = "root") -> str:
        """Start the host's OpenSSH server (the `sshd` tree) with a host key of its own, made here, and `authorized`
        (a public key) allowed to log in as `user`. Returns the host key as known_hosts lists it (type, base64)."""
        with tempfile.TemporaryDirectory() as tmp:
            key = Path(tmp) / "key"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(key)], check=True)
            for suffix, mode in (("", 0o600), (".pub", 0o644)):
                dst = self.root / "etc/ssh" / f"ssh_host_ed25519_key{suffix}"
                shutil.copyfile(f"{key}{suffix}", dst)
                dst.chmod(mode)
            public = " ".join(Path(f"{key}.pub").read_text().split()[:2])
        home = self.exec(["sh", "-c", f"getent passwd {user} | cut -d: -f6"]).stdout.strip()
        self.exec(["install", "-d", "-m", "700", "-o", user, f"{home}/.ssh"])
        self.exec(["install", "-m", "600", "-o", user, "/dev/stdin", f"{home}/.ssh/authorized_keys"],
                  input=authorized.read_text())
        self.exec(["systemctl", "restart", "ssh"])
        return public

    def journal(self, unit: str, lines: int = 40) -> str:
        """The last lines a unit logged, for a failing test's message."""
        return self.exec(["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "short-monotonic"],
                         check=False).stdout

    # ---------------------------------------------------------------------------------------- state listings
    def files(self) -> dict[str, str]:
        """Every path in the host's tree (minus LISTING_EXCLUDES) with its type, mode, owner, and a regular file's
        size and content hash, or a link's target."""
        out: dict[str, str] = {}
        root = str(self.root)
        for dirpath, dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            if rel != "." and rel.startswith(LISTING_EXCLUDES):
                dirnames[:] = []
                continue
            dirnames[:] = [d for d in dirnames if os.path.normpath(os.path.join(rel, d)) not in LISTING_EXCLUDES]
            for name in dirnames + filenames:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                key = os.path.normpath(os.path.join(rel, name))
                owner = f"{st.st_uid}:{st.st_gid}"
                if os.path.islink(p):
                    out[key] = f"link:{owner}:" + os.readlink(p)
                elif os.path.isdir(p):
                    out[key] = f"dir:{oct(st.st_mode & 0o7777)}:{owner}"
                elif stat.S_ISREG(st.st_mode):
                    out[key] = f"file:{oct(st.st_mode & 0o7777)}:{owner}:{st.st_size}:{_digest(p, st)}"
                else:
                    out[key] = f"special:{oct(st.st_mode)}:{owner}"
        return out

    def inside(self, *tops: str) -> list[str]:
        """Paths under tmpfs mounts of the host (/tmp, /run) as the host sees them: from outside they are empty."""
        script = ("for t in " + " ".join(tops) + "; do find \"$t\" -xdev -printf '%p %y %m %u:%g %s\\n'; done "
                  "2>/dev/null; true")
        listed = [line.split() for line in self.exec(["sh", "-c", script]).stdout.splitlines()]
        # a directory's size is its entries' bookkeeping, not content: compare files' sizes only
        return sorted(" ".join(f if f[1] == "f" else f[:4]) for f in listed
                      if len(f) == 5 and not f[0].startswith(INSIDE_EXCLUDES))

    def addresses(self) -> list[str]:
        """Every address on every link, and every route of every table (the edge address, CNI's bridge...)."""
        addrs = [" ".join(line.split()[1:4]) for line in self.exec(["ip", "-o", "addr"]).stdout.splitlines()]
        routes = self.exec(["ip", "route", "show", "table", "all"]).stdout.splitlines()
        # Left out: IPv6 link-local addresses and their routes. The kernel derives them from each link's MAC and
        # adds them a moment after the link comes up (when duplicate detection ends), so a listing taken right after
        # a host boots may or may not have them; a link join left behind still shows by name and IPv4 address.
        return sorted(a for a in addrs if " fe80::" not in a) + sorted(
            "route " + r for r in routes if r.strip() and "fe80::" not in r)

    def sysctls(self) -> list[str]:
        """The host's kernel settings under net., vm. and kernel. (counters and random values left out)."""
        out = self.exec(["sysctl", "-a"], check=False).stdout.splitlines()
        return sorted(line for line in out if line.startswith(("net.", "vm.", "kernel."))
                      and not line.startswith(VOLATILE_SYSCTLS))

    def rules(self) -> list[str]:
        """The host's packet filter rules: iptables-save and ip6tables-save without counters, i.e. every table that
        iptables manages (legacy or nft-backed). Rulesets made with `nft` itself are not seen: the test hosts have
        no nft tool, and nothing a joined node runs here uses nftables natively (kube-proxy is in iptables mode)."""
        saved = self.exec(["sh", "-c", "iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; true"]).stdout
        lines = [re.sub(r"\s*\[\d+:\d+\]", "", line).strip() for line in saved.splitlines()]
        # Left out: comments, table headers and COMMIT, and built-in chains with the default ACCEPT policy. An
        # instantiated table holding nothing else filters nothing; custom chains, rules and policies all count.
        return sorted(line for line in lines if line and not line.startswith(("#", "*")) and line != "COMMIT"
                      and not re.fullmatch(r":(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) ACCEPT", line))

    def mounts(self) -> list[str]:
        """Mount points in the host's mount namespace with their file system types."""
        info = self.exec(["cat", "/proc/self/mountinfo"]).stdout.splitlines()
        return sorted(f"{f[4]} {f[f.index('-') + 1]}" for f in (line.split() for line in info))

    def units(self) -> list[str]:
        files = self.exec(["systemctl", "list-unit-files", "--no-legend", "--no-pager"]).stdout.split("\n")
        active = self.exec(["systemctl", "list-units", "--state=active", "--no-legend", "--no-pager", "--plain"]
                           ).stdout.split("\n")
        return sorted(" ".join(line.split()[:2]) for line in files if line.strip()) + sorted(
            "active " + line.split()[0] for line in active if line.strip() and "session" not in line)

    def netdevs(self) -> list[str]:
        out = self.exec(["ip", "-o", "link"]).stdout
        return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line.strip())

    def state(self) -> dict[str, object]:
        return {"files": self.files(), "units": self.units(), "netdevs": self.netdevs(),
                "addresses": self.addresses(), "sysctls": self.sysctls(), "rules": self.rules(),
                "mounts": self.mounts(), "inside": self.inside("/tmp", "/run")}

    def stop(self) -> None:
        """Stop the host and remove all it left on this machine; a second call does nothing (the slot may be reused)."""
        if not self._holds_slot:
            return
        if self.pid and self.nspawn is not None and self.nspawn.poll() is None:
            for ctrl in CGROUP_V1:
                group = f"/sys/fs/cgroup/{ctrl}{self.cgroup_root}"
                self.exec(["sh", "-c", f"[ -d {group} ] && find {group} -depth -type d -exec rmdir {{}} \\; ; true"],
                          check=False, timeout=30)
        if self.nspawn is not None and self.nspawn.poll() is None:
            self._kill_init()
        subprocess.run(["ip", "link", "del", self.veth], check=False, capture_output=True)
        _remove_cgroups([Path("/sys/fs/cgroup") / ctrl / self.cgroup_root.lstrip("/") for ctrl in CGROUP_V1]
                        + self._nspawn_groups())
        shutil.rmtree(self.root, ignore_errors=True)
        if self._holds_slot:
            self._holds_slot = False
            _give_back_slot(self.index)


def _remove_cgroups(groups: list[Path], timeout: float = 10) -> None:
    """Remove cgroup trees, deepest first; a group whose last processes are still exiting is retried a while."""
    deadline = time.monotonic() + timeout
    for group in groups:
        while group.is_dir():
            for sub in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                try:
                    sub.rmdir()
                except OSError:
                    pass
            try:
                group.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)


def state_diff(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """Readable differences between two TestHost.state() results."""
    out: list[str] = []
    fb, fa = before["files"], after["files"]
    assert isinstance(fb, dict) and isinstance(fa, dict)
    out += [f"file gone: {k}" for k in sorted(fb.keys() - fa.keys())]
    out += [f"file left behind: {k}" for k in sorted(fa.keys() - fb.keys())]
    out += [f"file changed: {k}: {fb[k]} -> {fa[k]}" for k in sorted(fb.keys() & fa.keys()) if fb[k] != fa[k]]
    for key in ("units", "netdevs", "addresses", "sysctls", "rules", "mounts", "inside"):
        b, a = before[key], after[key]
        assert isinstance(b, list) and isinstance(a, list)
        out += [f"{key} gone: {x}" for x in sorted(set(b) - set(a))]
        out += [f"{key} left behind: {x}" for x in sorted(set(a) - set(b))]
    return out
