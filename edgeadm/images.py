"""Container image archives a package carries (docker-save format, what `ctr images import` reads): checked before
they are packaged and again on the node before they are imported, since a package may come from anywhere."""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeadm.errors import ConfigError

MAX_METADATA = 1 << 20  # manifest.json and image configs are a few KiB; refuse to read more than this
# A reference as containerd stores it: registry[:port]/path[:tag][@digest], lowercase path components.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# The first component is a registry only when it has a dot or a port or is localhost (as in docker's normalisation).
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:localhost(?::[0-9]+)?|{_LABEL}(?:\.{_LABEL})+(?::[0-9]+)?|{_LABEL}:[0-9]+)"
_REFERENCE = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
                        r"(?:@sha256:[0-9a-f]{64})?")


@dataclass(frozen=True)
class ImageArchive:
    path: Path
    refs: tuple[str, ...]
    arch: str


def is_reference(ref: str) -> bool:
    return len(ref) <= 255 and _REFERENCE.fullmatch(ref) is not None


def inspect(path: Path, *, arch: str) -> ImageArchive:
    """The image references of a docker-save archive, after checking that it is one, that every layer and config it
    names is inside, and that each image is for linux/`arch`. Raises ConfigError naming the archive."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"image archive `{path.name}` {why}",
                           hint="write it with `docker save`, `ctr images export` or an equivalent tool")

    try:
        with tarfile.open(path, "r:") as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            manifest = _json(tar, members, "manifest.json", bad)
            if not isinstance(manifest, list) or not manifest:
                raise bad("has no images in manifest.json")
            refs: list[str] = []
            for image in manifest:
                if not isinstance(image, dict):
                    raise bad("has a manifest.json entry that is not a mapping")
                tags = image.get("RepoTags")
                if not isinstance(tags, list) or not tags:
                    raise bad("has an image without a name (RepoTags): containerd would import it unnamed")
                for tag in tags:
                    if not isinstance(tag, str) or not is_reference(tag):
                        raise bad(f"names an image `{_shown(tag)}`, which is not an image reference")
                    refs.append(tag)
                layers = image.get("Layers")
                if not isinstance(layers, list) or not all(isinstance(x, str) and x in members for x in layers):
                    raise bad(f"lists layers of `{tags[0]}` it does not contain")
                config = _json(tar, members, str(image.get("Config")), bad)
                if not isinstance(config, dict):
                    raise bad(f"has a config of `{tags[0]}` that is not a mapping")
                got = (config.get("os"), config.get("architecture"))
                if got != ("linux", arch):
                    raise bad(f"holds `{tags[0]}` for {got[0] or '?'}/{got[1] or '?'}, not linux/{arch}")
    except (tarfile.TarError, OSError) as exc:
        raise bad(f"is not a readable tar archive ({exc.__class__.__name__})") from None
    return ImageArchive(path=path, refs=tuple(refs), arch=arch)


def _shown(value: object) -> str:
    """A value from the archive, cut short and with control characters escaped, for a one-line message."""
    return str(value)[:80].encode("unicode_escape").decode("ascii")


def _json(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, bad: Any) -> Any:
    member = members.get(name)
    if member is None or not member.isfile():
        raise bad(f"has no `{_shown(name)}`")
    if member.size > MAX_METADATA:
        raise bad(f"has a `{_shown(name)}` of {member.size} bytes (more than {MAX_METADATA})")
    fh = tar.extractfile(member)
    if fh is None:
        raise bad(f"has no readable `{_shown(name)}`")
    try:
        return json.loads(fh.read())
    except (ValueError, UnicodeDecodeError):
        raise bad(f"has a `{_shown(name)}` that is not JSON") from None
