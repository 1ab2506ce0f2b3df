"""Options are parsed once, outside click: every value is validated before anything is contacted or changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeadm.errors import EXIT_USAGE, UsageError
from edgeadm.options import AddonOptions, JoinOptions

HASH = "sha256:" + "ab" * 32
TOKEN = "abcdef.0123456789abcdef"


def join(**kw: object) -> JoinOptions:
    args: dict[str, object] = {"endpoint": "10.0.0.1:6443", "token": TOKEN, "ca_hashes": (HASH,),
                               "install_pkg_path": "/pkg.tgz", "node_name": "edge-1"}
    args.update(kw)
    return JoinOptions.parse(**args)  # type: ignore[arg-type]


def test_join_defaults_and_normalisation() -> None:
    o = join(ca_hashes=(HASH.upper().replace("SHA256", "sha256"), HASH), node_name="Edge-1",
             install_pkg_sha256="SHA256:" + "0" * 64, cri_socket="/run/containerd/containerd.sock")
    assert o.ca_hashes == (HASH,)
    assert o.node_name == "edge-1"
    assert o.install_pkg_sha256 == "0" * 64
    assert o.cri_socket == "unix:///run/containerd/containerd.sock"
    assert (o.token_id, o.token) == ("abcdef", TOKEN)
    assert "0123456789abcdef" not in repr(o)  # the secret never shows in logs or tracebacks


def test_join_takes_kubeadms_separate_discovery_and_tls_bootstrap_tokens() -> None:
    both = join()
    assert (both.discovery_token_id, both.token_id) == ("abcdef", "abcdef")
    split = join(token=None, discovery_token="disc01.aaaaaaaaaaaaaaaa", tls_bootstrap_token="boot01.bbbbbbbbbbbbbbbb")
    assert (split.discovery_token_id, split.discovery_token_secret) == ("disc01", "a" * 16)
    assert split.token == "boot01.bbbbbbbbbbbbbbbb"  # the kubelet's bootstrap credential
    assert "a" * 16 not in repr(split) and "b" * 16 not in repr(split)
    # --token fills whichever of the two is not given
    mixed = join(discovery_token="disc01.aaaaaaaaaaaaaaaa")
    assert (mixed.discovery_token_id, mixed.token_id) == ("disc01", "abcdef")
    with pytest.raises(UsageError, match="a bootstrap token is required"):
        join(token=None, tls_bootstrap_token="boot01.bbbbbbbbbbbbbbbb")
    with pytest.raises(UsageError, match="not of the form"):
        join(discovery_token="nope")


@pytest.mark.parametrize(("kw", "message", "flag"), [
    ({"endpoint": "10.0.0.1:99999"}, "invalid port", None),
    ({"token": "nope"}, "not of the form", None),
    ({"ca_hashes": ("sha1:abc",)}, "is not a CA hash", None),
    ({"install_pkg_path": None}, "--install-pkg-path is required", None),
    ({"ca_hashes": ()}, "--discovery-token-ca-cert-hash is required", None),
    ({"node_name": "edge 1 --v=9"}, "not a valid node name", "--node-name"),
    ({"node_name": "a" * 254}, "not a valid node name", "--node-name"),
    ({"node_name": "under_score"}, "not a valid node name", "--node-name"),
    ({"install_pkg_sha256": "12ab"}, "is not a sha256", "--install-pkg-sha256"),
    ({"cri_socket": "containerd.sock"}, "not a unix socket path", "--cri-socket"),
])
def test_join_refuses_bad_values(kw: dict[str, object], message: str, flag: str | None) -> None:
    with pytest.raises(UsageError, match=message) as err:
        join(**kw)
    assert err.value.flag == flag and err.value.exit_code == EXIT_USAGE


def test_unsafe_skip_replaces_the_pin() -> None:
    assert join(ca_hashes=(), unsafe_skip_ca_verification=True).ca_hashes == ()


def addon(tmp_path: Path, **kw: object) -> AddonOptions:
    args: dict[str, object] = {"kubeconfig": None, "ca_cert": tmp_path / "ca.crt", "ca_key": tmp_path / "ca.key",
                               "master_public_addr": "203.0.113.10:6443"}
    args.update(kw)
    return AddonOptions.parse(**args)  # type: ignore[arg-type]


def test_addon_normalisation(tmp_path: Path) -> None:
    o = addon(tmp_path, edge_version="0.9.0", edge_image_repository="registry.local:5000/superedge/")
    assert o.edge_version == "v0.9.0"
    assert o.edge_image_repository == "registry.local:5000/superedge"


@pytest.mark.parametrize(("kw", "flag"), [
    ({"master_public_addr": "http://x"}, "--master-public-addr"),
    ({"edge_version": "v0.9.0\n        securityContext: {privileged: true}"}, "--edge-version"),
    ({"edge_version": "latest"}, "--edge-version"),
    ({"edge_image_repository": "Repo With Spaces"}, "--edge-image-repository"),
    ({"edge_image_repository": "r/x\nkind: ClusterRoleBinding"}, "--edge-image-repository"),
    ({"edge_virtual_addr": "169.254.20.11/32"}, "--edge-virtual-addr"),
    ({"edge_virtual_addr": "10.0.0.5"}, "--edge-virtual-addr"),
    ({"edge_virtual_addr": "fe80::1"}, "--edge-virtual-addr"),
])
def test_addon_refuses_values_that_would_reach_templates(tmp_path: Path, kw: dict[str, object], flag: str) -> None:
    with pytest.raises(UsageError) as err:
        addon(tmp_path, **kw)
    assert err.value.flag == flag


@pytest.mark.parametrize(("layout", "message"), [
    ({}, "`{d}` is not a directory"),  # missing
    ({"tunnel-clod.yaml": b"x"}, "`tunnel-clod.yaml` in `{d}` is not one of edgeadm's templates"),  # a typo
    ({"tunnel-cloud.yaml.j2": b"x"}, "`tunnel-cloud.yaml.j2` in `{d}` is not one of edgeadm's templates"),
    ({"tunnel-cloud.yaml/": b""}, "`tunnel-cloud.yaml` in `{d}` is not one of edgeadm's templates"),  # a directory
    ({"tunnel-cloud.yaml": b"\xff\xfe\x00kind"}, "`{d}/tunnel-cloud.yaml` is not UTF-8 text"),
])
def test_manifest_dir_holds_only_readable_overrides_of_our_templates(tmp_path: Path, layout: dict[str, bytes],
                                                                    message: str) -> None:
    d = tmp_path / "overrides"
    if layout:
        d.mkdir()
    for name, data in layout.items():
        if name.endswith("/"):
            (d / name).mkdir()
        else:
            (d / name).write_bytes(data)
    with pytest.raises(UsageError) as err:
        addon(tmp_path, manifest_dir=d)
    assert err.value.message == message.format(d=d)
    assert err.value.flag == "--manifest-dir"


def test_manifest_dir_ignores_hidden_files(tmp_path: Path) -> None:
    d = tmp_path / "overrides"
    d.mkdir()
    (d / ".tunnel-cloud.yaml.swp").write_bytes(b"\xff")
    (d / "tunnel-cloud.yaml").write_text("kind: ConfigMap\n")
    assert addon(tmp_path, manifest_dir=d).manifest_dir == d


@pytest.mark.parametrize(("text", "message"), [
    ("cgroupRoot: [unclosed", "is not YAML"),
    ("- a list\n- not a mapping\n", "is not a mapping"),
    ("just text\n", "is not a mapping"),
    ("1: numeric key\n", "is not a mapping"),
    ("authentication: {anonymous: {enabled: true}}\n", "authentication.anonymous.enabled: True"),
    ("authentication: {webhook: {enabled: false}}\n", "authentication.webhook.enabled: False"),
    ("authorization: {mode: AlwaysAllow}\n", "authorization.mode: 'AlwaysAllow'"),
    ("readOnlyPort: 10255\n", "readOnlyPort: 10255"),
    ("cgroupdriver: systemd\n", "cgroupdriver, not a kubelet configuration field"),
    ("cgroupRoot: /x\nmaxpods: 10\n", "maxpods, not a kubelet configuration field"),
    ("\udcff\udcfe\x00 binary", "is not UTF-8 text"),
])
def test_kubelet_patch_is_checked_before_anything_changes(tmp_path: Path, text: str, message: str) -> None:
    patch = tmp_path / "patch.yaml"
    patch.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(UsageError, match=message) as err:
        join(kubelet_config_patch=patch)
    assert err.value.flag == "--kubelet-config-patch"


def test_weakening_patch_needs_the_explicit_flag(tmp_path: Path) -> None:
    patch = tmp_path / "patch.yaml"
    patch.write_text("authorization: {mode: AlwaysAllow}\nreadOnlyPort: 0\ncgroupRoot: /x\n")
    o = join(kubelet_config_patch=patch, allow_insecure_kubelet_config=True)
    assert o.kubelet_config_patch == {"authorization": {"mode": "AlwaysAllow"}, "readOnlyPort": 0, "cgroupRoot": "/x"}
    patch.write_text("readOnlyPort: 0\nauthorization: {mode: Webhook}\ncgroupDriver: cgroupfs\n")
    assert join(kubelet_config_patch=patch).kubelet_config_patch == {
        "readOnlyPort": 0, "authorization": {"mode": "Webhook"}, "cgroupDriver": "cgroupfs"}


@pytest.mark.parametrize(("given", "parsed"), [
    ((), ()),
    (("topology.kubernetes.io/zone=site-a",), (("topology.kubernetes.io/zone", "site-a"),)),
    (("zone=a", "example.com/rack=r1", "zone=a"), (("example.com/rack", "r1"), ("zone", "a"))),
    (("empty=",), (("empty", ""),)),
])
def test_node_labels_accepted(given: tuple[str, ...], parsed: tuple[tuple[str, str], ...]) -> None:
    from edgeadm.options import parse_node_labels

    assert parse_node_labels(given) == parsed


@pytest.mark.parametrize(("given", "message"), [
    ("zone", "`zone` is not KEY=VALUE"),
    ("zo ne=a", "`zo ne` is not a label key"),
    ("zone=a b", "`a b` is not a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)"),
    ("zone=a,--kubeconfig=/x", "`a,--kubeconfig=/x` is not a label value (at most 63 of A-Z a-z 0-9 - _ ., "
                               "alphanumeric at both ends)"),
    ("node-role.kubernetes.io/master=", "the kubelet may not set label `node-role.kubernetes.io/master` on its "
                                        "Node (NodeRestriction)"),
    ("superedge.io/edge-node=enable", "`superedge.io/edge-node` is set by --enable-edge"),
])
def test_node_labels_refused(given: str, message: str) -> None:
    from edgeadm.options import parse_node_labels

    with pytest.raises(UsageError) as exc:
        parse_node_labels((given,))
    assert exc.value.message == message and exc.value.flag == "--node-labels"


def test_node_labels_given_twice_differently() -> None:
    from edgeadm.options import parse_node_labels

    with pytest.raises(UsageError, match="label `zone` given twice with different values"):
        parse_node_labels(("zone=a", "zone=b"))


def test_token_lines_from_stdin() -> None:
    from edgeadm.options import parse_token_lines

    assert parse_token_lines(TOKEN + "\n") == {"token": TOKEN}
    assert parse_token_lines("discovery-token=a\n\ntls-bootstrap-token=b\n") == {
        "discovery_token": "a", "tls_bootstrap_token": "b"}
    for bad, message in (("token=a\ntoken=b", "given twice"), ("a\nb", "line 1"), ("", "holds no token")):
        with pytest.raises(UsageError, match=message) as err:
            parse_token_lines(bad)
        assert err.value.flag == "--token-stdin"
