"""What the benchmarks share: a result row, a timer, edgeadm's command line against a test cluster."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.harness import cluster as harness

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    """One result: edgeadm's time against a reference tool's (a ratio), or with `part`, against a whole it is part of
    (a share; `make bench` has no reference tool for join, so its phases are shown as shares of the whole join)."""

    label: str
    seconds: float
    against: float
    part: bool = False
    figure: bool = False  # a measured time with no reference to race (`against` unused)


def timed(argv: list[str], *, env: dict[str, str] | None = None, check: bool = True) -> float:
    t = time.perf_counter()
    res = subprocess.run(argv, check=False, capture_output=True, text=True, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - t
    if check and res.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed: {res.stderr[-1500:]}")
    return elapsed


def median_of(fn: Callable[[], float], n: int) -> float:
    return statistics.median(fn() for _ in range(n))


def edgeadm_argv(c: harness.Cluster, *args: str) -> list[str]:
    return [sys.executable, "-m", "edgeadm", "--kubeconfig", str(c.admin_conf), *args]


def addon_args(c: harness.Cluster) -> list[str]:
    return ["addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"), "--ca.key", str(c.pki / "ca.key"),
            *harness.ADDON_FLAGS]
