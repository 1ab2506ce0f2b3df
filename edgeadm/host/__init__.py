"""Changes to the local machine, each recorded in a journal *before* it is made, so reset undoes them exactly.

This package is the only place edgeadm writes outside a temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeadm import console
from edgeadm.errors import EdgeadmError

STATE_DIR = Path("/var/lib/edgeadm")
JOURNAL = STATE_DIR / "journal.json"
BACKUPS = STATE_DIR / "backup"


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


@dataclass
class Journal:
    """Ordered record of changes; persisted after every entry (write-ahead)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False

    @classmethod
    def load(cls) -> Journal | None:
        if not JOURNAL.exists():
            return None
        data = json.loads(JOURNAL.read_text())
        return cls(entries=data.get("entries", []), meta=data.get("meta", {}))

    def save(self) -> None:
        if self.dry_run:
            return
        STATE_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = JOURNAL.with_suffix(".tmp")
        tmp.write_text(json.dumps({"meta": self.meta, "entries": self.entries}, indent=1))
        os.replace(tmp, JOURNAL)

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self.save()


class Host:
    """Journaled operations on this machine. In dry-run every operation only says what it would do."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.dry_run = journal.dry_run
        if not self.dry_run and "state_dir_existed" not in journal.meta:
            journal.meta["state_dir_existed"] = STATE_DIR.exists()

    def _would(self, text: str) -> bool:
        if self.dry_run:
            console.step(f"[dry-run] would {text}")
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
            self.journal.add({"op": "dir", "path": str(d)})
            d.mkdir(mode=mode)

    def write_file(self, path: Path, data: bytes, mode: int = 0o644) -> None:
        """Write a file; an existing file's content and mode are saved first so reset can put them back."""
        if path.is_file() and path.read_bytes() == data and (path.stat().st_mode & 0o7777) == mode:
            return
        if self._would(f"write {path}"):
            return
        self.ensure_dir(path.parent)
        entry: dict[str, Any] = {"op": "file", "path": str(path), "backup": None}
        if path.exists() or path.is_symlink():
            BACKUPS.mkdir(parents=True, exist_ok=True, mode=0o700)
            backup = BACKUPS / f"{len(self.journal.entries):04d}-{path.name}"
            if not any(e.get("op") == "file" and e.get("path") == str(path) for e in self.journal.entries):
                shutil.copy2(path, backup, follow_symlinks=False)
                entry["backup"] = str(backup)
            else:
                entry["op"] = "file-rewrite"  # an earlier entry already holds the original
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
        self.journal.add({"op": "byproduct", "path": str(path)})

    def unit(self, name: str, *, enable: bool = True, start: bool = True) -> None:
        """Enable and (re)start a systemd unit; reset stops/disables it unless it was so before."""
        if self._would(f"enable and start {name}"):
            return
        was_enabled = run(["systemctl", "is-enabled", name], check=False).stdout.strip() == "enabled"
        was_active = run(["systemctl", "is-active", name], check=False).stdout.strip() == "active"
        self.journal.add({"op": "unit", "name": name, "was_enabled": was_enabled, "was_active": was_active})
        run(["systemctl", "daemon-reload"])
        if enable:
            run(["systemctl", "enable", name])
        if start:
            run(["systemctl", "restart", name])

    def netdev(self, name: str) -> None:
        """Note a network device a service creates (lite-apiserver's dummy NIC) so reset deletes it."""
        if self._would(f"let a service create network device {name}"):
            return
        exists = run(["ip", "link", "show", name], check=False).returncode == 0
        if not exists:
            self.journal.add({"op": "netdev", "name": name})


def mounts_under(path: Path) -> list[str]:
    out = []
    prefix = str(path).rstrip("/") + "/"
    for line in Path("/proc/self/mounts").read_text().splitlines():
        mp = line.split()[1].replace("\\040", " ")
        if mp == str(path) or mp.startswith(prefix):
            out.append(mp)
    return sorted(out, key=len, reverse=True)


def undo(journal: Journal, *, keep_going: bool = True, delete_node: bool = True) -> list[str]:
    """Revert a journal newest first; returns what could not be undone (reset lists it, rollback warns)."""
    problems: list[str] = []
    for entry in reversed(list(journal.entries)):
        try:
            if entry["op"] == "node":
                if delete_node:
                    _delete_node(entry, journal.meta)
            else:
                _undo_one(entry)
            journal.entries.remove(entry)
            journal.save()
        except (OSError, HostError) as exc:
            problems.append(f"{entry.get('op')} {entry.get('path') or entry.get('name')}: {exc}")
            if not keep_going:
                break
    if not problems:
        run(["systemctl", "daemon-reload"], check=False)
        if not journal.meta.get("state_dir_existed", False):
            shutil.rmtree(STATE_DIR, ignore_errors=True)
        else:
            JOURNAL.unlink(missing_ok=True)
            shutil.rmtree(BACKUPS, ignore_errors=True)
    return problems


def _remove_tree(p: Path) -> None:
    for mp in mounts_under(p):
        run(["umount", "-l", mp], check=False)
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


def _undo_one(entry: dict[str, Any]) -> None:
    op = entry["op"]
    if op == "unit":
        name = entry["name"]
        if not entry.get("was_active"):
            run(["systemctl", "stop", name], check=False, timeout=90)
        if not entry.get("was_enabled"):
            run(["systemctl", "disable", name], check=False)
        run(["systemctl", "reset-failed", name], check=False)
    elif op == "file":
        p = Path(entry["path"])
        if entry.get("backup"):
            shutil.copy2(entry["backup"], p, follow_symlinks=False)
        elif p.exists() or p.is_symlink():
            p.unlink()
    elif op == "file-rewrite":
        return
    elif op in ("dir", "byproduct"):
        _remove_tree(Path(entry["path"]))
    elif op == "netdev":
        if run(["ip", "link", "show", entry["name"]], check=False).returncode == 0:
            run(["ip", "link", "delete", entry["name"]])
    elif op == "containers":
        _remove_containers(entry)
    elif op == "sysctl":
        Path("/proc/sys", *entry["key"].split(".")).write_text(entry["prior"])


def _delete_node(entry: dict[str, Any], meta: dict[str, Any]) -> None:
    """Delete our Node with the node's own credentials (the Node authorizer lets a kubelet delete itself)."""
    import requests

    pem = Path("/var/lib/kubelet/pki/kubelet-client-current.pem")
    ca = Path("/etc/kubernetes/pki/ca.crt")
    if not pem.exists() or not ca.exists():
        raise HostError("no node credentials left to delete the Node; delete it from the control plane")
    try:
        r = requests.delete(f"https://{meta['endpoint']}/api/v1/nodes/{entry['name']}", cert=(str(pem), str(pem)),
                            verify=str(ca), timeout=10)
    except requests.RequestException as exc:
        raise HostError(f"cannot reach the API server to delete Node `{entry['name']}`") from exc
    if r.status_code not in (200, 202, 404):
        raise HostError(f"deleting Node `{entry['name']}` failed: HTTP {r.status_code}")


def _remove_containers(entry: dict[str, Any]) -> None:
    """Stop and remove what the kubelet ran in containerd's k8s.io namespace (only on runtimes we did not install)."""
    sock = entry["socket"]
    ctr = entry.get("ctr", "ctr")
    for kind in ("tasks", "containers"):
        res = run([ctr, "-a", sock, "-n", "k8s.io", kind, "ls", "-q"], check=False)
        for ident in res.stdout.split():
            if kind == "tasks":
                run([ctr, "-a", sock, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", ident], check=False)
                run([ctr, "-a", sock, "-n", "k8s.io", "tasks", "delete", "-f", ident], check=False)
            else:
                run([ctr, "-a", sock, "-n", "k8s.io", "containers", "rm", ident], check=False)
