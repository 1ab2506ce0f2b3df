"""The journal: every change is recorded first and undone exactly (files, their old content, new dirs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeadm import host


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setattr(host, "STATE_DIR", d)
    monkeypatch.setattr(host, "JOURNAL", d / "journal.json")
    monkeypatch.setattr(host, "BACKUPS", d / "backup")
    monkeypatch.setattr(host, "run", lambda *a, **k: None)  # no systemctl in unit tests
    return d


def listing(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
            if "state" not in p.parts}


def test_write_and_undo_restores_exactly(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "existing.conf").write_bytes(b"old")
    before = listing(root)
    h = host.Host(host.Journal())
    h.write_file(root / "etc" / "existing.conf", b"new")
    h.write_file(root / "etc" / "existing.conf", b"newer")  # a second write keeps the first backup
    h.write_file(root / "a" / "b" / "created", b"x", 0o600)
    assert (root / "a" / "b" / "created").stat().st_mode & 0o777 == 0o600
    journal = host.Journal.load()
    assert journal is not None and [e["op"] for e in journal.entries][:2] == ["file", "file-rewrite"]
    assert host.undo(journal) == []
    assert listing(root) == before
    assert not host.STATE_DIR.exists()


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    h = host.Host(host.Journal(dry_run=True))
    h.write_file(tmp_path / "x" / "y", b"z")
    assert not (tmp_path / "x").exists()
    assert not host.STATE_DIR.exists()
