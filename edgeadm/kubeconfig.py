"""Where the kubeconfig comes from: flag, $KUBECONFIG, ~/.kube/config, /etc/kubernetes/admin.conf (first that exists)."""

from __future__ import annotations

import os
from pathlib import Path

from edgeadm.errors import ConfigError

ADMIN_CONF = Path("/etc/kubernetes/admin.conf")


def candidates(flag: str | None) -> list[Path]:
    """The ordered list of places edgeadm looks for a kubeconfig."""
    out: list[Path] = []
    if flag:
        return [Path(flag).expanduser()]
    env = os.environ.get("KUBECONFIG", "")
    for part in env.split(os.pathsep):
        if part:
            out.append(Path(part).expanduser())
    out.append(Path("~/.kube/config").expanduser())
    out.append(ADMIN_CONF)
    return out


def resolve(flag: str | None) -> Path:
    """Return the kubeconfig to use, or raise ConfigError naming every place that was tried."""
    tried = candidates(flag)
    for path in tried:
        if path.is_file():
            if not os.access(path, os.R_OK):
                raise ConfigError(f"kubeconfig `{path}` is not readable", hint="run as a user that can read it")
            return path
    if flag:
        raise ConfigError(f"kubeconfig `{flag}` does not exist", hint="pass an existing file with --kubeconfig")
    raise ConfigError(
        "no kubeconfig found (tried " + ", ".join(str(p) for p in tried) + ")",
        hint="pass --kubeconfig or set KUBECONFIG",
    )
