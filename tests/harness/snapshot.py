"""A whole-cluster snapshot (every object of every listable kind, minus what the server manages): tests use it to
prove a command changed nothing or restored everything; `make bench` uses it to start timing on a settled cluster."""

from __future__ import annotations

import copy
from typing import Any

# Kinds the control plane rewrites on its own schedule (heartbeats, events, revisions). IPAddress: the API server's
# record of each Service's cluster IP (Kubernetes 1.33's allocator), released after the Service is gone, a moment
# later; the Services themselves are compared.
VOLATILE_KINDS = {"Event", "Lease", "ControllerRevision", "ComponentStatus", "IPAddress"}
SERVER_META = ("uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink")
SERVER_ANNOTATIONS = ("deprecated.daemonset.template.generation",)


def _normalize(obj: dict[str, Any]) -> dict[str, Any]:
    o = copy.deepcopy(obj)
    o.pop("status", None)
    meta = o.get("metadata", {})
    # Field ownership is the server's bookkeeping and changes with every controller's write, but a manager named
    # `edgeadm` is ours: an object that keeps one after detach was not given back exactly.
    if any(m.get("manager") == "edgeadm" for m in meta.get("managedFields") or []):
        meta["ownedByEdgeadm"] = True
    for f in SERVER_META:
        meta.pop(f, None)
    ann = meta.get("annotations") or {}
    for a in SERVER_ANNOTATIONS:
        ann.pop(a, None)
    if not ann:
        meta.pop("annotations", None)
    if o.get("kind") == "Node":
        o.get("spec", {}).pop("taints", None)  # node lifecycle controller adds/removes these
    return o


def snapshot(kube: Any) -> dict[str, dict[str, Any]]:
    from edgeadm.kube import NotFound

    out: dict[str, dict[str, Any]] = {}
    kube.invalidate_discovery()
    for api_version, kind in kube.listable_kinds():
        if kind in VOLATILE_KINDS:
            continue
        try:
            items = kube.list(api_version, kind)
        except NotFound:  # a kind that went away between discovery and list (e.g. a CRD being deleted)
            continue
        for item in items:
            meta = item.get("metadata", {})
            if kind == "Pod" and meta.get("ownerReferences"):
                continue  # controllers replace their pods whenever a template changes

            key = f"{api_version}/{kind}/{meta.get('namespace', '')}/{meta.get('name')}"
            out[key] = _normalize(item)
    return out


def diff(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[str]:
    problems = [f"missing after: {k}" for k in sorted(before.keys() - after.keys())]
    problems += [f"left behind: {k}" for k in sorted(after.keys() - before.keys())]
    for k in sorted(before.keys() & after.keys()):
        if before[k] != after[k]:
            problems.append(f"changed: {k}: {_first_difference(before[k], after[k])}")
    return problems


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    return f"{path}: {str(a)[:200]!s} -> {str(b)[:200]!s}"


def settled_snapshot(kube: Any, *, timeout: float = 90.0, interval: float = 1.0) -> dict[str, dict[str, Any]]:
    """A snapshot taken once the control plane has stopped creating things (two equal snapshots in a row)."""
    import time

    deadline = time.monotonic() + timeout
    prev = snapshot(kube)
    while True:
        time.sleep(interval)
        cur = snapshot(kube)
        if cur == prev:
            return cur
        if time.monotonic() > deadline:
            raise AssertionError("cluster did not settle: " + "; ".join(diff(prev, cur)[:5]))
        prev = cur
