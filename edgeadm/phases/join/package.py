"""Phase `package`: fetch, verify and unpack the static install package (the work happens in `data.package()`)."""

from __future__ import annotations

from edgeadm.phases.join.data import JoinData


def run(data: JoinData) -> None:
    data.package()
