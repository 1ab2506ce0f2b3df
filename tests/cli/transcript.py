"""What a user sees from one edgeadm command: the exit code, all of stdout and all of stderr."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Transcript:
    code: int
    out: str
    err: str


# A kubeconfig whose API server refuses connections at once: no cluster needed, nothing leaves this machine.
UNREACHABLE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""

# The error (and hint) of the full Kubernetes client when 127.0.0.1:1 refuses, as `what` failed.
UNREACHABLE = ("error: {what}: API server unreachable (HTTPSConnection(host='127.0.0.1', port=1): Failed to establish "
               "a new connection: [Errno 111] Connection refused)\n"
               "hint: check that the API server is running and the kubeconfig points at it\n")
# The same from the light REST client (edgeadm/kube/light.py, on the stdlib transport).
LIGHT_UNREACHABLE = ("error: {what}: API server unreachable at 127.0.0.1:1 (connection refused)\n"
                     "hint: check that the API server is running and the kubeconfig points at it\n")
