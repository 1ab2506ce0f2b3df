"""`edgeadm version`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgeadm import __version__
from tests.cli.transcript import UNREACHABLE, Transcript

Run = Callable[..., Transcript]


def test_client_only(edgeadm: Run) -> None:
    assert edgeadm("version", "--client") == Transcript(0, f"edgeadm version: {__version__}\n", "")


def test_unknown_output_format(edgeadm: Run) -> None:
    assert edgeadm("version", "--client", "-o", "xml") == Transcript(
        2, "", "Usage: edgeadm version [OPTIONS]\nTry 'edgeadm version --help' for help.\n\n"
               "Error: Invalid value for '-o' / '--output': 'xml' is not one of 'text', 'json', 'yaml'.\n")


def test_unreachable_api_server_named_with_kubeconfig(edgeadm: Run, unreachable: Path) -> None:
    """A kubeconfig given on the command line must work; the server version is best effort only without one."""
    assert edgeadm("--kubeconfig", str(unreachable), "version") == Transcript(
        1, "", UNREACHABLE.format(what="get server version"))
