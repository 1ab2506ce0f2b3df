"""`edgeadm token`: invalid flags are refused before the API server is contacted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.transcript import Transcript

Run = Callable[..., Transcript]
USAGE_CREATE = "Usage: edgeadm token create [OPTIONS] [TOKEN]\nTry 'edgeadm token create --help' for help.\n\n"
USAGE_DELETE = "Usage: edgeadm token delete [OPTIONS] TOKEN_ID...\nTry 'edgeadm token delete --help' for help.\n\n"

# What the light REST client (edgeadm/kube/light.py, on the stdlib transport) reports when 127.0.0.1:1 refuses.
LIST_UNREACHABLE = (
    "error: list Secret: API server unreachable at 127.0.0.1:1 (connection refused)\n"
    "hint: check that the API server is running and the kubeconfig points at it\n")


def test_create_with_invalid_ttl(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--ttl", "1d") == Transcript(
        2, "", USAGE_CREATE + "Error: Invalid value for '--ttl': invalid duration `1d` (use e.g. 24h, 1h30m, 90m, or 0 "
                              "for no expiry)\n")


def test_create_with_invalid_usages(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--usages", "signing,bogus") == Transcript(
        2, "", USAGE_CREATE + "Error: Invalid value for '--usages': invalid token usage(s) `bogus` (use signing "
                              "and/or authentication)\n")


def test_create_with_no_usages(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--usages", ",") == Transcript(
        2, "", USAGE_CREATE + "Error: Invalid value for '--usages': invalid token usage(s) `(none)` (use signing "
                              "and/or authentication)\n")


def test_create_with_invalid_groups(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--groups", "system:masters") == Transcript(
        2, "", USAGE_CREATE + "Error: Invalid value for '--groups': invalid extra group `system:masters` (groups must "
                              "start with system:bootstrappers:)\n")


def test_create_with_a_malformed_token(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "ABCDEF.0123456789abcdef") == Transcript(
        2, "", USAGE_CREATE + "Error: the token is not of the form [a-z0-9]{6}.[a-z0-9]{16} (generate one with "
                              "`edgeadm token generate`)\n")


def test_delete_with_a_malformed_id(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "delete", "abc") == Transcript(
        2, "", USAGE_DELETE + "Error: `abc` is not a token id or token (ids are 6 characters [a-z0-9])\n")


def test_create_with_a_lifetime_that_overflows(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "create", "--ttl", "99999999999999h") == Transcript(
        2, "", USAGE_CREATE + "Error: Invalid value for '--ttl': duration `99999999999999h` is too long (use at most a "
                              "few years, or 0 for no expiry)\n")


def test_delete_without_an_id(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "delete") == Transcript(
        2, "", "Usage: edgeadm token delete [OPTIONS] TOKEN_ID...\nTry 'edgeadm token delete --help' for help.\n\n"
               "Error: Missing argument 'TOKEN_ID...'.\n")


def test_list_with_an_unreachable_api_server(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "token", "list") == Transcript(1, "", LIST_UNREACHABLE)
