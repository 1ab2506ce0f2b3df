"""Collect version information; the server part is best effort and reported, never fatal."""

from __future__ import annotations

import platform
import sys
from typing import Any

from edgeadm import __version__
from edgeadm import events as ev
from edgeadm.errors import EdgeadmError


def collect(kubeconfig_flag: str | None, events: ev.Events, *, client_only: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "clientVersion": {
            "edgeadmVersion": __version__,
            "python": platform.python_version(),
            "platform": f"{sys.platform}/{platform.machine()}",
        }
    }
    if client_only:
        return data
    from edgeadm import kube
    from edgeadm.kube import kubeconfig

    try:
        kube_client = kube.connect(kubeconfig.resolve(kubeconfig_flag))
        data["serverVersion"] = kube_client.server_version()
    except EdgeadmError as exc:
        if kubeconfig_flag:
            raise
        events.emit(ev.Warn(f"server version unavailable: {exc}"))
    return data
