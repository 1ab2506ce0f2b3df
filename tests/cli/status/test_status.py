"""`edgeadm status`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.transcript import LIGHT_UNREACHABLE, Transcript

Run = Callable[..., Transcript]


def test_bad_site_label_is_a_usage_error(edgeadm: Run, unreachable: Path) -> None:
    """Refused before any cluster is contacted (the kubeconfig points nowhere)."""
    assert edgeadm("--kubeconfig", str(unreachable), "status", "--site-label", "zone/") == Transcript(
        2, "", "Usage: edgeadm status [OPTIONS]\nTry 'edgeadm status --help' for help.\n\n"
               "Error: Invalid value for '--site-label': `zone/` is not a label key "
               "(e.g. topology.kubernetes.io/zone)\n")


def test_bad_site_is_a_usage_error(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "status", "--site", "shop 1") == Transcript(
        2, "", "Usage: edgeadm status [OPTIONS]\nTry 'edgeadm status --help' for help.\n\n"
               "Error: Invalid value for '--site': 'shop 1' is not a label value (use up to 63 letters, digits, "
               "'-', '_' or '.', starting and ending with a letter or digit)\n")


def test_unreachable_api_server(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "status") == Transcript(
        1, "", LIGHT_UNREACHABLE.format(what="list Node"))
