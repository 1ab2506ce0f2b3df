"""The write-ahead Applier: note each object's prior state in the addon record, then server-side apply it."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from edgeadm import events as ev
from edgeadm import testhooks
from edgeadm.kube.errors import KubeError
from edgeadm.kube.types import KubeAPI
from edgeadm.record import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    MANAGED_LABELS,
    Record,
    describe,
    key_of,
    ref_of,
    strip_server_fields,
)
from edgeadm.report import CHANGED, CREATED, DELETED, KEPT, UNCHANGED, Report

APPLY_PARALLELISM = 8  # concurrent requests per template; the API server's default inflight limit is 400

# Compared to decide "changed" in dry-run, where resourceVersion cannot tell.
_VOLATILE = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp")


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    out = strip_server_fields(obj)
    ann = out.get("metadata", {}).get("annotations") or {}
    ann.pop("deprecated.daemonset.template.generation", None)
    return out


class Applier:
    """Owns the write-ahead record discipline: note the prior state, then apply with server-side apply."""

    def __init__(self, kube: KubeAPI, record: Record, report: Report, events: ev.Events = ev.NULL) -> None:
        self.kube = kube
        self.record = record
        self.report = report
        self.events = events
        self._namespaces: dict[str, bool] = {}
        self._prefetched: dict[str, dict[str, Any] | None] = {}

    def _namespace_exists(self, name: str) -> bool:
        if name not in self._namespaces:
            self._namespaces[name] = self.kube.get("v1", "Namespace", name) is not None
        return self._namespaces[name]

    def apply(self, obj: dict[str, Any], *, create_only: bool = False,
              restore_paths: list[list[str]] | None = None, label: bool = True) -> str:
        """Apply one object; returns created/changed/unchanged, or kept for a create-only object that exists."""
        try:
            outcome, what = self._apply_one(obj, create_only=create_only, restore_paths=restore_paths, label=label)
        except KubeError:
            self._forget_uncreated([obj])
            raise
        self.report.add(outcome, what)
        return outcome

    def _apply_one(self, obj: dict[str, Any], *, create_only: bool = False,
                   restore_paths: list[list[str]] | None = None, label: bool = True) -> tuple[str, str]:
        obj = copy.deepcopy(obj)
        if label:
            labels = obj.setdefault("metadata", {}).setdefault("labels", {}) or {}
            labels.update(MANAGED_LABELS)
            obj["metadata"]["labels"] = labels
        meta = obj["metadata"]
        if meta.get("namespace") and not self.kube.namespaced(obj["apiVersion"], obj["kind"]):
            meta.pop("namespace")
        what = describe(obj)
        if self.kube.dry_run and meta.get("namespace") and not self._namespace_exists(meta["namespace"]):
            # the namespace would be created first; the server cannot dry-run objects inside it yet
            return CREATED, what
        ref = ref_of(obj)
        if key_of(ref) in self._prefetched:
            current = self._prefetched.pop(key_of(ref))
        else:
            current = self.kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if create_only and current is not None:
            self.events.emit(ev.Detail(f"  {what}: exists, left as it is"))
            return KEPT, what
        if not self.record.knows(ref):
            if current is None:
                self.record.add_created(ref)
            else:
                self.record.add_changed(ref, current, restore_paths)
            self.record.save(self.kube)
        result = self.kube.apply(obj)
        testhooks.passed(testhooks.OBJECT_APPLIED)
        if current is None:
            outcome = CREATED
        elif self.kube.dry_run:
            outcome = UNCHANGED if _comparable(result) == _comparable(current) else CHANGED
        else:
            same = result["metadata"].get("resourceVersion") == current["metadata"].get("resourceVersion")
            outcome = UNCHANGED if same else CHANGED
        verb = {CREATED: "created", CHANGED: "changed", UNCHANGED: "unchanged"}[outcome]
        would = "would be " if self.kube.dry_run and outcome != UNCHANGED else ""
        self.events.emit(ev.Detail(f"  {what}: {would}{verb}"))
        return outcome, what

    def apply_all(self, objs: list[dict[str, Any]], *, create_only: bool = False) -> list[str]:
        """Apply a template's objects in order; the record notes them all in one write before the first change."""
        if create_only or self.kube.dry_run or len(objs) < 2:
            return [self.apply(o, create_only=create_only) for o in objs]
        self._note_batch(objs)
        # Objects of one template do not depend on each other's existence (the server accepts a Deployment
        # before its ServiceAccount), so they go out concurrently; outcomes are reported in template order.
        def attempt(obj: dict[str, Any]) -> tuple[str, str] | KubeError:
            try:
                return self._apply_one(obj)
            except KubeError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=APPLY_PARALLELISM) as pool:
            attempts = list(pool.map(attempt, objs))
        failed = [(obj, a) for obj, a in zip(objs, attempts, strict=True) if isinstance(a, KubeError)]
        if failed:
            self._forget_uncreated([obj for obj, _ in failed])
            raise failed[0][1]
        results = [a for a in attempts if not isinstance(a, KubeError)]
        for outcome, what in results:
            self.report.add(outcome, what)
        return [o for o, _ in results]

    def retire(self, refs: Iterable[dict[str, str]]) -> None:
        """Delete objects an earlier run created that the templates no longer produce. Only what the record says
        this addon created, and only while it still carries our mark; the record forgets each one after it is gone
        (a kill in between leaves a note of an absent object, which undo treats as already done)."""
        for ref in refs:
            if key_of(ref) not in {key_of(r) for r in self.record.created}:
                continue
            what = describe(ref)
            current = self.kube.get(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))
            labels = (current or {}).get("metadata", {}).get("labels") or {}
            if current is not None and labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
                self.report.warnings.append(f"{what} was made by an earlier addon but no longer carries our mark; "
                                            "left in place")
                continue
            if current is not None:
                self.kube.delete(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))
                self.report.add(DELETED, what)
                self.events.emit(ev.Detail(f"  {what}: {'would be ' if self.kube.dry_run else ''}deleted "
                                           "(no longer part of the edge apps)"))
            if not self.kube.dry_run:
                self.record.forget(ref)
                self.record.save(self.kube)

    def _ref(self, obj: dict[str, Any]) -> dict[str, str]:
        """The reference the record uses (no namespace on cluster-scoped kinds)."""
        meta = obj["metadata"]
        ns = meta.get("namespace") if self.kube.namespaced(obj["apiVersion"], obj["kind"]) else None
        return ref_of({**obj, "metadata": {"name": meta["name"], **({"namespace": ns} if ns else {})}})

    def _forget_uncreated(self, objs: list[dict[str, Any]]) -> None:
        """After failed writes: drop the record's "created" notes of objects that do not exist, so a rollback
        undoes exactly what was made (a write that failed made nothing; deleting it may not even be allowed)."""
        if self.kube.dry_run:
            return
        changed = False
        created = {key_of(r) for r in self.record.created}
        for obj in objs:
            try:
                ref = self._ref(obj)
                if key_of(ref) in created and self.kube.get(ref["apiVersion"], ref["kind"], ref["name"],
                                                            ref.get("namespace")) is None:
                    self.record.forget(ref)
                    changed = True
            except KubeError:
                continue  # cannot tell: the note stays, and undo reports what it cannot do
        if changed:
            self.record.save(self.kube)

    def _note_batch(self, objs: list[dict[str, Any]]) -> None:
        def fetch(obj: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any] | None]:
            ref = self._ref(obj)
            return ref, self.kube.get(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))

        with ThreadPoolExecutor(max_workers=APPLY_PARALLELISM) as pool:
            fetched = list(pool.map(fetch, objs))
        changed = False
        for ref, current in fetched:
            self._prefetched[key_of(ref)] = current
            if self.record.knows(ref):
                continue
            if current is None:
                self.record.add_created(ref)
            else:
                self.record.add_changed(ref, current, None)
            changed = True
        if changed:
            self.record.save(self.kube)
