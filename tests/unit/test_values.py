"""Template values can never change the YAML around them: flags are checked by their grammar (test_options), and
every value is a plain word before it is rendered; values read back from the cluster are replaced when odd."""

from __future__ import annotations

from typing import Any

import pytest

from edgeadm import pki, values
from edgeadm.errors import ConfigError
from edgeadm.phases.addon import certs
from edgeadm.phases.addon.data import CA


def built(**tunnel: Any) -> dict[str, Any]:
    material = values.Material(
        tunnel={"token": "a" * 32, "cloud_crt": "-----BEGIN\nX\n", "cloud_key": "k", "egress_crt": "c",
                "egress_key": "k", "nodeport": 31000, **tunnel},
        edge_health={"hmac_key": "b" * 16, "ca_crt": "c", "server_crt": "c", "server_key": "k"},
        lite_apiserver={"crt": "c", "key": "k"})
    return values.build(ca_pem="-----BEGIN CERTIFICATE-----\nMII\n", master_host="fd00::1", master_port=6443,
                        control_plane_label="node-role.kubernetes.io/control-plane", kubernetes_version="v1.33.13",
                        facts=values.ServiceFacts(), edge_virtual_addr="169.254.20.11",
                        repo="superedge.tencentcloudcr.com/superedge", version="v0.9.0", material=material)


def test_real_values_are_plain() -> None:
    v = built()
    assert v["master_public_addr"] == "[fd00::1]:6443"
    values.check_plain(v)


@pytest.mark.parametrize("token", ["abc\n        securityContext: {privileged: true}", "x # comment", "'quoted'",
                                   "*alias", "&anchor", "two words", "{a: b}", "!!python/object x", "|", "- item",
                                   "[a, b]"])
def test_a_value_that_is_not_one_plain_word_is_refused(token: str) -> None:
    with pytest.raises(ConfigError, match="template value `tunnel.token`"):
        values.check_plain(built(token=token))


class Planted:
    """Just enough of our KubeAPI seam: the edge namespace holds a token and an HMAC key someone else wrote."""

    dry_run = False

    def __init__(self, token: str, hmac_key: str) -> None:
        self.objects = {"tunnel-cloud-token": {"data": {"token": f"default:{token}"}},
                        "hmac-config": {"data": {"hmackey": hmac_key}}}

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.objects.get(name) if kind == "ConfigMap" else None


@pytest.mark.parametrize(("token", "hmac_key"), [("x" * 31 + "\n", "k\n  privileged: true"),
                                                 ("a b" * 10 + "cc", "short"), ("é" * 32, "#" * 16)])
def test_odd_values_in_the_cluster_are_replaced_not_reused(token: str, hmac_key: str) -> None:
    cert, key = pki.new_ca("test-ca")
    ca = CA(cert, key, pki.cert_to_pem(cert))
    kube = Planted(token, hmac_key)
    tunnel = certs.tunnel(kube, ca, "10.0.0.1", [])  # type: ignore[arg-type]
    health = certs.edge_health(kube)  # type: ignore[arg-type]
    assert tunnel["token"] != token and len(tunnel["token"]) == 32 and tunnel["token"].isalnum()
    assert health["hmac_key"] != hmac_key and health["hmac_key"].isalnum()


def test_good_values_in_the_cluster_are_reused() -> None:
    cert, key = pki.new_ca("test-ca")
    kube = Planted("A1" * 16, "k" * 16)
    assert certs.tunnel(kube, CA(cert, key, pki.cert_to_pem(cert)), "10.0.0.1", [])["token"] == "A1" * 16  # type: ignore[arg-type]
    assert certs.edge_health(kube)["hmac_key"] == "k" * 16  # type: ignore[arg-type]
