"""The journal: every change is recorded first and undone exactly (files, their old content, new dirs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeadm import host
from edgeadm.host import journal as jr
from edgeadm.host import local, revert


@pytest.fixture(autouse=True)
def no_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "run", lambda *a, **k: None)  # no systemctl in unit tests
    monkeypatch.setattr(revert, "run", lambda *a, **k: None)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def listing(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
            if "state" not in p.parts}


def test_write_and_undo_restores_exactly(tmp_path: Path, state_dir: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "existing.conf").write_bytes(b"old")
    before = listing(root)
    h = host.LocalHost(host.Journal(state_dir))
    h.write_file(root / "etc" / "existing.conf", b"new")
    h.write_file(root / "etc" / "existing.conf", b"newer")  # a second write keeps the first backup
    h.write_file(root / "a" / "b" / "created", b"x", 0o600)
    assert (root / "a" / "b" / "created").stat().st_mode & 0o777 == 0o600
    journal = host.Journal.load(state_dir)
    assert journal is not None
    assert [jr.to_dict(e)["op"] for e in journal.entries][:2] == ["file", "file-rewrite"]
    assert host.undo(journal) == []
    assert listing(root) == before
    assert not state_dir.exists()


def test_dry_run_changes_nothing(tmp_path: Path, state_dir: Path) -> None:
    h = host.LocalHost(host.Journal(state_dir, dry_run=True))
    h.write_file(tmp_path / "x" / "y", b"z")
    assert not (tmp_path / "x").exists()
    assert not state_dir.exists()


def test_entries_round_trip_in_the_format_earlier_versions_wrote() -> None:
    entries: list[jr.Entry] = [
        jr.FileWritten("/etc/a", backup="/var/lib/edgeadm/backup/0000-a"), jr.FileWritten("/etc/a", rewrite=True),
        jr.DirCreated("/etc/kubernetes"), jr.Byproduct("/var/lib/kubelet/pki"),
        jr.UnitEnabled("kubelet.service", was_enabled=False, was_active=False), jr.NetdevExpected("tkeedgedns"),
        jr.SysctlSet("net.ipv4.ip_forward", "0"), jr.ContainersStarted("/run/containerd/containerd.sock", "ctr"),
        jr.NodeRegistered("edge1"),
    ]
    raw = [jr.to_dict(e) for e in entries]
    assert raw[0] == {"op": "file", "path": "/etc/a", "backup": "/var/lib/edgeadm/backup/0000-a"}
    assert raw[1]["op"] == "file-rewrite" and raw[-1] == {"op": "node", "name": "edge1"}
    assert [jr.from_dict(r) for r in raw] == entries


@pytest.mark.parametrize("raw", [{"op": "rm-rf", "path": "/"}, {"op": "unit"}, ["file"], "x", {"path": "/etc"}])
def test_unknown_or_malformed_entries_are_refused(raw: object) -> None:
    with pytest.raises(jr.JournalError):
        jr.from_dict(raw)


def test_sysctl_is_journaled_and_restored(tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = tmp_path / "proc"
    (proc / "net" / "ipv4").mkdir(parents=True)
    (proc / "net" / "ipv4" / "ip_forward").write_text("0\n")
    monkeypatch.setattr(local, "PROC_SYS", proc)
    h = host.LocalHost(host.Journal(state_dir))
    h.sysctl("net.ipv4.ip_forward", "1")
    assert (proc / "net" / "ipv4" / "ip_forward").read_text() == "1"
    h.sysctl("net.ipv4.ip_forward", "1")  # already so: nothing more to journal
    assert h.journal.entries == [jr.SysctlSet("net.ipv4.ip_forward", "0")]
    assert host.undo(h.journal) == []
    assert (proc / "net" / "ipv4" / "ip_forward").read_text() == "0"


def test_node_entry_is_undone_by_the_callback_or_left_alone(state_dir: Path) -> None:
    seen: list[str] = []
    h = host.LocalHost(host.Journal(state_dir))
    h.node_registered("edge1")
    assert host.undo(h.journal, node=lambda e: seen.append(e.name)) == []
    assert seen == ["edge1"]
    h = host.LocalHost(host.Journal(state_dir))
    h.node_registered("edge2")

    def refuse(entry: jr.NodeRegistered) -> None:
        raise host.HostError("API server unreachable")

    left = host.undo(h.journal, node=refuse)
    assert [str(item) for item in left] == ["node edge2: API server unreachable"]
    assert host.Journal.load(state_dir) is not None  # the journal keeps what is left


def test_chain_entries_name_only_our_chains() -> None:
    from edgeadm.host import journal as jr

    entry = jr.ChainsAdded(("ip/filter/KUBE-FIREWALL", "ip6/nat/CNI-HOSTPORT-DNAT"))
    assert jr.from_dict(jr.to_dict(entry)) == entry
    for hostile in (["ip/filter/INPUT"], ["ip/filter/KUBE-X; rm -rf /"], ["ip/broute/KUBE-X"], "ip/filter/KUBE-X",
                    [7]):
        with pytest.raises(jr.JournalError, match="names chains edgeadm does not manage"):
            jr.from_dict({"op": "chains", "before": hostile})


def test_sysctl_entries_name_only_kernel_parameters() -> None:
    """The key becomes a path under /proc/sys that reset writes to: nothing else may get through."""
    from edgeadm.host import journal as jr

    ok = jr.from_dict({"op": "sysctl", "key": "net.ipv4.conf.all.route_localnet", "prior": "0"})
    assert ok == jr.SysctlSet("net.ipv4.conf.all.route_localnet", "0")
    for hostile in ("net/../../../etc/shadow", "net./etc/shadow", "../etc", "etc.passwd", "net", "net..ipv4",
                    "net.ipv4 forward", 7):
        with pytest.raises(jr.JournalError, match="names no kernel parameter"):
            jr.from_dict({"op": "sysctl", "key": hostile, "prior": "0"})
    with pytest.raises(jr.JournalError, match="names no kernel parameter"):
        jr.from_dict({"op": "sysctl", "key": "net.ipv4.ip_forward", "prior": ["0"]})
