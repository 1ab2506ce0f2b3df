"""Records and journals edgeadm reads back are checked before anything is done with them: a corrupt or
wrong-shaped one is one clear line and nothing changes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from edgeadm import events as ev
from edgeadm.host import JournalError
from edgeadm.node.paths import NodePaths
from edgeadm.options import ResetOptions
from edgeadm.record import RECORD_KEY, Record, RecordError
from edgeadm.workflows import reset


class OneSecret:
    """Just enough of our KubeAPI seam for Record.load: one Secret, read-only."""

    dry_run = False

    def __init__(self, data: dict[str, str] | None) -> None:
        self.obj = None if data is None else {"apiVersion": "v1", "kind": "Secret", "data": data}

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.obj


def encoded(body: object) -> dict[str, str]:
    return {RECORD_KEY: base64.b64encode(json.dumps(body).encode()).decode()}


GOOD = {"created": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "edge-system", "name": "x"}],
        "changed": [{"ref": {"apiVersion": "apps/v1", "kind": "DaemonSet", "namespace": "kube-system",
                             "name": "kube-proxy"}, "prior": {"metadata": {}}, "paths": None}],
        "params": {}, "state": "complete"}


def test_a_good_record_loads() -> None:
    record = Record.load(OneSecret(encoded(GOOD)))  # type: ignore[arg-type]
    assert record is not None and record.state == "complete" and len(record.created) == 1


@pytest.mark.parametrize("data", [
    {RECORD_KEY: "%%% not base64"},
    {RECORD_KEY: base64.b64encode(b"{not json").decode()},
    encoded(["a", "list"]),
    encoded({**GOOD, "created": "everything"}),
    encoded({**GOOD, "created": [{"kind": "ClusterRoleBinding", "name": "admin"}]}),
    encoded({**GOOD, "created": [{**GOOD["created"][0], "extra": "field"}]}),  # type: ignore[dict-item]
    encoded({**GOOD, "changed": [{"ref": GOOD["created"][0], "prior": "x"}]}),  # type: ignore[index]
    encoded({**GOOD, "params": []}),
    encoded({**GOOD, "changed": [{**GOOD["changed"][0], "paths": [[]]}]}),  # type: ignore[index]
    encoded({**GOOD, "changed": [{**GOOD["changed"][0], "paths": "metadata"}]}),  # type: ignore[index]
])
def test_a_corrupt_record_is_one_line(data: dict[str, str]) -> None:
    with pytest.raises(RecordError, match="is corrupt") as err:
        Record.load(OneSecret(data))  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("journal", [
    {"entries": [{"op": "file", "path": "/etc/x", "backup": None}, {"op": "chmod", "path": "/"}]},
    {"entries": [{"op": "unit"}]},
    {"entries": {"op": "dir"}},
    ["not", "a", "journal"],
    "{broken",
])
def test_reset_refuses_a_journal_it_does_not_understand_and_keeps_it(tmp_path: Path, journal: object) -> None:
    paths = NodePaths(tmp_path)
    paths.state_dir.mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "x").write_text("joined")
    text = journal if isinstance(journal, str) else json.dumps(journal)
    (paths.state_dir / "journal.json").write_text(text)
    recorder = ev.Recorder()
    with pytest.raises(JournalError):
        reset.run(ResetOptions(force=True), recorder, confirm=lambda n: True, paths=paths)
    assert (paths.state_dir / "journal.json").read_text() == text  # kept, as it was
    assert (tmp_path / "etc" / "x").read_text() == "joined"  # nothing undone
    assert not any("back to its state" in s for s in recorder.steps())
