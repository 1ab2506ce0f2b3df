"""The batch inventory: inheritance, the same checks as `join`'s flags, every mistake with its location at once, and
a file that is not trusted (aliases, duplicate keys, unknown keys, secrets in the text, loose key permissions)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from edgeadm import inventory
from edgeadm.errors import EXIT_USAGE


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "edgeadm-linux-amd64-v0.1.0.tgz").write_bytes(b"release")
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key")
    key.chmod(0o600)
    return tmp_path


def write(d: Path, text: str) -> Path:
    p = d / "inventory.yaml"
    p.write_text(textwrap.dedent(text))
    return p


GOOD = """\
release: edgeadm-linux-amd64-v0.1.0.tgz
concurrency: 4
defaults:
  user: root
  keyFile: id_ed25519
  labels: {team: retail}
sites:
  - name: shop-1
    failureBudget: 1
    bandwidthLimit: 2M
    defaults: {user: edge, port: 2222}
    hosts:
      - {address: 10.1.0.11, nodeName: shop-1-a}
      - {address: 10.1.0.12, nodeName: shop-1-b, enableEdge: false, labels: {till: "2"}}
  - name: plant-2
    hosts:
      - {address: plant2.example.com, nodeName: p2, port: 22, password: {env: INV_PASS}}
"""


def test_a_good_inventory_with_inheritance(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INV_PASS", "s3cret-pass")
    inv = inventory.load(write(files, GOOD))
    assert inv.release == files / "edgeadm-linux-amd64-v0.1.0.tgz" and inv.concurrency == 4
    shop, plant = inv.sites
    assert (shop.name, shop.concurrency, shop.failure_budget, shop.relay, shop.bandwidth_limit) == (
        "shop-1", 2, 1, "per-site", 2 << 20)
    assert (plant.relay, plant.failure_budget, plant.bandwidth_limit) == ("none", None, None)
    a, b = shop.hosts
    assert (a.user, a.port, a.key_file, a.enable_edge, a.where) == ("edge", 2222, files / "id_ed25519", True,
                                                                    "sites[0].hosts[0]")
    assert b.enable_edge is False
    # the site's name is the site label; labels merge from defaults and the host, checked as --node-labels
    assert b.labels == (("team", "retail"), ("till", "2"), ("topology.kubernetes.io/zone", "shop-1"))
    (p2,) = plant.hosts
    assert (p2.user, p2.port, p2.node_name) == ("root", 22, "p2")
    assert p2.password is not None and p2.password.read() == "s3cret-pass"
    # the secret's value is nowhere in what was parsed
    assert "s3cret-pass" not in repr(inv) and "s3cret-pass" not in str(p2.password)
    assert [h.node_name for h in inv.hosts()] == ["shop-1-a", "shop-1-b", "p2"]


def test_every_mistake_is_reported_with_its_location_before_anything(files: Path) -> None:
    bad = """\
    release: missing.tgz
    concurrency: 0
    sites:
      - name: shop-1
        relay: sideways
        bandwidthLimit: fast
        hosts:
          - {address: 10.1.0.300, nodeName: a, keyFile: id_ed25519}
          - {address: 10.1.0.12, nodeName: Bad_Name, keyFile: id_ed25519}
          - {address: 10.1.0.13, nodeName: c, keyFile: id_ed25519, labels: {kubernetes.io/role: x}}
          - {address: 10.1.0.14, nodeName: d}
          - {address: 10.1.0.15, nodeName: a, keyFile: id_ed25519, sudoPassword: hunter2}
          - {address: 10.1.0.16, nodeName: f, keyFile: id_ed25519, prot: 22}
          - {address: 10.1.0.17, nodeName: g, keyFile: id_ed25519, kubeletConfigPatch: nowhere.yaml}
      - name: shop-1
        hosts: []
    """
    with pytest.raises(inventory.InventoryError) as err:
        inventory.load(write(files, bad))
    assert err.value.exit_code == EXIT_USAGE
    got = err.value.problems
    expected_starts = [
        "release: `", "concurrency: `0` is not a whole number",
        "sites[0].hosts[0].address: `10.1.0.300` is not an IP address or host name",
        "sites[0].hosts[1].nodeName: --node-name is not a valid node name",
        "sites[0].hosts[2].labels: the kubelet may not set label `kubernetes.io/role`",
        "sites[0].hosts[3]: no way to log in",
        "sites[0].hosts[4].sudoPassword: a secret must come from `{env: NAME}` or `{file: PATH}`",
        "sites[0].hosts[4].nodeName: node name `a` is also sites[0].hosts[0]",
        "sites[0].hosts[5].prot: unknown key",
        "sites[0].hosts[6].kubeletConfigPatch: `",
        "sites[0].relay: `sideways` is not one of per-site, none",
        "sites[0].bandwidthLimit: `fast` is not a rate",
        "sites[1].name: `shop-1` is also sites[0]",
        "sites[1].hosts: expected a non-empty list of hosts",
    ]
    for start in expected_starts:
        assert any(line.startswith(start) for line in got), (start, got)
    assert len(got) == len(expected_starts), got
    # one message: a head line and one line per problem; the secret given in the text is not echoed
    assert err.value.message.splitlines()[0].endswith(f"{len(got)} problems")
    assert "hunter2" not in err.value.message


@pytest.mark.parametrize(("text", "problem"), [
    ("a: &x [1]\nb: *x\n", "aliases are not allowed"),
    ("release: a\nrelease: b\nsites: []\n", "duplicate key `release`"),
    ("- just\n- a list\n", "expected a mapping, found a list"),
    ("release: x\n---\nrelease: y\n", "expected one YAML document, found 2"),
    ("release: [unclosed\n", "line 2:"),
])
def test_a_hostile_or_malformed_file_is_refused(files: Path, text: str, problem: str) -> None:
    with pytest.raises(inventory.InventoryError) as err:
        inventory.load(write(files, text))
    assert any(problem in p for p in err.value.problems), err.value.problems


def test_a_file_too_big_is_not_parsed(files: Path) -> None:
    p = files / "big.yaml"
    p.write_bytes(b"#" * (inventory.MAX_BYTES + 1))
    with pytest.raises(inventory.InventoryError) as err:
        inventory.load(p)
    assert "at most" in err.value.problems[0]


def test_keys_and_secret_files_must_be_private_and_env_secrets_set(files: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (files / "id_ed25519").chmod(0o644)
    secret = files / "sudo.pass"
    secret.write_text("pw\n")
    secret.chmod(0o640)
    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    text = """\
    release: edgeadm-linux-amd64-v0.1.0.tgz
    sites:
      - name: s
        hosts:
          - {address: 10.0.0.1, nodeName: a, keyFile: id_ed25519, sudoPassword: {file: sudo.pass}}
          - {address: 10.0.0.2, nodeName: b, password: {env: NOT_SET_HERE}}
          - {address: 10.0.0.3, nodeName: c, password: {env: A, file: b}}
    """
    with pytest.raises(inventory.InventoryError) as err:
        inventory.load(write(files, text))
    got = err.value.problems
    assert any(p.startswith("sites[0].hosts[0].keyFile: key file") and "chmod 600" in p for p in got), got
    assert any(p.startswith("sites[0].hosts[0].sudoPassword.file: secret file") and "0640" in p for p in got), got
    assert "sites[0].hosts[1].password.env: environment variable `NOT_SET_HERE` is not set" in got
    assert "sites[0].hosts[2].password: give exactly one of `env:` or `file:`" in got
    secret.chmod(0o600)
    (files / "id_ed25519").chmod(0o600)
    ok = inventory.load(write(files, text.replace("          - {address: 10.0.0.2, nodeName: b, password: "
                                                  "{env: NOT_SET_HERE}}\n", "").replace(
        "          - {address: 10.0.0.3, nodeName: c, password: {env: A, file: b}}\n", "")))
    (h,) = ok.hosts()
    assert h.sudo_password is not None and h.sudo_password.read() == "pw"


def test_an_inherited_mistake_names_where_the_host_got_it(files: Path) -> None:
    text = """\
    release: edgeadm-linux-amd64-v0.1.0.tgz
    defaults: {keyFile: id_ed25519, port: 70000}
    sites:
      - name: s
        hosts:
          - {address: 10.0.0.1, nodeName: a}
          - {address: 10.0.0.2, nodeName: b, port: 22}
    """
    with pytest.raises(inventory.InventoryError) as err:
        inventory.load(write(files, text))
    assert err.value.problems == ["sites[0].hosts[0] (inherited port): `70000` is not a whole number from 1 to "
                                  "65535"]
