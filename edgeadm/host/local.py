"""`LocalHost`: the journaled operations join performs on this machine. In dry-run each one only says what it
would do (as an event) and nothing is written, not even the journal."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from edgeadm import events as ev
from edgeadm.errors import EdgeadmError
from edgeadm.host.journal import (
    CHAIN_PREFIXES,
    Byproduct,
    ChainsAdded,
    ContainersStarted,
    DirCreated,
    FileWritten,
    ImagesImported,
    Journal,
    NetdevExpected,
    NodeRegistered,
    SysctlSet,
    UnitEnabled,
)

PROC_SYS = Path("/proc/sys")


class HostError(EdgeadmError):
    """A command or file operation on this machine failed."""


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 120, input_data: bytes | None = None
        ) -> subprocess.CompletedProcess[str]:
    """Run a program (never through a shell); failures name the command and its last stderr line."""
    try:
        res = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                             input=input_data.decode() if input_data is not None else None)
    except FileNotFoundError as exc:
        raise HostError(f"`{argv[0]}` not found on this machine") from exc
    except subprocess.TimeoutExpired as exc:
        raise HostError(f"`{' '.join(argv[:3])}` timed out after {timeout:.0f}s") from exc
    if check and res.returncode != 0:
        last = (res.stderr.strip().splitlines() or [""])[-1]
        raise HostError(f"`{' '.join(argv[:4])}` failed (exit {res.returncode}): {last}")
    return res


def iptables_save(family: str) -> str:
    """`iptables-save` (family `ip`) or `ip6tables-save` (`ip6`); empty when the machine has no such program."""
    program = "iptables-save" if family == "ip" else "ip6tables-save"
    if shutil.which(program) is None:
        return ""
    res = run([program], check=False, timeout=60)
    return res.stdout if res.returncode == 0 else ""


def filter_chains(saved: dict[str, str] | None = None) -> set[str]:
    """`family/table/chain` of every KUBE-* and CNI-* chain in `saved` (family -> iptables-save text; default:
    now)."""
    out: set[str] = set()
    for family in ("ip", "ip6"):
        table = ""
        text = saved[family] if saved is not None else iptables_save(family)
        for line in text.splitlines():
            if line.startswith("*"):
                table = line[1:].strip()
            elif line.startswith(":") and line[1:].startswith(CHAIN_PREFIXES):
                out.add(f"{family}/{table}/{line[1:].split()[0]}")
    return out


def sysctl_path(key: str) -> Path:
    return PROC_SYS.joinpath(*key.split("."))


class LocalHost:
    """Journaled changes to this machine; every change is in the journal before it is made."""

    def __init__(self, journal: Journal, events: ev.Events = ev.NULL) -> None:
        self.journal = journal
        self.events = events
        self.dry_run = journal.dry_run
        if not self.dry_run and "state_dir_existed" not in journal.meta:
            journal.meta["state_dir_existed"] = journal.state_dir.exists()
            top = journal.state_dir  # the topmost directory saving the journal will create (reset removes it)
            while not top.parent.exists():
                top = top.parent
            journal.meta["state_dir_top"] = str(top)

    def _would(self, text: str) -> bool:
        if self.dry_run:
            self.events.emit(ev.Step(f"[dry-run] would {text}"))
        return self.dry_run

    def ensure_dir(self, path: Path, mode: int = 0o755) -> None:
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            if self._would(f"create directory {d}"):
                continue
            self.journal.add(DirCreated(str(d)))
            d.mkdir(mode=mode)

    def write_file(self, path: Path, data: bytes, mode: int = 0o644) -> None:
        """Write a file; an existing file's content and mode are saved first so reset can put them back."""
        if path.is_file() and path.read_bytes() == data and (path.stat().st_mode & 0o7777) == mode:
            return
        if self._would(f"write {path}"):
            return
        self.ensure_dir(path.parent)
        entry = FileWritten(str(path))
        if path.exists() or path.is_symlink():
            saved = any(isinstance(e, FileWritten) and e.path == str(path) for e in self.journal.entries)
            if saved:
                entry = FileWritten(str(path), rewrite=True)  # an earlier entry already holds the original
            else:
                self.journal.backups.mkdir(parents=True, exist_ok=True, mode=0o700)
                backup = self.journal.backups / f"{len(self.journal.entries):04d}-{path.name}"
                shutil.copy2(path, backup, follow_symlinks=False)
                entry = FileWritten(str(path), backup=str(backup))
        self.journal.add(entry)
        tmp = path.with_name(f".{path.name}.edgeadm-tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)

    def install(self, src: Path, dst: Path, mode: int = 0o755) -> None:
        self.write_file(dst, src.read_bytes(), mode)

    def expect(self, path: Path) -> None:
        """Note a path a service will create (kubelet.conf, runtime state) so reset removes it too."""
        if path.exists() or self._would(f"let a service create {path}"):
            return
        self.journal.add(Byproduct(str(path)))

    def unit(self, name: str, *, enable: bool = True, start: bool = True) -> None:
        """Enable and (re)start a systemd unit; reset stops/disables it unless it was so before."""
        if self._would(f"enable and start {name}"):
            return
        was_enabled = run(["systemctl", "is-enabled", name], check=False).stdout.strip() == "enabled"
        was_active = run(["systemctl", "is-active", name], check=False).stdout.strip() == "active"
        self.journal.add(UnitEnabled(name, was_enabled=was_enabled, was_active=was_active))
        run(["systemctl", "daemon-reload"])
        if enable:
            run(["systemctl", "enable", name])
        if start:
            run(["systemctl", "restart", name])

    def restart(self, name: str) -> None:
        """Restart a unit join already enabled (its journal entry covers it)."""
        if not self._would(f"restart {name}"):
            run(["systemctl", "restart", name])

    def netdev(self, name: str) -> None:
        """Note a network device a service creates (lite-apiserver's dummy NIC) so reset deletes it."""
        if self._would(f"let a service create network device {name}"):
            return
        if run(["ip", "link", "show", name], check=False).returncode != 0:
            self.journal.add(NetdevExpected(name))

    def sysctl_expected(self, key: str) -> None:
        """Note a kernel parameter a service may change (kube-proxy's); reset puts the value of now back."""
        path = sysctl_path(key)
        # present and writable here (a global parameter is read-only inside a network namespace)
        if not path.exists() or not os.access(path, os.W_OK) or self._would(f"let a service change {key}"):
            return
        self.journal.add(SysctlSet(key, path.read_text().strip()))

    def sysctl(self, key: str, value: str) -> None:
        """Set a kernel parameter now; reset puts the prior value back."""
        path = sysctl_path(key)
        prior = path.read_text().strip() if path.exists() else None
        if prior is None or prior == value or self._would(f"set {key} = {value}"):
            return
        self.journal.add(SysctlSet(key, prior))
        path.write_text(value)

    def containers_on(self, socket: str, ctr: str) -> None:
        """Note that the kubelet will run containers on a runtime join did not install (reset removes them)."""
        if not self.dry_run:
            self.journal.add(ContainersStarted(socket, ctr))

    def images_imported(self, socket: str, ctr: str, refs: Sequence[str]) -> None:
        """Note, before importing them, the images join adds to a runtime it did not install (reset removes them)."""
        if not self.dry_run:
            self.journal.add(ImagesImported(socket, ctr, tuple(refs)))

    def import_images(self, ctr: str, socket: str, archives: Sequence[tuple[Path, Sequence[str]]], *,
                      own_runtime: bool) -> list[str]:
        """Import image archives into the runtime's k8s.io namespace; returns the references added. On a runtime
        join installed, its journaled state directory covers them; on another runtime, the references it did not
        have are journaled first, so reset removes exactly those (images it had stay)."""
        base = [ctr, "-a", socket, "-n", "k8s.io"]
        wanted = [ref for _, refs in archives for ref in refs]
        if own_runtime or self.dry_run:
            added = wanted
        else:
            present = set(run([*base, "images", "ls", "-q"], timeout=60).stdout.split())
            added = [ref for ref in wanted if ref not in present]
            if added:
                self.images_imported(socket, ctr, added)
        for path, refs in archives:
            if self._would(f"import {', '.join(refs)} into the container runtime"):
                continue
            run([*base, "images", "import", str(path)], timeout=300)
        return added

    def chains_added(self) -> None:
        """Note the KUBE-*/CNI-* packet filter chains that exist now; reset removes those added after."""
        if self._would("note the packet filter chains the kubelet and CNI will add"):
            return
        self.journal.add(ChainsAdded(tuple(sorted(filter_chains()))))

    def node_registered(self, name: str) -> None:
        """Note that the kubelet is about to register Node `name` (reset deletes it through the API)."""
        if not self.dry_run:
            self.journal.add(NodeRegistered(name))

    def command(self, argv: Sequence[str], *, what: str, timeout: float = 120) -> None:
        """Run a program whose effect an earlier entry already covers (e.g. importing an image into a runtime
        whose state directory is journaled)."""
        if not self._would(what):
            run(argv, timeout=timeout)
