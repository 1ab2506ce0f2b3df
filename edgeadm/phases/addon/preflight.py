"""Phase `preflight`: the CA, the cluster and the address, as named checks, before any change."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from edgeadm import events as ev
from edgeadm import master, pki, signing, values
from edgeadm.addr import is_ip
from edgeadm.checks import Check, Outcome, run_checks
from edgeadm.constants import CONTROL_PLANE_LABELS, MAX_TESTED_MINOR, MIN_SERVER_MINOR
from edgeadm.errors import ConfigError, PreflightError
from edgeadm.kube.types import KubeAPI
from edgeadm.phases.addon.data import AddonCluster, AddonData


def read_cluster(kube: KubeAPI) -> AddonCluster:
    """Server version, the control-plane nodes' label and addresses, and the kubeconfig's server address."""
    version = kube.server_version()
    url = urlsplit(kube.server_url)
    host, port = url.hostname or "127.0.0.1", url.port or 443
    for label in CONTROL_PLANE_LABELS:
        nodes = kube.list("v1", "Node", label_selector=label)
        if nodes:
            ips = [a["address"] for n in nodes for a in (n.get("status") or {}).get("addresses") or []
                   if a.get("type") in ("InternalIP", "ExternalIP") and a.get("address")]
            return AddonCluster(version, label, ips, host, port)
    return AddonCluster(version, None, [], host, port)


def cluster_ca_pins(kube: KubeAPI) -> set[str]:
    """SPKI pins of the CA the cluster uses: kube-root-ca.crt and the kubeconfig's CA."""
    pems = [p for p in (values.root_ca_pem(kube), kube.ca_pem.decode() if kube.ca_pem else None) if p]
    pins: set[str] = set()
    for pem in pems:
        pins.update(pki.bundle_pins(pem.encode(), "cluster CA"))
    return pins


def apiserver_sans(host: str, port: int) -> set[str] | None:
    """The SANs of the certificate the API server serves (None when it cannot be read)."""
    try:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((host, port), timeout=5) as sock, \
                ctx.wrap_socket(sock, server_hostname=host if not is_ip(host) else None) as tls:
            der = tls.getpeercert(binary_form=True)
    except OSError:
        return None
    if not der:
        return None
    dns, ips = pki.san_strings(pki.load_cert_der(der))
    return set(dns) | set(ips)


def api_server_addresses(kube: KubeAPI) -> set[str]:
    """The addresses the cluster's API servers advertise (the `kubernetes` Service's endpoints)."""
    eps = kube.get("v1", "Endpoints", "kubernetes", "default") or {}
    return {a.get("ip") for s in eps.get("subsets") or [] for a in s.get("addresses") or [] if a.get("ip")}


def apiserver_egress(kube: KubeAPI, paths: master.MasterPaths) -> Outcome:
    """This machine runs a kube-apiserver static pod, and it is one of this cluster's API servers."""
    try:
        pod = master.read_manifest(paths)
    except PreflightError as exc:
        return Outcome(errors=[f"{exc.message}; {exc.hint}"])
    address = master.advertise_address(pod)
    served = api_server_addresses(kube)
    if address and served and address not in served:
        return Outcome(errors=[f"the kube-apiserver on this machine advertises {address}, which is not one of "
                               f"this cluster's API servers ({', '.join(sorted(served))}); run addon on a master "
                               "of this cluster, or pass --skip-phases egress"])
    return Outcome()


def run(data: AddonData) -> None:
    data.events.emit(ev.Step("[preflight] Running pre-flight checks"))
    o = data.options

    def ca_cert() -> Outcome:
        pki.load_cert(o.ca_cert)
        return Outcome()

    def ca_key() -> Outcome:
        pki.load_key(o.ca_key)
        return Outcome()

    def pair() -> Outcome:
        try:
            ca = data.ca()
        except ConfigError:
            return Outcome()  # reported by CACertificate / CAKey
        if not pki.matches(ca.cert, ca.key):
            return Outcome(errors=[f"`{o.ca_key}` is not the private key of `{o.ca_cert}`"])
        return Outcome()

    def cluster_ca() -> Outcome:
        try:
            mine = pki.spki_sha256(pki.load_cert(o.ca_cert))
        except ConfigError:
            return Outcome()
        pins = cluster_ca_pins(data.kube)
        if not pins:
            return Outcome(warnings=["could not read the cluster's CA to compare (no kube-root-ca.crt, no CA in "
                                     "the kubeconfig)"])
        if mine not in pins:
            return Outcome(errors=[f"`{o.ca_cert}` is not the CA of this cluster ({mine} not in "
                                   f"{', '.join(sorted(pins))})"])
        return Outcome()

    def version() -> Outcome:
        info = data.cluster().server_version
        git = info.get("gitVersion", "")
        try:
            minor = int("".join(ch for ch in info.get("minor", "") if ch.isdigit()))
        except ValueError:
            return Outcome(errors=[f"cannot parse the server version {info!r}"])
        if minor < MIN_SERVER_MINOR:
            return Outcome(errors=[f"Kubernetes {git} is not supported (1.{MIN_SERVER_MINOR}+)"])
        if minor > MAX_TESTED_MINOR:
            return Outcome(warnings=[f"Kubernetes {git} is newer than edgeadm was tested with"])
        return Outcome()

    def control_plane() -> Outcome:
        if data.cluster().control_plane_label is not None:
            return Outcome()
        msg = ("no control-plane node found (label node-role.kubernetes.io/control-plane or .../master); "
               "cloud components stay Pending until one exists")
        if not o.master_public_addr:
            return Outcome(errors=[msg + "; pass --master-public-addr"])
        return Outcome(warnings=[msg])

    def master_address() -> Outcome:
        try:
            host, _ = data.master()
        except ConfigError:
            return Outcome()  # reported once, after the checks
        c = data.cluster()
        sans = apiserver_sans(c.api_host, c.api_port)
        if sans is not None and host not in sans:
            return Outcome(warnings=[f"master public address `{host}` is not in the API server certificate's "
                                     "SANs; edge nodes will fail TLS unless a proxy in front serves it"])
        return Outcome()

    def token_signing() -> Outcome:
        evidence = signing.probe(data.kube)
        data.signing_verified = evidence.verified
        return Outcome(warnings=[evidence.warning] if evidence.warning else [],
                       errors=[evidence.error] if evidence.error else [])

    checks = [
        Check("CACertificate", ca_cert), Check("CAKey", ca_key), Check("CAKeyPair", pair),
        Check("ClusterCA", cluster_ca), Check("KubernetesVersion", version), Check("ControlPlaneNodes", control_plane),
        Check("MasterPublicAddress", master_address), Check("TokenSigning", token_signing),
    ]
    if "egress" not in o.skip_phases:
        checks.append(Check("APIServerEgress", lambda: apiserver_egress(data.kube, data.master_paths)))
    run_checks(checks, o.ignore_preflight_errors, data.events)
    try:
        data.ca()
    except ConfigError:
        raise ConfigError("the CA certificate and key are required", hint="pass --ca.cert and --ca.key") from None
    data.master()
