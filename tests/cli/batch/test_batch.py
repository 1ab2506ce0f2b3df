"""`join --inventory` / `reset --inventory`: flags that do not go together and bad files are refused before any
host or the cluster is contacted (one error, exit 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.transcript import Transcript

Run = Callable[..., Transcript]


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    (tmp_path / "release.tgz").write_bytes(b"x")
    key = tmp_path / "id"
    key.write_text("k")
    key.chmod(0o600)
    p = tmp_path / "inventory.yaml"
    p.write_text("release: release.tgz\ndefaults: {keyFile: id}\nsites:\n"
                 "  - name: s1\n    hosts:\n      - {address: 10.9.0.1, nodeName: a1}\n")
    return p


@pytest.mark.parametrize(("args", "error"), [
    (("join", "--accept-new-host-keys"), "Invalid value for '--accept-new-host-keys': --accept-new-host-keys "
                                         "needs --inventory"),
    (("reset", "--retry-failed", "r.json"), "--retry-failed needs --inventory"),
    (("join", "--inventory", "{inv}", "--token", "abcdef.0123456789abcdef"),
     "Invalid value for '--inventory': --inventory gives each host's join settings; do not pass --token"),
    (("join", "--inventory", "{inv}", "10.0.0.1:6443"), "do not pass HOST:PORT"),
    (("reset", "--inventory", "{inv}", "--keep-node", "-f"), "--inventory always deletes the Nodes"),
    (("join", "--inventory", "{inv}", "--retry-failed", "{bad}"), "is not a results file of edgeadm"),
    (("join", "--inventory", "{inv}", "--retry-failed", "{stranger}"), "hosts[0]: node `zz` is not in the inventory"),
    (("join", "--inventory", "{inv}", "--retry-failed", "{done}"), "every host in"),
    (("reset", "--inventory", "{inv}", "-f", "--retry-failed", "{done}"), "holds the results of a batch join, not "
                                                                           "reset"),
])
def test_refused_before_anything_is_contacted(edgeadm: Run, tmp_path: Path, inv: Path, args: tuple[str, ...],
                                              error: str) -> None:
    def results(rows: list[dict[str, str]], action: str = "join") -> str:
        p = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
        p.write_text(json.dumps({"kind": "BatchResults", "version": 1, "action": action, "hosts": rows}))
        return str(p)

    (tmp_path / "bad.json").write_text('{"kind": "Something"}')
    files = {"inv": str(inv), "bad": str(tmp_path / "bad.json"),
             "stranger": results([{"nodeName": "zz", "outcome": "failed"}]),
             "done": results([{"nodeName": "a1", "outcome": "joined"}])}
    got = edgeadm("--kubeconfig", str(tmp_path / "missing.conf"), *(a.format(**files) for a in args))
    assert got.code == 2, got
    assert error in got.err, got.err
    assert not (tmp_path / "edgeadm-runs").exists()  # no run directory either
