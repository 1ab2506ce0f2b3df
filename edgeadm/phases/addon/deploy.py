"""The addon phases that render and apply: prepare, namespace, join-prerequisites, tunnel, edge-health,
service-group, edge-info, wait and finish."""

from __future__ import annotations

from typing import Any

from edgeadm import events as ev
from edgeadm import render, signing, status, waiting
from edgeadm.checks import ignored
from edgeadm.constants import (
    EDGE_HEALTH_TEMPLATES,
    EDGE_INFO_TEMPLATE,
    EDGE_NAMESPACE,
    PREREQ_TEMPLATES,
    RETIRED_OBJECTS,
    SERVICE_GROUP_TEMPLATES,
    TUNNEL_TEMPLATES,
)
from edgeadm.errors import ConfigError, EdgeadmError
from edgeadm.phases.addon import certs
from edgeadm.phases.addon.data import AddonData
from edgeadm.record import MANAGED_LABELS, NAMESPACE_CREATED_ANNOTATION, describe, ref_of
from edgeadm.report import CREATED, UNCHANGED

CRD_TIMEOUT = 60.0  # the API server establishes a CRD within a second


def _render(data: AddonData, name: str) -> list[dict[str, Any]]:
    return render.render(name, data.values(), override_dir=data.options.manifest_dir)


def prepare(data: AddonData) -> None:
    """Compute the values (reusing certificates) and render every template, so a broken override fails before
    the cluster is touched; objects an override adds outside its template's scope need --allow-foreign-objects."""
    foreign: list[tuple[str, dict[str, Any]]] = []
    for name in ("namespace.yaml", *PREREQ_TEMPLATES, *TUNNEL_TEMPLATES, *EDGE_HEALTH_TEMPLATES,
                 *SERVICE_GROUP_TEMPLATES, EDGE_INFO_TEMPLATE):
        theirs = _render(data, name)
        if data.options.manifest_dir is not None and (data.options.manifest_dir / name).is_file():
            ours = render.render(name, data.values())
            foreign += [(name, obj) for obj in outside_scope(theirs, ours)]
    if foreign and not data.options.allow_foreign_objects:
        name, obj = foreign[0]
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise ConfigError(f"override `{name}` adds {describe(obj)}, outside what that template is for{more}; "
                          "nothing was changed", hint="remove it, or pass --allow-foreign-objects if you mean it")
    for name, obj in foreign:
        data.events.emit(ev.Warn(f"override `{name}` adds {describe(obj)} (allowed by --allow-foreign-objects)"))
    if foreign and not data.kube.dry_run:
        # the record (MAC-protected) lists them, so detach may restore them if they existed before
        listed = data.record().params.setdefault("foreignObjects", [])
        listed += [ref for ref in (ref_of(obj) for _, obj in foreign) if ref not in listed]
    data.applier()


POWERFUL_ROLES = {"cluster-admin", "admin", "edit", "system:aggregate-to-admin", "system:aggregate-to-edit"}


def _powerful(obj: dict[str, Any]) -> bool:
    """RBAC that hands out broad power: a binding to a powerful role, or a role granting wildcards."""
    if obj.get("kind") in ("ClusterRoleBinding", "RoleBinding"):
        return (obj.get("roleRef") or {}).get("name") in POWERFUL_ROLES
    if obj.get("kind") in ("ClusterRole", "Role"):
        return any("*" in (rule.get("verbs") or []) or "*" in (rule.get("resources") or [])
                   for rule in obj.get("rules") or [])
    return False


def outside_scope(theirs: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects of an override that are not what our template makes: another kind or namespace than any of
    ours, or powerful RBAC (pure: unit-tested)."""
    scope = {(o["apiVersion"], o["kind"], o["metadata"].get("namespace")) for o in ours}
    return [o for o in theirs
            if (o.get("apiVersion"), o.get("kind"), (o.get("metadata") or {}).get("namespace")) not in scope
            or _powerful(o)]


def namespace(data: AddonData) -> None:
    k, record = data.kube, data.record()
    ns_obj = _render(data, "namespace.yaml")[0]
    name = ns_obj["metadata"]["name"]
    current = k.get("v1", "Namespace", name)
    ours = current is not None and (current["metadata"].get("annotations") or {}).get(
        NAMESPACE_CREATED_ANNOTATION) == "addon"
    if current is None or ours:
        # created by us (possibly by a run that crashed before writing the record)
        ns_obj["metadata"].setdefault("annotations", {})[NAMESPACE_CREATED_ANNOTATION] = "addon"
        ns_obj["metadata"].setdefault("labels", {}).update(MANAGED_LABELS)
        k.apply(ns_obj)
        record.add_created({"apiVersion": "v1", "kind": "Namespace", "name": name})
        data.report.add(CREATED if current is None else UNCHANGED, f"Namespace {name}")
    else:
        data.applier().apply(ns_obj)
    record.save(k)


def join_prerequisites(data: AddonData) -> None:
    a, v = data.applier(), data.values()
    a.apply_all(_render(data, "bootstrap-rbac.yaml"), create_only=True)
    a.apply_all(_render(data, "cluster-info.yaml"), create_only=True)
    if not data.signing_verified and not data.kube.dry_run:
        # on clusters that had no cluster-info, prove bootstrapsigner now that it has something to sign
        evidence = signing.probe(data.kube)
        data.signing_verified = evidence.verified
        if evidence.error and not ignored("TokenSigning", data.options.ignore_preflight_errors):
            raise EdgeadmError(evidence.error, hint=signing.CONTROLLERS_HINT)
    a.apply_all(_render(data, "kubeadm-config.yaml"), create_only=True)
    data.events.emit(ev.Step("[upload-config] Uploading the kubelet component config to a ConfigMap"))
    objs = _render(data, "kubelet-config.yaml")
    if data.kube.get("v1", "ConfigMap", v["kubelet_config_name"], "kube-system") is None:
        data.events.emit(ev.Step(f'[kubelet] Creating a ConfigMap "{v["kubelet_config_name"]}" in namespace '
                                 "kube-system with the configuration for the kubelets in the cluster"))
    a.apply_all(objs, create_only=True)


def tunnel(data: AddonData) -> None:
    a = data.applier()
    a.retire(RETIRED_OBJECTS)
    # The egress Service first: its cluster IP goes into the egress certificate the API server will verify.
    internal = [o for o in _render(data, "tunnel-cloud.yaml")
                if o["kind"] == "Service" and o["metadata"]["name"] == "tunnel-cloud-internal"]
    a.apply_all(internal)
    svc = data.kube.get("v1", "Service", "tunnel-cloud-internal", EDGE_NAMESPACE) or {}
    if (svc.get("spec") or {}).get("clusterIP"):
        data.values()["tunnel"].update(certs.egress(data.kube, data.ca(), svc["spec"]["clusterIP"]))
    for name in TUNNEL_TEMPLATES:
        if name == "tunnel-edge.yaml":
            data.values()["tunnel"]["nodeport"] = _tunnel_nodeport(data)
        a.apply_all([o for o in _render(data, name) if o not in internal])
        data.events.emit(ev.Step(f"Deploy {name} success!"))


def _tunnel_nodeport(data: AddonData) -> int:
    svc = data.kube.get("v1", "Service", "tunnel-cloud", EDGE_NAMESPACE) or {}
    for port in (svc.get("spec") or {}).get("ports") or []:
        if port.get("name") == "grpc" and port.get("nodePort"):
            return int(port["nodePort"])
    if data.kube.dry_run:
        return 0
    raise EdgeadmError("Service `edge-system/tunnel-cloud` has no NodePort for port `grpc`")


def edge_health(data: AddonData) -> None:
    for name in EDGE_HEALTH_TEMPLATES:
        data.applier().apply_all(_render(data, name))
        if name != "edge-health.yaml":
            data.events.emit(ev.Step(f"Create {name} success!"))
    data.events.emit(ev.Step("Deploy edge-health success!"))


def service_group(data: AddonData) -> None:
    k = data.kube
    crds = _render(data, "service-group-crds.yaml")
    data.applier().apply_all(crds)
    if not k.dry_run:
        for crd in crds:
            name = crd["metadata"]["name"]

            def established(n: str = name) -> bool:
                obj = k.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", n) or {}
                conds = (obj.get("status") or {}).get("conditions") or []
                return any(c.get("type") == "Established" and c.get("status") == "True" for c in conds)

            k.wait_for(f"CRD {name} to be established", established, timeout=CRD_TIMEOUT, interval=0.05)
        k.invalidate_discovery()
    for name in SERVICE_GROUP_TEMPLATES[1:]:
        data.applier().apply_all(_render(data, name))
    data.events.emit(ev.Step("Deploy service-group success!"))


def edge_info(data: AddonData) -> None:
    data.applier().apply_all(_render(data, EDGE_INFO_TEMPLATE))
    data.events.emit(ev.Step("Config lite-apiserver configMap success"))


def wait(data: AddonData) -> None:
    """Until every edge component addon deployed is rolled out; each is reported when it is, and a timeout names
    every one that is not, with its ready/desired count."""
    k = data.kube
    if k.dry_run:
        return
    reported: set[str] = set()
    latest: list[status.Component] = []

    def all_done() -> bool:
        latest[:] = [c for c in status.components(k) if c.present]
        for c in latest:
            if c.rolled_out and c.name not in reported:
                reported.add(c.name)
                data.events.emit(ev.Step(f"[wait] {c.kind} {c.name} is rolled out ({c.summary()})"))
        return all(c.rolled_out for c in latest)

    try:
        waiting.until(all_done, timeout=data.options.timeout, what="the edge components", interval=2.0)
    except EdgeadmError:
        late = ", ".join(f"{c.name} {c.summary()}" for c in latest if not c.rolled_out)
        raise EdgeadmError(f"timed out after {data.options.timeout:.0f}s waiting for the edge components: {late}",
                           hint="see `edgeadm status` and `kubectl -n edge-system get pods`") from None


def finish(data: AddonData) -> None:
    record = data.record()
    record.state = "complete"
    record.save(data.kube)
