"""The sending side of a batch's per-site relay, run on the first host of a site (`edgeadm relay-serve`, hidden).

The release archive crosses the site's uplink once, to that host; the site's other hosts then read it from here
over the site's LAN (they have no edgeadm yet, so they read with bash's /dev/tcp). It serves one file, whole, to
whoever connects, at most `receivers` times, and stops when its standard input ends (the batch closes it when the
site's hosts are done) or after `idle` seconds without a connection. The file is not secret (the release holds
no token) and each copy is checked against its sha256 by the batch before it is used, so a peer on the LAN can
neither learn anything nor slip in other bytes.
"""

from __future__ import annotations

import os
import select
import socket
from pathlib import Path


def serve(path: Path, *, port_file: Path, receivers: int, idle: float = 600.0, bind: str = "0.0.0.0") -> int:
    """Serve `path`; the listening port is written to `port_file` (mode 0600) once listening. Returns the number of
    complete copies sent."""
    size = path.stat().st_size
    sent = 0
    stdin_open = True
    with socket.create_server((bind, 0)) as srv:
        part = port_file.with_name(port_file.name + ".part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{srv.getsockname()[1]}\n")
        os.replace(part, port_file)
        quiet = 0.0
        while sent < receivers and stdin_open and quiet < idle:
            readable, _, _ = select.select([srv.fileno(), 0], [], [], 0.5)
            if 0 in readable and not os.read(0, 4096):
                stdin_open = False  # the batch is done with this site
                continue
            if srv.fileno() not in readable:
                quiet += 0.5
                continue
            quiet = 0.0
            conn, _ = srv.accept()
            with conn, open(path, "rb") as data:
                conn.settimeout(60)
                try:
                    if conn.sendfile(data) == size:
                        sent += 1
                except OSError:
                    pass
    port_file.unlink(missing_ok=True)
    return sent
