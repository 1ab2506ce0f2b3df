"""The SSH seam: the one module that talks to other machines (paramiko), for batch join and reset.

Host keys are checked against a known_hosts file. An unknown key is refused unless the caller accepts new keys
(then it is appended to the file); a key that differs from the recorded one is always refused, with the command
that clears the old entry. Secrets (passwords, tokens) reach the remote side on the channel's stdin, never in a
command line; nothing here logs them. Copies are verified by sha256 on the remote side, skipped when the remote
file already has that sha256, and resumed from a partial copy whose bytes match.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko

from edgeadm import addr
from edgeadm.errors import EdgeadmError

CHUNK = 256 << 10


class RemoteError(EdgeadmError):
    """Something about one host; `reason` is what batch results call it."""

    reason = "failed"


class Unreachable(RemoteError):
    reason = "unreachable"


class HostKeyRefused(RemoteError):
    reason = "host-key-refused"


class AuthFailed(RemoteError):
    reason = "auth-failed"


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str


class Pacer:
    """A byte rate shared by every copy over one link (a site's uplink): `take(n)` returns when n more bytes may go.
    Each caller reserves the next free slot of n/rate seconds and waits for its start, so the copies together keep
    to the rate, with at most one chunk per copy ahead of it."""

    def __init__(self, rate: int) -> None:
        if rate <= 0:
            raise ValueError("a rate must be positive")
        self.rate = rate
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def take(self, n: int) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(self._next, now)
            self._next = start + n / self.rate
        if start > now:
            time.sleep(start - now)


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's form: SHA256:<unpadded base64>."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class _Policy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def __init__(self, known_hosts: Path, accept_new: bool) -> None:
        self.known_hosts = known_hosts
        self.accept_new = accept_new

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self.accept_new:
            raise HostKeyRefused(f"the host key of {hostname} is not in {self.known_hosts} ({key.get_name()} "
                                 f"{fingerprint(key)})",
                                 hint="check the fingerprint with the host's owner, then re-run with "
                                      "--accept-new-host-keys (it is recorded) or add it to known_hosts yourself")
        self.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.known_hosts, "a") as fh:
            fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


class Running:
    """A remote command that is running (`Session.start`)."""

    def __init__(self, chan: paramiko.Channel, what: str) -> None:
        self._chan = chan
        self._what = what

    def close_stdin(self) -> None:
        self._chan.shutdown_write()

    def wait(self, timeout: float = 600) -> Result:
        """Its exit code and output; the channel is closed afterwards."""
        chan = self._chan
        try:
            chan.settimeout(timeout)
            deadline = time.monotonic() + timeout
            out, err = bytearray(), bytearray()
            while True:
                if chan.recv_ready():
                    out += chan.recv(CHUNK)
                elif chan.recv_stderr_ready():
                    err += chan.recv_stderr(CHUNK)
                elif chan.exit_status_ready():
                    while chan.recv_ready():
                        out += chan.recv(CHUNK)
                    while chan.recv_stderr_ready():
                        err += chan.recv_stderr(CHUNK)
                    break
                elif time.monotonic() > deadline:
                    raise TimeoutError
                else:
                    chan.status_event.wait(0.05)
            return Result(chan.recv_exit_status(), out.decode(errors="replace"), err.decode(errors="replace"))
        except (TimeoutError, socket.timeout):
            raise RemoteError(f"{self._what} did not finish within {timeout:.0f} s") from None
        finally:
            chan.close()


class Session:
    """One authenticated SSH connection to a host (its commands may run in several threads at once)."""

    def __init__(self, client: paramiko.SSHClient, name: str) -> None:
        self._client = client
        self.name = name

    def run(self, argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 600) -> Result:
        """Run `argv` (quoted for the remote shell); `stdin` is written to it and closed (secrets go here)."""
        proc = self.start(argv, stdin=stdin)
        proc.close_stdin()
        return proc.wait(timeout)

    def start(self, argv: Sequence[str], *, stdin: bytes = b"") -> Running:
        """Start `argv` and leave its standard input open (`Running.close_stdin` ends it)."""
        chan = self._client.get_transport().open_session(timeout=30)
        try:
            chan.exec_command(shlex.join(argv))
            if stdin:
                chan.sendall(stdin)
        except BaseException:
            chan.close()
            raise
        return Running(chan, f"{self.name}: `{argv[0]}`")

    def sha256(self, path: str, size: int | None = None) -> str | None:
        """The sha256 of the remote file (of its first `size` bytes), or None when it does not exist."""
        quoted = shlex.quote(path)
        script = (f"[ -f {quoted} ] || exit 3; " + (f"head -c {int(size)} {quoted} | sha256sum" if size is not None
                                                     else f"sha256sum < {quoted}"))
        res = self.run(["sh", "-c", script])
        if res.exit_code == 3:
            return None
        if res.exit_code != 0:
            raise RemoteError(f"{self.name}: cannot hash {path}: {res.stderr.strip()[-300:]}")
        return res.stdout.split()[0]

    def put(self, local: Path, remote: str, *, sha256: str, pacer: Pacer | None = None) -> int:
        """Copy `local` to `remote` unless it is already there with `sha256`; resume a matching `<remote>.part`.
        Returns the bytes sent. The copy is verified remotely before it is renamed into place. With a `pacer`, the
        copy keeps to its byte rate (shared with the other copies that use the same pacer)."""
        if self.sha256(remote) == sha256:
            return 0
        part = remote + ".part"
        size = local.stat().st_size
        offset = 0
        have = self._size(part)
        if have and have <= size:
            with open(local, "rb") as fh:
                prefix = hashlib.sha256()
                left = have
                while left:
                    chunk = fh.read(min(CHUNK, left))
                    prefix.update(chunk)
                    left -= len(chunk)
            if self.sha256(part, have) == prefix.hexdigest():
                offset = have
        sftp = self._client.open_sftp()
        sent = 0
        try:
            with open(local, "rb") as src, sftp.open(part, "ab" if offset else "wb") as dst:
                dst.set_pipelined(True)
                src.seek(offset)
                while chunk := src.read(CHUNK):
                    if pacer is not None:
                        pacer.take(len(chunk))
                    dst.write(chunk)
                    sent += len(chunk)
        finally:
            sftp.close()
        if self.sha256(part) != sha256:
            self.run(["rm", "-f", part])
            raise RemoteError(f"{self.name}: the copy of {local.name} does not have sha256 {sha256}")
        res = self.run(["mv", "-f", part, remote])
        if res.exit_code != 0:
            raise RemoteError(f"{self.name}: cannot move the copy into place: {res.stderr.strip()[-300:]}")
        return sent

    def _size(self, path: str) -> int:
        res = self.run(["sh", "-c", f"[ -f {shlex.quote(path)} ] && wc -c < {shlex.quote(path)} || echo 0"])
        try:
            return int(res.stdout.strip() or 0)
        except ValueError:
            return 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(host: str, port: int, user: str, *, known_hosts: Path, accept_new: bool = False,
            key_file: Path | None = None, agent: bool = False, password: str | None = None,
            timeout: float = 15) -> Session:
    """An authenticated session, or Unreachable / HostKeyRefused / AuthFailed (each one line, with a hint)."""
    name = f"{user}@{addr.join_host_port(host, port)}"
    client = paramiko.SSHClient()
    if known_hosts.exists():
        client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(_Policy(known_hosts, accept_new))
    try:
        client.connect(host, port=port, username=user, key_filename=str(key_file) if key_file else None,
                       password=password, allow_agent=agent, look_for_keys=False, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout)
    except paramiko.BadHostKeyException as exc:
        client.close()
        entry = known_hosts_name(host, port)
        raise HostKeyRefused(f"the host key of {entry} changed: {known_hosts} has {fingerprint(exc.expected_key)}, "
                             f"the host offers {fingerprint(exc.key)}",
                             hint=f"if the host was reinstalled, verify the new key, then run: ssh-keygen -f "
                                  f"{shlex.quote(str(known_hosts))} -R {shlex.quote(entry)}") from None
    except HostKeyRefused:
        client.close()
        raise
    except paramiko.AuthenticationException:
        client.close()
        raise AuthFailed(f"{name}: authentication failed",
                         hint="check the user and the key, agent or password the inventory gives") from None
    except (OSError, paramiko.SSHException, EOFError) as exc:
        client.close()
        raise Unreachable(f"cannot reach {addr.join_host_port(host, port)}: "
                          f"{getattr(exc, 'strerror', None) or exc}",
                          hint="check the address, the port and that sshd runs there") from None
    return Session(client, name)
