"""`edgeadm bundle create`: bad values are refused before the cluster is contacted or a token is made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.transcript import Transcript

USAGE = "Usage: edgeadm bundle create [OPTIONS]\nTry 'edgeadm bundle create --help' for help.\n\n"
Run = Callable[..., Transcript]


@pytest.mark.parametrize(("args", "error"), [
    (("--site", "bad site", "--node", "b1"), "Invalid value for '--site': --site `bad site` is not a label value"),
    (("--site", "s",), "Invalid value for '--node': give the site's node names (--node, repeatable)"),
    (("--site", "s", "--node", "B_1"), "Invalid value for '--node-name': --node-name is not a valid node name"),
    (("--site", "s", "--node", "b1", "--ttl", "90d"), "Invalid value for '--ttl'"),
    (("--site", "s", "--node", "b1", "--ttl", "1m"), "Invalid value for '--ttl': --ttl 1m is not an install window "
                                                     "from 5m to 720h"),
    (("--site", "s", "--node", "b1", "--node-labels", "topology.kubernetes.io/zone=x"),
     "Invalid value for '--node-labels': `topology.kubernetes.io/zone` is the site label: it comes from --site"),
])
def test_bad_values_are_refused_first(edgeadm: Run, tmp_path: Path, args: tuple[str, ...], error: str) -> None:
    release = tmp_path / "release.tgz"
    release.write_bytes(b"")
    got = edgeadm("--kubeconfig", str(tmp_path / "missing.conf"), "bundle", "create", *args, "--release",
                  str(release))
    assert got.code == 2, got
    assert got.err.startswith(USAGE + "Error: ") and error in got.err, got.err
    assert len(got.err.splitlines()) == 4  # one error line
