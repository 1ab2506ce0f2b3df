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
from edgeadm.record import KEY_NAME, MAC_FIELD, RECORD_KEY, RECORD_NAME, Record, RecordError
from edgeadm.workflows import reset


class Secrets:
    """Just enough of our KubeAPI seam for the record: Secrets by namespace and name, kept in a dict."""

    dry_run = False

    def __init__(self, record_data: dict[str, str] | None = None) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        if record_data is not None:
            self.objects[("edge-system", RECORD_NAME)] = {"apiVersion": "v1", "kind": "Secret", "data": record_data}

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.objects.get((namespace or "", name))

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
        return obj

    def apply(self, obj: dict[str, Any], *, force: bool = True) -> dict[str, Any]:
        return self.create(obj)


def OneSecret(data: dict[str, str] | None) -> Secrets:  # noqa: N802 - reads like the seam it stands for
    return Secrets(data)


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


def test_records_are_signed_and_a_changed_record_is_refused() -> None:
    kube = Secrets()
    record = Record()
    record.add_created({"apiVersion": "v1", "kind": "ConfigMap", "namespace": "edge-system", "name": "x"})
    record.save(kube)  # type: ignore[arg-type]
    key_secret = kube.objects[("kube-system", KEY_NAME)]
    assert key_secret["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "edgeadm"}
    loaded = Record.load(kube)  # type: ignore[arg-type]
    assert loaded is not None and loaded.signed
    assert {"apiVersion": "v1", "kind": "Secret", "name": KEY_NAME, "namespace": "kube-system"} in loaded.created
    stored = kube.objects[("edge-system", RECORD_NAME)]["data"]
    body = json.loads(base64.b64decode(stored[RECORD_KEY]))
    tampered = {**body, "created": body["created"] + [{"apiVersion": "rbac.authorization.k8s.io/v1",
                                                       "kind": "ClusterRoleBinding", "name": "cluster-admin"}]}
    for data in ({**stored, RECORD_KEY: base64.b64encode(json.dumps(tampered).encode()).decode()},
                 {RECORD_KEY: stored[RECORD_KEY]},  # MAC removed
                 {**stored, MAC_FIELD: base64.b64encode(b"0" * 64).decode()}):
        kube.objects[("edge-system", RECORD_NAME)]["data"] = data
        with pytest.raises(RecordError, match="was changed outside edgeadm"):
            Record.load(kube)  # type: ignore[arg-type]


def test_a_key_secret_edgeadm_did_not_make_is_refused() -> None:
    kube = Secrets(encoded(GOOD))
    kube.objects[("kube-system", KEY_NAME)] = {"metadata": {"labels": {}},
                                               "data": {"key": base64.b64encode(b"k" * 32).decode()}}
    with pytest.raises(RecordError, match="is not an edgeadm record key"):
        Record.load(kube)  # type: ignore[arg-type]


def test_reset_without_the_api_server_keeps_what_deleting_the_node_needs(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from edgeadm.errors import EdgeadmError
    from edgeadm.host import Journal, local, revert
    from edgeadm.host import journal as jr

    monkeypatch.setattr(local, "run", lambda *a, **k: None)  # no systemctl here
    monkeypatch.setattr(revert, "run", lambda *a, **k: None)
    stopped: list[list[str]] = []
    monkeypatch.setattr(reset, "run_program", lambda argv, **k: stopped.append(argv))
    paths = NodePaths(tmp_path)
    k8s, pki_dir, kubelet = tmp_path / "etc/kubernetes", tmp_path / "var/lib/kubelet/pki", tmp_path / "usr/bin/kubelet"
    for d in (k8s / "pki", pki_dir, kubelet.parent):
        d.mkdir(parents=True)
    paths.ca_crt.write_text("CA")
    paths.kubelet_client_pem.write_text("PEM")
    kubelet.write_text("ELF")
    journal = Journal(paths.state_dir, meta={"endpoint": "127.0.0.1:1", "state_dir_existed": False})
    for entry in (jr.DirCreated(str(k8s)), jr.DirCreated(str(k8s / "pki")), jr.FileWritten(str(paths.ca_crt)),
                  jr.FileWritten(str(kubelet)), jr.Byproduct(str(pki_dir)), jr.NodeRegistered("edge1")):
        journal.add(entry)
    recorder = ev.Recorder()
    with pytest.raises(EdgeadmError, match="reset left 1 change"):
        reset.run(ResetOptions(force=True), recorder, confirm=lambda n: True, paths=paths)
    assert not kubelet.exists()  # everything else is undone
    assert stopped == [["systemctl", "stop", "kubelet.service"]]  # before the Node: it cannot register it again
    assert paths.ca_crt.read_text() == "CA" and paths.kubelet_client_pem.read_text() == "PEM"
    kept = Journal.load(paths.state_dir)
    assert kept is not None and [type(e).__name__ for e in kept.entries] == [
        "DirCreated", "DirCreated", "FileWritten", "Byproduct", "NodeRegistered"]
    # later: the user gives up on the Node (or the API server answers); the second reset finishes the job
    assert reset.run(ResetOptions(force=True, delete_node=False), recorder, confirm=lambda n: True, paths=paths)
    assert not k8s.exists() and not pki_dir.exists() and not paths.state_dir.exists()


def test_reset_removes_the_package_a_killed_join_left_before_its_journal(tmp_path: Path) -> None:
    paths = NodePaths(tmp_path)
    (paths.staging / "unpacked" / "edge-install").mkdir(parents=True)
    (paths.staging / "package.tar.gz").write_bytes(b"x" * 1024)
    recorder = ev.Recorder()
    assert reset.run(ResetOptions(force=True), recorder, confirm=lambda n: True, paths=paths) is False
    assert not paths.staging.exists()
    assert recorder.steps() == [f"[reset] removed the install package a stopped join left in {paths.staging}",
                                "Nothing to reset: this machine has no edgeadm join journal"]
