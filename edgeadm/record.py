"""The addon record: one Secret in our namespace listing what addon created and what it changed.

A Secret, not a ConfigMap, because the prior content of a pre-existing object addon changes may itself be secret.

It is written *before* each change (write-ahead), so it survives a crashed run; detach works only from it.
Entries keep the first prior content ever seen: a re-run never overwrites what the cluster looked like before.

Integrity: the record carries an HMAC-SHA256 of its body, keyed by a random key in Secret
`kube-system/edgeadm-addon-record-key` that addon creates with its first record. Whoever can write Secrets in the
edge namespace cannot forge a record that detach (run by an admin) would act on; they would need to write Secrets
in kube-system, which is already cluster-admin power. A record written before keys existed has no MAC; detach
then relies on its scope checks alone (record_undo), which it applies to every record anyway.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from edgeadm.constants import EDGE_NAMESPACE, LOCAL_ENDPOINT_ANNOTATION, LOCAL_PORT_ANNOTATION
from edgeadm.errors import EdgeadmError
from edgeadm.kube.types import KubeAPI

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "edgeadm"
MANAGED_LABELS = {MANAGED_BY_LABEL: MANAGED_BY_VALUE}  # on every object addon creates, and on the record itself
NAMESPACE_CREATED_ANNOTATION = "edgeadm.superedge.io/created-by"  # the edge namespace, when addon created it

KEY_NAME = "edgeadm-addon-record-key"
KEY_NAMESPACE = "kube-system"
KEY_REF = {"apiVersion": "v1", "kind": "Secret", "name": KEY_NAME, "namespace": KEY_NAMESPACE}
MAC_FIELD = "record.mac"

# The objects outside the edge namespace that addon changes, and exactly the fields it changes on each (the
# marginal-autonomy phase builds its restore paths from this table). detach restores nothing else outside the
# edge namespace, whatever a record says.
_ANNOTATION_PATHS = [["metadata", "annotations", LOCAL_ENDPOINT_ANNOTATION],
                     ["metadata", "annotations", LOCAL_PORT_ANNOTATION]]
KNOWN_CHANGES: dict[tuple[str, str, str, str], list[list[str]]] = {
    ("apps/v1", "DaemonSet", "kube-system", "kube-proxy"): [["spec", "template", "spec", "affinity"]],
    ("v1", "Endpoints", "default", "kubernetes"): _ANNOTATION_PATHS,
    ("discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes"): _ANNOTATION_PATHS,
}

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
    signed: bool = False  # loaded with a MAC that the cluster's record key verified
    _key: bytes | None = field(default=None, repr=False, compare=False)

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

    def to_object(self, key: bytes) -> dict[str, Any]:
        body = json.dumps({"format": FORMAT, "state": self.state, "params": self.params, "created": self.created,
                           "changed": self.changed}, sort_keys=True).encode()
        return {
            "apiVersion": "v1", "kind": RECORD_KIND, "type": "Opaque",
            "metadata": {"name": RECORD_NAME, "namespace": self.namespace, "labels": dict(MANAGED_LABELS)},
            "data": {RECORD_KEY: base64.b64encode(body).decode(),
                     MAC_FIELD: base64.b64encode(_mac(key, body).encode()).decode()},
        }

    def save(self, kube: KubeAPI) -> None:
        """Persist the record with its MAC (never in dry-run: nothing changes then). The first save creates the
        record key, noted in the record as an object addon created."""
        if kube.dry_run:
            return
        if self._key is None:
            self._key = read_key(kube)
        if self._key is None:
            self.add_created(dict(KEY_REF))
            key = secrets.token_bytes(32)
            kube.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                         "metadata": {"name": KEY_NAME, "namespace": KEY_NAMESPACE, "labels": dict(MANAGED_LABELS)},
                         "data": {"key": base64.b64encode(key).decode()}})
            self._key = key
        kube.apply(self.to_object(self._key))

    @classmethod
    def load(cls, kube: KubeAPI, namespace: str = EDGE_NAMESPACE) -> Record | None:
        obj = kube.get("v1", RECORD_KIND, RECORD_NAME, namespace)
        if obj is None:
            return None
        data = obj.get("data") or {}
        raw = data.get(RECORD_KEY)
        key = read_key(kube)
        signed = False
        if key is not None:
            try:
                mac = base64.b64decode(data.get(MAC_FIELD) or "", validate=True).decode()
                body_bytes = base64.b64decode(raw or "", validate=True)
            except ValueError:
                mac, body_bytes = "", b""
            if not mac or not hmac.compare_digest(mac, _mac(key, body_bytes)):
                raise RecordError(f"the addon record `{namespace}/{RECORD_NAME}` was changed outside edgeadm (its "
                                  "MAC does not match); nothing was changed",
                                  hint="find out who changed it; restore it from a backup, or remove what addon "
                                       "made by hand")
            signed = True
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
        return cls(namespace=namespace, created=created, changed=changed, params=params, state=str(state),
                   signed=signed, _key=key)


def _mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def read_key(kube: KubeAPI) -> bytes | None:
    """The record key, or None when there is none (no addon yet, or a record from before keys existed). A Secret
    of that name that edgeadm did not make is refused."""
    obj = kube.get("v1", "Secret", KEY_NAME, KEY_NAMESPACE)
    if obj is None:
        return None
    labels = (obj.get("metadata") or {}).get("labels") or {}
    try:
        key = base64.b64decode(((obj.get("data") or {}).get("key") or ""), validate=True)
    except ValueError:
        key = b""
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or len(key) < 32:
        raise RecordError(f"Secret `{KEY_NAMESPACE}/{KEY_NAME}` is not an edgeadm record key; nothing was changed",
                          hint="remove it if nothing else uses it, and run the command again")
    return key


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
