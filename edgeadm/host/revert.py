"""Undo a journal newest first: keep going past failures and report what was left behind."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgeadm.errors import EdgeadmError
from edgeadm.host import journal as jr
from edgeadm.host.local import filter_chains, iptables_save, run, sysctl_path


@dataclass(frozen=True)
class LeftBehind:
    """One change undo could not revert, and why."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


def describe(entry: jr.Entry) -> str:
    name = getattr(entry, "path", None) or getattr(entry, "name", None) or getattr(entry, "key", "")
    return f"{'file' if isinstance(entry, jr.FileWritten) else entry.op} {name}"


def undo(journal: jr.Journal, *, node: Callable[[jr.NodeRegistered], None] | None = None,
         needed_for_node: Callable[[jr.Entry], bool] | None = None) -> list[LeftBehind]:
    """Revert `journal` newest first. `node` undoes a registered Node (None: leave the Node alone).

    When the Node cannot be deleted (the API server is unreachable, say), the entries `needed_for_node` says the
    deletion needs (the node's credentials, the CA) stay, with the Node's entry, so a later reset can finish the
    job; everything else is undone. Each undone entry leaves the journal at once, so an interrupted undo resumes
    where it stopped. When nothing is left behind the journal, its backups and (if join created it) the state
    directory are removed.
    """
    left: list[LeftBehind] = []
    node_left = False
    for entry in reversed(list(journal.entries)):
        if node_left and needed_for_node is not None and needed_for_node(entry):
            continue  # kept for the Node's deletion, which a later reset retries
        try:
            if isinstance(entry, jr.NodeRegistered):
                if node is not None:
                    node(entry)
            else:
                undo_one(entry)
            journal.remove(entry)
        except (OSError, EdgeadmError) as exc:
            left.append(LeftBehind(describe(entry), str(exc)))
            node_left = node_left or isinstance(entry, jr.NodeRegistered)
    if not left:
        run(["systemctl", "daemon-reload"], check=False)
        if not journal.meta.get("state_dir_existed", False):
            shutil.rmtree(journal.state_dir, ignore_errors=True)
            _remove_empty_parents(journal)
        else:
            journal.path.unlink(missing_ok=True)
            shutil.rmtree(journal.backups, ignore_errors=True)
    return left


def _remove_empty_parents(journal: jr.Journal) -> None:
    """Remove the state directory's parents that join created, while they are empty (only ancestors of the state
    directory, up to the topmost one recorded, whatever else the journal says)."""
    top = Path(str(journal.meta.get("state_dir_top") or journal.state_dir))
    if top not in journal.state_dir.parents:
        return
    for parent in journal.state_dir.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        if parent == top:
            return


def mounts_under(path: Path) -> list[str]:
    out = []
    prefix = str(path).rstrip("/") + "/"
    for line in Path("/proc/self/mounts").read_text().splitlines():
        mp = line.split()[1].replace("\\040", " ")
        if mp == str(path) or mp.startswith(prefix):
            out.append(mp)
    return sorted(out, key=len, reverse=True)


def _remove_tree(p: Path) -> None:
    for mp in mounts_under(p):
        run(["umount", "-l", mp], check=False)
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


def undo_one(entry: jr.Entry) -> None:
    """Revert one entry (not NodeRegistered: that needs the API server)."""
    if isinstance(entry, jr.UnitEnabled):
        if not entry.was_active:
            run(["systemctl", "stop", entry.name], check=False, timeout=90)
        if not entry.was_enabled:
            run(["systemctl", "disable", entry.name], check=False)
        run(["systemctl", "reset-failed", entry.name], check=False)
    elif isinstance(entry, jr.FileWritten):
        if entry.rewrite:
            return
        p = Path(entry.path)
        if entry.backup:
            shutil.copy2(entry.backup, p, follow_symlinks=False)
        elif p.exists() or p.is_symlink():
            p.unlink()
    elif isinstance(entry, (jr.DirCreated, jr.Byproduct)):
        _remove_tree(Path(entry.path))
    elif isinstance(entry, jr.NetdevExpected):
        if run(["ip", "link", "show", entry.name], check=False).returncode == 0:
            run(["ip", "link", "delete", entry.name])
    elif isinstance(entry, jr.ContainersStarted):
        _remove_containers(entry)
    elif isinstance(entry, jr.ChainsAdded):
        _remove_chains(set(entry.before))
    elif isinstance(entry, jr.ImagesImported):
        if entry.refs:  # by name; `--sync` waits for containerd to drop the content nothing else uses
            run([entry.ctr, "-a", entry.socket, "-n", "k8s.io", "images", "rm", "--sync", *entry.refs], check=False)
    elif isinstance(entry, jr.SysctlSet):
        path = sysctl_path(entry.key)
        if path.read_text().strip() != entry.prior:  # a parameter nobody changed needs no write (nor the right to)
            path.write_text(entry.prior)


def _remove_chains(before: set[str]) -> None:
    """Remove the KUBE-*/CNI-* chains added since join, and every rule that jumps to them, in every table."""
    saved = {family: iptables_save(family) for family in ("ip", "ip6")}
    added = filter_chains(saved) - before
    for family in ("ip", "ip6"):
        program = "iptables" if family == "ip" else "ip6tables"
        table = ""
        for line in saved[family].splitlines():
            if line.startswith("*"):
                table = line[1:].strip()
            elif line.startswith("-A "):
                spec = shlex.split(line)
                target = spec[spec.index("-j") + 1] if "-j" in spec[:-1] else ""
                if f"{family}/{table}/{target}" in added:  # a jump into a chain we remove (from any chain)
                    run([program, "-t", table, "-D", *spec[1:]], check=False)
        mine = sorted(k.split("/")[1:] for k in added if k.startswith(f"{family}/"))
        for flag in ("-F", "-X"):  # empty them all first: they may jump to each other
            for table, chain in mine:
                run([program, "-t", table, flag, chain], check=False)


def _remove_containers(entry: jr.ContainersStarted) -> None:
    """Stop and remove what the kubelet ran in containerd's k8s.io namespace, and the pods' network namespaces."""
    base = [entry.ctr, "-a", entry.socket, "-n", "k8s.io"]
    for kind in ("tasks", "containers"):
        res = run([*base, kind, "ls", "-q"], check=False)
        for ident in res.stdout.split():
            if kind == "tasks":
                run([*base, "tasks", "kill", "-s", "SIGKILL", ident], check=False)
                run([*base, "tasks", "delete", "-f", ident], check=False)
            else:
                run([*base, "containers", "rm", ident], check=False)
    # The CRI plugin pins each pod's network namespace at /run/netns/cni-<id>; with the pod gone, deleting the pin
    # ends the namespace and the veth CNI made for it.
    netns = Path("/run/netns")
    for pin in sorted(netns.glob("cni-*")) if netns.is_dir() else []:
        run(["ip", "netns", "delete", pin.name], check=False)
