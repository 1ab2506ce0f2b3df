"""`edgeadm manifests --offline`: the rendered templates with placeholders, no cluster contacted."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.cli.transcript import Transcript

Run = Callable[..., Transcript]

TEMPLATES = ["application-grid-controller.yaml", "application-grid-wrapper.yaml", "bootstrap-rbac.yaml",
             "cluster-info.yaml", "edge-health-admission.yaml", "edge-health-webhook.yaml", "edge-health.yaml",
             "edge-info.yaml", "kubeadm-config.yaml", "kubelet-config.yaml", "namespace.yaml",
             "service-group-crds.yaml", "tunnel-cloud.yaml", "tunnel-edge.yaml"]


def test_offline_prints_every_template(edgeadm: Run) -> None:
    t = edgeadm("manifests", "--offline")
    assert (t.code, t.err) == (0, "")
    assert t.out.startswith("---\n# application-grid-controller.yaml\n")
    assert re.findall(r"^---\n# (\S+\.yaml)$", t.out, flags=re.MULTILINE) == TEMPLATES


def test_offline_writes_one_file_per_template(edgeadm: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert edgeadm("manifests", "--offline", "-o", str(out)) == Transcript(
        0, "", "".join(f"wrote {out / name}\n" for name in TEMPLATES))
    assert sorted(p.name for p in out.iterdir()) == TEMPLATES


def test_missing_kubeconfig(edgeadm: Run, tmp_path: Path) -> None:
    assert edgeadm("--kubeconfig", str(tmp_path / "nope.conf"), "manifests") == Transcript(
        1, "", f"error: kubeconfig `{tmp_path / 'nope.conf'}` does not exist\n"
               "hint: pass an existing file with --kubeconfig\n")


def test_an_override_that_overrides_nothing_is_refused_before_anything_is_written(edgeadm: Run,
                                                                                  tmp_path: Path) -> None:
    overrides, out = tmp_path / "overrides", tmp_path / "out"
    overrides.mkdir()
    (overrides / "tunnel-clod.yaml").write_text("kind: ConfigMap\n")
    assert edgeadm("manifests", "--offline", "--manifest-dir", str(overrides), "-o", str(out)) == Transcript(
        2, "", "Usage: edgeadm manifests [OPTIONS]\nTry 'edgeadm manifests --help' for help.\n\n"
               f"Error: Invalid value for '--manifest-dir': `tunnel-clod.yaml` in `{overrides}` is not one of "
               "edgeadm's templates (name overrides as `edgeadm manifests --templates -o DIR` writes them)\n")
    assert not out.exists()
