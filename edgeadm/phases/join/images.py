"""Phase `images`: the image archives the package carries (e.g. the edge components) imported into the runtime, so
a node needs no registry. Each archive is checked again here (it may come from anywhere): names that are image
references, layers it contains, and this package's architecture."""

from __future__ import annotations

from pathlib import Path

from edgeadm import events as ev
from edgeadm import images
from edgeadm.phases.join.data import JoinData


def run(data: JoinData) -> None:
    pkg, paths, o = data.package(), data.paths, data.options
    rels = pkg.images()
    if not rels:
        return
    archives = [images.inspect(pkg.path(rel), arch=pkg.arch) for rel in rels]
    ctr = paths.bin / ("edgeadm-ctr" if o.cri_socket else "ctr")
    socket = data.cri_socket.removeprefix("unix://")
    total = sum(len(a.refs) for a in archives)
    data.events.emit(ev.Step(f"[images] Importing {total} images from the package"))
    added = data.host().import_images(str(ctr), socket, [(Path(a.path), a.refs) for a in archives],
                                      own_runtime=o.cri_socket is None)
    for archive in archives:
        data.events.emit(ev.Detail(f"  {', '.join(archive.refs)}"))
    if o.cri_socket and len(added) < total:
        data.events.emit(ev.Step(f"[images] {total - len(added)} of them were "
                                 "already in the runtime and are left to it on reset"))
