"""The join journal: typed entries, each with its undo, persisted as JSON in a state directory (write-ahead).

The JSON keeps the shape earlier releases wrote (`{"op": ..., ...}`), so a journal left by one version is undone
by the next. An entry this version does not know makes loading fail with one clear line instead of a guess.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from edgeadm import testhooks
from edgeadm.errors import EdgeadmError
from edgeadm.images import is_reference

JOURNAL_FILE = "journal.json"
BACKUP_DIR = "backup"


class JournalError(EdgeadmError):
    """The journal on disk cannot be read."""


@dataclass(frozen=True)
class FileWritten:
    """A file join wrote; `backup` holds the original when there was one. A rewrite of a file an earlier entry
    already saved has `rewrite` set and undoes nothing itself."""

    op: ClassVar[str] = "file"
    path: str
    backup: str | None = None
    rewrite: bool = False


@dataclass(frozen=True)
class DirCreated:
    op: ClassVar[str] = "dir"
    path: str


@dataclass(frozen=True)
class Byproduct:
    """A path a service join started will create (kubelet.conf, runtime state); removed on undo."""

    op: ClassVar[str] = "byproduct"
    path: str


@dataclass(frozen=True)
class UnitEnabled:
    op: ClassVar[str] = "unit"
    name: str
    was_enabled: bool
    was_active: bool


@dataclass(frozen=True)
class NetdevExpected:
    """A network device a service creates (lite-apiserver's dummy NIC)."""

    op: ClassVar[str] = "netdev"
    name: str


@dataclass(frozen=True)
class SysctlSet:
    op: ClassVar[str] = "sysctl"
    key: str
    prior: str


@dataclass(frozen=True)
class ContainersStarted:
    """The kubelet will run containers on a runtime join did not install; undo removes them with `ctr`."""

    op: ClassVar[str] = "containers"
    socket: str
    ctr: str


@dataclass(frozen=True)
class ImagesImported:
    """Images join imported into a runtime it did not install (those the runtime did not have before); undo
    removes them by name with `ctr`."""

    op: ClassVar[str] = "images"
    socket: str
    ctr: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class ChainsAdded:
    """The kubelet, CNI plugins and kube-proxy add packet filter chains (KUBE-*, CNI-*) for this node; `before`
    lists those that existed before join (`family/table/chain`), which undo leaves alone."""

    op: ClassVar[str] = "chains"
    before: tuple[str, ...]


@dataclass(frozen=True)
class NodeRegistered:
    """The kubelet registers a Node; undoing it is the reset workflow's job (it needs the API server)."""

    op: ClassVar[str] = "node"
    name: str


Entry = (FileWritten | DirCreated | Byproduct | UnitEnabled | NetdevExpected | SysctlSet | ContainersStarted
         | ImagesImported | ChainsAdded | NodeRegistered)
_KINDS: dict[str, type[Entry]] = {k.op: k for k in (DirCreated, Byproduct, UnitEnabled, NetdevExpected, SysctlSet,
                                                      ContainersStarted, ImagesImported, ChainsAdded, NodeRegistered)}
CHAIN_PREFIXES = ("KUBE-", "CNI-")
_SYSCTL_KEY = re.compile(r"(net|vm|kernel|fs)(\.[A-Za-z0-9_-]{1,64}){1,6}")
_CHAIN_KEY = re.compile(r"(ip|ip6)/(filter|nat|mangle|raw|security)/(KUBE|CNI)-[A-Za-z0-9_-]{1,60}")


def to_dict(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, FileWritten):
        return {"op": "file-rewrite" if entry.rewrite else "file", "path": entry.path, "backup": entry.backup}
    return {"op": entry.op, **asdict(entry)}


def from_dict(raw: Any) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
        raise JournalError(f"journal entry {str(raw)[:80]!r} is not an edgeadm journal entry")
    op = raw["op"]
    if op in ("file", "file-rewrite"):
        backup = raw.get("backup")
        return FileWritten(path=str(raw["path"]), backup=str(backup) if backup else None, rewrite=op == "file-rewrite")
    kind = _KINDS.get(op)
    if kind is None:
        raise JournalError(f"journal entry of unknown kind `{op}`",
                           hint="reset with the edgeadm version that joined this machine")
    try:
        values = {f.name: raw[f.name] for f in fields(kind)}
    except KeyError as exc:
        raise JournalError(f"journal entry `{op}` lacks `{exc.args[0]}`") from exc
    if kind is ImagesImported:  # the names become arguments of `ctr images rm`: only image references pass
        refs = values["refs"]
        if not isinstance(refs, list) or not all(isinstance(r, str) and is_reference(r) for r in refs):
            raise JournalError(f"journal entry `{op}` has refs that are not image references")
        values["refs"] = tuple(refs)
    if kind is SysctlSet:  # the key becomes a path under /proc/sys: a kernel parameter name, nothing else
        if not (isinstance(values["key"], str) and _SYSCTL_KEY.fullmatch(values["key"])
                and isinstance(values["prior"], str)):
            raise JournalError(f"journal entry `{op}` names no kernel parameter")
    if kind is ChainsAdded:  # only our prefixes in known tables: undo never touches another chain
        before = values["before"]
        if not isinstance(before, (list, tuple)) or not all(isinstance(c, str) and _CHAIN_KEY.fullmatch(c)
                                                           for c in before):
            raise JournalError(f"journal entry `{op}` names chains edgeadm does not manage")
        values["before"] = tuple(before)
    return kind(**values)


@dataclass
class Journal:
    """Ordered record of changes in `state_dir`; persisted after every entry (write-ahead)."""

    state_dir: Path
    entries: list[Entry] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def path(self) -> Path:
        return self.state_dir / JOURNAL_FILE

    @property
    def backups(self) -> Path:
        return self.state_dir / BACKUP_DIR

    @classmethod
    def exists(cls, state_dir: Path) -> bool:
        return (state_dir / JOURNAL_FILE).exists()

    @classmethod
    def load(cls, state_dir: Path) -> Journal | None:
        path = state_dir / JOURNAL_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise JournalError(f"the journal `{path}` cannot be read: {exc}") from exc
        if not isinstance(data, dict):
            raise JournalError(f"the journal `{path}` is not an edgeadm journal")
        raw_meta = data.get("meta")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        return cls(state_dir=state_dir, entries=[from_dict(e) for e in data.get("entries") or []], meta=meta)

    def save(self) -> None:
        if self.dry_run:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        body = {"meta": self.meta, "entries": [to_dict(e) for e in self.entries]}
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, self.path)
        testhooks.passed(testhooks.JOURNAL_WRITE)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.save()

    def remove(self, entry: Entry) -> None:
        self.entries.remove(entry)
        self.save()
