"""What the rendered templates mean, beyond byte equality with the golden files: the tunnel configuration uses only
keys SuperEdge v0.9.0 reads, ports agree between Service, probe and configuration, and every image is the one asked
for. The golden files alone would accept a wrong key as long as it was wrong consistently."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgeadm import render
from edgeadm.values import images

VALUES = yaml.safe_load((Path(__file__).parents[1] / "data" / "render" / "default" / "values.yaml").read_text())

# The TOML keys tunnel v0.9.0 decodes (struct tags in pkg/tunnel/conf/config.go): a nested mapping of key -> type.
# A key outside this is silently ignored by the binary (it uses BurntSushi/toml without strict mode), which is how
# the old templates ran every listener on port 0.
CLOUD_SCHEMA = {"mode": {"cloud": {
    "stream": {"server": {"grpc_port": int, "log_port": int, "metrics_port": int, "channelz_addr": str},
               "register": {"service": str}},
    "egress": {"port": int}, "http_proxy": {"port": int}, "ssh": {"port": int}}}}
EDGE_SCHEMA = {"mode": {"edge": {
    "stream": {"client": {"token": str, "dns": str, "server_name": str, "log_port": int, "channelz_addr": str}},
    "http_proxy": {"ip": str, "port": str}}}}


def objects(template: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render.render(template, VALUES)}


def check_schema(doc: dict[str, Any], schema: dict[str, Any], where: str = "") -> None:
    for key, value in doc.items():
        assert key in schema, f"`{where}{key}` is not read by tunnel v0.9.0"
        expected = schema[key]
        if isinstance(expected, dict):
            assert isinstance(value, dict), f"`{where}{key}` should be a table"
            check_schema(value, expected, f"{where}{key}.")
        else:
            assert type(value) is expected, \
                f"`{where}{key}` is {type(value).__name__}, v0.9.0 reads {expected.__name__}"


def container(obj: dict[str, Any]) -> dict[str, Any]:
    (c,) = obj["spec"]["template"]["spec"]["containers"]
    return c


def test_tunnel_cloud_configuration_is_what_v090_reads() -> None:
    objs = objects("tunnel-cloud.yaml")
    conf = tomllib.loads(objs[("ConfigMap", "tunnel-cloud-conf")]["data"]["mode.toml"])
    check_schema(conf, CLOUD_SCHEMA)
    cloud = conf["mode"]["cloud"]
    server = cloud["stream"]["server"]
    assert {server["grpc_port"], server["log_port"], server["metrics_port"], cloud["egress"]["port"],
            cloud["http_proxy"]["port"], cloud["ssh"]["port"]}.isdisjoint({0}), "a port left at 0 is random"

    deployment = objs[("Deployment", "tunnel-cloud")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert container(deployment)["livenessProbe"]["httpGet"]["port"] == server["log_port"]
    # the register service must select tunnel-cloud's own pods (the binary reads its endpoints)
    register = objs[("Service", cloud["stream"]["register"]["service"])]
    assert register["spec"]["selector"].items() <= pod_labels.items()
    published = {p["name"]: p for p in register["spec"]["ports"]}
    assert set(published) == {"grpc"}, "only the stream port is published on the nodes"
    assert published["grpc"]["targetPort"] == server["grpc_port"]
    assert register["spec"]["type"] == "NodePort"

    internal = objs[("Service", "tunnel-cloud-internal")]
    assert internal["spec"]["type"] == "ClusterIP"
    assert internal["spec"]["selector"].items() <= pod_labels.items()
    targets = {p["name"]: p["targetPort"] for p in internal["spec"]["ports"]}
    assert targets == {"egress": cloud["egress"]["port"], "http-proxy": cloud["http_proxy"]["port"],
                       "ssh": cloud["ssh"]["port"], "tunnel-metrics": server["metrics_port"]}
    # the paths v0.9.0 hard-codes (pkg/tunnel/util/const.go) are where the Secret and ConfigMaps are mounted
    mounts = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/etc/tunnel/certs"]]["secret"]["secretName"] == "tunnel-cloud-cert"
    assert volumes[mounts["/etc/tunnel/token"]]["configMap"]["name"] == "tunnel-cloud-token"
    assert volumes[mounts["/etc/tunnel/nodes"]]["configMap"]["name"] == "tunnel-nodes"
    assert volumes[mounts["/etc/tunnel/cache"]]["configMap"]["name"] == "tunnel-cache"
    assert ("ConfigMap", "tunnel-nodes") in objs
    # cloud.* serve the stream, egress.* the API server's CONNECT port, ca.crt checks the API server's client cert
    # (our patch 0004: hack/superedge-patches); v0.9.0 reads them at the paths util/const.go fixes
    assert set(objs[("Secret", "tunnel-cloud-cert")]["data"]) == {"cloud.crt", "cloud.key", "egress.crt",
                                                                   "egress.key", "ca.crt"}


def test_tunnel_edge_configuration_is_what_v090_reads() -> None:
    objs = objects("tunnel-edge.yaml")
    conf = tomllib.loads(objs[("ConfigMap", "tunnel-edge-conf")]["data"]["mode.toml"])
    check_schema(conf, EDGE_SCHEMA)
    client = conf["mode"]["edge"]["stream"]["client"]
    assert client["server_name"] == f"{VALUES['master_public_host']}:{VALUES['tunnel']['nodeport']}"
    assert client["token"] == VALUES["tunnel"]["token"]
    assert client["dns"] in ("tunnelcloud.superedge.io",)  # a name the cloud certificate carries (certs.py)
    daemonset = objs[("DaemonSet", "tunnel-edge")]
    assert container(daemonset)["livenessProbe"]["httpGet"]["port"] == client["log_port"]
    mounts = {m["mountPath"]: m["name"] for m in container(daemonset)["volumeMounts"]}
    volumes = {v["name"]: v for v in daemonset["spec"]["template"]["spec"]["volumes"]}
    secret = volumes[mounts["/etc/tunnel/certs"]]["secret"]["secretName"]
    assert set(objs[("Secret", secret)]["data"]) == {"ca.crt"}


@pytest.mark.parametrize("template", render.template_names())
def test_every_image_is_the_one_requested(template: str) -> None:
    wanted = images("registry.example:5000/team/edge", "v9.8.7-rc.1")
    seen = set()
    for obj in render.render(template, {**VALUES, "images": wanted}):
        pod = (obj.get("spec") or {}).get("template", {}).get("spec")
        for c in (pod or {}).get("containers", []) + (pod or {}).get("initContainers", []):
            assert c["image"] in wanted.values(), f"{obj['kind']} {obj['metadata']['name']} runs {c['image']}"
            seen.add(c["image"])
    name = template.removesuffix(".yaml")
    if name in ("tunnel-cloud", "tunnel-edge"):
        assert seen == {wanted["tunnel"]}
    elif name.replace("-", "_") in wanted:
        assert seen == {wanted[name.replace("-", "_")]}


def test_the_node_taint_webhook_sees_only_edge_nodes() -> None:
    """It lifts the NoExecute unreachable taint from nodes no peer voted unhealthy; nothing votes for cloud nodes,
    so it must not see them (their pods must still be moved when they die)."""
    hooks = {w["name"]: w for w in objects("edge-health-webhook.yaml")[
        ("MutatingWebhookConfiguration", "edge-health-admission")]["webhooks"]}
    assert hooks["node-taint.k8s.io"]["objectSelector"] == {"matchLabels": {"superedge.io/edge-node": "enable"}}
    assert hooks["node-taint.k8s.io"]["rules"][0]["resources"] == ["nodes"]
