"""The batch runner's bookkeeping with our own seams faked (the SSH seam and the cluster): failure budgets per site,
a stop request, the round-robin start order, tokens made and deleted, and the results file written as it goes.
The real thing (sshd, hosts, cluster) is tests/e2e/test_batch.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from edgeadm import inventory, remote
from edgeadm.workflows import batch
from edgeadm.workflows import token as token_wf


class FakeKube:
    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, Any]] = {}
        self.created = 0

    def create(self, obj: dict[str, Any]) -> None:
        self.secrets[obj["metadata"]["name"]] = obj
        self.created += 1

    def delete(self, _v: str, _k: str, name: str, _ns: str | None = None) -> bool:
        return self.secrets.pop(name, None) is not None

    def get(self, *_a: Any) -> None:
        return None


class FakeSession:
    """Joins succeed unless the host's address ends in .9 (exit 3, a preflight refusal)."""

    def __init__(self, address: str, log: list[str]) -> None:
        self.address = address
        self.log = log

    def run(self, argv: list[str], *, stdin: bytes = b"", timeout: float = 600) -> remote.Result:
        if argv[0] == "test":
            return remote.Result(1, "", "")
        if "join" in " ".join(argv):
            self.log.append(self.address)
            values = [line.split("=", 1)[1] for line in stdin.decode().splitlines()]
            assert len(values) == 2 and not any(v in " ".join(argv) for v in values)  # tokens on stdin only
            if self.address.endswith(".9"):
                return remote.Result(3, "", "[preflight] Running pre-flight checks\nerror: phase preflight: 1 "
                                            "preflight check failed\n")
        return remote.Result(0, "", "")

    def sha256(self, _path: str) -> None:
        return None

    def put(self, *_a: Any, **_k: Any) -> int:
        return 10

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    (tmp_path / "release.tgz").write_bytes(b"x")
    (tmp_path / "id").write_text("k")
    (tmp_path / "id").chmod(0o600)
    started: list[str] = []
    monkeypatch.setattr(batch, "read_release", lambda p: batch.Release(p, "0" * 64, "top", "kube.tar.gz", "1" * 64))
    monkeypatch.setattr(batch, "_connect", lambda h, o: FakeSession(h.address, started))
    monkeypatch.setattr(token_wf, "cluster_info", lambda k: [])
    monkeypatch.setattr(token_wf, "join_endpoint", lambda k, c: "10.0.0.1:6443")
    monkeypatch.setattr(token_wf, "ca_hashes", lambda k, c: ["sha256:" + "2" * 64])
    return tmp_path, started


def _inventory(d: Path, text: str) -> Path:
    p = d / "inventory.yaml"
    p.write_text("release: release.tgz\nconcurrency: 1\ndefaults: {keyFile: id}\n" + text)
    return p


def _options(d: Path, inv: Path, retry: Path | None = None) -> inventory.BatchOptions:
    return inventory.BatchOptions.parse(action="join", inventory=inv, known_hosts=d / "kh",
                                        accept_new_host_keys=False, run_dir=d / "run", retry_failed=retry,
                                        results=None)


SITES = """sites:
  - name: s1
    failureBudget: 0
    relay: none
    hosts:
      - {address: 10.1.0.9, nodeName: a1}
      - {address: 10.1.0.2, nodeName: a2}
      - {address: 10.1.0.3, nodeName: a3}
  - name: s2
    relay: none
    hosts:
      - {address: 10.2.0.9, nodeName: b1}
      - {address: 10.2.0.2, nodeName: b2}
"""


def test_a_spent_budget_stops_its_site_only_and_retry_runs_what_did_not_join(setup: tuple[Path, list[str]]) -> None:
    d, started = setup
    kube = FakeKube()
    b = batch.run(kube, _options(d, _inventory(d, SITES)), _Events(), threading.Event())  # type: ignore[arg-type]
    got = {r.nodeName: (r.outcome, r.phase) for r in b.results}
    # round-robin over sites; s1 tolerates no failure, so after a1 fails a2 and a3 are not started; s2 has no budget
    assert started == ["10.1.0.9", "10.2.0.9", "10.2.0.2"]
    assert got == {"a1": ("failed", "preflight"), "b1": ("failed", "preflight"), "a2": ("not-started", None),
                   "b2": ("joined", None), "a3": ("not-started", None)}
    assert kube.created == 1 + 3 and kube.secrets == {}  # one discovery token, one per started host; all deleted
    saved = json.loads((d / "run" / "results.json").read_text())
    assert saved["summary"] == {"failed": 2, "not-started": 2, "joined": 1}
    assert (d / "run" / "results.json").stat().st_mode & 0o077 == 0
    retry = inventory.retry_set(d / "run" / "results.json", inventory.load(d / "inventory.yaml"), "join")
    assert retry == {"a1", "a2", "a3", "b1"}


def test_a_stop_request_starts_no_new_host(setup: tuple[Path, list[str]]) -> None:
    d, started = setup
    stop = threading.Event()
    stop.set()
    b = batch.run(FakeKube(), _options(d, _inventory(d, SITES)), _Events(), stop)  # type: ignore[arg-type]
    assert started == [] and b.interrupted
    assert {r.outcome for r in b.results} == {"not-started"} and b.results[0].message == "interrupted"


class _Events:
    def emit(self, _e: object) -> None:
        return None
