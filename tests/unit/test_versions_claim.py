"""The supported Kubernetes range that edgeadm and the README state is the range CI tests (harness/versions.py)."""

from __future__ import annotations

from edgeadm import constants
from tests.harness import cluster as harness
from tests.harness import versions


def test_edgeadm_bounds_are_the_tested_ends() -> None:
    assert constants.MIN_SERVER_MINOR == versions.OLDEST.minor
    assert constants.MAX_TESTED_MINOR == versions.NEWEST.minor


def test_the_readme_claims_the_tested_range() -> None:
    readme = (harness.REPO / "README.md").read_text()
    assert f"Kubernetes 1.{versions.OLDEST.minor} to 1.{versions.NEWEST.minor}" in readme
    assert "1.29" not in readme


def test_the_newest_kubelet_is_inside_the_skew_policy_of_the_newest_control_plane() -> None:
    assert versions.NEWEST.minor - 3 <= versions.NEWEST_KUBELET.minor <= versions.NEWEST.minor
    # every kubelet the tests run must run on these cgroup v1 machines
    assert all(v.kubelet_runs_on_cgroup_v1 for v in versions.TABLE if "kubelet" in v.programs)
    assert versions.OLDEST.minor <= versions.DEFAULT.minor <= versions.NEWEST.minor
