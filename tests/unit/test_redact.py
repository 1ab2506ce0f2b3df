"""Secrets in URLs are hidden before a URL reaches a message."""

from __future__ import annotations

import pytest

from edgeadm import redact


@pytest.mark.parametrize(("raw", "shown"), [
    ("https://u:p@host/pkg.tgz", "https://REDACTED@host/pkg.tgz"),
    ("https://token@host:8443/a/b.tgz", "https://REDACTED@host:8443/a/b.tgz"),
    ("https://host/pkg.tgz?X-Amz-Signature=abc&X-Amz-Credential=k", "https://host/pkg.tgz?X-Amz-Signature=REDACTED&"
                                                                    "X-Amz-Credential=REDACTED"),
    ("http://[fd00::1]:80/p?t=s#frag", "http://[fd00::1]:80/p?t=REDACTED"),
    ("https://host/pkg.tgz", "https://host/pkg.tgz"),
    ("/srv/pkg.tgz", "/srv/pkg.tgz"),
    ("https://u:p@host:notaport/x", "https://REDACTED"),
])
def test_url(raw: str, shown: str) -> None:
    assert redact.url(raw) == shown
