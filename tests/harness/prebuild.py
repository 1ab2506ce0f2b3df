"""Build, beside the test run, what later tests will need, so a cold CI does not wait for each build in turn.

A cold CI builds about half an hour of binaries and trees: the pinned Kubernetes, SuperEdge,
lite-apiserver, the test hosts' trees, the old-glibc CPython and the executable, the version ends. The unit tests
need none of them, and the real-cluster modules that need more than the pinned Kubernetes run late
(tests/conftest.py orders them so); while the earlier tests run, this process builds everything in the order it is
needed, at the lowest CPU priority, so it takes only what the tests leave idle and does not slow them.

Every hack/build-*.sh holds a lock on its output while it builds: a test that needs a build the prebuilder is
still doing waits for it and then reuses it (the script's own cache check), and never builds the same thing twice
at once. A failed prebuild is only logged: the test that needs it runs the build itself and fails with its error.

    python -m tests.harness.prebuild        (tests/conftest.py starts it under CI; stopped when the run ends)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.harness import cluster as harness
from tests.harness import hosts, versions


def steps() -> list[tuple[str, Callable[[], Path]]]:
    """What to build, in the order tests/conftest.py's module order first needs it."""
    out: list[tuple[str, Callable[[], Path]]] = [
        (f"Kubernetes v{harness.k8s_version().lstrip('v')} (every program)", lambda: harness.bin_dir(build=True)),
        ("test host tree", lambda: hosts.rootfs(build=True)),
        ("SuperEdge components", lambda: harness.hack_build("build-superedge.sh")),
        ("lite-apiserver", lambda: harness.hack_build("build-lite-apiserver.sh")),
        ("test host tree with sshd", lambda: hosts.rootfs(build=True, flavor="sshd")),
        ("release executable (with its old-glibc CPython)", lambda: harness.hack_build("build-executable.sh")),
        ("test host tree without Python", lambda: hosts.rootfs(build=True, flavor="nopython")),
    ]
    for row in versions.TABLE:
        if row is not versions.DEFAULT:  # built first, above
            out.append((f"Kubernetes v{row.version} ({' '.join(row.programs)})",
                        lambda row=row: row.bins(build=True)))
    return out


def main() -> int:
    os.nice(19)  # only the CPU the tests leave idle
    failed = 0
    for what, build in steps():
        start = time.monotonic()
        try:
            build()
        except Exception as exc:  # noqa: BLE001 -- logged; the test needing it builds it again and fails there
            failed += 1
            print(f"prebuild: {what}: FAILED after {time.monotonic() - start:.0f}s: {exc}", flush=True)
        else:
            print(f"prebuild: {what}: {time.monotonic() - start:.0f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
