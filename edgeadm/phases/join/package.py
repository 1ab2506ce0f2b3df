"""Phase `package`: fetch, verify and unpack the static install package (the work happens in `data.package()`),
then check the image archives it carries, all before the first change to the machine."""

from __future__ import annotations

from edgeadm import images
from edgeadm.phases.join.data import JoinData


def run(data: JoinData) -> None:
    pkg = data.package()
    for rel in pkg.images():
        images.inspect(pkg.path(rel), arch=pkg.arch)
