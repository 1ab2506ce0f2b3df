"""Test isolation and the real-cluster fixtures.

Every test gets its own HOME and no KUBECONFIG, so nothing reads the developer's files. Cluster tests (marker
``cluster``) run against real etcd/kube-apiserver/kube-controller-manager processes, which the fixtures here get
from a harness.ClusterPool (per module or per session); under CI a missing binary is built, and any skipped test
makes the run fail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import cluster as harness

IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("EDGEADM_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture(scope="session")
def k8s_bins() -> Path:
    try:
        return harness.bin_dir(build=IN_CI)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


# Every cluster a test uses comes from a harness.ClusterPool, which stops it (by pid) when its scope ends.
@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory, k8s_bins: Path) -> Iterator[harness.ClusterPool]:
    """Fresh clusters for this module: `clusters["bare"]`, `clusters.get("kubeadm", extra_ips=[...])`."""
    with harness.ClusterPool(tmp_path_factory.mktemp("clusters"), k8s_bins) as pool:
        yield pool


@pytest.fixture(params=harness.FLAVORS)
def cluster(request: pytest.FixtureRequest, clusters: harness.ClusterPool) -> harness.Cluster:
    """The test runs once per flavour, on this module's cluster of that flavour."""
    return clusters[request.param]


@pytest.fixture(scope="session")
def session_clusters(tmp_path_factory: pytest.TempPathFactory, k8s_bins: Path) -> Iterator[harness.ClusterPool]:
    """Clusters shared by every module of the run, for tests that only read them."""
    with harness.ClusterPool(tmp_path_factory.mktemp("session-clusters"), k8s_bins) as pool:
        yield pool


@pytest.fixture(scope="session")
def kubeadm_cluster(session_clusters: harness.ClusterPool) -> harness.Cluster:
    return session_clusters["kubeadm"]


@pytest.fixture(scope="session")
def bare_cluster(session_clusters: harness.ClusterPool) -> harness.Cluster:
    return session_clusters["bare"]


# The real-cluster modules that need more than the pinned Kubernetes, in the order they run: each after every
# module that needs less, so that under CI the prebuilder (tests/harness/prebuild.py, same order) has built what a
# module needs by the time it starts. Unlisted real-cluster modules need only the pinned binaries and run first.
LATE_MODULES = (
    "test_master",  # a test host tree, the SuperEdge components
    "test_join", "test_remote", "test_sites",  # + lite-apiserver
    "test_batch", "test_bundle", "test_release",  # + the release executable, the sshd and no-Python trees
    "test_versions",  # + the oldest and newest control planes, the newest kubelet
)


def _order(item: pytest.Item) -> tuple[int, int]:
    if not (item.get_closest_marker("cluster") or item.get_closest_marker("node")):
        return (0, 0)  # unit and CLI tests first, so a quick failure shows first
    module = item.module.__name__.rpartition(".")[2] if item.module else ""
    return (1, LATE_MODULES.index(module) + 1 if module in LATE_MODULES else 0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_order)  # stable: within a module, file order


_prebuild: dict[str, Any] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI, start the prebuilder (lowest CPU priority) for what the late modules need; see prebuild.py."""
    if not IN_CI:
        return
    log = harness.cache_dir() / "prebuild.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        _prebuild["proc"] = subprocess.Popen([sys.executable, "-m", "tests.harness.prebuild"], cwd=harness.REPO,
                                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                             start_new_session=True)
    _prebuild["log"] = log


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped or deselected test is a failure: the whole suite, real-cluster tier included, must run
    (a `-k`/`-m` in PYTEST_ARGS, or a path narrowing the run, would otherwise pass silently)."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    _stop_prebuild()
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    deselected = len(reporter.stats.get("deselected", [])) if reporter else 0
    whole = {session.config.rootpath.resolve(), (session.config.rootpath / "tests").resolve()}
    narrowed = [a for a in session.config.args if Path(a).resolve() not in whole]
    problems = [f"{skipped} test(s) skipped" if skipped else "", f"{deselected} deselected" if deselected else "",
                f"run narrowed to {', '.join(narrowed)}" if narrowed else ""]
    problems = [p for p in problems if p]
    if problems:
        if reporter:
            reporter.ensure_newline()
            reporter.write_line(f"CI: {'; '.join(problems)}: under CI the whole suite must run", red=True)
        session.exitstatus = 1


def _stop_prebuild() -> None:
    """Stop the prebuilder if it still runs (a run that ended early); its build scripts leave no partial output."""
    proc = _prebuild.pop("proc", None)
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Each prebuild step's time (or failure) in the run's summary: how a cold run spent its builds."""
    log = _prebuild.get("log")
    if log is None or not log.exists():
        return
    terminalreporter.write_sep("=", f"prebuild (log: {log})")
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("prebuild: "):
            terminalreporter.write_line(line.removeprefix("prebuild: "))
