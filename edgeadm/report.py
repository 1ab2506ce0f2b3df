"""Per-object outcomes of a run and its summary line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CREATED, CHANGED, UNCHANGED, KEPT, DELETED, RESTORED, ABSENT = (
    "created", "changed", "unchanged", "kept", "deleted", "restored", "absent")


@dataclass
class Report:
    dry_run: bool = False
    items: list[tuple[str, str]] = field(default_factory=list)  # (outcome, "Kind ns/name")
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, outcome: str, what: str) -> None:
        self.items.append((outcome, what))

    def count(self, outcome: str) -> int:
        return sum(1 for o, _ in self.items if o == outcome)

    def names(self, outcome: str) -> list[str]:
        return [w for o, w in self.items if o == outcome]

    def summary(self, verbs: tuple[str, ...] = (CREATED, CHANGED, UNCHANGED)) -> str:
        prefix = "would be " if self.dry_run else ""
        parts = [f"{self.count(v)} {prefix}{v}" for v in verbs]
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dryRun": self.dry_run}
        for o in (CREATED, CHANGED, UNCHANGED, KEPT, DELETED, RESTORED):
            out[o] = self.names(o)
        out["warnings"] = self.warnings
        out["failures"] = self.failures
        return out
