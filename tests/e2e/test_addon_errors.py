"""Bad input to addon: one clear error line, a documented exit code, and an unchanged cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.helpers import edgeadm, kube_of
from tests.harness import cluster as harness
from tests.harness.snapshot import diff, settled_snapshot, snapshot

pytestmark = pytest.mark.cluster


def _other_ca(tmp: Path) -> tuple[Path, Path]:
    from edgeadm import pki

    ca, key = pki.new_ca("not-the-cluster")
    (tmp / "other.crt").write_bytes(pki.cert_to_pem(ca))
    pki.write_private(tmp / "other.key", pki.key_to_pem(key))
    return tmp / "other.crt", tmp / "other.key"


def _case(name: str, c: harness.Cluster, tmp: Path) -> tuple[list[str], int, str]:
    crt, key = str(c.pki / "ca.crt"), str(c.pki / "ca.key")
    if name == "missing-ca-cert":
        return ["--ca.cert", str(tmp / "nope.crt"), "--ca.key", key], 3, "CA certificate"
    if name == "unreadable-ca-key":
        (tmp / "dir.key").mkdir()
        return ["--ca.cert", crt, "--ca.key", str(tmp / "dir.key")], 3, "is not readable"
    if name == "mismatched-pair":
        _, okey = _other_ca(tmp)
        return ["--ca.cert", crt, "--ca.key", str(okey)], 3, "is not the private key of"
    if name == "foreign-ca":
        ocrt, okey = _other_ca(tmp)
        return ["--ca.cert", str(ocrt), "--ca.key", str(okey)], 3, "is not the CA of this cluster"
    if name == "malformed-address":
        return ["--ca.cert", crt, "--ca.key", key, "--master-public-addr", "10.0.0.1:99999"], 2, "invalid port"
    if name == "broken-override":
        (tmp / "overrides").mkdir()
        (tmp / "overrides" / "tunnel-cloud.yaml").write_text("kind: {{ no_such_value }\n")
        return ["--ca.cert", crt, "--ca.key", key, "--manifest-dir", str(tmp / "overrides")], 1, "does not render"
    if name == "rejected-override":  # renders fine, the server rejects it mid-way: rollback restores everything
        (tmp / "overrides").mkdir()
        shutil.copy(Path(__file__).parents[2] / "manifests" / "edge-health-admission.yaml", tmp / "overrides")
        p = tmp / "overrides" / "edge-health-admission.yaml"
        p.write_text(p.read_text().replace("replicas: 1", "replicas: -1"))
        return ["--ca.cert", crt, "--ca.key", key, "--manifest-dir", str(tmp / "overrides")], 1, "phase edge-health"
    if name == "not-a-master":  # no kube-apiserver static pod here: the egress phase cannot be done
        return ["--ca.cert", crt, "--ca.key", key], 3, "runs no kube-apiserver static pod"
    raise AssertionError(name)


CASES = ["missing-ca-cert", "unreadable-ca-key", "mismatched-pair", "foreign-ca", "malformed-address",
         "broken-override", "rejected-override", "not-a-master"]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_changes_nothing(clusters: harness.ClusterPool, name: str, tmp_path: Path) -> None:
    c = clusters["kubeadm"]
    k = kube_of(c)
    before = settled_snapshot(k)
    args, code, text = _case(name, c, tmp_path)
    res = edgeadm(c, "addon", "edge-apps", *args, *([] if name == "not-a-master" else harness.ADDON_FLAGS))
    assert res.returncode == code, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1 and text in errors[0], res.stderr
    assert "Traceback" not in res.stderr
    assert diff(before, snapshot(k)) == []


@pytest.mark.parametrize("kind", ["unreachable", "malformed"])
def test_bad_kubeconfig(clusters: harness.ClusterPool, kind: str, tmp_path: Path) -> None:
    c = clusters["kubeadm"]
    conf = tmp_path / "k.conf"
    if kind == "unreachable":
        conf.write_text(c.admin_conf.read_text().replace(f":{c.apiserver_port}", ":1"))
    else:
        conf.write_text("clusters: [oops")
    res = edgeadm(c, "--kubeconfig", str(conf), "addon", "edge-apps", "--ca.cert", str(c.pki / "ca.crt"),
                  "--ca.key", str(c.pki / "ca.key"), *harness.ADDON_FLAGS)
    assert res.returncode == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert ("unreachable" if kind == "unreachable" else "is not usable") in errors[0]
