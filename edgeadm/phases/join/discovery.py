"""Phase `discovery`: verify the cluster before anything else (signed cluster-info, pinned CA, token)."""

from __future__ import annotations

from edgeadm.phases.join.data import JoinData


def run(data: JoinData) -> None:
    data.cluster()
