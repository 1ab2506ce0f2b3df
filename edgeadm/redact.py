"""What may be shown of a value that can carry a secret: URLs lose their user info and query values before they
reach a message, an event or a log line."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HIDDEN = "REDACTED"


def url(text: str) -> str:
    """`text` with the user and password of a URL replaced and every query value hidden (keys stay, to help the
    reader); anything that is not an http(s) URL comes back unchanged."""
    if not text.startswith(("http://", "https://")):
        return text
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{text.split('://', 1)[0]}://{HIDDEN}"
    netloc = (f"{HIDDEN}@" if parts.username or parts.password else "") + (f"[{host}]" if ":" in host else host) + port
    query = urlencode([(k, HIDDEN) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe=HIDDEN)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
