from __future__ import annotations

import datetime as dt

import pytest

from edgeadm import tokens
from edgeadm.errors import ConfigError


def test_generate_format_and_randomness() -> None:
    seen = {tokens.generate() for _ in range(50)}
    assert len(seen) == 50
    assert all(tokens.TOKEN_RE.match(t) for t in seen)


@pytest.mark.parametrize(("text", "seconds"), [("24h0m0s", 86400), ("1h30m", 5400), ("90m", 5400), ("0", 0),
                                               ("1.5h", 5400), ("10s", 10)])
def test_durations(text: str, seconds: int) -> None:
    assert tokens.parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "1d", "h", "5 m", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError):
        tokens.parse_duration(text)


def test_secret_round_trip() -> None:
    t = tokens.new_token("abcdef.0123456789abcdef", ttl=dt.timedelta(hours=1), usages=("signing", "authentication"),
                         groups=(tokens.DEFAULT_GROUP,), description="x")
    back = tokens.Token.from_secret(t.to_secret())
    assert back == t
    assert t.to_secret()["metadata"]["name"] == "bootstrap-token-abcdef"


@pytest.mark.parametrize(("value", "usages", "groups"), [
    ("ABCDEF.0123456789abcdef", ("signing",), ()),
    (None, ("fly",), ()),
    (None, ("signing", "authentication"), ("system:masters",)),
    (None, ("signing",), (tokens.DEFAULT_GROUP,)),
])
def test_invalid_tokens(value: str | None, usages: tuple[str, ...], groups: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError):
        tokens.new_token(value, ttl=dt.timedelta(hours=1), usages=usages, groups=groups, description="")


def test_zero_ttl_never_expires() -> None:
    t = tokens.new_token(None, ttl=dt.timedelta(0), usages=("authentication",), groups=(), description="")
    assert t.expires is None and not t.expired()
    assert "expiration" not in t.to_secret()["data"]


def test_the_secret_never_shows_in_a_repr() -> None:
    import datetime as dt

    tok = tokens.new_token("abcdef.0123456789abcdef", ttl=dt.timedelta(hours=1), usages=("signing",), groups=(),
                           description="x")
    assert "0123456789abcdef" not in repr(tok) and tok.value == "abcdef.0123456789abcdef"
