"""Phase `egress`: this master's kube-apiserver reaches kubelets (logs, exec, port-forward) through tunnel-cloud.

The changes are on the master's disk (see `edgeadm.master`), journaled in its own state directory; the kubelet
restarts the API server when the static pod manifest changes, and the phase waits until it serves again with the
new flags. On other masters the user runs the same addon command (the cluster objects are then unchanged).
"""

from __future__ import annotations

from typing import Any

from edgeadm import events as ev
from edgeadm import master, pki, waiting
from edgeadm.constants import EDGE_NAMESPACE, TUNNEL_EGRESS_PORT
from edgeadm.errors import EdgeadmError
from edgeadm.kube.errors import KubeError
from edgeadm.kube.types import KubeAPI
from edgeadm.phases.addon.data import AddonData

CLIENT_CN = "system:edgeadm:tunnel-egress"  # an identity with no RBAC bindings: it only opens the tunnel


def egress_url(data: AddonData) -> str:
    svc = data.kube.get("v1", "Service", "tunnel-cloud-internal", EDGE_NAMESPACE) or {}
    ip = (svc.get("spec") or {}).get("clusterIP")
    if not ip:
        if data.kube.dry_run:
            return f"https://<tunnel-cloud-internal>:{TUNNEL_EGRESS_PORT}"
        raise EdgeadmError(f"Service `{EDGE_NAMESPACE}/tunnel-cloud-internal` has no cluster IP")
    return f"https://{ip}:{TUNNEL_EGRESS_PORT}"


def run(data: AddonData) -> None:
    paths = data.master_paths
    pod = master.read_manifest(paths)
    ca = data.ca()
    crt, key = paths.egress_dir / "tunnel-egress-client.crt", paths.egress_dir / "tunnel-egress-client.key"
    old_crt = crt.read_text() if crt.is_file() else None
    old_key = key.read_text() if key.is_file() else None
    if pki.reusable(old_crt, old_key, ca.cert, [], []) and old_crt and old_key:
        pair = pki.KeyPair(old_crt.encode(), old_key.encode())
    else:
        pair = pki.sign_pair(ca.cert, ca.key, cn=CLIENT_CN, client=True)
    url = egress_url(data)
    h = data.master_host()
    h.ensure_dir(paths.egress_dir)
    h.write_file(crt, pair.cert_pem, 0o644)
    h.write_file(key, pair.key_pem, 0o600)
    h.write_file(paths.egress_dir / "egress-selector-configuration.yaml", master.egress_configuration(
        url, paths), 0o600)
    wanted = master.with_egress(pod, paths)
    if wanted != pod:
        h.write_file(paths.manifest, master.manifest_bytes(wanted), 0o600)
        if not data.kube.dry_run:
            data.events.emit(ev.Step("[egress] kube-apiserver manifest updated; waiting for the kubelet to restart "
                                     "the API server"))
            wait_for_apiserver(data.kube, wanted, timeout=data.options.timeout)
    data.events.emit(ev.Step(f"[egress] kube-apiserver on this master reaches kubelets through tunnel-cloud "
                             f"({url})"))


def wait_for_apiserver(kube: KubeAPI, pod: dict[str, Any], *, timeout: float) -> None:
    """Until the API server's mirror pod on this master runs the manifest's command and the server is ready."""
    command = master.apiserver_container(pod)["command"]
    address = master.advertise_address(pod)

    def restarted() -> bool:
        try:
            pods = kube.list("v1", "Pod", namespace="kube-system", label_selector="component=kube-apiserver")
        except (KubeError, OSError):
            return False  # the API server is down while the kubelet swaps it
        for p in pods:
            status = p.get("status") or {}
            if address and status.get("podIP") != address and status.get("hostIP") != address:
                continue
            running = (p.get("spec") or {}).get("containers") or [{}]
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            if running[0].get("command") == command and ready:
                return True
        return False

    waiting.until(restarted, timeout=timeout, what="the kube-apiserver to restart with its new "
                  "manifest", interval=1.0)
