from __future__ import annotations

from pathlib import Path

import pytest

from edgeadm import kubeconfig
from edgeadm.errors import ConfigError


def test_flag_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("x")
    b.write_text("x")
    monkeypatch.setenv("KUBECONFIG", str(b))
    assert kubeconfig.resolve(str(a)) == a


def test_env_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home_conf = Path.home() / ".kube" / "config"
    home_conf.parent.mkdir(parents=True)
    home_conf.write_text("x")
    env = tmp_path / "env"
    env.write_text("x")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{env}")
    assert kubeconfig.resolve(None) == env
    monkeypatch.delenv("KUBECONFIG")
    assert kubeconfig.resolve(None) == home_conf


def test_admin_conf_last(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    admin = tmp_path / "admin.conf"
    admin.write_text("x")
    monkeypatch.setattr(kubeconfig, "ADMIN_CONF", admin)
    assert kubeconfig.resolve(None) == admin


def test_nothing_found_names_every_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kubeconfig, "ADMIN_CONF", tmp_path / "none")
    with pytest.raises(ConfigError) as exc:
        kubeconfig.resolve(None)
    assert str(tmp_path / "none") in str(exc.value)
    assert exc.value.hint
