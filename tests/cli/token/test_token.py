"""`edgeadm token`: invalid flags are refused before the API server is contacted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.transcript import Transcript

Run = Callable[..., Transcript]

# What the light REST client (edgeadm/kube/light.py, on the stdlib transport) reports when 127.0.0.1:1 refuses.
LIST_UNREACHABLE = (
    "error: list Secret: API server unreachable at 127.0.0.1:1 (connection refused)\n"
    "hint: check that the API server is running and the kubeconfig points at it\n")


def test_create_with_invalid_ttl(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--ttl", "1d") == Transcript(
        1, "", "error: invalid duration `1d`\nhint: use e.g. 24h, 1h30m, 90m, or 0 for no expiry\n")


def test_create_with_invalid_usages(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--usages", "signing,bogus") == Transcript(
        1, "", "error: invalid token usage(s) `bogus`\nhint: use signing and/or authentication\n")


def test_create_with_no_usages(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--usages", ",") == Transcript(
        1, "", "error: invalid token usage(s) `(none)`\nhint: use signing and/or authentication\n")


def test_create_with_invalid_groups(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--groups", "system:masters") == Transcript(
        1, "", "error: invalid extra group `system:masters`\nhint: groups must start with system:bootstrappers:\n")


def test_create_with_a_malformed_token(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "ABCDEF.0123456789abcdef") == Transcript(
        1, "", "error: the token is not of the form [a-z0-9]{6}.[a-z0-9]{16}\n"
               "hint: generate one with `edgeadm token generate`\n")


def test_delete_with_a_malformed_id(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "delete", "abc") == Transcript(
        1, "", "error: `abc` is not a token id or token\nhint: ids are 6 characters [a-z0-9]\n")


def test_delete_without_an_id(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "delete") == Transcript(
        2, "", "Usage: edgeadm token delete [OPTIONS] TOKEN_ID...\nTry 'edgeadm token delete --help' for help.\n\n"
               "Error: Missing argument 'TOKEN_ID...'.\n")


def test_list_with_an_unreachable_api_server(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "list") == Transcript(1, "", LIST_UNREACHABLE)
