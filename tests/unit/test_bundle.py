"""Site bundles as join reads them at the site: strict about shape, names and permissions; nothing echoed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from edgeadm import bundle
from edgeadm.errors import ConfigError, UsageError

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
DISC = "disc01.aaaaaaaaaaaaaaaa"
NODE_TOKEN = "node01.bbbbbbbbbbbbbbbb"


def good() -> dict[str, Any]:
    return {"apiVersion": bundle.API_VERSION, "kind": bundle.KIND, "site": "shop-9",
            "siteLabel": "topology.kubernetes.io/zone", "endpoint": "203.0.113.7:6443",
            "caCertHashes": ["sha256:" + "ab" * 32], "discoveryToken": DISC, "expires": "2026-11-29T12:00:00Z",
            "package": "kube-linux-amd64-v1.33.13.tar.gz",
            "nodes": [{"name": "b1", "token": NODE_TOKEN, "enableEdge": True,
                       "labels": {"topology.kubernetes.io/zone": "shop-9"}}]}


def write(tmp_path: Path, data: Any, mode: int = 0o600) -> Path:
    p = tmp_path / bundle.FILE
    p.write_text(json.dumps(data) if not isinstance(data, str) else data)
    p.chmod(mode)
    return p


def test_a_bundle_gives_the_join_its_flags(tmp_path: Path) -> None:
    b = bundle.load(write(tmp_path, good()), now=NOW)
    flags = b.join_flags("b1", tmp_path)
    assert flags == {"endpoint": "203.0.113.7:6443", "ca_hashes": ("sha256:" + "ab" * 32,),
                     "discovery_token": DISC, "tls_bootstrap_token": NODE_TOKEN,
                     "install_pkg_path": str(tmp_path / "kube-linux-amd64-v1.33.13.tar.gz"), "node_name": "b1",
                     "enable_edge": True, "node_labels": ("topology.kubernetes.io/zone=shop-9",)}
    assert DISC not in repr(b) and NODE_TOKEN not in repr(b)
    # a round trip through the writer's JSON gives the same bundle
    assert bundle.parse(json.loads(b.to_json())) == b
    with pytest.raises(UsageError, match=r"node `c9` is not in the bundle for site shop-9 \(it has: b1\)"):
        b.join_flags("c9", tmp_path)


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "Secret"}, "not a SiteBundle"),
    ({"endpoint": "203.0.113.7"}, "`endpoint` has no port"),
    ({"caCertHashes": []}, "`caCertHashes` is not a list"),
    ({"discoveryToken": "nope"}, "not of the form"),
    ({"package": "../../etc/shadow"}, "`package` is not an install package's file name"),
    ({"package": "kube-linux-amd64-v1.33.13.tar.gz/../x"}, "`package` is not"),
    ({"site": "no spaces"}, "not a label value"),
    ({"expires": "soon"}, "`expires` is not a time"),
    ({"nodes": [{"name": "B_1", "token": NODE_TOKEN}]}, "nodes[0].name is not a node name"),
    ({"nodes": [{"name": "b1", "token": NODE_TOKEN}, {"name": "b1", "token": NODE_TOKEN}]}, "listed twice"),
    ({"nodes": [{"name": "b1", "token": NODE_TOKEN, "labels": {"kubernetes.io/role": "x"}}]}, "may not set label"),
])
def test_a_bundle_that_is_not_what_create_writes_is_refused(tmp_path: Path, change: dict[str, Any],
                                                            message: str) -> None:
    with pytest.raises(ConfigError) as err:
        bundle.load(write(tmp_path, {**good(), **change}), now=NOW)
    assert message in err.value.message and f"bundle `{tmp_path / bundle.FILE}`" in err.value.message
    assert DISC not in err.value.message and NODE_TOKEN not in err.value.message


def test_permissions_size_and_expiry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="readable by other users") as err:
        bundle.load(write(tmp_path, good(), mode=0o644), now=NOW)
    assert err.value.hint == f"chmod 600 {tmp_path / bundle.FILE}"
    with pytest.raises(ConfigError, match="is not JSON"):
        bundle.load(write(tmp_path, "{not json"), now=NOW)
    with pytest.raises(ConfigError, match="at most"):
        bundle.load(write(tmp_path, " " * (bundle.MAX_BYTES + 1)), now=NOW)
    with pytest.raises(ConfigError, match="expired at 2026-11-29 12:00 UTC"):
        bundle.load(write(tmp_path, good()), now=NOW + dt.timedelta(days=3))
    with pytest.raises(UsageError, match="cannot read the bundle"):
        bundle.load(tmp_path / "missing.json")
