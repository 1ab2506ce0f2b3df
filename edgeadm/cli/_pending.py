"""Commands that are part of the tree but not built yet refuse clearly instead of pretending to work."""

from __future__ import annotations

from edgeadm.errors import NotImplementedYet


def refuse(command: str) -> None:
    raise NotImplementedYet(
        f"`edgeadm {command}` is not available in this version of edgeadm",
        hint="see README.md for the commands this version supports",
    )
