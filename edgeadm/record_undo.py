"""Undo addon from its record: restore what it changed, delete what it created, newest first.

Used by `detach edge-apps` and by addon's own rollback (only the entries of the failed run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgeadm.constants import EDGE_LABEL_KEY, EDGE_NAMESPACE, LEGACY_EDGE_LABEL_KEY
from edgeadm.errors import EdgeadmError
from edgeadm.kube import FIELD_MANAGER
from edgeadm.kube.errors import KubeError
from edgeadm.kube.types import KubeAPI
from edgeadm.record import (
    KEY_NAME,
    KEY_NAMESPACE,
    KEY_REF,
    KNOWN_CHANGES,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    NAMESPACE_CREATED_ANNOTATION,
    RECORD_KIND,
    RECORD_NAME,
    Record,
    RecordError,
    describe,
    get_path,
    key_of,
    set_path,
)
from edgeadm.report import ABSENT, DELETED, RESTORED, Report

GONE_TIMEOUT = 120.0  # namespace and CRD deletion run finalizers; on a small cluster this takes seconds
GRID_KINDS = (("superedge.io/v1", "DeploymentGrid"), ("superedge.io/v1", "ServiceGrid"),
              ("superedge.io/v1", "StatefulSetGrid"))


def blockers(kube: KubeAPI) -> list[str]:
    """Reasons detach should not proceed without --force: edge nodes, or grids users created."""
    out: list[str] = []
    for key in (EDGE_LABEL_KEY, LEGACY_EDGE_LABEL_KEY):
        nodes = kube.list("v1", "Node", label_selector=key)
        if nodes:
            out.append(f"{len(nodes)} edge node(s) still carry `{key}` ("
                       + ", ".join(n["metadata"]["name"] for n in nodes[:5]) + ")")
    for api_version, kind in GRID_KINDS:
        try:
            items = kube.list(api_version, kind)
        except KubeError:
            continue
        if items:
            out.append(f"{len(items)} {kind} object(s) exist and would be deleted with their CRD")
    return out


def undo_record(kube: KubeAPI, report: Report, *, only: set[str] | None = None) -> bool:
    """Undo the record (or only the entries whose keys are in `only`). Returns False when there was nothing."""
    record = Record.load(kube, EDGE_NAMESPACE)
    if record is None:
        return _orphan_namespace(kube, report)

    def selected(ref: dict[str, str]) -> bool:
        return only is None or key_of(ref) in only

    check_scope(kube, record, selected)
    failures: list[str] = []
    for entry in reversed(list(record.changed)):
        ref = entry["ref"]
        if not selected(ref):
            continue
        try:
            _restore(kube, entry, report)
            record.forget(ref)
            record.save(kube)
        except KubeError as exc:
            failures.append(f"restore {describe(ref)}: {exc}")
    ns_ref = None
    for ref in reversed(list(record.created)):
        if not selected(ref):
            continue
        if ref["kind"] == "Namespace" and ref["name"] == EDGE_NAMESPACE:
            ns_ref = ref
            continue
        if key_of(ref) == key_of(KEY_REF):
            continue  # the record key goes with the record itself, last
        try:
            gone = kube.delete(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))
            report.add(DELETED if gone else ABSENT, describe(ref))
            if gone and ref["kind"] == "CustomResourceDefinition" and not kube.dry_run:
                _wait_gone(kube, ref)
            record.forget(ref)
            record.save(kube)
        except KubeError as exc:
            failures.append(f"delete {describe(ref)}: {exc}")
    if failures:
        report.failures.extend(failures)
        raise EdgeadmError(f"{len(failures)} object(s) could not be undone: {failures[0]}",
                           hint="fix the cause and run `edgeadm detach edge-apps` again; the record keeps the rest")
    remaining = [r for r in record.created if r is not ns_ref and key_of(r) != key_of(KEY_REF)] + record.changed
    if remaining:
        return True
    kube.delete("v1", RECORD_KIND, RECORD_NAME, EDGE_NAMESPACE)
    if key_of(KEY_REF) in {key_of(r) for r in record.created}:
        kube.delete("v1", "Secret", KEY_NAME, KEY_NAMESPACE)
    if ns_ref is not None:
        kube.delete("v1", "Namespace", EDGE_NAMESPACE)
        report.add(DELETED, f"Namespace {EDGE_NAMESPACE}")
        if not kube.dry_run:
            _wait_gone(kube, ns_ref)
    return True


def _restore(kube: KubeAPI, entry: dict[str, Any], report: Report) -> None:
    ref, prior, paths = entry["ref"], entry["prior"], entry.get("paths")
    current = kube.get(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))
    if current is None:
        report.warnings.append(f"{describe(ref)} no longer exists; nothing to restore")
        report.add(ABSENT, describe(ref))
        return
    if paths:
        body = current
        for path in paths:
            present, value = get_path(prior, path)
            set_path(body, path, present, value)
    else:
        body = dict(prior)
        body["metadata"] = dict(prior["metadata"])
        # the object the entry names, whatever the saved copy says about itself
        body["apiVersion"], body["kind"] = ref["apiVersion"], ref["kind"]
        body["metadata"]["name"] = ref["name"]
        body["metadata"].pop("namespace", None)
        if ref.get("namespace"):
            body["metadata"]["namespace"] = ref["namespace"]
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    body.pop("status", None)
    # Give up edgeadm's field ownership with the fields: a request that sets managedFields replaces them (`[{}]`
    # clears them when only ours were there), so no `edgeadm` manager stays behind on objects it only changed.
    others = [m for m in current["metadata"].get("managedFields") or [] if m.get("manager") != FIELD_MANAGER]
    body["metadata"]["managedFields"] = others or [{}]
    kube.replace(body)
    report.add(RESTORED, describe(ref))


def _ours(obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
        return True
    created_by = (meta.get("annotations") or {}).get(NAMESPACE_CREATED_ANNOTATION)
    return obj.get("kind") == "Namespace" and created_by == "addon"


def check_scope(kube: KubeAPI, record: Record, selected: Callable[[dict[str, str]], bool]) -> None:
    """Refuse, before any change, a record that names anything addon does not make or change: a created object
    that exists without edgeadm's ownership mark, a whole-object restore outside the edge namespace, or a partial
    restore other than the fields addon changes (record.KNOWN_CHANGES)."""
    def refuse(ref: dict[str, str], why: str) -> RecordError:
        return RecordError(f"the addon record names {describe(ref)}, {why}; nothing was changed",
                           hint="the record was changed outside edgeadm; remove what addon made by hand")

    for ref in record.created:
        if not selected(ref):
            continue
        current = kube.get(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))
        if current is not None and not _ours({**current, "kind": ref["kind"]}):
            raise refuse(ref, f"which does not carry `{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}` (edgeadm did not "
                              "create it)")
    allowed = {key_of(r) for r in record.params.get("foreignObjects") or [] if isinstance(r, dict)
               and {"apiVersion", "kind", "name"} <= r.keys()} if record.signed else set()
    for entry in record.changed:
        ref, paths = entry["ref"], entry.get("paths")
        if not selected(ref) or (key_of(ref) in allowed and paths is None):
            continue  # applied by an override with --allow-foreign-objects, which the (verified) record lists
        known = KNOWN_CHANGES.get((ref["apiVersion"], ref["kind"], ref.get("namespace", ""), ref["name"]))
        if known is not None:
            if paths != known:
                raise refuse(ref, f"with fields {paths} to restore (addon changes only {known})")
        elif paths is not None or not (ref.get("namespace") == EDGE_NAMESPACE
                                       or (ref["kind"] == "Namespace" and ref["name"] == EDGE_NAMESPACE)):
            raise refuse(ref, "which addon never changes")


def _orphan_namespace(kube: KubeAPI, report: Report) -> bool:
    """A run that crashed before writing its first record leaves a namespace marked as ours, maybe a record key."""
    key = kube.get("v1", "Secret", KEY_NAME, KEY_NAMESPACE)
    if key is not None and _ours(key):
        kube.delete("v1", "Secret", KEY_NAME, KEY_NAMESPACE)
        report.add(DELETED, f"Secret {KEY_NAMESPACE}/{KEY_NAME}")
    ns = kube.get("v1", "Namespace", EDGE_NAMESPACE)
    if ns is None or (ns["metadata"].get("annotations") or {}).get(NAMESPACE_CREATED_ANNOTATION) != "addon":
        return key is not None and _ours(key)
    kube.delete("v1", "Namespace", EDGE_NAMESPACE)
    report.add(DELETED, f"Namespace {EDGE_NAMESPACE}")
    if not kube.dry_run:
        _wait_gone(kube, {"apiVersion": "v1", "kind": "Namespace", "name": EDGE_NAMESPACE})
    return True


def _wait_gone(kube: KubeAPI, ref: dict[str, str]) -> None:
    kube.wait_for(f"{describe(ref)} to be deleted",
                  lambda: kube.get(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace")) is None,
                  timeout=GONE_TIMEOUT)
