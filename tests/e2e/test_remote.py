"""The SSH seam (edgeadm.remote) against a real OpenSSH sshd on loopback: host-key policy, authentication
failures, secrets on stdin, and copies that are skipped, resumed and verified."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgeadm import remote

pytestmark = pytest.mark.node
IN_CI = bool(os.environ.get("CI"))
SSHD = "/usr/sbin/sshd"


@dataclass
class Sshd:
    dir: Path
    port: int
    client_key: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, host_key: Path) -> None:
        cfg = self.dir / "sshd_config"
        cfg.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {self.dir}/sshd.pid",
            f"AuthorizedKeysFile {self.dir}/authorized_keys", "PermitRootLogin prohibit-password",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
            "Subsystem sftp internal-sftp", "LogLevel ERROR", ""]))
        with open(self.dir / "sshd.log", "ab") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert self.proc.poll() is None, (self.dir / "sshd.log").read_text()
            assert time.monotonic() < deadline, "sshd did not listen"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    if not Path(SSHD).exists() or not shutil.which("ssh-keygen"):
        if IN_CI:
            raise AssertionError("sshd and ssh-keygen are needed (make deps installs openssh-server)")
        pytest.skip("no sshd")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    d = tmp_path / "sshd"
    d.mkdir(mode=0o700)
    client = _keygen(d / "client")
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Sshd(d, port, client)
    server.start(_keygen(d / "host_a"))
    try:
        yield server
    finally:
        server.stop()


def connect(s: Sshd, known: Path, **kw: object) -> remote.Session:
    return remote.connect("127.0.0.1", s.port, "root", known_hosts=known, key_file=kw.pop("key", s.client_key),
                          **kw)  # type: ignore[arg-type]


def test_an_unknown_host_key_is_refused_unless_accepted_then_recorded(sshd: Sshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    with pytest.raises(remote.HostKeyRefused) as err:
        connect(sshd, known)
    assert f"the host key of [127.0.0.1]:{sshd.port} is not in {known}" in err.value.message
    assert "ssh-ed25519 SHA256:" in err.value.message and "--accept-new-host-keys" in (err.value.hint or "")
    assert not known.exists()  # refused: nothing recorded
    with connect(sshd, known, accept_new=True) as s:
        assert s.run(["echo", "hello"]).stdout == "hello\n"
    entry = known.read_text().split()
    assert entry[0] == f"[127.0.0.1]:{sshd.port}" and entry[1] == "ssh-ed25519"
    # the same key is now known: no flag needed, and the file is not appended to again
    with connect(sshd, known) as s:
        assert s.run(["true"]).exit_code == 0
    assert len(known.read_text().splitlines()) == 1


def test_a_changed_host_key_is_refused_even_when_accepting_new_keys(sshd: Sshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    connect(sshd, known, accept_new=True).close()
    recorded = known.read_text()
    sshd.stop()
    sshd.start(_keygen(sshd.dir / "host_b"))  # the "same" host now offers another key
    for accept in (False, True):
        with pytest.raises(remote.HostKeyRefused) as err:
            connect(sshd, known, accept_new=accept)
        assert f"the host key of [127.0.0.1]:{sshd.port} changed" in err.value.message
        assert f"ssh-keygen -f {known} -R '[127.0.0.1]:{sshd.port}'" in (err.value.hint or "")
    assert known.read_text() == recorded
    # the command the hint gives does clear it; then the new key can be accepted
    subprocess.run(["ssh-keygen", "-f", str(known), "-R", f"[127.0.0.1]:{sshd.port}"], check=True,
                   capture_output=True)
    connect(sshd, known, accept_new=True).close()


def test_wrong_credentials_and_no_server_are_told_apart(sshd: Sshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    other = _keygen(tmp_path / "not-authorized")
    with pytest.raises(remote.AuthFailed) as err:
        connect(sshd, known, accept_new=True, key=other)
    assert err.value.reason == "auth-failed" and "authentication failed" in err.value.message
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(remote.Unreachable) as gone:
        remote.connect("127.0.0.1", closed, "root", known_hosts=known, key_file=sshd.client_key, timeout=3)
    assert gone.value.reason == "unreachable" and f"cannot reach 127.0.0.1:{closed}" in gone.value.message


def test_a_secret_goes_on_stdin_and_never_into_the_command_line(sshd: Sshd, tmp_path: Path) -> None:
    secret = "abcdef.0123456789abcdef"
    with connect(sshd, tmp_path / "kh", accept_new=True) as s:
        # the remote command sees the secret on stdin; what ran there (its argv) does not contain it
        res = s.run(["sh", "-c", "read t; echo ${#t}; cat /proc/$$/cmdline | tr '\\0' ' '"],
                    stdin=(secret + "\n").encode())
    assert res.exit_code == 0
    length, cmdline = res.stdout.splitlines()
    assert int(length) == len(secret) and secret not in cmdline


def test_a_copy_is_skipped_when_present_resumed_when_partial_and_verified(sshd: Sshd, tmp_path: Path) -> None:
    src = tmp_path / "release.tgz"
    src.write_bytes(os.urandom(3 << 20))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "remote" / "release.tgz"
    dest.parent.mkdir()
    with connect(sshd, tmp_path / "kh", accept_new=True) as s:
        assert s.put(src, str(dest), sha256=digest) == src.stat().st_size
        assert dest.read_bytes() == src.read_bytes()
        assert s.put(src, str(dest), sha256=digest) == 0  # already there with that sha256: nothing sent
        # an interrupted copy: the first MiB is there; only the rest crosses the link
        dest.unlink()
        Path(str(dest) + ".part").write_bytes(src.read_bytes()[: 1 << 20])
        assert s.put(src, str(dest), sha256=digest) == (3 << 20) - (1 << 20)
        assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest
        # a partial copy with wrong bytes is not trusted: the whole file is sent again
        dest.unlink()
        Path(str(dest) + ".part").write_bytes(b"x" * (1 << 20))
        assert s.put(src, str(dest), sha256=digest) == 3 << 20
        assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest
        # a copy that does not match the expected sha256 is removed, not left in place
        with pytest.raises(remote.RemoteError, match="does not have sha256"):
            s.put(src, str(tmp_path / "remote" / "other.tgz"), sha256="0" * 64)
        assert not (tmp_path / "remote" / "other.tgz").exists()
        assert not (tmp_path / "remote" / "other.tgz.part").exists()


def test_two_copies_sharing_a_pacer_keep_to_its_rate_together(sshd: Sshd, tmp_path: Path) -> None:
    """A site's bandwidth cap: two copies at once through one 2 MiB/s pacer move 2 × 2 MiB in no less than
    (4 MiB − one chunk per copy) / rate; without the pacer the same copies take a fraction of that here."""
    import threading

    src = tmp_path / "release.tgz"
    src.write_bytes(os.urandom(2 << 20))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    (tmp_path / "remote").mkdir()

    def copies(pacer: remote.Pacer | None, tag: str) -> float:
        def one(i: int) -> None:
            with connect(sshd, tmp_path / "kh", accept_new=True) as s:
                s.put(src, str(tmp_path / "remote" / f"{tag}{i}.tgz"), sha256=digest, pacer=pacer)
        t = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.monotonic() - t

    rate = 2 << 20
    paced = copies(remote.Pacer(rate), "paced")
    free = copies(None, "free")
    floor = ((4 << 20) - 2 * remote.CHUNK) / rate
    assert paced >= floor, (paced, floor)
    assert free < floor, (free, floor)  # the floor is the pacer's doing, not this machine's speed
    for tag in ("paced0", "paced1", "free0", "free1"):
        assert hashlib.sha256((tmp_path / "remote" / f"{tag}.tgz").read_bytes()).hexdigest() == digest
