"""Bootstrap tokens, kubeadm-compatible: format, generation (OS CSPRNG), durations and the Secret they live in."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from edgeadm.errors import ConfigError

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
ID_RE = re.compile(r"^[a-z0-9]{6}$")
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
SECRET_TYPE = "bootstrap.kubernetes.io/token"
DEFAULT_GROUP = "system:bootstrappers:kubeadm:default-node-token"
GROUP_RE = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")
VALID_USAGES = ("signing", "authentication")
_SECRET_RE = re.compile(r"^[a-z0-9]{16}$")
_SECRET_KEYS = ("token-id", "token-secret", "expiration", "description", "auth-extra-groups",
                *(f"usage-bootstrap-{u}" for u in VALID_USAGES))
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)")
_TOO_LONG = "use at most a few years, or 0 for no expiry"
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def generate() -> str:
    """A new random token `[a-z0-9]{6}.[a-z0-9]{16}` from the OS CSPRNG."""
    return "".join(secrets.choice(ALPHABET) for _ in range(6)) + "." + "".join(
        secrets.choice(ALPHABET) for _ in range(16))


def parse(token: str) -> tuple[str, str]:
    m = TOKEN_RE.match(token.strip())
    if not m:
        raise ConfigError("the token is not of the form [a-z0-9]{6}.[a-z0-9]{16}",
                          hint="generate one with `edgeadm token generate`")
    return m.group(1), m.group(2)


def parse_duration(text: str) -> dt.timedelta:
    """Go-style durations as kubeadm takes them: `24h`, `1h30m`, `90m`, `0` (never expires)."""
    t = text.strip()
    if t in ("0", "0s"):
        return dt.timedelta(0)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(t) or not t:
        raise ConfigError(f"invalid duration `{text}`", hint="use e.g. 24h, 1h30m, 90m, or 0 for no expiry")
    try:
        return dt.timedelta(seconds=total)
    except OverflowError:
        raise ConfigError(f"duration `{text}` is too long", hint=_TOO_LONG) from None


def format_duration(delta: dt.timedelta) -> str:
    secs = int(delta.total_seconds())
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m}m{s}s" if h else (f"{m}m{s}s" if m else f"{s}s")


@dataclass
class Token:
    id: str
    secret: str = field(repr=False)  # never in logs or tracebacks
    expires: dt.datetime | None
    usages: tuple[str, ...]
    groups: tuple[str, ...]
    description: str = ""

    @property
    def value(self) -> str:
        return f"{self.id}.{self.secret}"

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires is not None and self.expires <= (now or dt.datetime.now(dt.timezone.utc))

    def to_secret(self) -> dict[str, Any]:
        data = {"token-id": self.id, "token-secret": self.secret,
                "auth-extra-groups": ",".join(self.groups)}
        if self.expires is not None:
            data["expiration"] = self.expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.description:
            data["description"] = self.description
        for usage in self.usages:
            data[f"usage-bootstrap-{usage}"] = "true"
        return {"apiVersion": "v1", "kind": "Secret", "type": SECRET_TYPE,
                "metadata": {"name": f"bootstrap-token-{self.id}", "namespace": "kube-system"},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}

    @classmethod
    def from_secret(cls, obj: dict[str, Any]) -> Token | None:
        raw = obj.get("data") or {}
        # only the keys a token has are decoded (`token list` reads a thousand of these per run)
        data = {k: binascii.a2b_base64(raw[k]).decode(errors="replace") for k in _SECRET_KEYS if k in raw}
        tid, sec = data.get("token-id", ""), data.get("token-secret", "")
        if not ID_RE.match(tid) or not _SECRET_RE.match(sec):
            return None
        exp = None
        if data.get("expiration"):
            try:
                exp = dt.datetime.fromisoformat(data["expiration"].replace("Z", "+00:00"))
            except ValueError:
                exp = None
        usages = tuple(u for u in VALID_USAGES if data.get(f"usage-bootstrap-{u}") == "true")
        groups = tuple(g for g in data.get("auth-extra-groups", "").split(",") if g)
        return cls(tid, sec, exp, usages, groups, data.get("description", ""))


def new_token(value: str | None, *, ttl: dt.timedelta, usages: tuple[str, ...], groups: tuple[str, ...],
              description: str) -> Token:
    """Validate the options kubeadm validates and build the token."""
    tid, sec = parse(value) if value else parse(generate())
    check_usages(usages)
    check_groups(groups, usages)
    try:
        exp = None if ttl == dt.timedelta(0) else dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + ttl
    except OverflowError:
        raise ConfigError("the token lifetime is too long", hint=_TOO_LONG) from None
    return Token(tid, sec, exp, tuple(usages), tuple(groups), description)


def check_usages(usages: tuple[str, ...]) -> None:
    bad = [u for u in usages if u not in VALID_USAGES]
    if bad or not usages:
        raise ConfigError(f"invalid token usage(s) `{','.join(bad) or '(none)'}`",
                          hint="use signing and/or authentication")


def check_groups(groups: tuple[str, ...], usages: tuple[str, ...]) -> None:
    for g in groups:
        if not GROUP_RE.fullmatch(g):
            raise ConfigError(f"invalid extra group `{g}`", hint="groups must start with system:bootstrappers:")
    if groups and "authentication" not in usages:
        raise ConfigError("--groups needs the `authentication` usage")
