"""The phases of `addon edge-apps`. Each reads the AddonContext and calls library code (kube, pki, render)."""

from __future__ import annotations

import copy
import ipaddress
import socket
import ssl
import time
from typing import Any

from edgeadm import console, pki, render
from edgeadm.addr import is_ip, join_host_port, split_host_port
from edgeadm.checks import Check, Outcome, run_checks
from edgeadm.constants import (
    BOOTSTRAP_GROUP, CONTROL_PLANE_LABELS, COREDNS_TAG, EDGE_HEALTH_TEMPLATES, EDGE_INFO_TEMPLATE, EDGE_LABEL,
    EDGE_LABEL_KEY, EDGE_LABEL_VALUE, EDGE_NAMESPACE, GRID_WRAPPER_ADDR, LITE_APISERVER_PORT,
    LOCAL_ENDPOINT_ANNOTATION, LOCAL_PORT_ANNOTATION, MAX_TESTED_MINOR, MIN_SERVER_MINOR, SERVICE_GROUP_TEMPLATES,
    TUNNEL_TEMPLATES,
)
from edgeadm.errors import ConfigError, EdgeadmError
from edgeadm.kube import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from edgeadm.phases.apply import MANAGED_LABELS, Applier
from edgeadm.record import Record
from edgeadm.workflows.addon import AddonContext

SIGNING_TIMEOUT = 20.0  # bootstrapsigner signs within a second or two; 20 s covers a busy controller-manager
NAMESPACE_CREATED_ANNOTATION = "edgeadm.superedge.io/created-by"


# ------------------------------------------------------------------------------------------------- preflight
def preflight(ctx: AddonContext) -> None:
    console.step("[preflight] Running pre-flight checks")
    o = ctx.options

    def ca_readable() -> Outcome:
        ctx.ca_cert = pki.load_cert(o.ca_cert)
        ctx.ca_pem = pki.cert_to_pem(ctx.ca_cert)
        return Outcome()

    def key_readable() -> Outcome:
        ctx.ca_key = pki.load_key(o.ca_key)
        return Outcome()

    def pair() -> Outcome:
        if ctx.ca_cert is None or ctx.ca_key is None:
            return Outcome()
        if not pki.matches(ctx.ca_cert, ctx.ca_key):
            return Outcome(errors=[f"`{o.ca_key}` is not the private key of `{o.ca_cert}`"])
        return Outcome()

    def cluster_ca() -> Outcome:
        if ctx.ca_cert is None:
            return Outcome()
        cluster_cas = _cluster_cas(ctx)
        if not cluster_cas:
            return Outcome(warnings=["could not read the cluster's CA to compare (no kube-root-ca.crt, no CA in "
                                     "the kubeconfig)"])
        mine = pki.spki_sha256(ctx.ca_cert)
        if mine not in cluster_cas:
            return Outcome(errors=[f"`{o.ca_cert}` is not the CA of this cluster ({mine} not in "
                                   f"{', '.join(sorted(cluster_cas))})"])
        return Outcome()

    def version() -> Outcome:
        info = ctx.kube.server_version()
        ctx.server_version = info.get("gitVersion", "")
        try:
            minor = int("".join(ch for ch in info.get("minor", "") if ch.isdigit()))
        except ValueError:
            return Outcome(errors=[f"cannot parse the server version {info!r}"])
        if minor < MIN_SERVER_MINOR:
            return Outcome(errors=[f"Kubernetes {ctx.server_version} is not supported (1.{MIN_SERVER_MINOR}+)"])
        if minor > MAX_TESTED_MINOR:
            return Outcome(warnings=[f"Kubernetes {ctx.server_version} is newer than edgeadm was tested with"])
        return Outcome()

    def control_plane() -> Outcome:
        for label in CONTROL_PLANE_LABELS:
            nodes = ctx.kube.list("v1", "Node", label_selector=label)
            if nodes:
                ctx.control_plane_label = label
                for n in nodes:
                    for a in (n.get("status") or {}).get("addresses") or []:
                        if a.get("type") in ("InternalIP", "ExternalIP") and a.get("address"):
                            ctx.control_plane_ips.append(a["address"])
                return Outcome()
        msg = ("no control-plane node found (label node-role.kubernetes.io/control-plane or .../master); "
               "cloud components stay Pending until one exists")
        if not o.master_public_addr:
            return Outcome(errors=[msg + "; pass --master-public-addr"])
        return Outcome(warnings=[msg])

    def master_address() -> Outcome:
        server_host, server_port = _kubeconfig_server(ctx)
        if o.master_public_addr:
            host, port = split_host_port(o.master_public_addr, default_port=server_port)
        elif ctx.control_plane_ips:
            host, port = ctx.control_plane_ips[0], server_port
        else:
            return Outcome()
        ctx.master_host, ctx.master_port = host, int(port or 6443)
        sans = _apiserver_sans(server_host, server_port)
        if sans is not None and host not in sans:
            return Outcome(warnings=[f"master public address `{host}` is not in the API server certificate's "
                                     "SANs; edge nodes will fail TLS unless a proxy in front serves it"])
        return Outcome()

    def signing() -> Outcome:
        return _check_token_signing(ctx)

    run_checks([
        Check("CACertificate", ca_readable), Check("CAKey", key_readable), Check("CAKeyPair", pair),
        Check("ClusterCA", cluster_ca), Check("KubernetesVersion", version), Check("ControlPlaneNodes", control_plane),
        Check("MasterPublicAddress", master_address), Check("TokenSigning", signing),
    ], o.ignore_preflight_errors)
    if ctx.ca_cert is None or ctx.ca_key is None:
        raise ConfigError("the CA certificate and key are required", hint="pass --ca.cert and --ca.key")
    if not ctx.master_host:
        raise ConfigError("cannot determine the master public address", hint="pass --master-public-addr HOST:PORT")


def _kubeconfig_server(ctx: AddonContext) -> tuple[str, int]:
    from urllib.parse import urlsplit

    url = urlsplit(ctx.kube.api_client.configuration.host)
    return url.hostname or "127.0.0.1", url.port or 443


def _cluster_cas(ctx: AddonContext) -> set[str]:
    """SPKI pins of the CA the cluster uses: kube-root-ca.crt and the kubeconfig's CA."""
    pins: set[str] = set()
    cm = ctx.kube.get("v1", "ConfigMap", "kube-root-ca.crt", "kube-system")
    pems: list[bytes] = []
    if cm and (cm.get("data") or {}).get("ca.crt"):
        pems.append(cm["data"]["ca.crt"].encode())
    ca_file = ctx.kube.api_client.configuration.ssl_ca_cert
    if ca_file:
        try:
            with open(ca_file, "rb") as fh:
                pems.append(fh.read())
        except OSError:
            pass
    for pem in pems:
        pins.update(pki.bundle_pins(pem, "cluster CA"))
    return pins


def _apiserver_sans(host: str, port: int) -> set[str] | None:
    """The SANs of the certificate the API server serves (None when it cannot be read)."""
    try:
        ctx_ssl = ssl.create_default_context()
        ctx_ssl.check_hostname = False
        ctx_ssl.verify_mode = ssl.CERT_NONE
        with socket.create_connection((host, port), timeout=5) as sock, \
                ctx_ssl.wrap_socket(sock, server_hostname=host if not is_ip(host) else None) as tls:
            der = tls.getpeercert(binary_form=True)
    except OSError:
        return None
    if not der:
        return None
    from cryptography import x509

    dns, ips = pki.san_strings(x509.load_der_x509_certificate(der))
    return set(dns) | set(ips)


def _check_token_signing(ctx: AddonContext) -> Outcome:
    """Prove bootstrapsigner/tokencleaner run by what the cluster does with a short-lived probe token."""
    k = ctx.kube
    if k.dry_run:
        return Outcome(warnings=["token signing not probed in --dry-run"])
    cluster_info = k.get("v1", "ConfigMap", "cluster-info", "kube-public")
    if cluster_info is not None and _signed_by_cluster(k, cluster_info):
        ctx.signing_verified = True  # the signer has already signed for a live token: evidence enough
        return Outcome()
    tid = pki.random_string(6, "abcdefghijklmnopqrstuvwxyz0123456789")
    tsec = pki.random_string(16, "abcdefghijklmnopqrstuvwxyz0123456789")
    name = f"bootstrap-token-{tid}"
    expired = cluster_info is None  # without cluster-info, prove tokencleaner instead: it deletes expired tokens
    exp = time.time() - 60 if expired else time.time() + 120
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": name, "namespace": "kube-system", "labels": dict(MANAGED_LABELS)},
        "stringData": {"token-id": tid, "token-secret": tsec, "usage-bootstrap-signing": "true",
                       "expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp)),
                       "description": "edgeadm preflight probe; deleted within seconds"},
    }
    k.create(secret)
    try:
        deadline = time.monotonic() + SIGNING_TIMEOUT
        while time.monotonic() < deadline:
            if expired:
                if k.get("v1", "Secret", name, "kube-system") is None:
                    return Outcome(warnings=["cluster-info does not exist yet: tokencleaner works; bootstrapsigner "
                                             "is verified after cluster-info is created"])
            else:
                cm = k.get("v1", "ConfigMap", "cluster-info", "kube-public") or {}
                if f"jws-kubeconfig-{tid}" in (cm.get("data") or {}):
                    ctx.signing_verified = True
                    return Outcome()
            time.sleep(0.25)
    finally:
        k.delete("v1", "Secret", name, "kube-system")
    what = "tokencleaner did not remove an expired token" if expired else "bootstrapsigner did not sign cluster-info"
    return Outcome(errors=[f"{what} within {SIGNING_TIMEOUT:.0f}s; start kube-controller-manager with "
                           "--controllers=*,bootstrapsigner,tokencleaner"])


def _signed_by_cluster(k: Any, cluster_info: dict[str, Any]) -> bool:
    """True when cluster-info carries a valid signature for an existing signing token (bootstrapsigner is alive)."""
    import base64

    from edgeadm.discovery import verify_jws

    data = cluster_info.get("data") or {}
    for key, sig in data.items():
        if not key.startswith("jws-kubeconfig-"):
            continue
        tid = key.removeprefix("jws-kubeconfig-")
        secret = k.get("v1", "Secret", f"bootstrap-token-{tid}", "kube-system")
        tsec = base64.b64decode(((secret or {}).get("data") or {}).get("token-secret", "")).decode()
        if tsec and verify_jws(data.get("kubeconfig") or "", sig, tid, tsec):
            return True
    return False


# --------------------------------------------------------------------------------------------------- prepare
def cluster_facts(kube: Any) -> dict[str, str]:
    """Service addresses the templates need: the `kubernetes` ClusterIP, cluster DNS and the service subnet."""
    svc = kube.get("v1", "Service", "kubernetes", "default") or {}
    cluster_ip = (svc.get("spec") or {}).get("clusterIP") or "10.96.0.1"
    dns_svc = kube.get("v1", "Service", "kube-dns", "kube-system")
    cluster_dns = ((dns_svc or {}).get("spec") or {}).get("clusterIP") or str(
        ipaddress.ip_network(f"{cluster_ip}/24", strict=False).network_address + 10)
    return {"kubernetes_cluster_ip": cluster_ip, "cluster_dns": cluster_dns,
            "service_subnet": str(ipaddress.ip_network(f"{cluster_ip}/12", strict=False))}


def prepare(ctx: AddonContext) -> None:
    o = ctx.options
    k = ctx.kube
    ns = EDGE_NAMESPACE
    facts = cluster_facts(k)
    cluster_ip = facts["kubernetes_cluster_ip"]
    version = o.edge_version if o.edge_version.startswith("v") else f"v{o.edge_version}"
    repo = o.edge_image_repository.rstrip("/")
    master = join_host_port(ctx.master_host, ctx.master_port)

    existing = Record.load(k, ns)
    if existing is not None:
        ctx.record = existing
    ctx.record_keys_before = ctx.record.keys()

    tunnel = _tunnel_material(ctx, ns)
    v: dict[str, Any] = {
        "edge_namespace": ns,
        "edge_label": EDGE_LABEL, "edge_label_key": EDGE_LABEL_KEY, "edge_label_value": EDGE_LABEL_VALUE,
        "control_plane_label": ctx.control_plane_label,
        "bootstrap_group": BOOTSTRAP_GROUP,
        "ca_crt": ctx.ca_pem.decode(),
        "master_public_addr": master, "master_public_host": ctx.master_host,
        "kubernetes_version": ctx.server_version, "kubelet_config_name": "kubelet-config",
        "dns_domain": "cluster.local", **facts,
        "edge_virtual_addr": o.edge_virtual_addr, "lite_apiserver_port": LITE_APISERVER_PORT,
        "images": images(repo, version),
        "tunnel": tunnel,
        "edge_health": _edge_health_material(ctx, ns),
        "lite_apiserver": _lite_apiserver_material(ctx, ns, cluster_ip),
    }
    ctx.values.update(v)
    # Render everything now, so a broken override fails before the cluster is touched.
    from edgeadm.constants import PREREQ_TEMPLATES

    for name in ("namespace.yaml", *PREREQ_TEMPLATES, *TUNNEL_TEMPLATES, *EDGE_HEALTH_TEMPLATES,
                 *SERVICE_GROUP_TEMPLATES, EDGE_INFO_TEMPLATE):
        render.render(name, ctx.values, override_dir=o.manifest_dir)
    ctx.record.params.update({"masterPublicAddr": master, "edgeVersion": version, "imageRepository": repo,
                              "edgeVirtualAddr": o.edge_virtual_addr})
    ctx.applier = Applier(k, ctx.record, ctx.report)


def images(repo: str, version: str) -> dict[str, str]:
    """Image references of the edge components for a registry and SuperEdge version."""
    names = ("tunnel", "edge-health", "edge-health-admission", "application-grid-wrapper",
             "application-grid-controller")
    out = {n.replace("-", "_"): f"{repo}/{n}:{version}" for n in names}
    out["coredns"] = f"{repo}/coredns:{COREDNS_TAG}"
    return out


def _existing_secret(ctx: AddonContext, name: str, ns: str) -> dict[str, str]:
    import base64

    obj = ctx.kube.get("v1", "Secret", name, ns)
    if not obj or (obj.get("metadata", {}).get("labels") or {}).get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
        return {}
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def _reusable(cert_pem: str | None, key_pem: str | None, ca: Any, dns: list[str], ips: list[str]) -> bool:
    """An existing certificate is kept when the same CA signed it, it is valid for a year more, and SANs match."""
    if not cert_pem or not key_pem:
        return False
    try:
        import datetime as dt

        cert = pki.load_cert_bytes(cert_pem.encode(), "existing certificate")
        cert.verify_directly_issued_by(ca)
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        if not pki.matches(cert, load_pem_private_key(key_pem.encode(), None)):
            return False
        if cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365):
            return False
        have_dns, have_ips = pki.san_strings(cert)
        return set(have_dns) == set(dns) and set(have_ips) == set(ips)
    except Exception:  # noqa: BLE001 - anything odd means "make a new one"
        return False


def _tunnel_material(ctx: AddonContext, ns: str) -> dict[str, Any]:
    token_cm = ctx.kube.get("v1", "ConfigMap", "tunnel-cloud-token", ns) or {}
    token = ((token_cm.get("data") or {}).get("token") or "").removeprefix("default:")
    if len(token) != 32:
        token = pki.random_string(32)
    old = _existing_secret(ctx, "tunnel-cloud-cert", ns)
    cloud_dns = ["tunnel.cloud.io", "tunnelcloud.superedge.io"]
    cloud_ips = ["127.0.0.1", *ctx.control_plane_ips]
    if is_ip(ctx.master_host):
        cloud_ips.append(ctx.master_host)
    else:
        cloud_dns.append(ctx.master_host)
    cloud_ips = list(dict.fromkeys(cloud_ips))
    egress_dns = [f"tunnel-cloud.{ns}.svc.cluster.local"]
    if _reusable(old.get("cloud.crt"), old.get("cloud.key"), ctx.ca_cert, cloud_dns, cloud_ips):
        cloud = pki.KeyPair(old["cloud.crt"].encode(), old["cloud.key"].encode())
    else:
        cloud = pki.sign_pair(ctx.ca_cert, ctx.ca_key, cn="TunnelCloudService", orgs=["superedge"], server=True,
                              dns=cloud_dns, ips=cloud_ips)
    if _reusable(old.get("egress.crt"), old.get("egress.key"), ctx.ca_cert, egress_dns, ["127.0.0.1"]):
        egress = pki.KeyPair(old["egress.crt"].encode(), old["egress.key"].encode())
    else:
        egress = pki.sign_pair(ctx.ca_cert, ctx.ca_key, cn="TunnelAnpServer", orgs=["superedge"], server=True,
                               dns=egress_dns, ips=["127.0.0.1"])
    return {"token": token, "cloud_crt": cloud.cert_pem.decode(), "cloud_key": cloud.key_pem.decode(),
            "egress_crt": egress.cert_pem.decode(), "egress_key": egress.key_pem.decode(), "nodeport": 0}


def _edge_health_material(ctx: AddonContext, ns: str) -> dict[str, Any]:
    hmac_cm = ctx.kube.get("v1", "ConfigMap", "hmac-config", ns) or {}
    hmac_key = (hmac_cm.get("data") or {}).get("hmackey") or pki.random_string(16)
    old = _existing_secret(ctx, "validate-admission-control-server-certs", ns)
    dns = [f"edge-health-admission.{ns}.svc"]
    if old.get("ca.crt"):
        try:
            ca = pki.load_cert_bytes(old["ca.crt"].encode(), "webhook CA")
            if _reusable(old.get("server.crt"), old.get("server.key"), ca, dns, []):
                return {"hmac_key": hmac_key, "ca_crt": old["ca.crt"], "server_crt": old["server.crt"],
                        "server_key": old["server.key"]}
        except EdgeadmError:
            pass
    # A webhook-only CA: its key is discarded, so it can sign nothing else.
    ca, ca_key = pki.new_ca("edge-health-admission-ca")
    server = pki.sign_pair(ca, ca_key, cn="edge-health-admission", orgs=["superedge"], server=True, dns=dns)
    return {"hmac_key": hmac_key, "ca_crt": pki.cert_to_pem(ca).decode(), "server_crt": server.cert_pem.decode(),
            "server_key": server.key_pem.decode()}


def lite_apiserver_sans(cluster_ip: str, edge_virtual_addr: str) -> tuple[list[str], list[str]]:
    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local"]
    return dns, list(dict.fromkeys(["127.0.0.1", cluster_ip, edge_virtual_addr]))


def _lite_apiserver_material(ctx: AddonContext, ns: str, cluster_ip: str) -> dict[str, str]:
    dns, ips = lite_apiserver_sans(cluster_ip, ctx.options.edge_virtual_addr)
    old = _existing_secret(ctx, "lite-apiserver-tls", ns)
    if _reusable(old.get("tls.crt"), old.get("tls.key"), ctx.ca_cert, dns, ips):
        return {"crt": old["tls.crt"], "key": old["tls.key"]}
    # server auth only: this shared key must never work as a client identity against the API server
    pair = pki.sign_pair(ctx.ca_cert, ctx.ca_key, cn="lite-apiserver", orgs=["superedge"], server=True, dns=dns,
                         ips=ips)
    return {"crt": pair.cert_pem.decode(), "key": pair.key_pem.decode()}


# ----------------------------------------------------------------------------------------------------- apply
def _render(ctx: AddonContext, name: str) -> list[dict[str, Any]]:
    return render.render(name, ctx.values, override_dir=ctx.options.manifest_dir)


def namespace(ctx: AddonContext) -> None:
    k = ctx.kube
    ns_obj = _render(ctx, "namespace.yaml")[0]
    name = ns_obj["metadata"]["name"]
    current = k.get("v1", "Namespace", name)
    ref = {"apiVersion": "v1", "kind": "Namespace", "name": name}
    ours = current is not None and (current["metadata"].get("annotations") or {}).get(
        NAMESPACE_CREATED_ANNOTATION) == "addon"
    if current is None or ours:
        # created by us (possibly by a run that crashed before writing the record)
        ns_obj["metadata"].setdefault("annotations", {})[NAMESPACE_CREATED_ANNOTATION] = "addon"
        ns_obj["metadata"].setdefault("labels", {}).update(MANAGED_LABELS)
        k.apply(ns_obj)
        ctx.record.add_created(ref)
        ctx.report.add("created" if current is None else "unchanged", f"Namespace {name}")
    else:
        ctx.applier.apply(ns_obj)
    ctx.record.save(k, MANAGED_LABELS)


def join_prerequisites(ctx: AddonContext) -> None:
    a = ctx.applier
    a.apply_all(_render(ctx, "bootstrap-rbac.yaml"), create_only=True)
    a.apply_all(_render(ctx, "cluster-info.yaml"), create_only=True)
    if not ctx.signing_verified and not ctx.kube.dry_run:
        _verify_signing_after_cluster_info(ctx)
    a.apply_all(_render(ctx, "kubeadm-config.yaml"), create_only=True)
    console.step("[upload-config] Uploading the kubelet component config to a ConfigMap")
    objs = _render(ctx, "kubelet-config.yaml")
    if ctx.kube.get("v1", "ConfigMap", ctx.values["kubelet_config_name"], "kube-system") is None:
        console.step(f'[kubelet] Creating a ConfigMap "{ctx.values["kubelet_config_name"]}" in namespace kube-system '
                     "with the configuration for the kubelets in the cluster")
    a.apply_all(objs, create_only=True)


def _verify_signing_after_cluster_info(ctx: AddonContext) -> None:
    """On clusters that had no cluster-info, prove bootstrapsigner now that it has something to sign."""
    outcome = _check_token_signing(ctx)
    ignored = {i.lower() for i in ctx.options.ignore_preflight_errors}
    if outcome.errors and not ({"tokensigning", "all"} & ignored):
        raise EdgeadmError(outcome.errors[0], hint="start kube-controller-manager with "
                                                   "--controllers=*,bootstrapsigner,tokencleaner")


def tunnel(ctx: AddonContext) -> None:
    a = ctx.applier
    for name in TUNNEL_TEMPLATES:
        if name == "tunnel-edge.yaml":
            ctx.values["tunnel"]["nodeport"] = _tunnel_nodeport(ctx)
        a.apply_all(_render(ctx, name))
        console.step(f"Deploy {name} success!")


def _tunnel_nodeport(ctx: AddonContext) -> int:
    svc = ctx.kube.get("v1", "Service", "tunnel-cloud", EDGE_NAMESPACE) or {}
    for port in (svc.get("spec") or {}).get("ports") or []:
        if port.get("name") == "grpc" and port.get("nodePort"):
            return int(port["nodePort"])
    if ctx.kube.dry_run:
        return 0
    raise EdgeadmError("Service `edge-system/tunnel-cloud` has no NodePort for port `grpc`")


def edge_health(ctx: AddonContext) -> None:
    for name in EDGE_HEALTH_TEMPLATES:
        ctx.applier.apply_all(_render(ctx, name))
        if name != "edge-health.yaml":
            console.step(f"Create {name} success!")
    console.step("Deploy edge-health success!")


def service_group(ctx: AddonContext) -> None:
    k = ctx.kube
    crds = _render(ctx, "service-group-crds.yaml")
    ctx.applier.apply_all(crds)
    if not k.dry_run:
        for crd in crds:
            name = crd["metadata"]["name"]

            def established(n: str = name) -> bool:
                obj = k.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", n) or {}
                conds = (obj.get("status") or {}).get("conditions") or []
                return any(c.get("type") == "Established" and c.get("status") == "True" for c in conds)

            k.wait_for(f"CRD {name} to be established", established, timeout=60, interval=0.05)
        k.invalidate_discovery()
    for name in SERVICE_GROUP_TEMPLATES[1:]:
        ctx.applier.apply_all(_render(ctx, name))
    console.step("Deploy service-group success!")


def marginal_autonomy(ctx: AddonContext) -> None:
    k = ctx.kube
    a = ctx.applier
    kp_cm = k.get("v1", "ConfigMap", "kube-proxy", "kube-system")
    kp_ds = k.get("apps/v1", "DaemonSet", "kube-proxy", "kube-system")
    if kp_cm is None or kp_ds is None:
        ctx.report.warnings.append("no kube-system/kube-proxy DaemonSet and ConfigMap: edge kube-proxy not set up")
        console.warn("kube-system/kube-proxy not found; skipping the edge kube-proxy copy (the cluster runs "
                     "another service proxy)")
    else:
        a.apply(_edge_kube_proxy_configmap(kp_cm))
        a.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "kube-proxy", "namespace": EDGE_NAMESPACE}})
        a.apply(_edge_kube_proxy_daemonset(kp_ds))
        a.apply(_with_affinity_term(kp_ds, "DoesNotExist", partial=True),
                restore_paths=[["spec", "template", "spec", "affinity"]], label=False)
    annotations = {LOCAL_ENDPOINT_ANNOTATION: ctx.options.edge_virtual_addr,
                   LOCAL_PORT_ANNOTATION: str(LITE_APISERVER_PORT)}
    paths = [["metadata", "annotations", key] for key in annotations]
    for api_version, kind in (("v1", "Endpoints"), ("discovery.k8s.io/v1", "EndpointSlice")):
        if k.get(api_version, kind, "kubernetes", "default") is None:
            ctx.report.warnings.append(f"{kind} default/kubernetes not found; not annotated")
            continue
        a.apply({"apiVersion": api_version, "kind": kind,
                 "metadata": {"name": "kubernetes", "namespace": "default", "annotations": annotations},
                 **({"addressType": "IPv4"} if kind == "EndpointSlice" else {})},
                restore_paths=paths, label=False)
    console.step("Update Kubernetes cluster config support marginal autonomy success")


def _edge_kube_proxy_configmap(cm: dict[str, Any]) -> dict[str, Any]:
    import yaml

    data = dict(cm.get("data") or {})
    if "kubeconfig.conf" in data:
        conf = yaml.safe_load(data["kubeconfig.conf"]) or {}
        for cluster in conf.get("clusters") or []:
            cluster.setdefault("cluster", {})["server"] = GRID_WRAPPER_ADDR
        data["kubeconfig.conf"] = yaml.safe_dump(conf, sort_keys=False)
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "edge-kube-proxy", "namespace": EDGE_NAMESPACE,
                         "labels": dict(cm["metadata"].get("labels") or {})}, "data": data}


def _edge_kube_proxy_daemonset(ds: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(ds["spec"])
    for f in ("revisionHistoryLimit",):
        spec.pop(f, None)
    pod = spec["template"]["spec"]
    pod.pop("priorityClassName", None)
    pod["serviceAccountName"] = "kube-proxy"
    pod.pop("serviceAccount", None)
    for vol in pod.get("volumes") or []:
        if vol.get("name") == "kube-proxy" and "configMap" in vol:
            vol["configMap"]["name"] = "edge-kube-proxy"
    obj = {"apiVersion": "apps/v1", "kind": "DaemonSet",
           "metadata": {"name": "edge-kube-proxy", "namespace": EDGE_NAMESPACE,
                        "labels": dict(ds["metadata"].get("labels") or {})},
           "spec": spec}
    return _with_affinity_term(obj, "Exists", partial=False)


def _with_affinity_term(ds: dict[str, Any], operator: str, *, partial: bool) -> dict[str, Any]:
    """Add `superedge.io/edge-node <operator>` to every required node-selector term, keeping the user's terms."""
    pod = ds["spec"]["template"]["spec"]
    affinity = copy.deepcopy(pod.get("affinity") or {})
    node_aff = affinity.setdefault("nodeAffinity", {})
    required = node_aff.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or [{}]
    expr = {"key": EDGE_LABEL_KEY, "operator": operator}
    new_terms = []
    for term in terms:
        term = copy.deepcopy(term)
        exprs = [e for e in term.get("matchExpressions") or [] if e.get("key") != EDGE_LABEL_KEY]
        term["matchExpressions"] = [*exprs, expr]
        new_terms.append(term)
    required["nodeSelectorTerms"] = new_terms
    if not partial:
        out = copy.deepcopy(ds)
        out["spec"]["template"]["spec"]["affinity"] = affinity
        return out
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": ds["metadata"]["name"], "namespace": ds["metadata"]["namespace"]},
            "spec": {"template": {"spec": {"affinity": affinity}}}}


def edge_info(ctx: AddonContext) -> None:
    ctx.applier.apply_all(_render(ctx, EDGE_INFO_TEMPLATE))
    console.step("Config lite-apiserver configMap success")


def wait(ctx: AddonContext) -> None:
    k = ctx.kube
    if k.dry_run:
        return
    timeout = ctx.options.timeout
    for kind, name in (("Deployment", "tunnel-cloud"), ("Deployment", "tunnel-coredns"),
                       ("Deployment", "edge-health-admission"), ("Deployment", "application-grid-controller"),
                       ("DaemonSet", "tunnel-edge"), ("DaemonSet", "edge-health"),
                       ("DaemonSet", "application-grid-wrapper-node"), ("DaemonSet", "edge-kube-proxy")):

        def ready(kd: str = kind, n: str = name) -> bool:
            obj = k.get("apps/v1", kd, n, EDGE_NAMESPACE)
            if obj is None:
                return True
            st = obj.get("status") or {}
            if kd == "Deployment":
                want = (obj.get("spec") or {}).get("replicas", 1)
                return bool(st.get("updatedReplicas", 0) >= want and st.get("availableReplicas", 0) >= want)
            return bool(st.get("numberReady", 0) >= st.get("desiredNumberScheduled", 0)
                        and st.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0))

        k.wait_for(f"{kind} {EDGE_NAMESPACE}/{name} to roll out", ready, timeout=timeout)
        console.step(f"[wait] {kind} {name} is rolled out")


def finish(ctx: AddonContext) -> None:
    ctx.record.state = "complete"
    ctx.record.save(ctx.kube, MANAGED_LABELS)


# ------------------------------------------------------------------------------------------------- manifests
PLACEHOLDER_PEM = "-----BEGIN CERTIFICATE-----\n(generated by addon)\n-----END CERTIFICATE-----\n"


def placeholder_values(kube: Any | None) -> dict[str, Any]:
    """Values for `edgeadm manifests`: cluster facts when a cluster answers, placeholders for generated secrets."""
    from edgeadm.constants import DEFAULT_EDGE_VERSION, DEFAULT_IMAGE_REPOSITORY, EDGE_VIRTUAL_ADDR

    repo, version = DEFAULT_IMAGE_REPOSITORY, DEFAULT_EDGE_VERSION
    v: dict[str, Any] = {
        "edge_namespace": EDGE_NAMESPACE, "edge_label": EDGE_LABEL, "edge_label_key": EDGE_LABEL_KEY,
        "edge_label_value": EDGE_LABEL_VALUE, "control_plane_label": CONTROL_PLANE_LABELS[0],
        "bootstrap_group": BOOTSTRAP_GROUP, "ca_crt": PLACEHOLDER_PEM,
        "master_public_addr": "<master-public-addr>:6443", "master_public_host": "<master-public-addr>",
        "kubernetes_version": "<kubernetes-version>", "kubelet_config_name": "kubelet-config",
        "dns_domain": "cluster.local", "service_subnet": "10.96.0.0/12", "cluster_dns": "10.96.0.10",
        "kubernetes_cluster_ip": "10.96.0.1", "edge_virtual_addr": EDGE_VIRTUAL_ADDR,
        "lite_apiserver_port": LITE_APISERVER_PORT,
        "images": images(repo, version),
        "tunnel": {"token": "<generated>", "cloud_crt": PLACEHOLDER_PEM, "cloud_key": "<generated>",
                   "egress_crt": PLACEHOLDER_PEM, "egress_key": "<generated>", "nodeport": 0},
        "edge_health": {"hmac_key": "<generated>", "ca_crt": PLACEHOLDER_PEM, "server_crt": PLACEHOLDER_PEM,
                        "server_key": "<generated>"},
        "lite_apiserver": {"crt": PLACEHOLDER_PEM, "key": "<generated>"},
    }
    if kube is None:
        return v
    info = kube.server_version()
    v["kubernetes_version"] = info.get("gitVersion", v["kubernetes_version"])
    v.update(cluster_facts(kube))
    record = Record.load(kube, EDGE_NAMESPACE)
    if record and record.params.get("masterPublicAddr"):
        master = record.params["masterPublicAddr"]
        v["master_public_addr"] = master
        v["master_public_host"] = split_host_port(master)[0]
    cm = kube.get("v1", "ConfigMap", "kube-root-ca.crt", "kube-system")
    if cm and (cm.get("data") or {}).get("ca.crt"):
        v["ca_crt"] = cm["data"]["ca.crt"]
    return v
