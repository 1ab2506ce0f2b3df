"""Test isolation and the real-cluster fixtures.

Every test gets its own HOME and no KUBECONFIG, so nothing reads the developer's files. Cluster tests (marker
``cluster``) run against real etcd/kube-apiserver/kube-controller-manager processes, which the fixtures here get
from a harness.ClusterPool (per module or per session); under CI a missing binary is built, and any skipped test
makes the run fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Real-cluster tests run last so a quick unit failure shows first.
    items.sort(key=lambda it: 1 if it.get_closest_marker("cluster") or it.get_closest_marker("node") else 0)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped or deselected test is a failure: the whole suite, real-cluster tier included, must run
    (a `-k`/`-m` in PYTEST_ARGS, or a path narrowing the run, would otherwise pass silently)."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
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
