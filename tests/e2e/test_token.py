"""Bootstrap tokens against the real cluster, and interop with the real kubeadm both ways."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.helpers import addon, edgeadm, kube_of
from tests.harness import cluster as harness

pytestmark = pytest.mark.cluster


def kubeadm(bins: Path, c: harness.Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bins / "kubeadm"), *args, f"--kubeconfig={c.admin_conf}"], check=False,
                          capture_output=True, text=True, timeout=60)


def authenticates(c: harness.Cluster, token: str) -> bool:
    r = requests.post(f"{c.server}/apis/authentication.k8s.io/v1/selfsubjectreviews",
                      json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                      headers={"Authorization": f"Bearer {token}"}, verify=str(c.pki / "ca.crt"), timeout=5)
    return r.status_code == 201


def test_edgeadm_token_is_listed_and_accepted_by_kubeadm(clusters: harness.ClusterPool, k8s_bins: Path) -> None:
    c = clusters["kubeadm"]
    res = edgeadm(c, "token", "create", "--description", "from edgeadm")
    assert res.returncode == 0, res.stderr
    tok = res.stdout.strip()
    listed = kubeadm(k8s_bins, c, "token", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert tok in listed.stdout
    assert authenticates(c, tok)
    deleted = kubeadm(k8s_bins, c, "token", "delete", tok.split(".")[0])
    assert deleted.returncode == 0, deleted.stderr


def test_kubeadm_token_is_listed_by_edgeadm(clusters: harness.ClusterPool, k8s_bins: Path) -> None:
    c = clusters["kubeadm"]
    made = kubeadm(k8s_bins, c, "token", "create", "--ttl", "2h")
    assert made.returncode == 0, made.stderr
    tok = made.stdout.strip()
    res = edgeadm(c, "token", "list", "-o", "json")
    assert res.returncode == 0, res.stderr
    entry = next(t for t in json.loads(res.stdout) if t["token"] == tok)
    assert entry["usages"] == ["signing", "authentication"]
    assert entry["groups"] == ["system:bootstrappers:kubeadm:default-node-token"]
    table = edgeadm(c, "token", "list").stdout
    assert table.splitlines()[0].split() == ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA", "GROUPS"]
    out = edgeadm(c, "token", "delete", tok)
    assert out.stdout.strip() == f'bootstrap token "{tok.split(".")[0]}" deleted'
    again = edgeadm(c, "token", "delete", tok)
    assert again.returncode == 1 and "not found" in again.stderr


def test_print_join_command_uses_master_public_address(clusters: harness.ClusterPool) -> None:
    c = clusters["bare"]
    assert addon(c, "--master-public-addr", "203.0.113.7:6443").returncode == 0
    try:
        res = edgeadm(c, "token", "create", "--print-join-command", "-o", "json")
        assert res.returncode == 0, res.stderr
        info = json.loads(res.stdout)
        assert info["endpoint"] == "203.0.113.7:6443"
        from edgeadm import pki

        assert info["caCertHashes"] == [pki.spki_sha256(pki.load_cert(c.pki / "ca.crt"))]
        line = edgeadm(c, "token", "create", "--print-join-command").stdout.strip().splitlines()
        assert len(line) == 1
        assert line[0].startswith("edgeadm join 203.0.113.7:6443 --token ")
        assert line[0].endswith(f"--discovery-token-ca-cert-hash {info['caCertHashes'][0]}")
        # the token signs cluster-info once the controller-manager sees it
        k = kube_of(c)
        tid = info["token"].split(".")[0]
        k.wait_for("signature", lambda: f"jws-kubeconfig-{tid}" in (
            (k.get("v1", "ConfigMap", "cluster-info", "kube-public") or {}).get("data") or {}), timeout=30)
    finally:
        assert edgeadm(c, "detach", "edge-apps").returncode == 0


def test_creating_an_existing_token_is_refused_and_keeps_it(clusters: harness.ClusterPool) -> None:
    c = clusters["kubeadm"]
    value = "exists.0123456789abcdef"
    first = edgeadm(c, "token", "create", value, "--description", "first")
    assert first.returncode == 0 and first.stdout == f"{value}\n", first.stderr
    again = edgeadm(c, "token", "create", value, "--description", "second")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr == ("error: bootstrap token `exists` already exists\n"
                            "hint: pick another token, or delete it with `edgeadm token delete`\n")
    listed = json.loads(edgeadm(c, "token", "list", "-o", "json").stdout)
    assert [t["description"] for t in listed if t["token"] == value] == ["first"]  # the first one is untouched
    assert edgeadm(c, "token", "delete", "exists").returncode == 0
