"""The addon record: one Secret in our namespace listing what addon created and what it changed.

A Secret, not a ConfigMap, because the prior content of a pre-existing object addon changes may itself be secret.

It is written *before* each change (write-ahead), so it survives a crashed run; detach works only from it.
Entries keep the first prior content ever seen: a re-run never overwrites what the cluster looked like before.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from typing import Any

from edgeadm.constants import EDGE_NAMESPACE
from edgeadm.errors import EdgeadmError
from edgeadm.kube.types import KubeAPI

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "edgeadm"
MANAGED_LABELS = {MANAGED_BY_LABEL: MANAGED_BY_VALUE}  # on every object addon creates, and on the record itself
NAMESPACE_CREATED_ANNOTATION = "edgeadm.superedge.io/created-by"  # the edge namespace, when addon created it

RECORD_NAME = "edgeadm-addon-record"
RECORD_KIND = "Secret"
RECORD_KEY = "record.json"
FORMAT = 1

# Fields the server owns; stripped from saved prior content so a restore does not fight the server.
SERVER_FIELDS = ("uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink",
                 "deletionTimestamp", "deletionGracePeriodSeconds")


class RecordError(EdgeadmError):
    """The addon record cannot be read as one."""


def ref_of(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata", {})
    ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"]}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


def key_of(ref: dict[str, str]) -> str:
    return f"{ref['apiVersion']}|{ref['kind']}|{ref.get('namespace', '')}|{ref['name']}"


def strip_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata", {})
    for f in SERVER_FIELDS:
        meta.pop(f, None)
    return out


def describe(ref: dict[str, Any]) -> str:
    """`Kind ns/name` (or `Kind name`) of an object or a reference."""
    meta = ref.get("metadata") or ref
    ns = meta.get("namespace")
    return f"{ref['kind']} {ns}/{meta['name']}" if ns else f"{ref['kind']} {meta['name']}"


@dataclass
class Record:
    namespace: str = EDGE_NAMESPACE
    created: list[dict[str, str]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    state: str = "in-progress"

    def knows(self, ref: dict[str, str]) -> bool:
        k = key_of(ref)
        return any(key_of(r) == k for r in self.created) or any(key_of(c["ref"]) == k for c in self.changed)

    def keys(self) -> set[str]:
        """Keys of every object the record names (created or changed)."""
        return {key_of(r) for r in self.created} | {key_of(c["ref"]) for c in self.changed}

    def add_created(self, ref: dict[str, str]) -> None:
        if not self.knows(ref):
            self.created.append(ref)

    def add_changed(self, ref: dict[str, str], prior: dict[str, Any], paths: list[list[str]] | None) -> None:
        if not self.knows(ref):
            self.changed.append({"ref": ref, "prior": strip_server_fields(prior), "paths": paths})

    def forget(self, ref: dict[str, str]) -> None:
        k = key_of(ref)
        self.created = [r for r in self.created if key_of(r) != k]
        self.changed = [c for c in self.changed if key_of(c["ref"]) != k]

    def to_object(self) -> dict[str, Any]:
        body = {"format": FORMAT, "state": self.state, "params": self.params, "created": self.created,
                "changed": self.changed}
        encoded = base64.b64encode(json.dumps(body, sort_keys=True).encode()).decode()
        return {
            "apiVersion": "v1", "kind": RECORD_KIND, "type": "Opaque",
            "metadata": {"name": RECORD_NAME, "namespace": self.namespace, "labels": dict(MANAGED_LABELS)},
            "data": {RECORD_KEY: encoded},
        }

    def save(self, kube: KubeAPI) -> None:
        """Persist the record (never in dry-run: nothing changes then)."""
        if kube.dry_run:
            return
        kube.apply(self.to_object())

    @classmethod
    def load(cls, kube: KubeAPI, namespace: str = EDGE_NAMESPACE) -> Record | None:
        obj = kube.get("v1", RECORD_KIND, RECORD_NAME, namespace)
        if obj is None:
            return None
        raw = (obj.get("data") or {}).get(RECORD_KEY)
        try:
            body = json.loads(base64.b64decode(raw, validate=True)) if raw else {}
            created, changed = body.get("created", []), body.get("changed", [])
            params, state = body.get("params", {}), body.get("state", "in-progress")
            if not (isinstance(created, list) and isinstance(changed, list) and isinstance(params, dict)
                    and all(_is_ref(r) for r in created)
                    and all(isinstance(c, dict) and _is_ref(c.get("ref")) and isinstance(c.get("prior"), dict)
                            and _is_paths(c.get("paths")) for c in changed)):
                raise ValueError("unexpected shape")
        except (ValueError, TypeError, AttributeError) as exc:
            raise RecordError(f"the addon record `{namespace}/{RECORD_NAME}` is corrupt ({exc.__class__.__name__}); "
                              "nothing was changed",
                              hint="restore the Secret from a backup, or remove what addon made by hand") from None
        return cls(namespace=namespace, created=created, changed=changed, params=params, state=str(state))


def _is_paths(paths: Any) -> bool:
    """None (the whole object) or a list of field paths, each a non-empty list of strings."""
    return paths is None or (isinstance(paths, list) and all(
        isinstance(p, list) and p and all(isinstance(k, str) for k in p) for p in paths))


def _is_ref(ref: Any) -> bool:
    """An object reference as the record writes it: apiVersion, kind, name (and namespace), all strings."""
    return (isinstance(ref, dict) and {"apiVersion", "kind", "name"} <= ref.keys() <= {"apiVersion", "kind", "name",
                                                                                      "namespace"}
            and all(isinstance(v, str) and v for v in ref.values()))


def get_path(obj: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return False, None
        cur = cur[p]
    return True, cur


def set_path(obj: dict[str, Any], path: list[str], present: bool, value: Any) -> None:
    """Set `path` to `value`, or remove it when `present` is false (pruning maps left empty)."""
    cur = obj
    parents: list[tuple[dict[str, Any], str]] = []
    for p in path[:-1]:
        if p not in cur or not isinstance(cur[p], dict):
            if not present:
                return
            cur[p] = {}
        parents.append((cur, p))
        cur = cur[p]
    if present:
        cur[path[-1]] = copy.deepcopy(value)
        return
    cur.pop(path[-1], None)
    for parent, key in reversed(parents):
        if parent[key] == {} and key in ("annotations", "labels", "affinity"):
            parent.pop(key)
        else:
            break
