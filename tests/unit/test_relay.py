"""`edgeadm relay-serve`, the sending side of a site's relay, as a batch runs it: a real process on loopback."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def _start(tmp_path: Path, receivers: int) -> tuple[subprocess.Popen[str], int, Path]:
    data = tmp_path / "release.tgz"
    data.write_bytes(os.urandom(3 << 20))
    port_file = tmp_path / ".relay-port"
    proc = subprocess.Popen([sys.executable, "-m", "edgeadm", "relay-serve", str(data), "--port-file",
                             str(port_file), "--receivers", str(receivers)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not port_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
        time.sleep(0.05)
    assert port_file.stat().st_mode & 0o077 == 0
    return proc, int(port_file.read_text()), data


def _read(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        out = bytearray()
        while chunk := s.recv(1 << 16):
            out += chunk
        return bytes(out)


def test_it_serves_the_whole_file_to_each_receiver_then_stops(tmp_path: Path) -> None:
    proc, port, data = _start(tmp_path, 2)
    want = hashlib.sha256(data.read_bytes()).hexdigest()
    assert [hashlib.sha256(_read(port)).hexdigest() for _ in range(2)] == [want, want]
    out, err = proc.communicate(timeout=20)  # two receivers served: it ends by itself
    assert proc.returncode == 0 and out.strip() == "sent 2", err
    assert not (tmp_path / ".relay-port").exists()


def test_it_stops_when_its_standard_input_ends(tmp_path: Path) -> None:
    proc, port, _ = _start(tmp_path, 5)
    _read(port)
    out, err = proc.communicate(input="", timeout=20)  # the batch closes stdin once the site's hosts are done
    assert proc.returncode == 0 and out.strip() == "sent 1", err
