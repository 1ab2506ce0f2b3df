"""detach acts only on what addon made: a record changed by someone who can write Secrets in the edge namespace
cannot make detach delete or "restore" anything else (real cluster, whole-cluster snapshots)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.e2e.helpers import addon, edgeadm, kube_of
from tests.harness import cluster as harness
from tests.harness.snapshot import diff, settled_snapshot, snapshot

pytestmark = pytest.mark.cluster

RECORD = ("v1", "Secret", "edgeadm-addon-record", "edge-system")
VICTIM_CM = {"apiVersion": "v1", "kind": "ConfigMap", "name": "victim", "namespace": "default"}
VICTIM_CRB = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "name": "victim"}
ESCALATION = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
              "metadata": {"name": "victim"},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
              "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "edge-system"}]}


def _body(secret: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(base64.b64decode(secret["data"]["record.json"]))
    return body


def _write(k: Any, secret: dict[str, Any], body: dict[str, Any], *, mac: bool) -> None:
    data = {"record.json": base64.b64encode(json.dumps(body).encode()).decode()}
    if mac:
        data["record.mac"] = secret["data"]["record.mac"]  # the genuine MAC, now over a different body
    current = k.get(*RECORD[:3], RECORD[3])
    k.replace({**current, "data": data})


def _tampered(body: dict[str, Any], case: str) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    if case == "delete-foreign":
        body["created"].append(VICTIM_CM)
    elif case == "delete-binding":
        body["created"].append(VICTIM_CRB)
    elif case == "restore-escalation":
        body["changed"].append({"ref": VICTIM_CRB, "prior": ESCALATION, "paths": None})
    elif case == "restore-other-fields":
        entry = next(c for c in body["changed"] if c["ref"]["kind"] == "DaemonSet")
        entry["paths"] = [["spec"]]
    elif case == "restore-elsewhere":
        entry = next(c for c in body["changed"] if c["ref"]["kind"] == "Endpoints")
        entry["prior"]["metadata"]["name"] = "victim"
        entry["paths"] = None
    return body


CASES = ["delete-foreign", "delete-binding", "restore-escalation", "restore-other-fields", "restore-elsewhere"]


def test_a_changed_record_cannot_turn_detach_against_the_cluster(clusters: harness.ClusterPool) -> None:
    c = clusters["kubeadm"]
    k = kube_of(c)
    res = addon(c)
    assert res.returncode == 0, res.stderr
    k.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "victim", "namespace": "default"},
              "data": {"keep": "me"}})
    k.create({**ESCALATION, "subjects": [{"kind": "User", "name": "nobody"}]})
    genuine = k.get(*RECORD[:3], RECORD[3])
    body = _body(genuine)
    for case in CASES:
        for mac in (True, False):  # with the genuine MAC left in place, and with the MAC removed
            _write(k, genuine, _tampered(body, case), mac=mac)
            before = snapshot(k)
            out = edgeadm(c, "detach", "edge-apps", "--force")
            assert out.returncode == 1, (case, mac, out.stderr)
            errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and "was changed outside edgeadm" in errors[0], (case, mac, out.stderr)
            assert not diff(before, snapshot(k)), (case, mac)
    # a record from before record keys existed (no key, no MAC) is held to the scope checks alone
    key = k.get("v1", "Secret", "edgeadm-addon-record-key", "kube-system")
    k.delete("v1", "Secret", "edgeadm-addon-record-key", "kube-system")
    expected = {"delete-foreign": "does not carry", "delete-binding": "does not carry",
                "restore-escalation": "addon never changes", "restore-other-fields": "addon changes only",
                "restore-elsewhere": "addon changes only"}
    for case in CASES:
        _write(k, genuine, _tampered(body, case), mac=False)
        before = snapshot(k)
        out = edgeadm(c, "detach", "edge-apps", "--force")
        errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert out.returncode == 1 and len(errors) == 1 and expected[case] in errors[0], (case, out.stderr)
        assert not diff(before, snapshot(k)), case
    # the genuine record and its key back: detach removes what addon made and nothing else
    k.create({k2: v for k2, v in key.items() if k2 != "status"} | {"metadata": {
        "name": key["metadata"]["name"], "namespace": "kube-system", "labels": key["metadata"]["labels"]}})
    _write(k, genuine, body, mac=True)
    out = edgeadm(c, "detach", "edge-apps", "--force")
    assert out.returncode == 0, out.stderr
    assert (k.get("v1", "ConfigMap", "victim", "default") or {}).get("data") == {"keep": "me"}
    crb = k.get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "victim")
    assert crb is not None and crb["subjects"] == [{"kind": "User", "name": "nobody",
                                                    "apiGroup": "rbac.authorization.k8s.io"}]
    assert k.get("v1", "Secret", "edgeadm-addon-record-key", "kube-system") is None
    assert k.get("v1", "Namespace", "edge-system") is None


FOREIGN = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: tunnel-cloud-everything}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: tunnel-cloud, namespace: edge-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: planted, namespace: kube-system}
data: {a: b}
"""


def test_objects_an_override_adds_outside_its_scope_need_the_opt_in(clusters: harness.ClusterPool,
                                                                     tmp_path: Any) -> None:
    from pathlib import Path

    c = clusters["bare"]
    k = kube_of(c)
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    ours = (Path(__file__).parents[2] / "manifests" / "tunnel-cloud.yaml").read_text()
    (overrides / "tunnel-cloud.yaml").write_text(ours.rstrip() + "\n---\n" + FOREIGN)
    before = settled_snapshot(k)  # a fresh cluster's controllers are still creating their objects
    refused = addon(c, "--manifest-dir", str(overrides), "--master-public-addr", "127.0.0.1:6443")
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert refused.returncode == 1 and len(errors) == 1, refused.stderr
    assert "adds ClusterRoleBinding tunnel-cloud-everything, outside what that template is for (and 1 more)" \
        in errors[0]
    assert not diff(before, snapshot(k))
    allowed = addon(c, "--manifest-dir", str(overrides), "--master-public-addr", "127.0.0.1:6443",
                    "--allow-foreign-objects")
    assert allowed.returncode == 0, allowed.stderr
    assert "override `tunnel-cloud.yaml` adds ConfigMap kube-system/planted (allowed by --allow-foreign-objects)" \
        in allowed.stderr
    assert k.get("v1", "ConfigMap", "planted", "kube-system") is not None
    out = edgeadm(c, "detach", "edge-apps")
    assert out.returncode == 0, out.stderr
    assert k.get("v1", "ConfigMap", "planted", "kube-system") is None
    assert k.get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "tunnel-cloud-everything") is None


GROUPS_BUT_CRDS = ["", "apps", "rbac.authorization.k8s.io", "admissionregistration.k8s.io", "discovery.k8s.io",
                   "coordination.k8s.io", "authorization.k8s.io", "authentication.k8s.io", "certificates.k8s.io",
                   "policy", "storage.k8s.io", "networking.k8s.io", "batch", "events.k8s.io", "node.k8s.io",
                   "scheduling.k8s.io", "apiregistration.k8s.io", "flowcontrol.apiserver.k8s.io"]


def test_rollback_without_a_permission_undoes_exactly_what_was_made(clusters: harness.ClusterPool,
                                                                     tmp_path: Any) -> None:
    """An admin who may do everything but create (or delete) CRDs: addon fails at service-group, and the rollback
    removes what it made, without trying to delete the CRDs it never created (which it may not delete either)."""
    from edgeadm import pki

    c = clusters["kubeadm"]
    k = kube_of(c)
    k.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": "test-all-but-crds"},
             "rules": [{"apiGroups": GROUPS_BUT_CRDS, "resources": ["*"], "verbs": ["*"]},
                       {"apiGroups": ["apiextensions.k8s.io"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
                       {"nonResourceURLs": ["*"], "verbs": ["*"]}]})
    k.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "test-all-but-crds"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "test-all-but-crds"},
             "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited-admin"}]})
    ca = pki.load_cert(c.pki / "ca.crt")
    pair = pki.sign_pair(ca, pki.load_key(c.pki / "ca.key"), cn="limited-admin", client=True)
    conf = tmp_path / "limited.conf"
    harness.write_kubeconfig(conf, c.server, (c.pki / "ca.crt").read_bytes(), user="limited-admin",
                             cert_pem=pair.cert_pem, key_pem=pair.key_pem)
    before = settled_snapshot(k)
    res = edgeadm(c, "--kubeconfig", str(conf), "addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"),
                  "--ca.key", str(c.pki / "ca.key"), *harness.ADDON_FLAGS)
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert res.returncode == 1 and len(errors) == 1 and errors[0].startswith("error: phase service-group:"), res.stderr
    assert "[rollback] the cluster is back to its state before addon" in res.stderr, res.stderr
    assert "rollback incomplete" not in res.stderr
    assert not diff(before, snapshot(k))
