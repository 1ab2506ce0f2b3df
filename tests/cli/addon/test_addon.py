"""`edgeadm addon edge-apps` refusals that need no cluster: bad flags, no kubeconfig, no API server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.transcript import UNREACHABLE, Transcript

Run = Callable[..., Transcript]


def ca_flags(tmp_path: Path) -> tuple[str, ...]:
    (tmp_path / "ca.crt").write_text("not read: the API server is checked first\n")
    (tmp_path / "ca.key").write_text("not read either\n")
    return ("--ca.cert", str(tmp_path / "ca.crt"), "--ca.key", str(tmp_path / "ca.key"))


def test_missing_kubeconfig(edgeadm: Run, tmp_path: Path) -> None:
    got = edgeadm("--kubeconfig", str(tmp_path / "nope.conf"), "addon", "edge-apps", *ca_flags(tmp_path))
    assert got == Transcript(1, "", f"error: kubeconfig `{tmp_path / 'nope.conf'}` does not exist\n"
                                    "hint: pass an existing file with --kubeconfig\n")


def test_malformed_kubeconfig(edgeadm: Run, tmp_path: Path) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text("clusters: [oops")
    assert edgeadm("--kubeconfig", str(conf), "addon", "edge-apps", *ca_flags(tmp_path)) == Transcript(
        1, "", f"error: kubeconfig `{conf}` is not usable: while parsing a flow sequence in \"{conf}\", line 1, "
               f"column 11 expected ',' or ']', but got '<stream end>' in \"{conf}\", line 1, column 16\n"
               "hint: check the file, or pass another with --kubeconfig\n")


def test_unreachable_api_server(edgeadm: Run, tmp_path: Path, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "addon", "edge-apps", *ca_flags(tmp_path)) == Transcript(
        1, "", UNREACHABLE.format(what="get server version"))


def test_missing_ca_cert_without_a_cluster(edgeadm: Run, tmp_path: Path, unreachable: Path) -> None:
    """The CA files are checked in preflight, once the API server answered; without one, that is the error."""
    assert edgeadm("--kubeconfig", str(unreachable), "addon", "edge-apps", "--ca.cert", str(tmp_path / "nope.crt"),
                   "--ca.key", str(tmp_path / "nope.key")) == Transcript(
        1, "", UNREACHABLE.format(what="get server version"))


def test_bad_master_public_addr(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "addon", "edge-apps", "--master-public-addr",
                   "10.0.0.1:99999") == Transcript(
        2, "", "Usage: edgeadm addon edge-apps [OPTIONS]\nTry 'edgeadm addon edge-apps --help' for help.\n\n"
               "Error: Invalid value for '--master-public-addr': address `10.0.0.1:99999` has an invalid port "
               "`99999` (use a port from 1 to 65535)\n")


def test_manifest_dir_that_is_not_a_directory(edgeadm: Run, tmp_path: Path, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "addon", "edge-apps", *ca_flags(tmp_path), "--manifest-dir",
                   str(tmp_path / "overrides")) == Transcript(
        2, "", ADDON_USAGE + f"Error: Invalid value for '--manifest-dir': `{tmp_path / 'overrides'}` is not a "
                "directory (pass the directory holding your template overrides)\n")


ADDON_USAGE = "Usage: edgeadm addon edge-apps [OPTIONS]\nTry 'edgeadm addon edge-apps --help' for help.\n\n"


def test_unknown_phase_to_skip(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "addon", "edge-apps", "--skip-phases", "nope") == Transcript(
        2, "", ADDON_USAGE + "Error: Invalid value for '--skip-phases': unknown phase(s): nope (known phases: "
                             "preflight, prepare, namespace, join-prerequisites, tunnel, edge-health, service-group, "
                             "marginal-autonomy, edge-info, egress, wait, finish)\n")


def test_phase_that_cannot_be_skipped(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "addon", "edge-apps", "--skip-phases", "preflight") == Transcript(
        2, "", ADDON_USAGE + "Error: Invalid value for '--skip-phases': phase `preflight` cannot be skipped\n")


def test_skipping_a_phase_another_needs(edgeadm: Run, unreachable: Path) -> None:
    assert edgeadm("--kubeconfig", str(unreachable), "addon", "edge-apps", "--skip-phases", "tunnel") == Transcript(
        2, "", ADDON_USAGE + "Error: Invalid value for '--skip-phases': phase `edge-info` needs phase `tunnel`, which "
                             "is skipped\n")
