"""Phases `kubelet-config` (configuration, bootstrap kubeconfig, unit) and `kubelet-start` (TLS bootstrap, then,
on edge nodes, the switch to lite-apiserver; wait for the Node)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from edgeadm import events as ev
from edgeadm import waiting
from edgeadm.constants import EDGE_LABEL, EDGE_VIRTUAL_ADDR, LITE_APISERVER_PORT
from edgeadm.node import units
from edgeadm.node.api import NodeAPI
from edgeadm.node.paths import CONTAINERD_SOCK
from edgeadm.phases.join.data import JoinData

# Kernel parameters kube-proxy sets on its node (iptables and ipvs modes: localhost NodePorts, conntrack table and
# timeouts, bridge netfilter, ipvs tuning). Only those present when join runs are noted.
KUBE_PROXY_SYSCTLS = ("net.ipv4.conf.all.route_localnet", "net.netfilter.nf_conntrack_max",
                      "net.netfilter.nf_conntrack_tcp_timeout_established",
                      "net.netfilter.nf_conntrack_tcp_timeout_close_wait", "net.bridge.bridge-nf-call-iptables",
                      "net.bridge.bridge-nf-call-ip6tables", "net.ipv4.vs.conntrack", "net.ipv4.vs.conn_reuse_mode",
                      "net.ipv4.vs.expire_nodest_conn", "net.ipv4.vs.expire_quiescent_template",
                      "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce")


def api_server_url(data: JoinData) -> str:
    """Where this node's kubelet talks to: the local lite-apiserver on edge nodes, else the endpoint."""
    if data.options.enable_edge:
        info = data.cluster().edge_info
        return f"https://{info.get('edge-virtual-addr', EDGE_VIRTUAL_ADDR)}:" \
               f"{info.get('lite-apiserver-port', LITE_APISERVER_PORT)}"
    return f"https://{data.options.endpoint}"


def kubelet_config(data: JoinData) -> None:
    h, paths, o, cluster = data.host(), data.paths, data.options, data.cluster()
    data.events.emit(ev.Step("[kubelet] Writing the kubelet configuration from kube-system/kubelet-config"))
    h.write_file(paths.ca_crt, cluster.ca_pem)
    # TLS bootstrap goes straight to the API server: lite-apiserver can only forward requests with the kubelet's
    # client certificate, which does not exist yet. kubelet-start then points the kubelet at lite-apiserver.
    h.write_file(paths.bootstrap_conf, units.kubeconfig(f"https://{o.endpoint}", cluster.ca_pem, {"token": o.token}),
                 0o600)
    cfg: dict[str, Any] = dict(cluster.kubelet_config)
    cfg.update({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                "containerRuntimeEndpoint": data.cri_socket, "rotateCertificates": True})
    cfg.setdefault("authentication", {}).setdefault("x509", {})["clientCAFile"] = str(paths.ca_crt)
    if o.kubelet_config_patch is not None:
        units.merge(cfg, copy.deepcopy(o.kubelet_config_patch))
    h.write_file(paths.kubelet_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=False).encode())
    args = [f"--container-runtime-endpoint={data.cri_socket}", f"--hostname-override={o.node_name}"]
    labels = [f"{k}={v}" for k, v in o.node_labels] + ([EDGE_LABEL] if o.enable_edge else [])
    if labels:
        args.append(f"--node-labels={','.join(labels)}")
    h.write_file(paths.kubelet_dir / "kubeadm-flags.env", units.kubelet_flags(args))
    after = "containerd.service" + (" lite-apiserver.service" if o.enable_edge else "")
    if o.cri_socket:
        after = "lite-apiserver.service" if o.enable_edge else ""
    h.write_file(paths.units / "kubelet.service", units.kubelet_unit(paths, after=after))
    for p in (paths.kubelet_conf, paths.kubelet_dir / "pki", paths.k8s / "manifests", Path("/var/log/pods"),
              Path("/var/log/containers"), Path("/var/lib/dockershim"), paths.cni_conf,
              Path("/usr/libexec/kubernetes"),  # the kubelet's default volume plugin directory
              Path("/var/lib/cni")):  # CNI's state for this node's pods (host-local IP allocations)
        h.expect(p)
    for bridge in units.cni_bridges(paths.cni_conf):  # made by CNI when the first pod starts; reset deletes it
        h.netdev(bridge)
    h.expect(Path("/run/netns"))  # where the runtime pins pod network namespaces
    # kube-proxy (edge-kube-proxy on edge nodes) runs here too: the runtime creates its hostPath mounts' sources,
    # iptables its lock file, and kube-proxy tunes kernel parameters; reset puts each back as it was
    for p in (Path("/lib/modules"), Path("/run/xtables.lock")):
        h.expect(p)
    for key in KUBE_PROXY_SYSCTLS:
        h.sysctl_expected(key)
    h.chains_added()  # the kubelet's KUBE-* chains, CNI's and kube-proxy's, removed by reset
    # What the kubelet will run is removed by reset (after the kubelet stops, before the runtime does): containerd's
    # shims outlive its unit (KillMode=process), and pod network namespaces outlive their processes.
    if o.cri_socket:
        h.containers_on(o.cri_socket.removeprefix("unix://"), str(paths.bin / "edgeadm-ctr"))
    else:
        h.containers_on(CONTAINERD_SOCK, str(paths.bin / "ctr"))


def kubelet_start(data: JoinData) -> None:
    h, paths, o = data.host(), data.paths, data.options
    data.events.emit(ev.Step("[kubelet-start] Starting the kubelet"))
    h.unit("kubelet.service")
    if h.dry_run:
        return
    h.node_registered(o.node_name)
    data.events.emit(ev.Step("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap"))
    pem = paths.kubelet_client_pem
    waiting.until(lambda: pem.exists() and paths.kubelet_conf.exists(), timeout=o.register_timeout,
                  what=f"the kubelet TLS bootstrap ({pem})", interval=0.5)
    if o.enable_edge:
        _through_lite_apiserver(data)
    ready = NodeAPI(o.endpoint, data.cluster().ca_pem, pem).wait_registered(o.node_name, o.register_timeout)
    data.events.emit(ev.Step(f"[kubelet-start] Node `{o.node_name}` registered (Ready={ready})"))


def _through_lite_apiserver(data: JoinData) -> None:
    """Point the bootstrapped kubelet at the local lite-apiserver and restart it."""
    h, paths = data.host(), data.paths
    conf = yaml.safe_load(paths.kubelet_conf.read_text())
    for cluster in conf.get("clusters") or []:
        cluster["cluster"]["server"] = api_server_url(data)
    h.write_file(paths.kubelet_conf, yaml.safe_dump(conf, sort_keys=False).encode(), 0o600)
    h.restart("kubelet.service")
    data.events.emit(ev.Step("[kubelet-start] The kubelet now reaches the cluster through lite-apiserver at "
                             f"{api_server_url(data)}"))
